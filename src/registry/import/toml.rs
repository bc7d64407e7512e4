//! The TOML reader: `[[mark]]` tables (or `mark = [{...}, ...]`). `toml_edit` keeps
//! the byte span of every key, so each problem points at the line of its field.

use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml_edit::{ImDocument, InlineTable, Item, Table};

use super::{Parsed, RawField, RawRecord};
use crate::registry::problem::{FieldPath, FieldProblem, LineIndex, Problem, Segment};

/// Parses `text`, or says on which line its syntax breaks.
pub(super) fn parse<'a>(text: &'a str, index: &LineIndex) -> Result<ImDocument<&'a str>, Problem> {
    ImDocument::parse(text).map_err(|err| {
        let line = err.span().map_or(1, |span| index.line(span.start));
        Problem::syntax(line, err.message().trim())
    })
}

/// Splits a parsed TOML document into mark records.
pub(super) fn read<'a>(doc: &'a ImDocument<&'a str>, index: &'a LineIndex) -> Parsed<'a> {
    let mut parsed = Parsed {
        records: Vec::new(),
        problems: Vec::new(),
    };
    let line_of = |span: Option<Range<usize>>| span.map(|span| index.line(span.start));
    for (key, item) in doc.as_table().iter() {
        let key_line = doc
            .as_table()
            .get_key_value(key)
            .and_then(|(key, _)| line_of(key.span()))
            .unwrap_or(1);
        if key != "mark" {
            parsed.problems.push(Problem::field(
                key_line,
                key,
                "unknown top-level key (marks go in [[mark]] tables)",
            ));
            continue;
        }
        match item {
            Item::ArrayOfTables(tables) => {
                for table in tables.iter() {
                    let line = line_of(table.span()).unwrap_or(key_line);
                    parsed.records.push(RawRecord {
                        line,
                        fields: table
                            .iter()
                            .map(|(key, item)| (key.to_owned(), item_to_json(item, key)))
                            .collect(),
                        locate: Box::new(move |path| locate(Node::Table(table), path, index)),
                    });
                }
            }
            Item::Value(toml_edit::Value::Array(array)) => {
                for value in array.iter() {
                    let line = line_of(value.span()).unwrap_or(key_line);
                    let Some(table) = value.as_inline_table() else {
                        parsed.problems.push(Problem::field(
                            line,
                            "mark",
                            format!("expected a table, found {}", value.type_name()),
                        ));
                        continue;
                    };
                    parsed.records.push(RawRecord {
                        line,
                        fields: inline_fields(table),
                        locate: Box::new(move |path| locate(Node::Inline(table), path, index)),
                    });
                }
            }
            _ => parsed
                .problems
                .push(Problem::field(key_line, "mark", "expected [[mark]] tables")),
        }
    }
    parsed
}

fn inline_fields(table: &InlineTable) -> Vec<(String, RawField)> {
    table
        .iter()
        .map(|(key, value)| {
            let path = FieldPath::key(key);
            (key.to_owned(), value_to_json(value, &path))
        })
        .collect()
}

/// A TOML item as JSON, or the problem that prevents it (a date, a non-finite float).
fn item_to_json(item: &Item, key: &str) -> RawField {
    item_at(item, &FieldPath::key(key))
}

