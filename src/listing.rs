//! The listing: what a marketplace shows for one offer, as handed to `match`, crawled,
//! or posted to the review service. The JSON shape is the contract of docs/INTERFACES.md.

use serde::{Deserialize, Serialize};

use crate::image::Hash256;
use crate::registry::Money;

/// The longest value accepted for each field of a listing, in bytes (UTF-8), the
/// same on every path: a listing handed in (`match`, the API) with a longer field is
/// refused naming the field; the crawler cuts what it extracts to these lengths.
/// Marketplace titles are at most a few hundred characters (eBay 80, Amazon 200),
/// so the limits leave room for any real listing while keeping one hostile
/// listing from filling a page of the review queue.
pub mod limits {
    /// `id`, `seller.id`: identifiers.
    pub const ID: usize = 256;
    /// `title`.
    pub const TITLE: usize = 2_048;
    /// `description`.
    pub const DESCRIPTION: usize = 65_536;
    /// `url`, `seller.url` and each entry of `images`.
    pub const URL: usize = 4_096;
    /// `marketplace`, `seller.name`, `brand`, `category`.
    pub const NAME: usize = 512;
    /// Entries of `images` and of `image_hashes`.
    pub const PHOTOS: usize = 32;
    /// ISO 4217 currency codes are three letters.
    pub const CURRENCY: usize = 3;
}

/// Bidi controls (embeddings, overrides, isolates, marks): they can make a title
/// read differently from what it holds ("\u{202e}gnp.exe" shows as "exe.png").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn strip_bidi(s: &mut String) {
    if s.chars().any(is_bidi_control) {
        s.retain(|c| !is_bidi_control(c));
    }
}

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

impl Listing {
    /// Checks a listing handed in against [`limits`]: the first field that is too
    /// long or malformed (an empty or control-character id, a negative price, a
    /// currency that is not an ISO 4217 code), as `field: reason`. The title may be
    /// empty (a listing known by its photos); the review service asks for one.
    pub fn check(&self) -> Result<(), String> {
        fn field(name: &str, value: Option<&str>, max: usize) -> Result<(), String> {
            match value {
                Some(v) if v.len() > max => {
                    Err(format!("{name}: {} bytes, at most {max}", v.len()))
                }
                _ => Ok(()),
            }
        }
        let id_ok = |id: &str| !id.trim().is_empty() && !id.chars().any(char::is_control);
        if !id_ok(&self.id) {
            return Err("id: must not be empty or hold control characters".into());
        }
        field("id", Some(&self.id), limits::ID)?;
        field("title", Some(&self.title), limits::TITLE)?;
        field(
            "description",
            self.description.as_deref(),
            limits::DESCRIPTION,
        )?;
        field("url", self.url.as_deref(), limits::URL)?;
        field("marketplace", self.marketplace.as_deref(), limits::NAME)?;
        field("brand", self.brand.as_deref(), limits::NAME)?;
        field("category", self.category.as_deref(), limits::NAME)?;
        if let Some(s) = &self.seller {
            if !id_ok(&s.id) {
                return Err("seller.id: must not be empty or hold control characters".into());
            }
            field("seller.id", Some(&s.id), limits::ID)?;
            field("seller.name", s.name.as_deref(), limits::NAME)?;
            field("seller.url", s.url.as_deref(), limits::URL)?;
        }
        if self.images.len() > limits::PHOTOS {
            return Err(format!(
                "images: {} photos, at most {}",
                self.images.len(),
                limits::PHOTOS
            ));
        }
        for (i, image) in self.images.iter().enumerate() {
            field(&format!("images[{i}]"), Some(image), limits::URL)?;
        }
        if self.image_hashes.len() > limits::PHOTOS {
            return Err(format!(
                "image_hashes: {} hashes, at most {}",
                self.image_hashes.len(),
                limits::PHOTOS
            ));
        }
        if let Some(p) = &self.price {
            if !p.amount.is_finite() || p.amount < 0.0 {
                return Err("price.amount: must be a number of 0 or more".into());
            }
            let code_ok = p.currency.len() == limits::CURRENCY
                && p.currency.chars().all(|c| c.is_ascii_uppercase());
            if !code_ok {
                return Err(format!(
                    "price.currency: {:?} is not an ISO 4217 code (three capital letters)",
                    p.currency.chars().take(16).collect::<String>()
                ));
            }
        }
        Ok(())
    }

    /// Cuts every field of a listing extracted from a page to [`limits`] (at a
    /// character boundary) and keeps the first [`limits::PHOTOS`] photos: a page is
    /// hostile text, and what it yields is stored, not refused.
    pub fn fit_to_limits(&mut self) {
        fn cut(s: &mut String, max: usize) {
            if s.len() > max {
                let mut end = max;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
            }
        }
        cut(&mut self.id, limits::ID);
        cut(&mut self.title, limits::TITLE);
        for (v, max) in [
            (&mut self.description, limits::DESCRIPTION),
            (&mut self.url, limits::URL),
            (&mut self.marketplace, limits::NAME),
            (&mut self.brand, limits::NAME),
            (&mut self.category, limits::NAME),
        ] {
            if let Some(v) = v {
                cut(v, max);
            }
        }
        if let Some(s) = &mut self.seller {
            cut(&mut s.id, limits::ID);
            if let Some(n) = &mut s.name {
                cut(n, limits::NAME);
            }
            if let Some(u) = &mut s.url {
                cut(u, limits::URL);
            }
        }
        self.images.truncate(limits::PHOTOS);
        self.images.retain(|i| i.len() <= limits::URL);
        self.image_hashes.truncate(limits::PHOTOS);
    }

