//! The JSON readers: a file holding an array of marks, and JSON lines (one mark per
//! line). For arrays, each element and field is kept as a borrowed `RawValue`, whose
//! position in the text gives the line of the field.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use serde_json::value::RawValue;

use super::{Parsed, RawField, RawRecord};
use crate::registry::problem::{FieldPath, LineIndex, Problem, Segment};

/// Splits a JSON array of marks into records.
pub(super) fn read_array<'a>(text: &'a str, index: &'a LineIndex) -> Parsed<'a> {
    let mut parsed = Parsed {
        records: Vec::new(),
        problems: Vec::new(),
    };
    let elements: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(elements) => elements,
        Err(err) => {
            let reason = if err.is_data() {
                "expected a JSON array of marks".to_owned()
            } else {
                strip_position(&err)
            };
            parsed
                .problems
                .push(Problem::syntax(err.line().max(1), reason));
            return parsed;
        }
    };
    for element in elements {
        let raw = element.get();
        let line = index.line(offset_in(text, raw));
        match object_fields(raw) {
            Ok(fields) => parsed.records.push(RawRecord {
                line,
                fields,
                locate: Box::new(move |path| Some(index.line(offset_in(text, find(raw, path))))),
            }),
            Err(reason) => parsed.problems.push(Problem::field(line, "mark", reason)),
        }
    }
    parsed
}

/// Splits JSON lines into records; blank lines are skipped.
pub(super) fn read_lines(text: &str) -> Parsed<'_> {
    let mut parsed = Parsed {
        records: Vec::new(),
        problems: Vec::new(),
    };
    for (i, line_text) in text.lines().enumerate() {
        let line = i + 1;
        if line_text.trim().is_empty() {
            continue;
        }
        match object_fields(line_text) {
            Ok(fields) => parsed.records.push(RawRecord {
                line,
                fields,
                locate: Box::new(move |_| Some(line)),
            }),
            Err(reason) => parsed.problems.push(Problem::syntax(line, reason)),
        }
    }
    parsed
}

/// The fields of a JSON object, in the order they were written.
fn object_fields(raw: &str) -> Result<Vec<(String, RawField)>, String> {
    let Fields(fields) = serde_json::from_str(raw).map_err(|err| strip_position(&err))?;
    fields
        .into_iter()
        .map(|(key, value)| {
            let value = serde_json::from_str(value.get()).map_err(|err| strip_position(&err))?;
            Ok((key, Ok(value)))
        })
        .collect()
}

/// An object's fields in file order, each kept as raw text (serde_json's own map is
/// sorted by key, which would lose the reading order of problems).
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fields<'a>, D::Error> {
        deserializer.deserialize_map(FieldsVisitor(PhantomData))
    }
}

struct FieldsVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
    type Value = Fields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object (one mark)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'a>, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
            fields.push(entry);
        }
        Ok(Fields(fields))
    }
}

/// The text of the deepest value along `path` inside `raw`.
fn find<'a>(raw: &'a str, path: &FieldPath) -> &'a str {
    let mut current = raw;
    for segment in &path.0 {
        let next = match segment {
            Segment::Key(key) => serde_json::from_str::<BTreeMap<String, &RawValue>>(current)
                .ok()
                .and_then(|map| map.get(key).map(|value| value.get())),
            Segment::Index(i) => serde_json::from_str::<Vec<&RawValue>>(current)
                .ok()
                .and_then(|list| list.get(*i).map(|value| value.get())),
        };
        match next {
            Some(next) => current = next,
            None => break,
        }
    }
    current
}

/// The byte offset of `part` inside `whole`, of which it is a sub-slice.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len())
}

/// serde_json's message without its " at line L column C" suffix (the line is
/// reported separately, relative to the file).
fn strip_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_records_know_their_lines() {
        let text = "[\n  {\"id\": \"a\", \"name\": \"A\"},\n  {\n    \"id\": \"b\",\n    \"classes\": [\n      25,\n      99\n    ]\n  }\n]\n";
        let index = LineIndex::new(text);
        let parsed = read_array(text, &index);
        assert!(parsed.problems.is_empty());
        assert_eq!(parsed.records[0].line, 2);
        assert_eq!(parsed.records[1].line, 3);
        let locate = &parsed.records[1].locate;
        assert_eq!(locate(&FieldPath::key("id")), Some(4));
        assert_eq!(locate(&FieldPath::key("classes").index(1)), Some(7));
        assert_eq!(locate(&FieldPath::key("owner")), Some(3));
    }

    #[test]
    fn array_syntax_errors_and_non_objects_are_reported() {
        let text = "[\n  {\"id\": \"a\"},\n  {\"id\": }\n]";
        let index = LineIndex::new(text);
        let parsed = read_array(text, &index);
        assert_eq!(parsed.problems[0].line, 3);
        assert!(!parsed.problems[0].reason.contains("column"));

        let text = "[\n  1,\n  {\"id\": \"a\"}\n]";
        let index = LineIndex::new(text);
        let parsed = read_array(text, &index);
        assert_eq!(parsed.problems[0].line, 2);
        assert_eq!(parsed.records.len(), 1);

        let index = LineIndex::new("{}");
        assert_eq!(read_array("{}", &index).problems.len(), 1);
    }

    #[test]
    fn lines_are_read_independently() {
        let text =
            "{\"id\": \"a\", \"name\": \"A\"}\n\n{broken\n[1]\n{\"name\": \"N\", \"id\": \"b\"}\n";
        let parsed = read_lines(text);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4]);
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.records[1].line, 5);
        assert_eq!(parsed.records[1].fields[0].0, "name");
    }
}
