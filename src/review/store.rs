//! The review queue in sled: listings, findings, the audit log and the indexes that
//! serve the queue, each in its own tree. Every action that writes several trees
//! does so in one sled transaction, so a crash never leaves a finding without its
//! audit entry or a transition half done. Writers take one lock so that a
//! read-check-write (version checks, idempotent ingest) cannot interleave with
//! another; reads take no lock.
//!
//! A new finding may be the relisting of a removed one (see [`relist`]).

mod relist;

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Mutex;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::model::{
    finding_id, listing_sha256, now, Action, AuditEntry, FindingRecord, SellerSummary,
    StoredListing,
};
use super::{ReviewError, State};
use crate::image::Hash256;
use crate::listing::Listing;
use crate::scoring::Finding;

/// Tree of listings by id (JSON [`StoredListing`]).
pub const LISTINGS: &str = "review/listings";
/// Tree of findings by id (JSON [`FindingRecord`]).
pub const FINDINGS: &str = "review/findings";
/// Tree of audit entries, keyed by finding id then version (big-endian u64).
pub const AUDIT: &str = "review/audit";
/// Index for score order: inverted score bits, then finding id.
pub const BY_SCORE: &str = "review/by_score";
/// Index of findings by seller then mark: `seller \0 mark \0 finding id`.
pub const BY_SELLER: &str = "review/by_seller";
/// The audit log in the order it was written: a sequence number (big-endian u64)
/// to the [`AUDIT`] key of the entry.
pub const AUDIT_LOG: &str = "review/audit_log";
/// Index for one state in score order: the state's number, then as [`BY_SCORE`].
pub const BY_STATE: &str = "review/by_state";
/// The photo hashes of removed findings, by mark: `mark \0 finding id` to the
/// removed listing's id and photo hashes (JSON), written with the move to
/// `removed`. Relisting by photo scans one mark's entries.
pub const REMOVED_PHOTOS: &str = "review/removed_photos";

/// What the queue can be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this state.
    pub state: Option<State>,
    /// Only this mark id.
    pub mark: Option<String>,
    /// Only this seller id.
    pub seller: Option<String>,
    /// Only findings scoring at least this.
    pub min_score: Option<f64>,
}

/// The fields of a stored finding that filters look at; the rest is skipped.
#[derive(serde::Deserialize)]
struct FilterKeys {
    mark_id: String,
    #[serde(default)]
    seller_id: Option<String>,
}

