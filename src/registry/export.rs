//! Writing the registry back out in an import format. Images are written as tables
//! `{ path, sha256 }` (with `kind = "logo"` for logos) with the absolute path resolved at import, so the export
//! imports again from anywhere, and the hash proves the image is still the same.
//! Output is deterministic: export, import into a fresh database and export again
//! gives the same bytes.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::bank::{BankEntry, EntryKind};
use super::model::{ImageRef, Mark, Money, Registration};

/// The formats `registry export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// `[[mark]]` tables, the format of the bundled `trademarks/`.
    #[default]
    Toml,
    /// One JSON object per line.
    JsonLines,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// JSON serialisation failed.
    #[error("cannot write JSON")]
    Json(#[from] serde_json::Error),
}

/// Renders `marks` in `format`.
pub fn render(marks: &[Mark], format: ExportFormat) -> Result<String, ExportError> {
    match format {
        ExportFormat::Toml => Ok(toml_document(marks)),
        ExportFormat::JsonLines => {
            let mut out = String::new();
            for mark in marks {
                out.push_str(&serde_json::to_string(mark)?);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

/// `[[mark]]` tables in the style of the bundled registry: one block per mark, with
/// registrations, images and the price as inline tables.
fn toml_document(marks: &[Mark]) -> String {
    let mut tables = ArrayOfTables::new();
    for mark in marks {
        let mut table = Table::new();
        table.insert("id", Item::Value(mark.id.as_str().into()));
        table.insert("name", Item::Value(mark.name.as_str().into()));
        if !mark.aliases.is_empty() {
            table.insert("aliases", strings(&mark.aliases));
        }
        if let Some(owner) = &mark.owner {
            table.insert("owner", Item::Value(owner.as_str().into()));
        }
        if !mark.classes.is_empty() {
            let classes: Array = mark.classes.iter().map(|&c| i64::from(c)).collect();
            table.insert("classes", Item::Value(classes.into()));
        }
        if !mark.registrations.is_empty() {
            let list = mark.registrations.iter().map(registration).collect();
            table.insert("registrations", inline_list(list));
        }
        if !mark.images.is_empty() {
            let list = mark.images.iter().map(image).collect();
            table.insert("images", inline_list(list));
        }
        if let Some(price) = &mark.min_price {
            table.insert("min_price", Item::Value(money(price).into()));
        }
        if !mark.authorized_sellers.is_empty() {
            table.insert("authorized_sellers", strings(&mark.authorized_sellers));
        }
        if !mark.bank.is_empty() {
            let mut bank = Table::new();
            for (name, entries) in [
                ("negative", &mark.bank.negative),
                ("positive", &mark.bank.positive),
            ] {
                if !entries.is_empty() {
                    bank.insert(name, inline_list(entries.iter().map(bank_entry).collect()));
                }
            }
            table.insert("bank", Item::Table(bank));
        }
        tables.push(table);
    }
    let mut doc = DocumentMut::new();
    if !marks.is_empty() {
        doc.insert("mark", Item::ArrayOfTables(tables));
    }
    doc.to_string()
}

fn strings(items: &[String]) -> Item {
    let array: Array = items.iter().map(String::as_str).collect();
    Item::Value(array.into())
}

/// A list of inline tables, one per line when there are several.
fn inline_list(tables: Vec<InlineTable>) -> Item {
    let mut array: Array = tables.into_iter().map(Value::from).collect();
    if array.len() > 1 {
        for value in array.iter_mut() {
            value.decor_mut().set_prefix("\n  ");
        }
        array.set_trailing("\n");
        array.set_trailing_comma(true);
    }
    Item::Value(array.into())
}

fn registration(registration: &Registration) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("office", registration.office.as_str().into());
    table.insert("number", registration.number.as_str().into());
    table
}

fn image(image: &ImageRef) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("path", image.path.as_str().into());
    if !image.kind.is_photo() {
        table.insert("kind", image.kind.as_str().into());
    }
    if let Some(sha256) = &image.sha256 {
        table.insert("sha256", sha256.as_str().into());
    }
    table
}

fn bank_entry(entry: &BankEntry) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("id", i64::try_from(entry.id).unwrap_or(i64::MAX).into());
    let kind = match entry.kind {
        EntryKind::Term => "term",
        EntryKind::Seller => "seller",
        EntryKind::Photo => "photo",
    };
    table.insert("kind", kind.into());
    table.insert("value", entry.value.as_str().into());
    if let Some(reason) = entry.reason {
        table.insert("reason", reason.as_str().into());
    }
    table.insert("decision", entry.decision.as_str().into());
    table.insert("actor", entry.actor.as_str().into());
    table.insert("at", entry.at.as_str().into());
    if let Some(undone) = &entry.undone {
        let mut u = InlineTable::new();
        u.insert("actor", undone.actor.as_str().into());
        u.insert("at", undone.at.as_str().into());
        table.insert("undone", u.into());
    }
    table
}

fn money(money: &Money) -> InlineTable {
    let mut table = InlineTable::new();
    table.insert("amount", money.amount.into());
    table.insert("currency", money.currency.as_str().into());
    table
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::registry::import::{parse_str, Format};

    fn sample() -> Vec<Mark> {
        vec![
            Mark {
                id: "copper-finch".into(),
                name: "Copper Finch".into(),
                aliases: vec!["铜雀".into(), "Коппер Финч".into()],
                owner: Some("Copper \"Finch\" Ltd.".into()),
                classes: vec![16, 28],
                registrations: vec![Registration {
                    office: "EUIPO".into(),
                    number: "018000001".into(),
                }],
                min_price: Some(Money {
                    amount: 12.5,
                    currency: "GBP".into(),
                }),
                authorized_sellers: vec!["finch-store".into()],
                bank: {
                    use crate::registry::{Bank, NewEntry, Reason};
                    let mut bank = Bank::default();
                    bank.add(
                        false,
                        vec![NewEntry {
                            kind: EntryKind::Term,
                            value: "Copper Finh".into(),
                        }],
                        Some(Reason::OtherBrand),
                        "0011223344556677@2",
                        "reviewer",
                        "2026-01-01T00:00:00.000Z",
                    );
                    bank.add(
                        true,
                        vec![NewEntry {
                            kind: EntryKind::Photo,
                            value: "ab".repeat(32),
                        }],
                        None,
                        "8899aabbccddeeff@3",
                        "reviewer",
                        "2026-01-02T00:00:00.000Z",
                    );
                    bank.undo(1, "admin", "2026-01-03T00:00:00.000Z");
                    bank
                },
                ..Mark::default()
            },
            Mark {
                id: "zvk".into(),
                name: "ZVK".into(),
                min_price: Some(Money {
                    amount: 199.0,
                    currency: "CNY".into(),
                }),
                ..Mark::default()
            },
        ]
    }

    #[test]
    fn both_formats_parse_back_to_the_same_marks() {
        let marks = sample();
        for (format, read_as) in [
            (ExportFormat::Toml, Format::Toml),
            (ExportFormat::JsonLines, Format::JsonLines),
        ] {
            let text = render(&marks, format).unwrap();
            let back = parse_str(&text, read_as, Path::new(".")).unwrap();
            assert_eq!(back, marks, "{format:?}:\n{text}");
            assert_eq!(render(&back, format).unwrap(), text);
        }
    }

    #[test]
    fn toml_keeps_each_mark_in_one_block() {
        let text = render(&sample()[1..], ExportFormat::Toml).unwrap();
        assert_eq!(
            text,
            "[[mark]]\nid = \"zvk\"\nname = \"ZVK\"\nmin_price = { amount = 199.0, currency = \"CNY\" }\n"
        );
    }

    #[test]
    fn empty_registry_exports_nothing() {
        assert_eq!(render(&[], ExportFormat::Toml).unwrap(), "");
        assert_eq!(render(&[], ExportFormat::JsonLines).unwrap(), "");
    }
}
