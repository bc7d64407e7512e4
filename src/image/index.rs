//! Finding every stored hash near a query hash without comparing against all of
//! them: a registry of logos and known counterfeit photos grows to millions of
//! hashes, and each listing photo must be checked against all of them.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, 2012): the 256 bits are cut into
//! 16 chunks of 16 bits. If two hashes are within distance `r`, then by the
//! pigeonhole principle at least one chunk differs in at most `⌊r / 16⌋` bits; for
//! the PDQ match threshold of 31 that is 1 bit. So each chunk value indexes a table,
//! and a query looks up, in each of the 16 tables, its own chunk value and the values
//! one bit away (17 lookups per table), then checks the few candidates fully.
//!
//! Written by hand because the crates for Hamming-space search target other sizes
//! or approximate answers; this one is exact and small.

use super::Hash256;

/// Number of 16-bit chunks in a hash.
const CHUNKS: usize = 16;

/// Beyond this many bits per chunk, enumerating neighbouring chunk values costs more
/// than scanning everything.
const MAX_CHUNK_RADIUS: u32 = 2;

/// An immutable index over a list of hashes; results name hashes by their position
/// in that list.
#[derive(Debug, Clone)]
pub struct HashIndex {
    hashes: Vec<Hash256>,
    /// For each chunk, where each of the 65,536 chunk values starts in `ids`
    /// (65,537 offsets: bucket `v` is `ids[offsets[v]..offsets[v + 1]]`).
    offsets: Vec<Box<[u32]>>,
    /// For each chunk, hash positions grouped by chunk value.
    ids: Vec<Box<[u32]>>,
}

/// A hash found near the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Neighbour {
    /// Hamming distance to the query.
    pub distance: u32,
    /// Position of the hash in the list the index was built from.
    pub id: u32,
}

impl HashIndex {
    /// Indexes `hashes`.
    ///
    /// # Panics
    /// If there are more than `u32::MAX` hashes.
    pub fn new(hashes: Vec<Hash256>) -> HashIndex {
        assert!(
            u32::try_from(hashes.len()).is_ok(),
            "a HashIndex holds at most 2^32 - 1 hashes"
        );
        let mut offsets = Vec::with_capacity(CHUNKS);
        let mut ids = Vec::with_capacity(CHUNKS);
        for chunk in 0..CHUNKS {
            // Counting sort of the positions by chunk value.
            let mut starts = vec![0u32; 65_537];
            for h in &hashes {
                starts[usize::from(h.chunk16(chunk)) + 1] += 1;
            }
            for v in 0..65_536 {
                starts[v + 1] += starts[v];
            }
            let mut next = starts.clone();
            let mut bucketed = vec![0u32; hashes.len()];
            for (id, h) in (0u32..).zip(&hashes) {
                let slot = &mut next[usize::from(h.chunk16(chunk))];
                bucketed[*slot as usize] = id;
                *slot += 1;
            }
            offsets.push(starts.into_boxed_slice());
            ids.push(bucketed.into_boxed_slice());
        }
        HashIndex {
            hashes,
            offsets,
            ids,
        }
    }

    /// Number of hashes indexed.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the index holds no hash.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The hash at position `id`.
    pub fn get(&self, id: u32) -> Option<&Hash256> {
        self.hashes.get(id as usize)
    }

    /// Every indexed hash within `radius` bits of `query`, nearest first (ties by
    /// position). Exact: nothing within the radius is missed.
    pub fn within(&self, query: &Hash256, radius: u32) -> Vec<Neighbour> {
        let chunk_radius = radius / CHUNKS as u32;
        if chunk_radius > MAX_CHUNK_RADIUS {
            return self.scan(query, radius);
        }
        let mut found = Vec::new();
        let mut probes = Vec::new();
        for chunk in 0..CHUNKS {
            probes.clear();
            neighbours16(query.chunk16(chunk), chunk_radius, &mut probes);
            let (offsets, ids) = (&self.offsets[chunk], &self.ids[chunk]);
            for &value in &probes {
                let v = usize::from(value);
                let bucket = &ids[offsets[v] as usize..offsets[v + 1] as usize];
                for &id in bucket {
                    let distance = self.hashes[id as usize].hamming(query);
                    if distance <= radius {
                        found.push(Neighbour { distance, id });
                    }
                }
            }
        }
        // A near hash is found once per chunk it shares; keep one of each.
        // Sorted by distance, then id: the copies of one hash are adjacent.
        found.sort_unstable();
        found.dedup_by_key(|n| n.id);
        found
    }

