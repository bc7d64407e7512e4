//! Where an import went wrong: a field path inside a mark (`registrations[1].number`),
//! a problem tied to a line of the file, and the byte-offset-to-line index every
//! format uses to turn parser spans into the `FILE:LINE: field: reason` messages.

use std::fmt;

/// One step into a mark: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A field of a table or object.
    Key(String),
    /// An element of a list.
    Index(usize),
}

/// A path to a value inside a mark, such as `registrations[1].number`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The path of a top-level field.
    pub fn key(name: &str) -> FieldPath {
        FieldPath(vec![Segment::Key(name.to_owned())])
    }

    /// This path extended by a field name.
    pub fn child(&self, name: &str) -> FieldPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(name.to_owned()));
        path
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// This path followed by the path serde reported inside the value.
    pub fn join_serde(&self, inner: &serde_path_to_error::Path) -> FieldPath {
        let mut path = self.clone();
        for segment in inner.iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    path.0.push(Segment::Index(*index));
                }
                serde_path_to_error::Segment::Map { key } => {
                    path.0.push(Segment::Key(key.clone()));
                }
                serde_path_to_error::Segment::Enum { variant } => {
                    path.0.push(Segment::Key(variant.clone()));
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        path
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found in a mark, before it is placed on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The offending field.
    pub path: FieldPath,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldProblem {
    /// A problem with the value at `path`.
    pub fn new(path: FieldPath, reason: impl Into<String>) -> FieldProblem {
        FieldProblem {
            path,
            reason: reason.into(),
        }
    }
}

/// One bad record (or bad part of a file), printed as `FILE:LINE: field: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the file.
    pub line: usize,
    /// The field, such as `classes[2]`; `None` for problems of the file's syntax.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl Problem {
    /// A problem with a field on `line`.
    pub fn field(line: usize, field: impl fmt::Display, reason: impl Into<String>) -> Problem {
        Problem {
            line,
            field: Some(field.to_string()),
            reason: reason.into(),
        }
    }

    /// A problem with the file's syntax on `line`.
    pub fn syntax(line: usize, reason: impl Into<String>) -> Problem {
        Problem {
            line,
            field: None,
            reason: reason.into(),
        }
    }
}

/// Maps byte offsets of a text to 1-based line numbers.
#[derive(Debug)]
pub struct LineIndex {
    /// Byte offset at which each line after the first starts.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line breaks of `text`.
    pub fn new(text: &str) -> LineIndex {
        let starts = text
            .bytes()
            .enumerate()
            .filter(|&(_, byte)| byte == b'\n')
            .map(|(offset, _)| offset + 1)
            .collect();
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_display_like_field_accessors() {
        let path = FieldPath::key("registrations").index(1).child("number");
        assert_eq!(path.to_string(), "registrations[1].number");
        assert_eq!(FieldPath::key("classes").index(0).to_string(), "classes[0]");
    }

    #[test]
    fn line_index_counts_from_one() {
        let index = LineIndex::new("a\nbc\n\nd");
        assert_eq!(index.line(0), 1);
        assert_eq!(index.line(1), 1);
        assert_eq!(index.line(2), 2);
        assert_eq!(index.line(5), 3);
        assert_eq!(index.line(6), 4);
        assert_eq!(index.line(100), 4);
    }
}
