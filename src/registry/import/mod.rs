//! Reading marks from files: TOML (`[[mark]]` tables), JSON (an array of marks),
//! JSON lines (one mark per line) and CSV (a header row, list fields split on `;`).
//!
//! Each format reader only splits its file into records of JSON-like fields and knows
//! how to find the line of a field; the rest is shared: the fields are read into a
//! [`Mark`] one by one (so one record can report several bad fields), validated,
//! their images resolved and hashed, and duplicate ids caught. A file yields either
//! all of its marks or every problem found, each as `FILE:LINE: field: reason`.
//!
//! # CSV columns
//!
//! The header row names the columns, in any order; `id` and `name` are required,
//! every other column is optional and an empty cell means "not given":
//!
//! | column | content |
//! |---|---|
//! | `id`, `name`, `owner` | text |
//! | `aliases`, `authorized_sellers` | texts separated by `;` |
//! | `classes` | Nice classes separated by `;`, e.g. `25;28` |
//! | `registrations` | `OFFICE:NUMBER` pairs separated by `;`, e.g. `USPTO:1234567;EUIPO:000123` |
//! | `images` | product photos: image paths relative to the CSV file, separated by `;` |
//! | `logos` | logos: image paths as in `images` (read as `images` entries of kind `logo`, after the photos) |
//! | `min_price_amount`, `min_price_currency` | a number and an ISO 4217 code, both or neither |

mod csv;
mod json;
mod toml;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::images::ImageResolver;
use super::model::Mark;
use super::problem::{FieldPath, FieldProblem, LineIndex, Problem, Segment};
use super::validate::validate;
use super::RegistryError;

/// The file formats the registry reads, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.toml`: `[[mark]]` tables.
    Toml,
    /// `.json`: an array of marks.
    Json,
    /// `.jsonl`: one mark per line.
    JsonLines,
    /// `.csv`: a header row, then one mark per record.
    Csv,
}

impl Format {
    /// The format of `path`, from its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::JsonLines),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Why a file could not be imported. Nothing of the file was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one of the known formats.
    #[error(
        "{}: unknown file type (expected .toml, .json, .jsonl or .csv)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// Some records are bad; every problem is listed.
    #[error("{}", Problems { path, problems })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in line order.
        problems: Vec<Problem>,
    },
    /// A folder named for import holds no file of a known format.
    #[error(
        "{}: no .toml, .json, .jsonl or .csv files in this folder",
        path.display()
    )]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// The marks were fine but the database failed.
    #[error("cannot store the marks of {}", path.display())]
    Store {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: RegistryError,
    },
}

impl ImportError {
    /// Whether the database itself failed (a full disk, an I/O error): no later
    /// import can succeed either, and the process should stop.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            ImportError::Store {
                source: RegistryError::Db(_),
                ..
            }
        )
    }

    /// The problems of a file with bad records (empty for other errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ImportError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Prints problems one per line as `FILE:LINE: field: reason`.
struct Problems<'a> {
    path: &'a Path,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: ", self.path.display(), problem.line)?;
            if let Some(field) = &problem.field {
                write!(f, "{field}: ")?;
            }
            write!(f, "{}", problem.reason)?;
        }
        Ok(())
    }
}

/// The largest import file read, in bytes (256 MiB). The whole file is read and
/// checked before anything is stored, so this bounds an import's memory; a larger
/// registry is imported as several files (each all or nothing).
pub const MAX_IMPORT_BYTES: u64 = 256 << 20;

