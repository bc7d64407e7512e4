//! The symmetric-deletion index behind misspelling search.
//!
//! Every term key is stored under the 64-bit hash of each string obtained by deleting
//! up to *k* of its characters; a title span is looked up through its own deletions.
//! Two strings within *k* edits share at least one such deletion, so the look-ups
//! find every candidate in a number of probes that depends on the span's length, not
//! on the registry's size. Candidates are verified by the matcher. Written here
//! because no crate offers a deletion index over our own folded keys with a compact
//! posting layout; the hashing is `rustc-hash`'s.

use std::cell::RefCell;
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

thread_local! {
    /// The deletion hashes of the span being looked up (reused between look-ups).
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Deletion hashes to term ids.
#[derive(Debug, Default)]
pub struct DeletionIndex {
    map: FxHashMap<u64, (u32, u32)>,
    filter: KeyFilter,
    postings: Vec<u32>,
}

impl DeletionIndex {
    /// Builds the index from `(deletion hash, term id)` pairs.
    pub fn new(mut pairs: Vec<(u64, u32)>) -> DeletionIndex {
        pairs.sort_unstable();
        pairs.dedup();
        let filter = KeyFilter::new(pairs.iter().map(|p| p.0), pairs.len());
        let mut map = FxHashMap::default();
        map.reserve(pairs.len());
        let mut postings = Vec::with_capacity(pairs.len());
        let mut i = 0;
        while i < pairs.len() {
            let h = pairs[i].0;
            let start = postings.len() as u32;
            while i < pairs.len() && pairs[i].0 == h {
                postings.push(pairs[i].1);
                i += 1;
            }
            map.insert(h, (start, postings.len() as u32 - start));
        }
        DeletionIndex {
            map,
            filter,
            postings,
        }
    }

    /// Number of distinct deletion keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no term was indexed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Replaces `out` with the ids of terms sharing a deletion (up to `depth`) with
    /// `span`, sorted and without duplicates.
    pub fn candidates(&self, span: &[char], depth: usize, out: &mut Vec<u32>) {
        out.clear();
        SCRATCH.with_borrow_mut(|hashes| {
            hashes.clear();
            for_each_deletion(span, depth, |h| hashes.push(h));
            // All the filter's bits first: independent loads that the processor
            // overlaps (the filter is megabytes at a large registry, out of cache);
            // the map is probed only for the few hashes that pass.
            hashes.retain(|&h| self.filter.may_contain(h));
            for h in hashes.iter() {
                if let Some(&(s, n)) = self.map.get(h) {
                    out.extend_from_slice(&self.postings[s as usize..(s + n) as usize]);
                }
            }
        });
        out.sort_unstable();
        out.dedup();
    }
}

/// A one-hash Bloom filter in front of the deletion map: most probes of a title's
/// deletions miss, and with a large registry the map is far bigger than the caches,
/// so a miss in the map costs two memory loads. The filter (16 bits per key, about
/// 6 % false positives) answers most misses from a table an eighth of the size.
/// Written here because it is a dozen lines over a bit vector; a crate would add
/// hashing we already have.
#[derive(Debug, Default)]
struct KeyFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl KeyFilter {
    fn new(keys: impl Iterator<Item = u64>, n: usize) -> KeyFilter {
        let nbits = (n * 16).next_power_of_two().max(64);
        let mut f = KeyFilter {
            bits: vec![0; nbits / 64],
            shift: 64 - nbits.trailing_zeros(),
        };
        for k in keys {
            let s = f.slot(k);
            f.bits[s >> 6] |= 1 << (s & 63);
        }
        f
    }

    fn slot(&self, h: u64) -> usize {
        (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn may_contain(&self, h: u64) -> bool {
        let s = self.slot(h);
        self.bits[s >> 6] >> (s & 63) & 1 == 1
    }
}

/// Calls `f` with the 64-bit hash of every string obtained from `chars` by deleting up
/// to `depth` (at most 2) characters, the string itself included.
pub fn for_each_deletion(chars: &[char], depth: usize, mut f: impl FnMut(u64)) {
    let n = chars.len();
    let hash_skip = |a: usize, b: usize| {
        let mut h = FxHasher::default();
        for (i, c) in chars.iter().enumerate() {
            if i != a && i != b {
                h.write_u32(*c as u32);
            }
        }
        h.write_usize(n - usize::from(a < n) - usize::from(b < n));
        h.finish()
    };
    f(hash_skip(usize::MAX, usize::MAX));
    if depth >= 1 {
        for a in 0..n {
            if a > 0 && chars[a] == chars[a - 1] {
                continue; // same string as deleting the previous, equal character
            }
            f(hash_skip(a, usize::MAX));
        }
    }
    if depth >= 2 {
        for a in 0..n {
            for b in a + 1..n {
                f(hash_skip(a, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_hashes_of_equal_strings_agree() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for_each_deletion(&['a', 'b', 'c', 'd'], 1, |h| a.push(h));
        for_each_deletion(&['a', 'c', 'd'], 0, |h| b.push(h));
        assert!(a.contains(&b[0]));
    }

    #[test]
    fn finds_terms_within_the_depth() {
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let mut pairs = Vec::new();
        for (id, term) in ["zentrix", "korvello"].iter().enumerate() {
            for_each_deletion(&chars(term), 1, |h| pairs.push((h, id as u32)));
        }
        let index = DeletionIndex::new(pairs);
        let mut out = Vec::new();
        index.candidates(&chars("zentirx"), 1, &mut out);
        assert_eq!(out, [0]);
        index.candidates(&chars("korvelo"), 1, &mut out);
        assert_eq!(out, [1]);
        index.candidates(&chars("quvo"), 1, &mut out);
        assert!(out.is_empty());
    }
}