    /// Removes bidi controls from the text a reviewer reads (title, description,
    /// seller name, brand, category), as the crawler does for pages: they could
    /// make the review UI show something else than the listing holds.
    pub fn strip_bidi_controls(&mut self) {
        strip_bidi(&mut self.title);
        for v in [
            &mut self.description,
            &mut self.brand,
            &mut self.category,
            &mut self.marketplace,
        ]
        .into_iter()
        .flatten()
        {
            strip_bidi(v);
        }
        if let Some(name) = self.seller.as_mut().and_then(|s| s.name.as_mut()) {
            strip_bidi(name);
        }
    }
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
    /// Where each field of the listing was extracted from, with a confidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<FieldSource>,
    /// The body is the document as headless Chromium rendered it (the page is
    /// built by script), not the HTML the server sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
}

// Where the fields of a crawled listing came from (filled by the extractor,
// `crawl::extract`; kept with the evidence).

/// Where a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A site profile's selector.
    Profile,
    /// schema.org JSON-LD.
    JsonLd,
    /// schema.org microdata.
    Microdata,
    /// schema.org RDFa.
    Rdfa,
    /// OpenGraph meta tags.
    Opengraph,
    /// Embedded application state (`__NEXT_DATA__`, `dataLayer`, ...).
    AppState,
    /// Heuristics on the document.
    Dom,
    /// The page's language and domain (a currency only).
    Context,
}

impl Source {
    /// The source's name as printed and stored.
    pub fn name(self) -> &'static str {
        match self {
            Source::Profile => "profile",
            Source::JsonLd => "json-ld",
            Source::Microdata => "microdata",
            Source::Rdfa => "rdfa",
            Source::Opengraph => "opengraph",
            Source::AppState => "app-state",
            Source::Dom => "dom",
            Source::Context => "context",
        }
    }
}

/// The source of one field of an extracted listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSource {
    /// The listing field: `title`, `price`, `currency`, `brand`, ...
    pub field: String,
    /// Where it came from.
    pub source: Source,
    /// How sure the extractor is, 0 to 1.
    pub confidence: f32,
}

// The confidence is always a finite number (never NaN), so equality is total.
impl Eq for FieldSource {}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(title: &str) -> Listing {
        Listing {
            id: "L1".into(),
            title: title.into(),
            ..Listing::default()
        }
    }

    #[test]
    fn every_field_has_one_limit() {
        assert!(listing("ok").check().is_ok());
        let long = listing(&"x".repeat(limits::TITLE + 1)).check().unwrap_err();
        assert!(
            long.starts_with("title: 2049 bytes, at most 2048"),
            "{long}"
        );
        let mut l = listing("ok");
        l.description = Some("d".repeat(limits::DESCRIPTION + 1));
        assert!(l.check().unwrap_err().starts_with("description:"));
        let mut l = listing("ok");
        l.images = vec!["a.jpg".into(); limits::PHOTOS + 1];
        assert!(l.check().unwrap_err().starts_with("images:"));
        let mut l = listing("ok");
        l.seller = Some(Seller {
            id: "s".into(),
            name: Some("n".repeat(limits::NAME + 1)),
            url: None,
        });
        assert!(l.check().unwrap_err().starts_with("seller.name:"));
        for (amount, currency) in [
            (-1.0, "USD"),
            (f64::NAN, "USD"),
            (1.0, "XXX1"),
            (1.0, "usd"),
        ] {
            let mut l = listing("ok");
            l.price = Some(Money {
                amount,
                currency: currency.into(),
            });
            assert!(
                l.check().unwrap_err().starts_with("price."),
                "{amount} {currency}"
            );
        }
        assert!(
            listing("").check().is_ok(),
            "a listing may be its photos alone"
        );
        let mut l = listing("ok");
        l.id = "evil\u{1b}[41m".into();
        assert!(l.check().unwrap_err().starts_with("id:"));
    }

    #[test]
    fn extracted_listings_are_cut_to_the_limits() {
        let mut l = listing(&"é".repeat(limits::TITLE));
        l.images = vec!["a.jpg".into(); 40];
        l.fit_to_limits();
        assert!(l.title.len() <= limits::TITLE && l.title.chars().all(|c| c == 'é'));
        assert_eq!(l.images.len(), limits::PHOTOS);
        assert!(l.check().is_ok());
    }

    #[test]
    fn bidi_controls_are_stripped_from_what_reviewers_read() {
        let mut l = listing("invoice\u{202e}gnp.exe");
        l.seller = Some(Seller {
            id: "s".into(),
            name: Some("\u{2066}shop\u{2069}".into()),
            url: None,
        });
        l.strip_bidi_controls();
        assert_eq!(l.title, "invoicegnp.exe");
        assert_eq!(l.seller.unwrap().name.as_deref(), Some("shop"));
    }
}