/// Reads, validates and resolves every mark of `path`, without touching a database.
pub fn parse_file(path: &Path) -> Result<Vec<Mark>, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.to_owned(),
        source,
    };
    // A missing path is reported as missing, whatever its extension; a device or
    // pipe (which may never end) and a file past the size limit are not read.
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() > MAX_IMPORT_BYTES {
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} bytes; import files are at most {MAX_IMPORT_BYTES} bytes (split it)",
                meta.len()
            ),
        )));
    }
    let format = Format::from_path(path).ok_or_else(|| ImportError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let bytes = std::fs::read(path).map_err(read_error)?;
    let invalid = |problems| ImportError::Invalid {
        path: path.to_owned(),
        problems,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default();
            let line = LineIndex::new(valid).line(valid.len());
            return Err(invalid(vec![Problem::syntax(line, "not valid UTF-8 text")]));
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    parse_str(text, format, base).map_err(invalid)
}

/// Reads, validates and resolves the marks of `text` in `format`; image paths are
/// relative to `base`.
pub fn parse_str(text: &str, format: Format, base: &Path) -> Result<Vec<Mark>, Vec<Problem>> {
    parse_with(text, format, ImageResolver::new(base))
}

/// As [`parse_str`] for marks sent over the network: a mark naming an image file
/// is a problem (the service never reads files its clients name).
pub fn parse_sent(text: &str, format: Format) -> Result<Vec<Mark>, Vec<Problem>> {
    parse_with(text, format, ImageResolver::refusing())
}

fn parse_with(
    text: &str,
    format: Format,
    mut images: ImageResolver,
) -> Result<Vec<Mark>, Vec<Problem>> {
    // A byte-order mark (spreadsheets write one) is not part of the first field.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let index = LineIndex::new(text);
    let toml_doc;
    let parsed = match format {
        Format::Toml => match toml::parse(text, &index) {
            Ok(doc) => {
                toml_doc = doc;
                toml::read(&toml_doc, &index)
            }
            Err(problem) => return Err(vec![problem]),
        },
        Format::Json => json::read_array(text, &index),
        Format::JsonLines => json::read_lines(text),
        Format::Csv => csv::read(text),
    };
    let mut problems = parsed.problems;
    let mut marks = Vec::with_capacity(parsed.records.len());
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let built: Vec<(usize, Locate<'_>, (Mark, Vec<FieldProblem>))> = parsed
        .records
        .into_iter()
        .map(|record| (record.line, record.locate, build_mark(record.fields)))
        .collect();
    // Reference images are decoded and hashed in parallel up front.
    images.prefetch(
        built
            .iter()
            .flat_map(|(_, _, (mark, _))| mark.images.iter().map(|i| i.path.as_str())),
    );
    for (line, record_locate, (mut mark, mut field_problems)) in built {
        let locate = |path: &FieldPath| record_locate(path).unwrap_or(line);
        // Fields that could not be read are reported once, not again by validation.
        let unread: Vec<Segment> = field_problems
            .iter()
            .filter_map(|problem| problem.path.0.first().cloned())
            .collect();
        let touches = |problems: &[FieldProblem], field: &str| {
            problems
                .iter()
                .any(|p| p.path.0.first() == Some(&Segment::Key(field.to_owned())))
        };
        field_problems.extend(
            validate(&mut mark)
                .into_iter()
                .filter(|p| p.path.0.first().is_none_or(|first| !unread.contains(first))),
        );
        if !touches(&field_problems, "images") {
            for (i, image) in mark.images.iter_mut().enumerate() {
                if let Err(reason) = images.resolve(image) {
                    field_problems
                        .push(FieldProblem::new(FieldPath::key("images").index(i), reason));
                }
            }
        }
        if !touches(&field_problems, "id") {
            if let Some(first) = first_line_of.get(&mark.id) {
                field_problems.push(FieldProblem::new(
                    FieldPath::key("id"),
                    format!("duplicate id `{}` (first used on line {first})", mark.id),
                ));
            } else {
                first_line_of.insert(mark.id.clone(), line);
            }
        }
        if field_problems.is_empty() {
            marks.push(mark);
        }
        problems.extend(
            field_problems
                .into_iter()
                .map(|p| Problem::field(locate(&p.path), p.path, p.reason)),
        );
    }
    if problems.is_empty() {
        Ok(marks)
    } else {
        problems.sort_by_key(|problem| problem.line);
        Err(problems)
    }
}

/// What a format reader hands back: the records it could split off, and the
/// problems of the file's syntax.
struct Parsed<'a> {
    records: Vec<RawRecord<'a>>,
    problems: Vec<Problem>,
}

/// A field value as the format gave it, or why it could not be read at all.
type RawField = Result<Value, FieldProblem>;

/// Finds the line of a field inside a record, when the format can tell.
type Locate<'a> = Box<dyn Fn(&FieldPath) -> Option<usize> + 'a>;

/// One record of a file, before it becomes a mark.
struct RawRecord<'a> {
    /// The line the record starts on.
    line: usize,
    /// The record's fields in file order.
    fields: Vec<(String, RawField)>,
    /// The line of a field inside the record, when the format can tell.
    locate: Locate<'a>,
}

/// The fields a mark may have, in the order they are documented.
const FIELDS: &[&str] = &[
    "id",
    "name",
    "aliases",
    "owner",
    "classes",
    "registrations",
    "images",
    "min_price",
    "authorized_sellers",
    "bank",
];

