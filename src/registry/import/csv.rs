//! The CSV reader: a header row naming the columns (see the parent module for the
//! column list), then one mark per record. List fields are split on `;`; the cells
//! become JSON-like fields so the shared code reads and checks them.

use serde_json::{json, Value};

use super::{Parsed, RawField, RawRecord};
use crate::registry::problem::{FieldPath, FieldProblem, Problem};

/// The columns a CSV file may have.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "aliases",
    "owner",
    "classes",
    "registrations",
    "images",
    "logos",
    "min_price_amount",
    "min_price_currency",
    "authorized_sellers",
];

/// Splits a CSV file into mark records.
pub(super) fn read(text: &str) -> Parsed<'static> {
    let mut parsed = Parsed {
        records: Vec::new(),
        problems: Vec::new(),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(err) => {
            parsed.problems.push(csv_problem(&err));
            return parsed;
        }
    };
    let columns: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    if columns.iter().all(String::is_empty) {
        parsed.problems.push(Problem::syntax(
            1,
            "expected a header row naming the columns (at least `id` and `name`)",
        ));
        return parsed;
    }
    for (i, column) in columns.iter().enumerate() {
        if !COLUMNS.contains(&column.as_str()) {
            parsed.problems.push(Problem::field(
                1,
                column,
                format!("unknown column (columns are {})", COLUMNS.join(", ")),
            ));
        } else if columns[..i].contains(column) {
            parsed
                .problems
                .push(Problem::field(1, column, "column appears twice"));
        }
    }
    for required in ["id", "name"] {
        if !columns.iter().any(|column| column == required) {
            parsed.problems.push(Problem::field(
                1,
                required,
                "missing column (the header row needs `id` and `name`)",
            ));
        }
    }
    if !parsed.problems.is_empty() {
        return parsed;
    }
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(err) => {
                parsed.problems.push(csv_problem(&err));
                continue;
            }
        };
        let line = record.position().map_or(1, |pos| pos.line() as usize);
        let cells: Vec<(&str, &str)> = columns
            .iter()
            .map(String::as_str)
            .zip(record.iter())
            .filter(|(_, cell)| !cell.trim().is_empty())
            .collect();
        parsed.records.push(RawRecord {
            line,
            fields: fields(&cells),
            locate: Box::new(move |_| Some(line)),
        });
    }
    parsed
}

/// Turns the non-empty cells of a record into mark fields.
fn fields(cells: &[(&str, &str)]) -> Vec<(String, RawField)> {
    let mut fields = Vec::new();
    let mut amount = None;
    let mut currency = None;
    // Photos first, then logos: one `images` list, as the other formats write it.
    let mut images: Option<Vec<Value>> = None;
    for &(column, cell) in cells {
        let path = FieldPath::key(column);
        let value = match column {
            "images" | "logos" => {
                let kind = if column == "logos" { "logo" } else { "photo" };
                let list = list(cell).map(|s| json!({ "path": s, "kind": kind }));
                let all = images.get_or_insert_with(Vec::new);
                if column == "images" {
                    let logos = std::mem::take(all);
                    all.extend(list);
                    all.extend(logos);
                } else {
                    all.extend(list);
                }
                continue;
            }
            "aliases" | "authorized_sellers" => {
                Ok(Value::Array(list(cell).map(|s| json!(s)).collect()))
            }
            "classes" => Ok(Value::Array(
                list(cell)
                    .map(|s| s.parse::<i64>().map_or_else(|_| json!(s), |n| json!(n)))
                    .collect(),
            )),
            "registrations" => registrations(cell, &path),
            "min_price_amount" => {
                amount = Some(cell.trim().parse::<f64>().map_err(|_| {
                    FieldProblem::new(path, format!("`{}` is not a number", cell.trim()))
                }));
                continue;
            }
            "min_price_currency" => {
                currency = Some(cell.trim().to_owned());
                continue;
            }
            _ => Ok(json!(cell)),
        };
        fields.push((column.to_owned(), value));
    }
    let price = match (amount, currency) {
        (None, None) => None,
        (Some(Err(problem)), _) => Some(Err(problem)),
        (Some(Ok(amount)), Some(currency)) => Some(
            serde_json::Number::from_f64(amount)
                .map(|amount| json!({ "amount": amount, "currency": currency }))
                .ok_or_else(|| {
                    FieldProblem::new(
                        FieldPath::key("min_price_amount"),
                        "must be a finite number",
                    )
                }),
        ),
        (Some(Ok(_)), None) => Some(Err(FieldProblem::new(
            FieldPath::key("min_price_currency"),
            "missing (a price needs both `min_price_amount` and `min_price_currency`)",
        ))),
        (None, Some(_)) => Some(Err(FieldProblem::new(
            FieldPath::key("min_price_amount"),
            "missing (a price needs both `min_price_amount` and `min_price_currency`)",
        ))),
    };
    if let Some(price) = price {
        fields.push(("min_price".to_owned(), price));
    }
    if let Some(images) = images {
        fields.push(("images".to_owned(), Ok(Value::Array(images))));
    }
    fields
}