/// One page of the queue.
#[derive(Debug, Clone)]
pub struct Page {
    /// The findings, highest score first.
    pub items: Vec<FindingRecord>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// One page of the queue as stored JSON (see [`ReviewStore::list_raw`]).
#[derive(Debug, Clone)]
pub struct RawPage {
    /// Each finding's JSON, highest score first.
    pub items: Vec<sled::IVec>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// What matching one listing gave: its findings and the hashes of its photos
/// (supplied or computed), which are stored with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matched {
    /// The findings, highest score first.
    pub findings: Vec<Finding>,
    /// The photos' PDQ hashes.
    pub photos: Vec<Hash256>,
    /// Their mirrored and turned copies (photos fetched only).
    pub turned: Vec<Hash256>,
}

/// A listing scored and ready to store.
#[derive(Debug)]
pub struct Scored {
    listing: Listing,
    sha256: String,
    /// `None` when the stored copy is identical and nothing needs matching.
    matched: Option<Matched>,
}

/// The review queue's storage.
#[derive(Debug)]
pub struct ReviewStore {
    db: sled::Db,
    listings: sled::Tree,
    findings: sled::Tree,
    audit: sled::Tree,
    audit_log: sled::Tree,
    by_score: sled::Tree,
    by_seller: sled::Tree,
    by_state: sled::Tree,
    removed_photos: sled::Tree,
    write: Mutex<()>,
}

/// Writes gathered outside a transaction and applied inside it.
#[derive(Default)]
struct Writes {
    listings: Vec<(Vec<u8>, Vec<u8>)>,
    findings: Vec<(Vec<u8>, Vec<u8>)>,
    audit: Vec<(Vec<u8>, Vec<u8>)>,
    by_score: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    by_seller: Vec<Vec<u8>>,
    by_state: Vec<(Vec<u8>, bool)>,
    removed_photos: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Writes {
    /// Moves `id` in the score indexes from its old place (if any) to its new one.
    fn reindex(&mut self, id: &str, old: Option<(f64, State)>, new: (f64, State)) {
        if let Some((score, state)) = old {
            self.by_score.push((score_key(score, id), None));
            self.by_state.push((state_key(state, score, id), false));
        }
        self.by_score.push((score_key(new.0, id), Some(Vec::new())));
        self.by_state.push((state_key(new.1, new.0, id), true));
    }
}

fn state_number(state: State) -> u8 {
    crate::review::ALL_STATES
        .iter()
        .position(|s| *s == state)
        .expect("every state is listed") as u8
}

fn state_key(state: State, score: f64, id: &str) -> Vec<u8> {
    let mut key = vec![state_number(state)];
    key.extend(score_key(score, id));
    key
}

/// The score stored in a [`score_key`].
fn score_of_key(key: &[u8]) -> f64 {
    let bits: [u8; 8] = key[..8].try_into().expect("score keys start with 8 bytes");
    f64::from_bits(!u64::from_be_bytes(bits))
}

fn score_key(score: f64, id: &str) -> Vec<u8> {
    // For non-negative floats the bit pattern orders like the value; inverting it
    // puts the highest score first.
    let mut key = (!score.max(0.0).to_bits()).to_be_bytes().to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

fn audit_key(id: &str, version: u64) -> Vec<u8> {
    let mut key = id.as_bytes().to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn seller_key(seller: &str, mark: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(seller.len() + mark.len() + id.len() + 2);
    key.extend_from_slice(seller.as_bytes());
    key.push(0);
    key.extend_from_slice(mark.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("review records always serialize")
}

impl ReviewStore {
    /// Opens the review trees of `db`.
    pub fn open(db: &sled::Db) -> Result<ReviewStore, ReviewError> {
        let store = ReviewStore {
            db: db.clone(),
            listings: db.open_tree(LISTINGS)?,
            findings: db.open_tree(FINDINGS)?,
            audit: db.open_tree(AUDIT)?,
            audit_log: db.open_tree(AUDIT_LOG)?,
            by_score: db.open_tree(BY_SCORE)?,
            by_seller: db.open_tree(BY_SELLER)?,
            by_state: db.open_tree(BY_STATE)?,
            removed_photos: db.open_tree(REMOVED_PHOTOS)?,
            write: Mutex::new(()),
        };
        store.index_states()?;
        Ok(store)
    }

    /// Builds the state index of a queue stored before it existed.
    fn index_states(&self) -> Result<(), ReviewError> {
        if !self.by_state.is_empty() || self.findings.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for f in self.all_findings()? {
            batch.insert(state_key(f.state, f.score, &f.id), &[][..]);
        }
        self.by_state.apply_batch(batch)?;
        Ok(())
    }

    /// Waits until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), ReviewError> {
        self.db.flush()?;
        Ok(())
    }

    /// [`ReviewStore::flush`] for async callers: concurrent callers share one write.
    pub async fn flush_async(&self) -> Result<(), ReviewError> {
        self.db.flush_async().await?;
        Ok(())
    }

    fn decode<T: serde::de::DeserializeOwned>(
        tree: &'static str,
        key: &[u8],
        bytes: &[u8],
    ) -> Result<T, ReviewError> {
        serde_json::from_slice(bytes).map_err(|source| ReviewError::Damaged {
            tree,
            key: String::from_utf8_lossy(key).into_owned(),
            source,
        })
    }

    /// The stored listing `id`.
    pub fn listing(&self, id: &str) -> Result<Option<StoredListing>, ReviewError> {
        self.listings
            .get(id)?
            .map(|v| Self::decode(LISTINGS, id.as_bytes(), &v))
            .transpose()
    }

    /// The finding `id`, or `NotFound` when there is none.
    pub fn existing_finding(&self, id: &str) -> Result<FindingRecord, ReviewError> {
        self.finding(id)?
            .ok_or_else(|| ReviewError::NotFound(format!("finding {id}")))
    }

    /// The finding `id`.
    pub fn finding(&self, id: &str) -> Result<Option<FindingRecord>, ReviewError> {
        self.findings
            .get(id)?
            .map(|v| Self::decode(FINDINGS, id.as_bytes(), &v))
            .transpose()
    }

    fn finding_or_404(&self, id: &str) -> Result<FindingRecord, ReviewError> {
        self.finding(id)?
            .ok_or_else(|| ReviewError::NotFound(format!("finding {id}")))
    }

    /// Matches the listings that changed since they were last stored with `matcher`
    /// (no lock held: matching may be slow, e.g. fetch photos), ready for
    /// [`ReviewStore::store`].
    pub fn score(
        &self,
        listings: Vec<Listing>,
        matcher: impl Fn(&Listing) -> Matched,
    ) -> Result<Vec<Scored>, ReviewError> {
        let mut out = Vec::with_capacity(listings.len());
        for listing in listings {
            let sha256 = listing_sha256(&listing);
            let unchanged = self
                .listing(&listing.id)?
                .is_some_and(|stored| stored.sha256 == sha256);
            let matched = (!unchanged).then(|| matcher(&listing));
            out.push(Scored {
                listing,
                sha256,
                matched,
            });
        }
        Ok(out)
    }

    /// Stores a scored batch in one transaction and answers every finding of the
    /// batch's listings. An unchanged listing changes nothing; a changed one updates
    /// its findings (version bumped, audit entry `rematched`); new findings start as
    /// `new` with an audit entry `created`, and as the relisting of a removed
    /// finding when one is found. `rematch` matches a listing that a concurrent
    /// batch changed after it was scored as unchanged; it runs under the write
    /// lock, so it must be quick (no fetching).
    pub fn store(
        &self,
        batch: Vec<Scored>,
        rematch: impl Fn(&Listing) -> Matched,
        actor: &str,
    ) -> Result<Vec<FindingRecord>, ReviewError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let at = now();
        let mut writes = Writes::default();
        let mut answer = Vec::new();
        for mut item in batch {
            let stored = self.listing(&item.listing.id)?;
            let unchanged = stored.as_ref().is_some_and(|s| s.sha256 == item.sha256);
            if unchanged {
                for id in &stored.expect("checked above").finding_ids {
                    answer.push(self.finding_or_404(id)?);
                }
                continue;
            }
            // A concurrent batch may have changed the listing since it was scored as
            // unchanged: score it now rather than store nothing.
            let Matched {
                findings,
                photos,
                turned,
            } = match item.matched.take() {
                Some(m) => m,
                None => rematch(&item.listing),
            };
            let mut ids: Vec<String> = stored.map(|s| s.finding_ids).unwrap_or_default();
            let seller = item.listing.seller.as_ref().map(|s| s.id.clone());
            for f in findings {
                let id = finding_id(&item.listing.id, &f.mark_id);
                let record = match self.finding(&id)? {
                    Some(mut old) => {
                        writes.reindex(&id, Some((old.score, old.state)), (f.score, old.state));
                        old.score = f.score;
                        old.signals = f.signals;
                        old.spans = f.spans;
                        old.mark = f.mark;
                        old.seller_id = seller.clone();
                        old.marketplace = item.listing.marketplace.clone();
                        old.version += 1;
                        old.updated_at = at.clone();
                        writes.audit.push((
                            audit_key(&id, old.version),
                            to_json(&AuditEntry {
                                finding_id: id.clone(),
                                version: old.version,
                                at: at.clone(),
                                actor: actor.to_owned(),
                                action: Action::Rematched,
                                from: Some(old.state),
                                to: old.state,
                                note: String::new(),
                            }),
                        ));
                        old
                    }
                    None => {
                        let relist = self.relist_of(
                            &f.mark_id,
                            &item.listing.id,
                            seller.as_deref(),
                            &photos,
                            &turned,
                        )?;
                        let note = relist.as_ref().map(|r| r.note()).unwrap_or_default();
                        writes.audit.push((
                            audit_key(&id, 1),
                            to_json(&AuditEntry {
                                finding_id: id.clone(),
                                version: 1,
                                at: at.clone(),
                                actor: actor.to_owned(),
                                action: Action::Created,
                                from: None,
                                to: State::New,
                                note,
                            }),
                        ));
                        FindingRecord {
                            id: id.clone(),
                            listing_id: item.listing.id.clone(),
                            mark_id: f.mark_id,
                            mark: f.mark,
                            score: f.score,
                            signals: f.signals,
                            state: State::New,
                            version: 1,
                            created_at: at.clone(),
                            updated_at: at.clone(),
                            seller_id: seller.clone(),
                            marketplace: item.listing.marketplace.clone(),
                            spans: f.spans,
                            relist_rule: relist.as_ref().map(|r| r.rule.to_string()),
                            relist_of: relist.map(|r| r.of),
                        }
                    }
                };
                if record.version == 1 {
                    writes.reindex(&id, None, (record.score, record.state));
                }
                if let Some(s) = &seller {
                    writes.by_seller.push(seller_key(s, &record.mark_id, &id));
                }
                writes
                    .findings
                    .push((id.clone().into_bytes(), to_json(&record)));
                if !ids.contains(&id) {
                    ids.push(id);
                }
                answer.push(record);
            }
            let stored = StoredListing {
                listing: item.listing,
                sha256: item.sha256,
                received_at: at.clone(),
                finding_ids: ids,
                photo_hashes: photos,
                turned_photo_hashes: turned,
            };
            writes
                .listings
                .push((stored.listing.id.clone().into_bytes(), to_json(&stored)));
        }
        self.apply(&writes)?;
        Ok(answer)
    }

    fn apply(&self, w: &Writes) -> Result<(), ReviewError> {
        (
            &self.listings,
            &self.findings,
            &self.audit,
            &self.by_score,
            &self.by_seller,
            &self.by_state,
            &self.audit_log,
            &self.removed_photos,
        )
            .transaction(
                |(
                    listings,
                    findings,
                    audit,
                    by_score,
                    by_seller,
                    by_state,
                    audit_log,
                    removed_photos,
                )| {
                    for (k, v) in &w.listings {
                        listings.insert(k.as_slice(), v.as_slice())?;
                    }
                    for (k, v) in &w.findings {
                        findings.insert(k.as_slice(), v.as_slice())?;
                    }
                    for (k, v) in &w.audit {
                        audit.insert(k.as_slice(), v.as_slice())?;
                        let seq = audit_log.generate_id()?;
                        audit_log.insert(&seq.to_be_bytes(), k.as_slice())?;
                    }
                    for (k, v) in &w.by_score {
                        match v {
                            Some(v) => by_score.insert(k.as_slice(), v.as_slice())?,
                            None => by_score.remove(k.as_slice())?,
                        };
                    }
                    for k in &w.by_seller {
                        by_seller.insert(k.as_slice(), &[][..])?;
                    }
                    for (k, add) in &w.by_state {
                        if *add {
                            by_state.insert(k.as_slice(), &[][..])?;
                        } else {
                            by_state.remove(k.as_slice())?;
                        }
                    }
                    for (k, v) in &w.removed_photos {
                        removed_photos.insert(k.as_slice(), v.as_slice())?;
                    }
                    Ok::<_, ConflictableTransactionError<()>>(())
                },
            )
            .map_err(|e| match e {
                TransactionError::Storage(e) => ReviewError::Db(e),
                TransactionError::Abort(()) => unreachable!("the transaction never aborts"),
            })
    }

    /// Moves finding `id` to `to`, if `version` is current and the workflow allows
    /// it; records who, when, from, to and the note in the audit log. A move to
    /// `removed` also records the listing's photo hashes for relisting by photo.
    pub fn transition(
        &self,
        id: &str,
        to: State,
        version: u64,
        actor: &str,
        note: &str,
    ) -> Result<FindingRecord, ReviewError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let (f, writes) = self.plan_transition(id, to, version, actor, note)?;
        self.apply(&writes)?;
        Ok(f)
    }

    /// The finding after a transition and every write it takes, for one
    /// [`ReviewStore::apply`]. The caller holds the write lock.
    fn plan_transition(
        &self,
        id: &str,
        to: State,
        version: u64,
        actor: &str,
        note: &str,
    ) -> Result<(FindingRecord, Writes), ReviewError> {
        let mut f = self.finding_or_404(id)?;
        if f.version != version {
            return Err(ReviewError::Stale {
                id: id.to_owned(),
                current: f.version,
                given: version,
            });
        }
        if !f.state.can_move_to(to) {
            return Err(ReviewError::NotAllowed {
                id: id.to_owned(),
                from: f.state,
                to,
            });
        }
        let from = f.state;
        f.state = to;
        f.version += 1;
        f.updated_at = now();
        let entry = AuditEntry {
            finding_id: id.to_owned(),
            version: f.version,
            at: f.updated_at.clone(),
            actor: actor.to_owned(),
            action: Action::Transition,
            from: Some(from),
            to,
            note: note.to_owned(),
        };
        let mut writes = Writes {
            findings: vec![(id.as_bytes().to_vec(), to_json(&f))],
            audit: vec![(audit_key(id, f.version), to_json(&entry))],
            ..Writes::default()
        };
        writes.by_state.push((state_key(from, f.score, id), false));
        writes.by_state.push((state_key(to, f.score, id), true));
        if to == State::Removed {
            writes.removed_photos.extend(self.removed_photos_entry(&f)?);
        }
        Ok((f, writes))
    }

    /// A page of findings matching `filter`, highest score first, starting after
    /// `cursor` (from a previous [`Page::next`]).
    pub fn list(
        &self,
        filter: &Filter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, ReviewError> {
        let raw = self.list_raw(filter, limit, cursor)?;
        let items = raw
            .items
            .iter()
            .map(|bytes| Self::decode(FINDINGS, b"", bytes))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: raw.next,
        })
    }