fn item_at(item: &Item, path: &FieldPath) -> RawField {
    match item {
        Item::None => Ok(Value::Null),
        Item::Value(value) => value_to_json(value, path),
        Item::Table(table) => {
            let mut map = Map::new();
            for (key, item) in table.iter() {
                map.insert(key.to_owned(), item_at(item, &path.child(key))?);
            }
            Ok(Value::Object(map))
        }
        Item::ArrayOfTables(tables) => tables
            .iter()
            .enumerate()
            .map(|(i, table)| item_at(&Item::Table(table.clone()), &path.index(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

fn value_to_json(value: &toml_edit::Value, path: &FieldPath) -> RawField {
    use toml_edit::Value as V;
    match value {
        V::String(s) => Ok(Value::String(s.value().clone())),
        V::Integer(i) => Ok(Value::from(*i.value())),
        V::Float(f) => Number::from_f64(*f.value())
            .map(Value::Number)
            .ok_or_else(|| FieldProblem::new(path.clone(), "must be a finite number")),
        V::Boolean(b) => Ok(Value::Bool(*b.value())),
        V::Datetime(_) => Err(FieldProblem::new(path.clone(), "a date is not valid here")),
        V::Array(array) => array
            .iter()
            .enumerate()
            .map(|(i, value)| value_to_json(value, &path.index(i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        V::InlineTable(table) => {
            let mut map = Map::new();
            for (key, value) in table.iter() {
                map.insert(key.to_owned(), value_to_json(value, &path.child(key))?);
            }
            Ok(Value::Object(map))
        }
    }
}

/// Where the walk along a field path stands.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
    Item(&'a Item),
    Value(&'a toml_edit::Value),
}

/// The line of the deepest part of `path` found below `node`.
fn locate(node: Node<'_>, path: &FieldPath, index: &LineIndex) -> Option<usize> {
    let mut node = node;
    let mut line = None;
    for segment in &path.0 {
        node = match node {
            Node::Item(Item::Table(table)) => Node::Table(table),
            Node::Item(Item::Value(value)) => Node::Value(value),
            Node::Value(toml_edit::Value::InlineTable(table)) => Node::Inline(table),
            other => other,
        };
        let step = match (node, segment) {
            (Node::Table(table), Segment::Key(key)) => table
                .get_key_value(key)
                .map(|(key, item)| (key.span(), Node::Item(item))),
            (Node::Inline(table), Segment::Key(key)) => table
                .get_key_value(key)
                .map(|(key, item)| (key.span(), Node::Item(item))),
            (Node::Item(Item::ArrayOfTables(tables)), Segment::Index(i)) => tables
                .get(*i)
                .map(|table| (table.span(), Node::Table(table))),
            (Node::Value(toml_edit::Value::Array(array)), Segment::Index(i)) => array
                .get(*i)
                .map(|value| (value.span(), Node::Value(value))),
            _ => None,
        };
        let Some((span, next)) = step else { break };
        if let Some(span) = span {
            line = Some(index.line(span.start));
        }
        node = next;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, paths: &[FieldPath]) -> Vec<Option<usize>> {
        let index = LineIndex::new(text);
        let doc = parse(text, &index).unwrap();
        let parsed = read(&doc, &index);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let record = &parsed.records[0];
        paths.iter().map(|path| (record.locate)(path)).collect()
    }

    #[test]
    fn finds_the_line_of_nested_fields() {
        let text = r#"# comment
[[mark]]
id = "a"
name = "A"
classes = [
  25,
  28,
]
registrations = [
  { office = "USPTO", number = "1" },
  { office = "EUIPO", number = "2" },
]

[[mark.images]]
path = "x.png"

[mark.min_price]
amount = 3
currency = "EUR"
"#;
        let paths = [
            FieldPath::key("name"),
            FieldPath::key("classes").index(1),
            FieldPath::key("registrations").index(1).child("number"),
            FieldPath::key("images").index(0).child("path"),
            FieldPath::key("min_price").child("currency"),
            FieldPath::key("owner"),
        ];
        assert_eq!(
            lines(text, &paths),
            [Some(4), Some(7), Some(11), Some(15), Some(19), None]
        );
    }

    #[test]
    fn converts_sub_tables_to_json() {
        let text = "[[mark]]\nid = \"a\"\n[[mark.registrations]]\noffice = \"X\"\nnumber = \"1\"\n[mark.min_price]\namount = 2.5\ncurrency = \"EUR\"\n";
        let index = LineIndex::new(text);
        let doc = parse(text, &index).unwrap();
        let parsed = read(&doc, &index);
        let fields: Vec<_> = parsed.records[0]
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone().unwrap()))
            .collect();
        assert_eq!(fields[1].0, "registrations");
        assert_eq!(
            fields[1].1,
            serde_json::json!([{"office": "X", "number": "1"}])
        );
        assert_eq!(
            fields[2].1,
            serde_json::json!({"amount": 2.5, "currency": "EUR"})
        );
    }

    #[test]
    fn reports_syntax_errors_and_stray_keys_with_lines() {
        let text = "[[mark]]\nid = \"a\"\nname = \n";
        let index = LineIndex::new(text);
        assert_eq!(parse(text, &index).unwrap_err().line, 3);

        let text = "title = \"x\"\n[[mark]]\nid = \"a\"\nname = \"A\"\nwhen = 1979-05-27\n";
        let index = LineIndex::new(text);
        let doc = parse(text, &index).unwrap();
        let parsed = read(&doc, &index);
        assert_eq!(parsed.problems[0].line, 1);
        assert_eq!(parsed.problems[0].field.as_deref(), Some("title"));
        assert!(parsed.records[0].fields[2].1.is_err());
    }
}
