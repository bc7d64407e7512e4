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
//! # Spellings written in titles
//!
//! Many listings declare no brand at all, and many shops declare it on some
//! listings only (one of the evaluation's two tables of a catalogue rarely does).
//! So the census also counts *spellings*: the title words of a misspelling of a mark
//! (or of a mark glued to another word, "digipower"), as the listing writes them. A
//! spelling is established when listings of [`ESTABLISHED_DECLARERS`] or more
//! distinct sellers write it **and** at least one of them declares it as its brand
//! (its declared brand's name starts with the spelling, "Microspot Ltd." for
//! "microspot"; a later word, "brothers" of "Write Brothers", is not the brand's
//! spelling and may be a mark's plural). The
//! declaration is the consistency the spelling needs: a real brand is written the
//! same way in the titles of several shops and declared by at least one of them.
//!
//! Its safeguards are those above, and:
//!
//! * a listing whose declared brand is something else (another brand, the mark
//!   itself) does not count for the spelling: it says the word is not its brand;
//! * a listing with counterfeit code words does not count;
//! * a spelling nobody declares is never established, however many sellers write
//!   it: a misspelling copied between counterfeit shops stays a misspelling.
//!
//! The pipeline counts every listing it matches, a batch's listings before any of
//! them is scored, into one [`DeclaredBrands`] kept in memory and in its database.
//! A batch's titles are matched once: the mentions found to count spellings are the
//! ones then scored.

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

    /// Up to `limit` distinct sellers whose titles write the spelling `key` (a
    /// fuzzy key, word breaks removed), and whether one of the sellers that write it
    /// declares it as its brand. None by default.
    fn spellers(&self, key: &str, limit: usize) -> (Vec<u64>, bool) {
        let _ = (key, limit);
        (Vec::new(), false)
    }

    /// True when `key` is declared by at least [`ESTABLISHED_DECLARERS`] sellers, or
    /// written in the titles of that many and declared by one of them.
    fn established(&self, key: &str) -> bool {
        if self.declarers(key, ESTABLISHED_DECLARERS).len() >= ESTABLISHED_DECLARERS {
            return true;
        }
        let (ids, declared) = self.spellers(key, ESTABLISHED_DECLARERS);
        declared && ids.len() >= ESTABLISHED_DECLARERS
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
    spelt: FxHashMap<String, Spelt>,
}

/// The sellers that write one spelling in their titles.
#[derive(Debug, Clone, Default)]
struct Spelt {
    /// Up to [`ESTABLISHED_DECLARERS`] distinct sellers.
    ids: Vec<u64>,
    /// One of the sellers that write it declares it as its brand.
    declared: bool,
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

    /// Counts the spelling `key` (the fuzzy key of title words, word breaks
    /// removed) written by `declarer`, who declares it as its brand when
    /// `declares`; true when that changed the count (and should be stored).
    pub fn add_spelling(&mut self, key: &str, declarer: u64, declares: bool) -> bool {
        if !self.takes_spelling(key, declarer, declares) {
            return false;
        }
        let s = self.spelt.entry(key.to_owned()).or_default();
        if s.ids.len() < ESTABLISHED_DECLARERS && !s.ids.contains(&declarer) {
            s.ids.push(declarer);
        }
        s.declared |= declares;
        true
    }

    /// True when [`DeclaredBrands::add_spelling`] would change the count: a new
    /// seller while fewer than [`ESTABLISHED_DECLARERS`] are kept, or the first
    /// declaration.
    pub fn takes_spelling(&self, key: &str, declarer: u64, declares: bool) -> bool {
        self.spelt.get(key).is_none_or(|s| {
            (s.ids.len() < ESTABLISHED_DECLARERS && !s.ids.contains(&declarer))
                || (declares && !s.declared)
        })
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty() && self.spelt.is_empty()
    }
}

impl BrandCensus for DeclaredBrands {
    fn declarers(&self, key: &str, limit: usize) -> Vec<u64> {
        self.by_key
            .get(key)
            .map(|v| v.iter().copied().take(limit).collect())
            .unwrap_or_default()
    }

    fn spellers(&self, key: &str, limit: usize) -> (Vec<u64>, bool) {
        self.spelt.get(key).map_or((Vec::new(), false), |s| {
            (s.ids.iter().copied().take(limit).collect(), s.declared)
        })
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

    #[test]
    fn a_spelling_written_by_two_sellers_is_established_once_one_declares_it() {
        let (a, b, c) = (
            declarer(Some("shop-a"), None),
            declarer(Some("shop-b"), None),
            declarer(Some("shop-c"), None),
        );
        let mut census = DeclaredBrands::new();
        // Written by two sellers, declared by none: a copied misspelling.
        assert!(census.add_spelling("microspot", a, false));
        assert!(census.add_spelling("microspot", b, false));
        assert!(!census.established("microspot"));
        // A third seller that declares it: kept for its declaration alone.
        assert!(census.takes_spelling("microspot", c, true));
        assert!(census.add_spelling("microspot", c, true));
        assert!(census.established("microspot"));
        assert!(!census.takes_spelling("microspot", c, true));
        // One seller that writes and declares it many times is one seller.
        let mut one = DeclaredBrands::new();
        for _ in 0..20 {
            one.add_spelling("metra", a, true);
        }
        assert!(!one.established("metra"));
        assert!(one.add_spelling("metra", b, false));
        assert!(one.established("metra"));
        // Spellings and declared brands are counted apart.
        assert!(one.declarers("metra", 2).is_empty());
        assert!(!one.is_empty());
    }
}