/// Reads the fields into a mark, reporting every field that is missing, unknown or
/// of the wrong shape.
fn build_mark(fields: Vec<(String, RawField)>) -> (Mark, Vec<FieldProblem>) {
    let mut mark = Mark::default();
    let mut problems = Vec::new();
    for required in ["id", "name"] {
        if !fields.iter().any(|(key, _)| key == required) {
            problems.push(FieldProblem::new(
                FieldPath::key(required),
                "missing (every mark needs an `id` and a `name`)",
            ));
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in fields {
        let path = FieldPath::key(&key);
        if seen.contains(&key) {
            problems.push(FieldProblem::new(path, "given twice"));
            continue;
        }
        seen.push(key.clone());
        let value = match value {
            Ok(value) => value,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let result = match key.as_str() {
            "id" => read_field(&path, value, &mut mark.id),
            "name" => read_field(&path, value, &mut mark.name),
            "aliases" => read_field(&path, value, &mut mark.aliases),
            "owner" => read_field(&path, value, &mut mark.owner),
            "classes" => read_field(&path, value, &mut mark.classes),
            "registrations" => read_field(&path, value, &mut mark.registrations),
            "images" => read_field(&path, value, &mut mark.images),
            "min_price" => read_field(&path, value, &mut mark.min_price),
            "authorized_sellers" => read_field(&path, value, &mut mark.authorized_sellers),
            "bank" => read_field(&path, value, &mut mark.bank),
            _ => Err(FieldProblem::new(
                path,
                format!("unknown field (a mark has {})", FIELDS.join(", ")),
            )),
        };
        if let Err(problem) = result {
            problems.push(problem);
        }
    }
    (mark, problems)
}

/// Deserializes one field, naming the exact spot inside it on failure.
fn read_field<T: DeserializeOwned>(
    path: &FieldPath,
    value: Value,
    slot: &mut T,
) -> Result<(), FieldProblem> {
    match serde_path_to_error::deserialize(value) {
        Ok(value) => {
            *slot = value;
            Ok(())
        }
        Err(err) => Err(FieldProblem::new(
            path.join_serde(err.path()),
            err.into_inner().to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Vec<(String, RawField)> {
        let Value::Object(map) = serde_json::from_str(json).unwrap() else {
            panic!("not an object")
        };
        map.into_iter().map(|(k, v)| (k, Ok(v))).collect()
    }

    fn problem_fields(problems: &[FieldProblem]) -> Vec<String> {
        let mut fields: Vec<String> = problems.iter().map(|p| p.path.to_string()).collect();
        fields.sort();
        fields
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.TOML")), Some(Format::Toml));
        assert_eq!(
            Format::from_path(Path::new("m.jsonl")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_path(Path::new("m.csv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("m.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("README.md")), None);
        assert_eq!(Format::from_path(Path::new("toml")), None);
    }

    #[test]
    fn builds_a_mark_from_fields() {
        let (mark, problems) = build_mark(fields(
            r#"{"id": "a", "name": "A", "classes": [25], "min_price": {"amount": 5, "currency": "EUR"},
                "images": ["x.png", {"path": "y.png", "sha256": "00"}],
                "registrations": [{"office": "USPTO", "number": "1"}]}"#,
        ));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(mark.classes, [25]);
        assert_eq!(mark.min_price.unwrap().amount, 5.0);
        assert_eq!(mark.images[1].sha256.as_deref(), Some("00"));
    }

    #[test]
    fn reports_every_bad_field_with_its_inner_path() {
        let (_, problems) = build_mark(fields(
            r#"{"name": 3, "colour": "red", "classes": [25, "x"],
                "registrations": [{"office": "USPTO"}], "min_price": {"amount": 1}}"#,
        ));
        assert_eq!(
            problem_fields(&problems),
            [
                "classes[1]",
                "colour",
                "id",
                "min_price",
                "name",
                "registrations[0]"
            ]
        );
    }

    #[test]
    fn parse_str_reports_duplicate_ids_and_validation_problems() {
        let text = "[[mark]]\nid = \"a\"\nname = \"A\"\n\n[[mark]]\nid = \"a\"\nname = \"B\"\n\n[[mark]]\nid = \"b\"\nname = \"\"\nclasses = [99]\n";
        let problems = parse_str(text, Format::Toml, Path::new(".")).unwrap_err();
        let shown: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.line, p.field.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(shown, ["6: id", "11: name", "12: classes[0]"]);
        assert!(problems[0].reason.contains("first used on line 1"));
    }
}