/// The `;`-separated items of a cell, trimmed.
fn list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim)
}

/// `OFFICE:NUMBER;OFFICE:NUMBER` as registration objects.
fn registrations(cell: &str, path: &FieldPath) -> RawField {
    list(cell)
        .enumerate()
        .map(|(i, item)| match item.split_once(':') {
            Some((office, number)) => Ok(json!({
                "office": office.trim(),
                "number": number.trim(),
            })),
            None => Err(FieldProblem::new(
                path.index(i),
                format!("`{item}` is not OFFICE:NUMBER"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// A CSV syntax error with its line.
fn csv_problem(err: &::csv::Error) -> Problem {
    let line = err.position().map_or(1, |pos| pos.line() as usize);
    let reason = match err.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("this record has {len} fields, the header row {expected_len}"),
        _ => err.to_string(),
    };
    Problem::syntax(line, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(fields: &'a [(String, RawField)], name: &str) -> &'a RawField {
        &fields.iter().find(|(k, _)| k == name).unwrap().1
    }

    #[test]
    fn reads_list_columns_and_prices() {
        let text = "id,name,aliases,classes,registrations,min_price_amount,min_price_currency\n\
                    zentrix,Zentrix,泽特里克斯;ZTX,25;28,USPTO:1234567;EUIPO:000123,80,USD\n";
        let parsed = read(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let fields = &parsed.records[0].fields;
        assert_eq!(parsed.records[0].line, 2);
        assert_eq!(
            field(fields, "aliases").as_ref().unwrap(),
            &json!(["泽特里克斯", "ZTX"])
        );
        assert_eq!(field(fields, "classes").as_ref().unwrap(), &json!([25, 28]));
        assert_eq!(
            field(fields, "registrations").as_ref().unwrap(),
            &json!([{"office": "USPTO", "number": "1234567"}, {"office": "EUIPO", "number": "000123"}])
        );
        assert_eq!(
            field(fields, "min_price").as_ref().unwrap(),
            &json!({"amount": 80.0, "currency": "USD"})
        );
    }

    #[test]
    fn logos_join_images_as_entries_of_kind_logo() {
        let text = "id,name,logos,images\nzentrix,Zentrix,l.png,a.png;b.png\n";
        let parsed = read(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let fields = &parsed.records[0].fields;
        assert_eq!(
            field(fields, "images").as_ref().unwrap(),
            &json!([
                {"path": "a.png", "kind": "photo"},
                {"path": "b.png", "kind": "photo"},
                {"path": "l.png", "kind": "logo"}
            ])
        );
        assert!(!fields.iter().any(|(k, _)| k == "logos"));
    }

    #[test]
    fn empty_cells_are_absent_and_lines_follow_quoted_newlines() {
        let text = "id,name,owner\na,\"A\nmultiline\",\nb,B,\n";
        let parsed = read(text);
        assert_eq!(parsed.records[0].fields.len(), 2);
        assert_eq!(parsed.records[1].line, 4);
    }

    #[test]
    fn reports_bad_headers_and_cells() {
        assert_eq!(read("").problems.len(), 1);
        let parsed = read("id,title\n");
        let fields: Vec<_> = parsed.problems.iter().map(|p| p.field.clone()).collect();
        assert_eq!(fields, [Some("title".into()), Some("name".into())]);

        let parsed = read("id,name,registrations,min_price_amount\na,A,USPTO-1,x\nb,B,,5\nc,C\n");
        let a = &parsed.records[0].fields;
        assert!(field(a, "registrations").is_err());
        assert!(field(a, "min_price").is_err());
        let b = &parsed.records[1].fields;
        assert!(field(b, "min_price").is_err());
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 4);
    }
}
