//! The trademark model: what a registered mark carries, and how it reads from and
//! writes to the import and export formats.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// One registered mark, the unit of the registry. Fields beyond `id` and `name` are
/// optional; the TOML form is `[[mark]]` tables (see `trademarks/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Stable key: `[a-z0-9][a-z0-9._-]*`.
    pub id: String,
    /// The word mark as registered.
    pub name: String,
    /// Other scripts, transliterations and short forms of the name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The rights owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Nice classes, 1 to 45.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<u8>,
    /// Registrations at trademark offices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registrations: Vec<Registration>,
    /// Reference images (the brand's own photos and logos).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageRef>,
    /// The lowest price a genuine item sells for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<Money>,
    /// Seller ids allowed to sell the genuine goods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_sellers: Vec<String>,
}

/// A registration of the mark at one office.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The office: USPTO, EUIPO, CNIPA, WIPO, ...
    pub office: String,
    /// The registration number at that office.
    pub number: String,
}

/// A sum of money in an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount, in units of the currency (not cents).
    pub amount: f64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

/// A reference image of a mark. In an import file it is written as a path relative to
/// the file, either as a plain string or as a table `{ path = "...", sha256 = "..." }`
/// (the form `registry export` writes); once stored it carries the resolved path and
/// the SHA-256 of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Path of the image file.
    pub path: String,
    /// SHA-256 of the file's bytes, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl<'de> Deserialize<'de> for ImageRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ImageRef, D::Error> {
        deserializer.deserialize_any(ImageRefVisitor)
    }
}

/// Accepts `"path"` as well as `{ path = "...", sha256 = "..." }`.
struct ImageRefVisitor;

impl<'de> Visitor<'de> for ImageRefVisitor {
    type Value = ImageRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an image path or a table with `path` and optional `sha256`")
    }

    fn visit_str<E: de::Error>(self, path: &str) -> Result<ImageRef, E> {
        Ok(ImageRef {
            path: path.to_owned(),
            sha256: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ImageRef, A::Error> {
        let mut path = None;
        let mut sha256 = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "path" if path.is_some() => return Err(de::Error::duplicate_field("path")),
                "path" => path = Some(map.next_value()?),
                "sha256" if sha256.is_some() => {
                    return Err(de::Error::duplicate_field("sha256"));
                }
                "sha256" => sha256 = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["path", "sha256"])),
            }
        }
        let path = path.ok_or_else(|| de::Error::missing_field("path"))?;
        Ok(ImageRef { path, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ref_reads_a_string_or_a_table() {
        let plain: ImageRef = serde_json::from_str(r#""logo.png""#).unwrap();
        assert_eq!(plain.path, "logo.png");
        assert_eq!(plain.sha256, None);
        let table: ImageRef =
            serde_json::from_str(r#"{"path": "/a/logo.png", "sha256": "ab12"}"#).unwrap();
        assert_eq!(table.path, "/a/logo.png");
        assert_eq!(table.sha256.as_deref(), Some("ab12"));
    }

    #[test]
    fn image_ref_rejects_unknown_keys_and_missing_path() {
        let err = serde_json::from_str::<ImageRef>(r#"{"file": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `file`"), "{err}");
        let err = serde_json::from_str::<ImageRef>(r#"{"sha256": "ab"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `path`"), "{err}");
        assert!(serde_json::from_str::<ImageRef>("12").is_err());
    }

    #[test]
    fn stored_mark_round_trips_through_json() {
        let mark = Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            classes: vec![25, 28],
            images: vec![ImageRef {
                path: "/x/a.png".into(),
                sha256: Some("00".into()),
            }],
            min_price: Some(Money {
                amount: 79.5,
                currency: "USD".into(),
            }),
            ..Mark::default()
        };
        let json = serde_json::to_string(&mark).unwrap();
        assert_eq!(serde_json::from_str::<Mark>(&json).unwrap(), mark);
    }
}
