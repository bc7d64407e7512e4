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
//! The census is counted by the store over every listing it holds, and by a
//! batch over its own listings ([`DeclaredBrands`]); the two are read together
//! ([`Both`]).

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
        let ids = match self.by_key.get_mut(key) {
            Some(ids) => ids,
            None => self.by_key.entry(key.to_owned()).or_default(),
        };
        // Only whether a key reaches the threshold matters: keep at most that many.
        if ids.len() < ESTABLISHED_DECLARERS && !ids.contains(&declarer) {
            ids.push(declarer);
            true
        } else {
            false
        }
    }

    /// Number of distinct brand keys counted.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The brand keys and their declarers (at most [`ESTABLISHED_DECLARERS`] each).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u64])> {
        self.by_key.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
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

/// Two censuses read as one (the store's and the batch's): declarers are
/// counted once however many of the two know them.
pub struct Both<'a>(pub &'a dyn BrandCensus, pub &'a dyn BrandCensus);

impl BrandCensus for Both<'_> {
    fn declarers(&self, key: &str, limit: usize) -> Vec<u64> {
        let mut ids = self.0.declarers(key, limit);
        if ids.len() < limit {
            for id in self.1.declarers(key, limit) {
                if ids.len() < limit && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
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
    fn short_names_are_not_counted_and_both_censuses_are_read_together() {
        let mut store = DeclaredBrands::new();
        store.add("LG", 1);
        assert!(store.is_empty());
        store.add("Altra", 1);
        let mut batch = DeclaredBrands::new();
        batch.add("Altra", 1);
        assert!(!Both(&store, &batch).established("altra"));
        batch.add("Altra", 2);
        assert!(Both(&store, &batch).established("altra"));
        assert!(!Both(&NoCensus, &NoCensus).established("altra"));
    }
}