    /// [`ReviewStore::list`] answering each finding's stored JSON as it is, which is
    /// the FINDING JSON of the API: the queue page is served without decoding or
    /// encoding a finding when only state and score filter it.
    pub fn list_raw(
        &self,
        filter: &Filter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<RawPage, ReviewError> {
        let (tree, prefix) = match filter.state {
            Some(s) => (&self.by_state, vec![state_number(s)]),
            None => (&self.by_score, Vec::new()),
        };
        let start = match cursor {
            Some(c) => {
                let after = hex::decode(c).map_err(|_| ReviewError::BadCursor)?;
                if after.len() < 8 {
                    return Err(ReviewError::BadCursor);
                }
                let mut key = prefix.clone();
                key.extend(after);
                Bound::Excluded(key)
            }
            None => Bound::Included(prefix.clone()),
        };
        let decode_needed = filter.mark.is_some() || filter.seller.is_some();
        let mut items = Vec::new();
        let mut last_key: Option<Vec<u8>> = None;
        for entry in tree.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            let (key, _) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            let key = &key[prefix.len()..];
            if filter.min_score.is_some_and(|min| score_of_key(key) < min) {
                break;
            }
            let id = &key[8..];
            let Some(bytes) = self.findings.get(id)? else {
                continue;
            };
            if decode_needed {
                let keys: FilterKeys = Self::decode(FINDINGS, id, &bytes)?;
                let mark_ok = filter.mark.as_deref().is_none_or(|m| m == keys.mark_id);
                let seller_ok = filter
                    .seller
                    .as_deref()
                    .is_none_or(|s| Some(s) == keys.seller_id.as_deref());
                if !(mark_ok && seller_ok) {
                    continue;
                }
            }
            if items.len() == limit {
                return Ok(RawPage {
                    items,
                    next: last_key.map(hex::encode),
                });
            }
            items.push(bytes);
            last_key = Some(key.to_vec());
        }
        Ok(RawPage { items, next: None })
    }

