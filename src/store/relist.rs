//! Relisting (whack-a-mole): a listing that comes back after the marketplace
//! removed it, under a new id, often from a new account. A new finding for a mark
//! is the relisting of a removed finding of the same mark on another listing when
//! the seller is the same, or when one of its photos is within PDQ's match
//! distance of one of the removed listing's photos, whoever sells it.
//!
//! The seller rule reads the index of removed findings by seller
//! ([`REMOVED_BY_SELLER`](crate::db::trees::REMOVED_BY_SELLER)), written with the
//! move to `removed`, so its cost does not grow with the seller's other findings. The photo rule reads
//! [`REMOVED_PHOTOS`](crate::db::trees::REMOVED_PHOTOS), where the move to `removed` records
//! the listing's photo hashes under the mark, in the same transaction as the
//! move; a new finding scans only its mark's entries.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::findings::seller_key;
use super::{to_json, Store, StoreError};
use crate::db::trees::REMOVED_PHOTOS;
use crate::image::{Hash256, MATCH_DISTANCE};
use crate::review::{FindingRecord, State};

/// Why a new finding is a relisting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelistRule {
    /// The same seller listed the same mark again.
    SameSeller,
    /// A photo is this many bits from one of the removed listing's photos.
    SamePhoto {
        /// PDQ distance (0..=31).
        distance: u32,
    },
}

impl fmt::Display for RelistRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelistRule::SameSeller => f.write_str("same seller"),
            RelistRule::SamePhoto { distance } => write!(f, "same photo, distance {distance}"),
        }
    }
}

/// A removed finding a new one relists, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relist {
    /// The removed finding's id.
    pub of: String,
    /// The rule that matched.
    pub rule: RelistRule,
}

impl Relist {
    /// The note of the new finding's `created` audit entry.
    pub fn note(&self) -> String {
        format!("relisting of removed finding {} ({})", self.of, self.rule)
    }
}

/// A key and value to write.
type KeyValue = (Vec<u8>, Vec<u8>);

/// An entry of [`REMOVED_PHOTOS`]: the removed listing and its photo hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RemovedPhotos {
    listing_id: String,
    hashes: Vec<Hash256>,
    /// The photos' mirrored and turned copies, when they were fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    turned: Vec<Hash256>,
}

/// `mark \0 finding id`: one mark's entries share the prefix `mark \0` (mark ids
/// hold no NUL).
fn removed_key(mark: &str, finding_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(mark.len() + finding_id.len() + 1);
    key.extend_from_slice(mark.as_bytes());
    key.push(0);
    key.extend_from_slice(finding_id.as_bytes());
    key
}

/// The smallest distance between a hash of `a` and one of `b`, if within
/// [`MATCH_DISTANCE`].
fn closest(a: &[Hash256], b: &[Hash256]) -> Option<u32> {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| x.hamming(y)))
        .min()
        .filter(|d| *d <= MATCH_DISTANCE)
}

