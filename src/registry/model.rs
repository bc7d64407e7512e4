//! The trademark model: what a registered mark carries.

use serde::{Deserialize, Serialize};

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
pub struct Money {
    /// The amount, in units of the currency (not cents).
    pub amount: f64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

/// A reference image of a mark. In an import file it is written as a path relative to
/// the file; once stored it carries the resolved path and the SHA-256 of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// Path of the image file.
    pub path: String,
    /// SHA-256 of the file's bytes, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}
