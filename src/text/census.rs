//! Brands in use on the marketplace: a spelling that listings of several sellers
//! declare as their brand is a brand of its own, not a disguise of a mark.
//!
//! [`brands`](super::brands) knows other brands from general lists and from the
//! listing's own declaration. Many real brands one edit from a registered mark are
//! in no general list ("Metro" beside "Metra", "Altra" beside "Alera"): small makers,
//! house brands. What tells them from a counterfeiter's misspelling is how the
//! marketplace uses the spelling. A counterfeit misspelling is written in the title
//! and rarely declared as the brand; a real brand is declared, in the brand field,
//! by the shops that sell it. So a spelling declared as the brand by listings of
//! [`ESTABLISHED_DECLARERS`] or more *distinct sellers* is established, and a title
//! word spelt that way is excused as a misspelling in every listing, including those
//! that declare nothing.
//!
//! Safeguards, each one a reason a counterfeiter cannot use this to hide:
//!
//! * only misspellings are excused: an exact mention, a look-alike (Cyrillic
//!   letters, leetspeak, separators) or an alias of the mark counts whatever the
//!   census says, as with every other brand list;
//! * declarers are sellers, not listings: one seller declaring a spelling on a
//!   thousand listings is one declarer. A listing without a seller is counted under
//!   its marketplace, so anonymous listings of one marketplace are one declarer;
//! * a listing with counterfeit code words is never excused (the caller does not
//!   consult the census then), and image evidence stands on its own;
//! * a spelling that is a registered mark's own key is never established (it is an
//!   exact mention of that mark);
//! * a counterfeiter who declares the misspelling as the brand is already excused on
//!   that listing by [`brands`](super::brands); the census carries that
//!   declaration to listings of other sellers only once a second, distinct seller
//!   declares the same spelling.
//!
//! Why two: one declaration is the listing's own word about itself, which the
//! matcher already takes for that listing; a second, independent seller is the
//! smallest evidence that the spelling is a name the trade uses rather than one
//! shop's invention. More would leave small real brands (two or three shops) as
//! false alarms on every listing; fewer would let one seller decide for everyone.
//!
//! The pipeline counts every listing it matches, a batch's listings before any of
//! them is scored, into one [`DeclaredBrands`] kept in memory and in its database.

use rustc_hash::FxHashMap;

use super::brands::brand_key;

/// Distinct sellers that must declare a spelling as their brand before it is a
/// brand of its own (see the module documentation for why two).
pub const ESTABLISHED_DECLARERS: usize = 2;

/// Where the census is kept: answers who declared a brand key.
pub trait BrandCensus {
    /// Up to `limit` distinct declarers of the brand key `key` (a
    /// [`brand_key`]), as opaque ids.
    fn declarers(&self, key: &str, limit: usize) -> Vec<u64>;

    /// True when `key` is declared by at least [`ESTABLISHED_DECLARERS`] sellers.
    fn established(&self, key: &str) -> bool {
        self.declarers(key, ESTABLISHED_DECLARERS).len() >= ESTABLISHED_DECLARERS
    }
}

/// The declarer id of a listing: its seller, or else its marketplace, or else one
/// id for every listing that names neither.
pub fn declarer(seller: Option<&str>, marketplace: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    // A fixed hash (not the process's random one): the store keeps these ids.
    let mut h = rustc_hash::FxHasher::default();
    match (
        seller.map(str::trim).filter(|s| !s.is_empty()),
        marketplace.map(str::trim).filter(|m| !m.is_empty()),
    ) {
        (Some(s), m) => ("seller", m.unwrap_or(""), s).hash(&mut h),
        (None, Some(m)) => ("marketplace", m).hash(&mut h),
        (None, None) => "anonymous".hash(&mut h),
    }
    h.finish()
}

/// A census counted in memory: a batch's listings, or a catalogue.
#[derive(Debug, Clone, Default)]
pub struct DeclaredBrands {
    by_key: FxHashMap<String, Vec<u64>>,
}

impl DeclaredBrands {
    /// An empty census.
    pub fn new() -> DeclaredBrands {
        DeclaredBrands::default()
    }

    /// Counts `brand` declared by `declarer` ([`declarer`]); true when the
    /// declarer is new to the brand and was kept. Names that have no brand key
    /// (shorter than four characters, CJK) are not counted.
    pub fn add(&mut self, brand: &str, declarer: u64) -> bool {
        match brand_key(brand) {
            Some(key) => self.add_key(&key, declarer),
            None => false,
        }
    }

    /// Counts the brand key `key` ([`brand_key`]) declared by `declarer`; true when
    /// the declarer is new to the key and was kept.
    pub fn add_key(&mut self, key: &str, declarer: u64) -> bool {
        if !self.takes(key, declarer) {
            return false;
        }
        match self.by_key.get_mut(key) {
            Some(ids) => ids.push(declarer),
            None => {
                self.by_key.insert(key.to_owned(), vec![declarer]);
            }
        }
        true
    }

    /// True when [`DeclaredBrands::add_key`] would keep `declarer` for `key`: it is
    /// new to the key and the key has fewer than [`ESTABLISHED_DECLARERS`] (only
    /// whether a key reaches the threshold matters, so no more are kept).
    pub fn takes(&self, key: &str, declarer: u64) -> bool {
        self.by_key
            .get(key)
            .is_none_or(|ids| ids.len() < ESTABLISHED_DECLARERS && !ids.contains(&declarer))
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl BrandCensus for DeclaredBrands {
    fn declarers(&self, key: &str, limit: usize) -> Vec<u64> {
        self.by_key
            .get(key)
            .map(|v| v.iter().copied().take(limit).collect())
            .unwrap_or_default()
    }
}

/// No census: nothing is established.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCensus;

impl BrandCensus for NoCensus {
    fn declarers(&self, _key: &str, _limit: usize) -> Vec<u64> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spelling_is_established_by_two_distinct_sellers_only() {
        let mut c = DeclaredBrands::new();
        let a = declarer(Some("shop-a"), Some("walmart"));
        c.add("Metro", a);
        c.add("METRO", a);
        assert!(!c.established("metro"), "one seller, twice");
        c.add("Metro", declarer(Some("shop-b"), Some("walmart")));
        assert!(c.established("metro"));
        assert!(!c.established("metra"));
    }

    #[test]
    fn anonymous_listings_of_one_marketplace_are_one_declarer() {
        let mut c = DeclaredBrands::new();
        for _ in 0..50 {
            c.add("Adidaas", declarer(None, Some("shop.example")));
            c.add("Adidaas", declarer(Some(" "), None));
        }
        // The marketplace's anonymous listings and the wholly anonymous ones.
        assert_eq!(c.declarers("adidaas", 5).len(), 2);
        let mut one = DeclaredBrands::new();
        for _ in 0..50 {
            one.add("Adidaas", declarer(None, None));
        }
        assert!(!one.established("adidaas"));
    }

    #[test]
    fn short_names_are_not_counted_and_a_key_keeps_only_what_decides() {
        let mut c = DeclaredBrands::new();
        assert!(!c.add("LG", 1));
        assert!(c.is_empty());
        assert!(c.takes("altra", 1));
        assert!(c.add("Altra", 1));
        assert!(!c.takes("altra", 1) && !c.add("ALTRA", 1));
        assert!(!c.established("altra"));
        assert!(c.add("Altra", 2));
        assert!(c.established("altra"));
        // Past the threshold a third declarer changes nothing and is not kept.
        assert!(!c.takes("altra", 3) && !c.add("Altra", 3));
        assert!(!NoCensus.established("altra"));
    }
}
