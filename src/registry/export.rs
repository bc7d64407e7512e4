//! Writing the registry back out in an import format. Images are written as tables
//! `{ path, sha256 }` with the absolute path resolved at import, so the export
//! imports again from anywhere, and the hash proves the image is still the same.
//! Output is deterministic: export, import into a fresh database and export again
//! gives the same bytes.

use serde::Serialize;

use super::model::Mark;

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
    /// TOML serialisation failed.
    #[error("cannot write TOML")]
    Toml(#[from] toml::ser::Error),
    /// JSON serialisation failed.
    #[error("cannot write JSON")]
    Json(#[from] serde_json::Error),
}

/// The TOML file layout: `[[mark]]` tables.
#[derive(Serialize)]
struct TomlFile<'a> {
    mark: &'a [Mark],
}

/// Renders `marks` in `format`.
pub fn render(marks: &[Mark], format: ExportFormat) -> Result<String, ExportError> {
    match format {
        ExportFormat::Toml if marks.is_empty() => Ok(String::new()),
        ExportFormat::Toml => Ok(toml::to_string(&TomlFile { mark: marks })?),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::registry::import::{parse_str, Format};
    use crate::registry::model::{Money, Registration};

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
    fn empty_registry_exports_nothing() {
        assert_eq!(render(&[], ExportFormat::Toml).unwrap(), "");
        assert_eq!(render(&[], ExportFormat::JsonLines).unwrap(), "");
    }
}