    /// The audit log of finding `id`, oldest first.
    pub fn audit(&self, id: &str) -> Result<Vec<AuditEntry>, ReviewError> {
        self.audit
            .scan_prefix(id.as_bytes())
            .map(|entry| {
                let (k, v) = entry?;
                Self::decode(AUDIT, &k, &v)
            })
            .collect()
    }

    /// The audit log across findings, newest first: up to `limit` entries written
    /// before `cursor` (from a previous call), and the cursor of the next page.
    pub fn audit_log(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<AuditEntry>, Option<String>), ReviewError> {
        let end = match cursor {
            Some(c) => {
                let seq = c.parse::<u64>().map_err(|_| ReviewError::BadCursor)?;
                Bound::Excluded(seq.to_be_bytes().to_vec())
            }
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last = None;
        for entry in self
            .audit_log
            .range::<Vec<u8>, _>((Bound::Unbounded, end))
            .rev()
        {
            let (seq, key) = entry?;
            if items.len() == limit {
                return Ok((items, last));
            }
            let Some(bytes) = self.audit.get(&key)? else {
                continue;
            };
            items.push(Self::decode(AUDIT, &key, &bytes)?);
            let seq: [u8; 8] = seq
                .as_ref()
                .try_into()
                .map_err(|_| ReviewError::BadCursor)?;
            last = Some(u64::from_be_bytes(seq).to_string());
        }
        Ok((items, None))
    }

    /// Every audit entry, by finding then version (for exports and checks).
    pub fn audit_all(&self) -> Result<Vec<AuditEntry>, ReviewError> {
        Self::decode_all(&self.audit, AUDIT)
    }

    /// Every finding, in id order.
    pub fn all_findings(&self) -> Result<Vec<FindingRecord>, ReviewError> {
        Self::decode_all(&self.findings, FINDINGS)
    }

    /// Every value of `tree` (named `name`), in key order.
    fn decode_all<T: serde::de::DeserializeOwned>(
        tree: &sled::Tree,
        name: &'static str,
    ) -> Result<Vec<T>, ReviewError> {
        tree.iter()
            .map(|entry| {
                let (k, v) = entry?;
                Self::decode(name, &k, &v)
            })
            .collect()
    }

    /// Sellers with their findings counted, repeat infringers first.
    pub fn sellers(&self) -> Result<Vec<SellerSummary>, ReviewError> {
        let mut by: HashMap<String, SellerSummary> = HashMap::new();
        for f in self.all_findings()? {
            if let Some(s) = &f.seller_id {
                by.entry(s.clone())
                    .or_insert_with(|| SellerSummary {
                        seller_id: s.clone(),
                        ..SellerSummary::default()
                    })
                    .add(&f);
            }
        }
        let mut out: Vec<SellerSummary> = by.into_values().collect();
        out.sort_by(|a, b| {
            b.infringing
                .cmp(&a.infringing)
                .then(b.relists.cmp(&a.relists))
                .then(b.findings.cmp(&a.findings))
                .then(a.seller_id.cmp(&b.seller_id))
        });
        Ok(out)
    }

    /// The findings of one seller, highest score first.
    pub fn seller_findings(&self, seller: &str) -> Result<Vec<FindingRecord>, ReviewError> {
        let mut prefix = seller.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for entry in self.by_seller.scan_prefix(&prefix) {
            let (key, _) = entry?;
            let id_start = key.iter().rposition(|b| *b == 0).map_or(0, |p| p + 1);
            let id = String::from_utf8_lossy(&key[id_start..]).into_owned();
            if let Some(f) = self.finding(&id)? {
                out.push(f);
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Mark;
    use crate::scoring::{Rates, Scorer};

    fn setup() -> (tempfile::TempDir, ReviewStore, Scorer) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let mark = Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            ..Mark::default()
        };
        let scorer = Scorer::new(vec![mark], Rates::default());
        (dir, ReviewStore::open(&db).unwrap(), scorer)
    }

    fn ingest(
        store: &ReviewStore,
        scorer: &Scorer,
        listings: &[(&str, &str)],
    ) -> Vec<FindingRecord> {
        let batch = listings
            .iter()
            .map(|(id, title)| Listing {
                id: (*id).into(),
                title: (*title).into(),
                ..Listing::default()
            })
            .collect();
        let matcher = |l: &Listing| Matched {
            findings: scorer.score(l),
            photos: Vec::new(),
            turned: Vec::new(),
        };
        let scored = store.score(batch, matcher).unwrap();
        store.store(scored, matcher, "test").unwrap()
    }

    #[test]
    fn every_change_writes_its_audit_entry_with_the_finding() {
        let (_dir, store, scorer) = setup();
        let found = ingest(&store, &scorer, &[("L1", "Zentrix shoes")]);
        let id = &found[0].id;
        store
            .transition(id, State::InReview, 1, "ana", "looking")
            .unwrap();
        let err = store
            .transition(id, State::Removed, 2, "ana", "")
            .unwrap_err();
        assert!(matches!(err, ReviewError::NotAllowed { .. }), "{err}");
        let err = store
            .transition(id, State::Confirmed, 1, "ana", "")
            .unwrap_err();
        assert!(
            matches!(err, ReviewError::Stale { current: 2, .. }),
            "{err}"
        );
        let audit = store.audit(id).unwrap();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[1].actor, "ana");
        assert_eq!(
            (audit[1].from, audit[1].to),
            (Some(State::New), State::InReview)
        );
        assert_eq!(
            audit[1].version,
            store.finding(id).unwrap().unwrap().version
        );
        let in_state = |state| {
            let filter = Filter {
                state: Some(state),
                ..Filter::default()
            };
            store.list(&filter, 10, None).unwrap().items.len()
        };
        assert_eq!((in_state(State::New), in_state(State::InReview)), (0, 1));
        let (log, next) = store.audit_log(1, None).unwrap();
        assert_eq!(log[0].action, Action::Transition, "newest first");
        let (rest, end) = store.audit_log(10, next.as_deref()).unwrap();
        assert_eq!(
            (rest.len(), rest[0].action, end),
            (1, Action::Created, None)
        );
    }

    #[test]
    fn pages_follow_score_order_without_gaps() {
        let (_dir, store, scorer) = setup();
        ingest(
            &store,
            &scorer,
            &[
                ("L1", "Zentrix shoes"),
                ("L2", "Zentrix shoes replica"),
                ("L3", "Zentrlx shoes"),
                ("L4", "socks"),
            ],
        );
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list(&Filter::default(), 1, cursor.as_deref())
                .unwrap();
            seen.extend(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 3);
        assert!(seen.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(matches!(
            store.list(&Filter::default(), 1, Some("xyz")),
            Err(ReviewError::BadCursor)
        ));
    }
}
