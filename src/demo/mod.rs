//! The bundled sample: listings of a fictional marketplace for the fictional marks
//! of `trademarks/`, used by `markhound demo` and the tests.
//!
//! The listings are a realistic mix: counterfeits (misspelt, look-alike letters,
//! full-width and dotted names, Chinese names and pinyin, code words, prices far below
//! the floor), genuine listings by authorised sellers, referential accessories ("case
//! for ..."), and unrelated products. Each id says what the listing is (`fake-`,
//! `genuine-`, `ref-`, `other-`), so a test can check the ranking. [`server`] serves
//! them as a small marketplace that `markhound demo` crawls.

pub mod server;

use std::path::PathBuf;

use crate::listing::Listing;

/// The sample listings, one JSON object per line.
pub const SAMPLE_LISTINGS: &str = include_str!("listings.jsonl");

/// What a sample listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A counterfeit: must rank above everything else.
    Counterfeit,
    /// A genuine listing by an authorised seller.
    Genuine,
    /// An accessory that names a mark to say what it fits.
    Referential,
    /// Unrelated to any mark.
    Unrelated,
}

/// The kind of a sample listing, from its id.
pub fn kind_of(id: &str) -> Option<Kind> {
    match id.split('-').next()? {
        "fake" => Some(Kind::Counterfeit),
        "genuine" => Some(Kind::Genuine),
        "ref" => Some(Kind::Referential),
        "other" => Some(Kind::Unrelated),
        _ => None,
    }
}

/// The parsed sample listings.
pub fn sample_listings() -> Vec<Listing> {
    SAMPLE_LISTINGS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("the bundled sample listings are valid"))
        .collect()
}

/// The bundled registry folder: `trademarks/` of the source tree markhound was built
/// from, else `./trademarks`.
pub fn bundled_registry() -> Option<PathBuf> {
    [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("trademarks"),
        PathBuf::from("trademarks"),
    ]
    .into_iter()
    .find(|p| p.join("marks.toml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_listing_parses_and_has_a_kind() {
        let listings = sample_listings();
        assert!(listings.len() >= 30);
        for l in &listings {
            assert!(kind_of(&l.id).is_some(), "{}", l.id);
        }
    }
}