impl Store {
    /// The removed finding of `mark` on a listing other than `listing_id` that a
    /// new finding relists: the same `seller` first, else the closest photo to
    /// one of `photos` (ties to the first in key order). `turned` are the mirrored
    /// and turned copies of `photos`, when known: a photo relisted mirrored matches
    /// when either side's turned copies were computed.
    pub(super) fn relist_of(
        &self,
        mark: &str,
        listing_id: &str,
        seller: Option<&str>,
        photos: &[Hash256],
        turned: &[Hash256],
    ) -> Result<Option<Relist>, StoreError> {
        if let Some(seller) = seller {
            // Only removed findings are indexed here: one look-up per new finding,
            // however many findings the seller has.
            let prefix = seller_key(seller, mark, "");
            for entry in self.removed_by_seller.scan_prefix(&prefix) {
                let (key, _) = entry?;
                let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                if let Some(f) = self.finding(&id)? {
                    if f.state == State::Removed && f.listing_id != listing_id {
                        return Ok(Some(Relist {
                            of: id,
                            rule: RelistRule::SameSeller,
                        }));
                    }
                }
            }
        }
        if photos.is_empty() {
            return Ok(None);
        }
        let prefix = removed_key(mark, "");
        let mut best: Option<(u32, String)> = None;
        for entry in self.removed_photos.scan_prefix(&prefix) {
            let (key, value) = entry?;
            let removed: RemovedPhotos = Self::decode(REMOVED_PHOTOS, &key, &value)?;
            if removed.listing_id == listing_id {
                continue;
            }
            let distance = [
                closest(photos, &removed.hashes),
                closest(photos, &removed.turned),
                closest(turned, &removed.hashes),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(distance) = distance else {
                continue;
            };
            if best.as_ref().is_none_or(|(d, _)| distance < *d) {
                let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                best = Some((distance, id));
                if distance == 0 {
                    break;
                }
            }
        }
        Ok(best.map(|(distance, of)| Relist {
            of,
            rule: RelistRule::SamePhoto { distance },
        }))
    }

    /// The [`REMOVED_PHOTOS`] entry for finding `f` moving to `removed`: its
    /// listing's photo hashes (none when the listing has no photo hash).
    pub(super) fn removed_photos_entry(
        &self,
        f: &FindingRecord,
    ) -> Result<Option<KeyValue>, StoreError> {
        let Some(listing) = self.listing(&f.listing_id)? else {
            return Ok(None);
        };
        if listing.photo_hashes.is_empty() {
            return Ok(None);
        }
        let entry = RemovedPhotos {
            listing_id: f.listing_id.clone(),
            hashes: listing.photo_hashes,
            turned: listing.turned_photo_hashes,
        };
        Ok(Some((removed_key(&f.mark_id, &f.id), to_json(&entry))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Incoming, Matched, Writes};
    use super::*;
    use crate::listing::{Listing, Seller};
    use crate::registry::Mark;
    use crate::review::finding_id;
    use crate::scoring::{Rates, Scorer};

    fn setup() -> (tempfile::TempDir, Store, Scorer) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let marks = ["Zentrix", "Korvello"]
            .map(|name| Mark {
                id: name.to_lowercase(),
                name: name.into(),
                ..Mark::default()
            })
            .to_vec();
        (
            dir,
            Store::open(&db).unwrap(),
            Scorer::new(marks, Rates::default()),
        )
    }

    /// A hash with the lowest `bits` bits set.
    fn hash(bits: u32) -> Hash256 {
        let mut h = Hash256::ZERO;
        (0..bits as usize).for_each(|k| h.set_bit(k));
        h
    }

    fn listing(id: &str, title: &str, seller: &str, photos: &[Hash256]) -> Listing {
        Listing {
            id: id.into(),
            title: title.into(),
            seller: Some(Seller {
                id: seller.into(),
                ..Seller::default()
            }),
            image_hashes: photos.to_vec(),
            ..Listing::default()
        }
    }

    fn ingest(store: &Store, scorer: &Scorer, listings: Vec<Listing>) -> Vec<FindingRecord> {
        ingest_turned(store, scorer, listings, |_| Vec::new())
    }

    /// Ingests with `turned(hash)` standing for a photo's turned copies.
    fn ingest_turned(
        store: &Store,
        scorer: &Scorer,
        listings: Vec<Listing>,
        turned: impl Fn(&Hash256) -> Vec<Hash256>,
    ) -> Vec<FindingRecord> {
        let matcher = |l: &Listing| Matched {
            findings: scorer.score(l),
            photos: l.image_hashes.clone(),
            turned: l.image_hashes.iter().flat_map(&turned).collect(),
            kept: Vec::new(),
        };
        let incoming = listings.into_iter().map(Incoming::handed_in).collect();
        let scored = store.score(incoming, 1, matcher).unwrap();
        store.store(scored, matcher, "test").unwrap()
    }

    fn remove(store: &Store, id: &str) {
        for (version, to) in [
            State::InReview,
            State::Confirmed,
            State::NoticeSent,
            State::Removed,
        ]
        .into_iter()
        .enumerate()
        {
            store
                .transition(id, to, version as u64 + 1, "ana", "")
                .unwrap();
        }
    }

    #[test]
    fn rules_read_as_words() {
        assert_eq!(RelistRule::SameSeller.to_string(), "same seller");
        let r = Relist {
            of: "abc".into(),
            rule: RelistRule::SamePhoto { distance: 4 },
        };
        assert_eq!(
            r.note(),
            "relisting of removed finding abc (same photo, distance 4)"
        );
        assert_eq!(closest(&[hash(0)], &[hash(40), hash(31)]), Some(31));
        assert_eq!(closest(&[hash(0)], &[hash(32)]), None);
        assert_eq!(closest(&[], &[hash(0)]), None);
    }

    #[test]
    fn the_removal_and_its_photo_entry_are_written_in_one_transaction() {
        let (_dir, store, scorer) = setup();
        let found = ingest(
            &store,
            &scorer,
            vec![listing("L1", "Zentrix shoes", "s1", &[hash(3)])],
        );
        let id = found[0].id.clone();
        for (version, to) in [State::InReview, State::Confirmed, State::NoticeSent]
            .into_iter()
            .enumerate()
        {
            store
                .transition(&id, to, version as u64 + 1, "ana", "")
                .unwrap();
        }
        assert!(store.removed_photos.is_empty(), "only a removal writes it");
        // The planned removal carries the finding's new state, its audit entry
        // and the photo entry: one `apply`, one sled transaction.
        let (f, writes): (FindingRecord, Writes) = store
            .plan_transition(&id, State::Removed, 4, "ana", "")
            .unwrap();
        assert_eq!(f.state, State::Removed);
        assert_eq!(writes.findings.len(), 1);
        assert_eq!(writes.audit.len(), 1);
        assert_eq!(writes.removed_photos.len(), 1);
        assert_eq!(writes.removed_photos[0].0, removed_key("zentrix", &id));
        assert!(store.removed_photos.is_empty(), "planning writes nothing");
        store.apply(&writes).unwrap();
        let value = store
            .removed_photos
            .get(removed_key("zentrix", &id))
            .unwrap();
        let entry: RemovedPhotos = serde_json::from_slice(&value.unwrap()).unwrap();
        assert_eq!(
            entry,
            RemovedPhotos {
                listing_id: "L1".into(),
                hashes: vec![hash(3)],
                turned: Vec::new(),
            }
        );
        assert_eq!(store.finding(&id).unwrap().unwrap().state, State::Removed);

        // A listing without photo hashes leaves no entry.
        let found = ingest(
            &store,
            &scorer,
            vec![listing("L9", "Korvello bag", "s9", &[])],
        );
        remove(&store, &found[0].id);
        assert_eq!(store.removed_photos.len(), 1);
    }

    #[test]
    fn the_seller_rule_reads_removed_findings_only() {
        let (_dir, store, scorer) = setup();
        // Many open findings of the seller: none of them is a relist source.
        let open: Vec<Listing> = (0..20)
            .map(|i| listing(&format!("O{i}"), "Zentrix shoes", "s1", &[]))
            .collect();
        ingest(&store, &scorer, open);
        let first = ingest(
            &store,
            &scorer,
            vec![listing("L1", "Zentrix shoes", "s1", &[])],
        );
        assert!(first[0].relist_of.is_none());
        remove(&store, &first[0].id);
        assert_eq!(store.removed_by_seller.len(), 1);
        let again = ingest(
            &store,
            &scorer,
            vec![listing("L2", "Zentrix shoes", "s1", &[])],
        );
        assert_eq!(again[0].relist_of.as_deref(), Some(first[0].id.as_str()));
        // Another seller's listing is not a relist by seller.
        let other = ingest(
            &store,
            &scorer,
            vec![listing("L3", "Zentrix shoes", "s2", &[])],
        );
        assert!(other[0].relist_of.is_none());
    }

    #[test]
    fn a_photo_relisted_mirrored_is_found_through_the_turned_copies() {
        // A stand-in for a photo's mirror image: a hash far from the photo's own.
        let mirror = |h: &Hash256| {
            let mut m = *h;
            (128..256).for_each(|k| m.set_bit(k));
            vec![m]
        };
        let (_dir, store, scorer) = setup();
        let found = ingest_turned(
            &store,
            &scorer,
            vec![listing("L1", "Zentrix shoes", "s1", &[hash(3)])],
            mirror,
        );
        let removed = found[0].id.clone();
        remove(&store, &removed);
        assert!(hash(3).hamming(&mirror(&hash(3))[0]) > 100);
        // The photo comes back mirrored, as a supplied hash (no turns of its own).
        let found = ingest(
            &store,
            &scorer,
            vec![
                listing("L2", "Zentrix running shoes", "s2", &mirror(&hash(3))),
                listing("L3", "Zentrix running shoes", "s3", &[hash(60)]),
            ],
        );
        let by = |l: &str| found.iter().find(|f| f.listing_id == l).unwrap();
        assert_eq!(by("L2").relist_of.as_deref(), Some(removed.as_str()));
        assert_eq!(by("L3").relist_of, None);

        // And the other way round: the removed photo was a supplied hash, the
        // new listing's photo is fetched and its turned copy is the removed one.
        let found = ingest(
            &store,
            &scorer,
            vec![listing("L4", "Korvello bag", "s4", &mirror(&hash(7)))],
        );
        remove(&store, &found[0].id);
        let found = ingest_turned(
            &store,
            &scorer,
            vec![listing("L5", "Korvello bag", "s5", &[hash(7)])],
            mirror,
        );
        assert_eq!(found[0].relist_of.as_deref(), Some(found_id("L4").as_str()));
    }

    fn found_id(listing: &str) -> String {
        finding_id(listing, "korvello")
    }

    #[test]
    fn a_near_photo_from_another_seller_is_a_relist_of_the_same_mark_only() {
        let (_dir, store, scorer) = setup();
        let found = ingest(
            &store,
            &scorer,
            vec![listing("L1", "Zentrix shoes", "s1", &[hash(100), hash(3)])],
        );
        let removed = found[0].id.clone();
        remove(&store, &removed);
        let found = ingest(
            &store,
            &scorer,
            vec![
                // 5 bits from the second photo of L1.
                listing("L2", "Zentrix running shoes", "s2", &[hash(8)]),
                // 40 bits away: another photo.
                listing("L3", "Zentrix running shoes", "s3", &[hash(43)]),
                // The same photo under another mark: not a relist of Zentrix.
                listing("L4", "Korvello shoes", "s4", &[hash(3)]),
                // The same seller, no photo: the seller rule.
                listing("L5", "Zentrix sale", "s1", &[]),
            ],
        );
        let by = |l: &str| found.iter().find(|f| f.listing_id == l).unwrap();
        assert_eq!(by("L2").relist_of.as_deref(), Some(removed.as_str()));
        assert_eq!(
            by("L2").relist_rule.as_deref(),
            Some("same photo, distance 5")
        );
        assert_eq!(by("L3").relist_of, None);
        assert_eq!(by("L4").relist_of, None);
        assert_eq!(by("L5").relist_rule.as_deref(), Some("same seller"));
        let audit = store.audit(&by("L2").id).unwrap();
        assert_eq!(
            audit[0].note,
            format!("relisting of removed finding {removed} (same photo, distance 5)")
        );
        // Photos are stored with the listing.
        let stored = store.listing("L2").unwrap().unwrap();
        assert_eq!(stored.photo_hashes, vec![hash(8)]);
        assert_eq!(by("L2").id, finding_id("L2", "zentrix"));
    }

    #[test]
    fn the_closest_removed_photo_is_named() {
        let (_dir, store, scorer) = setup();
        let found = ingest(
            &store,
            &scorer,
            vec![
                listing("L1", "Zentrix shoes", "s1", &[hash(20)]),
                listing("L2", "Zentrix shoes", "s2", &[hash(11)]),
            ],
        );
        for f in &found {
            remove(&store, &f.id);
        }
        let found = ingest(
            &store,
            &scorer,
            vec![listing("L3", "Zentrix", "s3", &[hash(12)])],
        );
        assert_eq!(found[0].relist_of, Some(finding_id("L2", "zentrix")));
        assert_eq!(
            found[0].relist_rule.as_deref(),
            Some("same photo, distance 1")
        );
    }
}
