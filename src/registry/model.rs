//! The trademark model: what a registered mark carries, and how it reads from and
//! writes to the import and export formats.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::bank::Bank;
use crate::image::{Hash256, PdqHash, ReferenceHash, Variant};

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
    /// What reviewers' decisions taught the matcher about this mark (stored apart
    /// from the mark, so a decision does not change the registry version).
    #[serde(default, skip_serializing_if = "Bank::is_empty")]
    pub bank: Bank,
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

/// What a reference image shows, which decides how listing photos are compared with
/// it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// A product photo: listing photos that copy it whole (PDQ) or in part (local
    /// features, see [`crate::image::features`]) match. The default, so registries
    /// written before kinds existed read as they did.
    #[default]
    Photo,
    /// A figurative or word logo: searched for inside listing photos, at any
    /// position, size and moderate tilt (see [`crate::image::logo`]).
    Logo,
}

impl ImageKind {
    /// Whether this is the default kind (left out when written).
    pub fn is_photo(&self) -> bool {
        *self == ImageKind::Photo
    }

    /// The kind's name in the import formats: `photo` or `logo`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Photo => "photo",
            ImageKind::Logo => "logo",
        }
    }
}

/// A reference image of a mark. In an import file it is written as a path relative to
/// the file, either as a plain string or as a table `{ path = "...", sha256 = "...",
/// kind = "logo" }` (the form `registry export` writes); once stored it carries the
/// resolved path, the SHA-256 of its bytes and its perceptual hashes. The hashes are
/// computed at import from the file itself; values given in an import file are
/// replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Path of the image file.
    pub path: String,
    /// What the image shows: `photo` (the default) or `logo`.
    #[serde(default, skip_serializing_if = "ImageKind::is_photo")]
    pub kind: ImageKind,
    /// SHA-256 of the file's bytes, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// PDQ hash of the whole image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Hash256>,
    /// PDQ quality of the whole image (0..=100; under 50 it is not matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// PDQ hashes of parts of the image (centre crops, the image without its
    /// borders), so that cropped and padded copies match too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<ImageVariant>,
}

/// The PDQ hash of one part of a reference image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageVariant {
    /// Which part: `crop90`, `crop80`, `crop70`, `trimmed`.
    pub variant: Variant,
    /// Its PDQ hash.
    pub pdq: Hash256,
    /// Its PDQ quality.
    pub quality: u8,
}

impl ImageRef {
    /// Every stored hash of the image (the whole image first), for indexing.
    pub fn hashes(&self) -> Vec<ReferenceHash> {
        let whole = self.pdq.map(|hash| ReferenceHash {
            variant: Variant::Full,
            pdq: PdqHash {
                hash,
                quality: self.quality.unwrap_or(0),
            },
        });
        whole
            .into_iter()
            .chain(self.variants.iter().map(|v| ReferenceHash {
                variant: v.variant,
                pdq: PdqHash {
                    hash: v.pdq,
                    quality: v.quality,
                },
            }))
            .collect()
    }
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
        f.write_str("an image path or a table with `path` and optional `kind`, `sha256`, `pdq`, `quality` and `variants`")
    }

    fn visit_str<E: de::Error>(self, path: &str) -> Result<ImageRef, E> {
        Ok(ImageRef {
            path: path.to_owned(),
            ..ImageRef::default()
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ImageRef, A::Error> {
        const FIELDS: &[&str] = &["path", "kind", "sha256", "pdq", "quality", "variants"];
        let mut path = None;
        let mut image = ImageRef::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(field) = FIELDS.iter().find(|f| **f == key) else {
                return Err(de::Error::unknown_field(&key, FIELDS));
            };
            if seen.contains(field) {
                return Err(de::Error::duplicate_field(field));
            }
            seen.push(field);
            match *field {
                "path" => path = Some(map.next_value()?),
                "kind" => image.kind = map.next_value()?,
                "sha256" => image.sha256 = Some(map.next_value()?),
                "pdq" => image.pdq = Some(map.next_value()?),
                "quality" => image.quality = Some(map.next_value()?),
                _ => image.variants = map.next_value()?,
            }
        }
        image.path = path.ok_or_else(|| de::Error::missing_field("path"))?;
        Ok(image)
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
        assert_eq!(table.kind, ImageKind::Photo);
        let logo: ImageRef = serde_json::from_str(r#"{"path": "l.png", "kind": "logo"}"#).unwrap();
        assert_eq!(logo.kind, ImageKind::Logo);
        let err =
            serde_json::from_str::<ImageRef>(r#"{"path": "l.png", "kind": "icon"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `icon`"), "{err}");
    }

    #[test]
    fn image_ref_rejects_unknown_keys_and_missing_path() {
        let err = serde_json::from_str::<ImageRef>(r#"{"file": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `file`"), "{err}");
        let err = serde_json::from_str::<ImageRef>(r#"{"sha256": "ab"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `path`"), "{err}");
        assert!(serde_json::from_str::<ImageRef>("12").is_err());
        let err = serde_json::from_str::<ImageRef>(r#"{"path": "a", "path": "b"}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate field `path`"), "{err}");
        let err = serde_json::from_str::<ImageRef>(r#"{"path": "a", "pdq": "12"}"#).unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
    }

    #[test]
    fn stored_mark_round_trips_through_json() {
        let mark = Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            classes: vec![25, 28],
            images: vec![ImageRef {
                path: "/x/a.png".into(),
                kind: ImageKind::Logo,
                sha256: Some("00".into()),
                pdq: Some(Hash256::from_words([1, 2, 3, 4])),
                quality: Some(90),
                variants: vec![ImageVariant {
                    variant: Variant::Crop(80),
                    pdq: Hash256::from_words([5, 6, 7, 8]),
                    quality: 70,
                }],
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
