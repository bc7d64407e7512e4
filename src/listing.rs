//! The listing: what a marketplace shows for one offer, as handed to `match`, crawled,
//! or posted to the review service. The JSON shape is the contract of INTERFACES.md.

use serde::{Deserialize, Serialize};

use crate::image::Hash256;
use crate::registry::Money;

/// One marketplace listing. Only `id` and `title` are required; a missing field stays
/// missing, nothing is invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// The listing's id, unique within its marketplace.
    pub id: String,
    /// The title as shown to buyers.
    pub title: String,
    /// Where the listing lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The marketplace's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<String>,
    /// Who sells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<Seller>,
    /// The asking price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// Local paths or http(s) URLs of the listing's photos.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// PDQ hashes of the listing's photos (64 hex digits each), as platforms that
    /// hash their catalogue send them: matched against the reference images like
    /// the hash of a decoded photo, without fetching anything. An extension of the
    /// `match` schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_hashes: Vec<Hash256>,
    /// The marketplace category, as the marketplace names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The brand the page itself declares (schema.org `brand`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// The listing's description text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The seller of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    /// The marketplace's id for the seller.
    pub id: String,
    /// The shop's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The seller's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What was seen when a listing's page was fetched, so a report or a notice can cite
/// it: the page's address after redirects, the status, the time and the SHA-256 of
/// the raw body (kept in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The URL after redirects.
    pub final_url: String,
    /// The HTTP status.
    pub status: u16,
    /// When the body was received (UTC, RFC 3339).
    pub fetched_at: String,
    /// SHA-256 of the raw body, lower-case hex.
    pub sha256: String,
    /// The body was longer than the cap and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A listing photo kept as evidence: where it came from, the SHA-256 of the bytes
/// fetched or read, and its size; a thumbnail of it is stored under the SHA-256, so
/// reports and the review UI show the photo after the shop took it down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRecord {
    /// Its position in the listing's `images`.
    pub index: usize,
    /// The path or URL it was read from.
    pub source: String,
    /// SHA-256 of the original bytes, lower-case hex.
    pub sha256: String,
    /// The original's width in pixels.
    pub width: u32,
    /// The original's height in pixels.
    pub height: u32,
}

/// A photo kept as evidence with its thumbnail (JPEG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPhoto {
    /// What is stored with the listing.
    pub record: PhotoRecord,
    /// The thumbnail, stored under `record.sha256`.
    pub thumbnail: Vec<u8>,
}