    /// The same answer as [`HashIndex::within`], by comparing with every hash. The
    /// baseline the index is measured against, and the fallback for large radii.
    pub fn scan(&self, query: &Hash256, radius: u32) -> Vec<Neighbour> {
        let mut found: Vec<Neighbour> = (0u32..)
            .zip(&self.hashes)
            .filter_map(|(id, h)| {
                let distance = h.hamming(query);
                (distance <= radius).then_some(Neighbour { distance, id })
            })
            .collect();
        found.sort_unstable();
        found
    }
}

/// Pushes every 16-bit value within `radius` bits of `value` (for radius 0, 1 or 2).
fn neighbours16(value: u16, radius: u32, out: &mut Vec<u16>) {
    out.push(value);
    if radius >= 1 {
        for i in 0..16 {
            out.push(value ^ (1 << i));
        }
    }
    if radius >= 2 {
        for i in 0..16 {
            for j in i + 1..16 {
                out.push(value ^ (1 << i) ^ (1 << j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hash(words: [u64; 4]) -> Hash256 {
        Hash256::from_words(words)
    }

    /// A hash `bits` bits away from `h` (flipping bits spread over the hash).
    fn flip(h: &Hash256, bits: &[usize]) -> Hash256 {
        let mut w = h.words();
        for &b in bits {
            w[b / 64] ^= 1 << (b % 64);
        }
        hash(w)
    }

    #[test]
    fn finds_near_hashes_and_only_those() {
        let base = hash([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 7, u64::MAX]);
        // 31 flipped bits, two per chunk at most: the pigeonhole case at the edge.
        let spread: Vec<usize> = (0..31).map(|i| (i * 8 + 3) % 256).collect();
        let far = flip(&base, &(0..40).map(|i| i * 6).collect::<Vec<_>>());
        let hashes = vec![far, flip(&base, &spread), base, flip(&base, &[5])];
        let index = HashIndex::new(hashes);
        let found = index.within(&base, 31);
        assert_eq!(
            found,
            vec![
                Neighbour { distance: 0, id: 2 },
                Neighbour { distance: 1, id: 3 },
                Neighbour {
                    distance: 31,
                    id: 1
                },
            ]
        );
        assert_eq!(found, index.scan(&base, 31));
        assert!(index.within(&base, 30).iter().all(|n| n.id != 1));
    }

    #[test]
    fn empty_index_finds_nothing() {
        let index = HashIndex::new(Vec::new());
        assert!(index.is_empty());
        assert!(index.within(&Hash256::ZERO, 31).is_empty());
    }

    #[test]
    fn large_radius_falls_back_to_a_scan() {
        let hashes: Vec<Hash256> = (0..50u64)
            .map(|i| hash([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i, !i, i << 7]))
            .collect();
        let index = HashIndex::new(hashes);
        let q = hash([1, 2, 3, 4]);
        assert_eq!(index.within(&q, 200), index.scan(&q, 200));
    }

    #[test]
    fn agrees_with_a_scan_on_real_pdq_hashes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/pdq-threatexchange/hashlists"
        );
        let read = |name: &str| -> Option<Vec<Hash256>> {
            let text = std::fs::read_to_string(format!("{path}/{name}")).ok()?;
            Some(text.lines().map(|l| l.trim().parse().unwrap()).collect())
        };
        let (Some(haystack), Some(needles)) = (read("haystack.txt"), read("needles.txt")) else {
            eprintln!("skipped: {path} is absent");
            return;
        };
        let index = HashIndex::new(haystack);
        let mut matched = 0;
        for q in &needles {
            let found = index.within(q, 31);
            assert_eq!(found, index.scan(q, 31));
            matched += usize::from(!found.is_empty());
        }
        assert!(matched > 0, "no needle found in the haystack");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn index_equals_scan(
            base in any::<[u64; 4]>(),
            flips in proptest::collection::vec(proptest::collection::vec(0usize..256, 0..48), 1..40),
            radius in 0u32..48,
        ) {
            let base = hash(base);
            let hashes: Vec<Hash256> = flips.iter().map(|f| flip(&base, f)).collect();
            let index = HashIndex::new(hashes);
            prop_assert_eq!(index.within(&base, radius), index.scan(&base, radius));
        }
    }
}
