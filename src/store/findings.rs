//! Listings and their findings under the review model: idempotent ingest (an
//! unchanged listing changes nothing, a changed one is matched again), decisions
//! that survive a re-scan, the queue's indexes and the audit log.
//!
//! A new finding may be the relisting of a removed one (see [`super::relist`]).

use std::collections::HashMap;
use std::ops::Bound;

use super::floods::Verdict;
use super::{to_json, Store, StoreError, Writes};
use crate::db::trees::{AUDIT, FINDINGS, LISTINGS};
use crate::image::Hash256;
use crate::listing::{Evidence, KeptPhoto, Listing};
use crate::review::{
    cause_of, finding_id, listing_sha256, now, with_notices, Action, AuditEntry, FindingRecord,
    SellerSummary, State, StoredListing,
};
use crate::scoring::Finding;

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

/// One page of the queue as stored JSON (see [`Store::list_raw`]).
#[derive(Debug, Clone)]
pub struct RawPage {
    /// Each finding's JSON, highest score first.
    pub items: Vec<sled::IVec>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// What matching one listing gave: its findings, the hashes of its photos
/// (supplied or computed) and the photos kept as evidence, all stored with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matched {
    /// The findings, highest score first.
    pub findings: Vec<Finding>,
    /// The photos' PDQ hashes.
    pub photos: Vec<Hash256>,
    /// Their mirrored and turned copies (photos fetched only).
    pub turned: Vec<Hash256>,
    /// Thumbnails of the photos decoded, kept as evidence.
    pub kept: Vec<KeptPhoto>,
}

/// A listing to store, with how it was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The listing.
    pub listing: Listing,
    /// The page it was extracted from, for crawled listings.
    pub evidence: Option<Evidence>,
    /// The page's raw body (kept compressed, keyed by `evidence.sha256`).
    pub body: Option<Vec<u8>>,
}

impl Incoming {
    /// A listing handed in (the API, `match --store`): no page evidence.
    pub fn handed_in(listing: Listing) -> Incoming {
        Incoming {
            listing,
            evidence: None,
            body: None,
        }
    }
}

/// A listing scored and ready to store.
#[derive(Debug)]
pub struct Scored {
    incoming: Incoming,
    sha256: String,
    registry_version: u64,
    /// `None` when the stored copy is identical, matched against the same registry
    /// version, and nothing needs matching.
    matched: Option<Matched>,
}

impl Scored {
    /// The listing.
    pub fn listing(&self) -> &Listing {
        &self.incoming.listing
    }
}

/// The fields of a listing that differ between two versions, for the audit log.
fn changed_fields(old: &Listing, new: &Listing) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("title", old.title != new.title);
    check("url", old.url != new.url);
    check("seller", old.seller != new.seller);
    check("price", old.price != new.price);
    check(
        "photos",
        old.images != new.images || old.image_hashes != new.image_hashes,
    );
    check("brand", old.brand != new.brand);
    check("category", old.category != new.category);
    check("description", old.description != new.description);
    check("marketplace", old.marketplace != new.marketplace);
    out
}

/// Why a stored listing was matched again, for the audit log.
fn rematch_reason(
    old: Option<&StoredListing>,
    new: &Listing,
    registry_version: u64,
) -> Option<String> {
    let old = old?;
    let fields = changed_fields(&old.listing, new);
    if !fields.is_empty() {
        return Some(format!("listing changed: {}", fields.join(", ")));
    }
    match old.registry_version {
        Some(v) if v != registry_version => Some(format!(
            "registry changed: version {v} to {registry_version}"
        )),
        _ => None,
    }
}

impl Writes {
    /// Moves `id` in the score indexes from its old place (if any) to its new one.
    pub(super) fn reindex(&mut self, id: &str, old: Option<(f64, State)>, new: (f64, State)) {
        if let Some((score, state)) = old {
            self.by_score.push((score_key(score, id), None));
            self.by_state.push((state_key(state, score, id), false));
        }
        self.by_score.push((score_key(new.0, id), Some(Vec::new())));
        self.by_state.push((state_key(new.1, new.0, id), true));
    }
}

pub(super) fn state_number(state: State) -> u8 {
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

pub(super) fn audit_key(id: &str, version: u64) -> Vec<u8> {
    let mut key = id.as_bytes().to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

pub(super) fn seller_key(seller: &str, mark: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(seller.len() + mark.len() + id.len() + 2);
    key.extend_from_slice(seller.as_bytes());
    key.push(0);
    key.extend_from_slice(mark.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

impl Store {
    /// The stored listing `id`.
    pub fn listing(&self, id: &str) -> Result<Option<StoredListing>, StoreError> {
        self.listings
            .get(id)?
            .map(|v| Self::decode(LISTINGS, id.as_bytes(), &v))
            .transpose()
    }

    /// The finding `id`, or `NotFound` when there is none.
    pub fn existing_finding(&self, id: &str) -> Result<FindingRecord, StoreError> {
        self.finding(id)?
            .ok_or_else(|| StoreError::NotFound(format!("finding {id}")))
    }

    /// The finding `id`.
    pub fn finding(&self, id: &str) -> Result<Option<FindingRecord>, StoreError> {
        self.findings
            .get(id)?
            .map(|v| Self::decode(FINDINGS, id.as_bytes(), &v))
            .transpose()
    }

    fn finding_or_404(&self, id: &str) -> Result<FindingRecord, StoreError> {
        self.finding(id)?
            .ok_or_else(|| StoreError::NotFound(format!("finding {id}")))
    }

    /// Builds the state index of a queue stored before it existed.
    pub(super) fn index_states(&self) -> Result<(), StoreError> {
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

    /// Builds the index of removed findings by seller of a store written before it
    /// existed.
    pub(super) fn index_removed_sellers(&self) -> Result<(), StoreError> {
        if !self.removed_by_seller.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for entry in self.by_state.scan_prefix([state_number(State::Removed)]) {
            let (key, _) = entry?;
            let id = String::from_utf8_lossy(&key[9..]).into_owned();
            if let Some(f) = self.finding(&id)? {
                if let Some(seller) = &f.seller_id {
                    batch.insert(seller_key(seller, &f.mark_id, &f.id), &[][..]);
                }
            }
        }
        self.removed_by_seller.apply_batch(batch)?;
        Ok(())
    }

    /// Matches the listings that changed since they were last stored, or were
    /// matched against another registry version, with `matcher` (no lock held:
    /// matching may be slow, e.g. fetch photos), ready for [`Store::store`].
    pub fn score(
        &self,
        incoming: Vec<Incoming>,
        registry_version: u64,
        mut matcher: impl FnMut(&Listing) -> Matched,
    ) -> Result<Vec<Scored>, StoreError> {
        let mut out = Vec::with_capacity(incoming.len());
        for mut item in incoming {
            // Whatever path the listing came by, bidi controls never reach the store
            // or a reviewer's screen (they can make "gnp.exe" read "exe.png").
            item.listing.strip_bidi_controls();
            let sha256 = listing_sha256(&item.listing);
            let current = self
                .listing(&item.listing.id)?
                .is_some_and(|stored| stored.is_current(&sha256, registry_version));
            let matched = (!current).then(|| matcher(&item.listing));
            out.push(Scored {
                incoming: item,
                sha256,
                registry_version,
                matched,
            });
        }
        Ok(out)
    }

    /// Stores a scored batch in one transaction and answers every finding of the
    /// batch's listings. See [`Store::plan_store`] for what changes.
    pub fn store(
        &self,
        batch: Vec<Scored>,
        rematch: impl Fn(&Listing) -> Matched,
        actor: &str,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut writes = Writes::default();
        let answer = self.plan_store(batch, &rematch, actor, &mut writes)?;
        self.apply(&writes)?;
        Ok(answer)
    }

    /// The writes that store a scored batch, and every finding of its listings.
    /// The caller holds the write lock.
    ///
    /// - A listing unchanged and matched against the same registry version changes
    ///   nothing.
    /// - Otherwise its findings are updated. A finding still waiting for review
    ///   (`new`, `in_review`, `reopened`) takes the new score and evidence (version
    ///   bumped, audit entry `rematched` saying why). A `dismissed` finding whose
    ///   listing changed and whose evidence changed is `reopened`, with the reason
    ///   in its audit entry; an unchanged listing keeps its dismissal. A finding
    ///   judged infringing (`confirmed` and after) keeps the evidence the reviewer
    ///   confirmed (its notice cites that): the change is recorded in the audit log
    ///   and the new listing is stored beside it, never swapped in silently.
    /// - New findings start as `new` with an audit entry `created`, and as the
    ///   relisting of a removed finding when one is found.
    ///
    /// `rematch` matches a listing that a concurrent batch changed after it was
    /// scored as unchanged; it runs under the write lock, so it must be quick (no
    /// fetching).
    pub(super) fn plan_store(
        &self,
        batch: Vec<Scored>,
        rematch: &dyn Fn(&Listing) -> Matched,
        actor: &str,
        writes: &mut Writes,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let at = now();
        let mut answer = Vec::new();
        // First the new findings' causes, counted for flood quarantine over the
        // whole batch, so that a flood decides for all of the batch's findings of
        // its cause.
        let mut batch = batch;
        let mut per_listing = Vec::new();
        let mut stored_copies = Vec::with_capacity(batch.len());
        for item in &mut batch {
            let listing = &item.incoming.listing;
            let stored = self.listing(&listing.id)?;
            let current = stored
                .as_ref()
                .is_some_and(|s| s.is_current(&item.sha256, item.registry_version));
            stored_copies.push(stored);
            if current {
                continue;
            }
            // A concurrent batch may have changed the listing since it was scored as
            // unchanged: score it now rather than store nothing.
            let matched = item.matched.get_or_insert_with(|| rematch(listing));
            let mut found = Vec::new();
            for f in &matched.findings {
                let id = finding_id(&listing.id, &f.mark_id);
                if self.finding(&id)?.is_none() {
                    if let Some(c) = cause_of(&f.mark_id, &f.signals, &f.spans) {
                        found.push((c, id));
                    }
                }
            }
            per_listing.push(found);
        }
        let verdicts = self.flood_verdicts(per_listing, writes)?;
        for (mut item, stored) in batch.into_iter().zip(stored_copies) {
            let listing = &item.incoming.listing;
            let current = stored
                .as_ref()
                .is_some_and(|s| s.is_current(&item.sha256, item.registry_version));
            if current {
                for id in &stored.expect("checked above").finding_ids {
                    answer.push(self.finding_or_404(id)?);
                }
                continue;
            }
            // Every listing not current was matched in the first pass.
            let Matched {
                findings,
                photos,
                turned,
                kept,
            } = item.matched.take().unwrap_or_default();
            let reason = rematch_reason(stored.as_ref(), listing, item.registry_version);
            let listing_changed = stored
                .as_ref()
                .is_some_and(|s| !s.sha256.is_empty() && s.sha256 != item.sha256);
            let mut ids: Vec<String> = stored
                .as_ref()
                .map(|s| s.finding_ids.clone())
                .unwrap_or_default();
            let seller = listing.seller.as_ref().map(|s| s.id.clone());
            for f in findings {
                let id = finding_id(&listing.id, &f.mark_id);
                let audit = |version: u64, action, from, to, note: String| {
                    (
                        audit_key(&id, version),
                        to_json(&AuditEntry {
                            finding_id: id.clone(),
                            version,
                            at: at.clone(),
                            actor: actor.to_owned(),
                            action,
                            from,
                            to,
                            note,
                        }),
                    )
                };
                let record = match self.finding(&id)? {
                    Some(mut old) => {
                        // A notice keeps the finding at its floor in the queue.
                        let f = Finding {
                            score: with_notices(f.score, &old.notices),
                            ..f
                        };
                        let same_evidence = old.score == f.score
                            && old.signals == f.signals
                            && old.spans == f.spans
                            && old.suppressed == f.suppressed;
                        let note = reason.clone().unwrap_or_else(|| "matched again".into());
                        // The state the finding moves to when it takes the new
                        // evidence, and the note of its audit entry.
                        let takes = match old.state {
                            _ if same_evidence => None,
                            State::New | State::InReview | State::Reopened | State::Held => {
                                match &f.suppressed {
                                    Some(s) => Some((State::Dismissed, format!("{note}; {s}"))),
                                    None => Some((old.state, note)),
                                }
                            }
                            State::Dismissed if listing_changed && f.suppressed.is_none() => {
                                Some((
                                    State::Reopened,
                                    format!("{note}; the evidence differs from what was dismissed"),
                                ))
                            }
                            State::Dismissed => None,
                            State::Confirmed
                            | State::NoticeSent
                            | State::Removed
                            | State::Reinstated => {
                                if listing_changed {
                                    old.version += 1;
                                    writes.audit.push(audit(
                                        old.version,
                                        Action::Rematched,
                                        Some(old.state),
                                        old.state,
                                        format!(
                                            "{note} after the decision (new score {:.3}); the finding and its notice keep the evidence confirmed",
                                            f.score
                                        ),
                                    ));
                                }
                                None
                            }
                        };
                        if let Some((to, note)) = takes {
                            writes.reindex(&id, Some((old.score, old.state)), (f.score, to));
                            old.score = f.score;
                            old.signals = f.signals;
                            old.spans = f.spans;
                            old.mark = f.mark;
                            old.suppressed = f.suppressed;
                            old.version += 1;
                            writes.audit.push(audit(
                                old.version,
                                Action::Rematched,
                                Some(old.state),
                                to,
                                note,
                            ));
                            old.state = to;
                        }
                        if old.version > 1 {
                            old.updated_at = at.clone();
                        }
                        old.seller_id = seller.clone();
                        old.marketplace = listing.marketplace.clone();
                        old
                    }
                    None => {
                        let relist = self.relist_of(
                            &f.mark_id,
                            &listing.id,
                            seller.as_deref(),
                            &photos,
                            &turned,
                        )?;
                        let mut note = relist.as_ref().map(|r| r.note()).unwrap_or_default();
                        // A finding the mark's feedback bank explains is stored
                        // dismissed, saying which entry and decision dismissed it;
                        // one of a flooding cause is held with its group.
                        let verdict = cause_of(&f.mark_id, &f.signals, &f.spans)
                            .and_then(|c| verdicts.get(&c));
                        let mut add_note = |text: &str| {
                            if !note.is_empty() {
                                note.push_str("; ");
                            }
                            note.push_str(text);
                        };
                        let (state, flood_group) = match (&f.suppressed, verdict) {
                            (Some(s), _) => {
                                add_note(&s.to_string());
                                (State::Dismissed, None)
                            }
                            (None, Some(Verdict::Hold { id, note })) => {
                                add_note(note);
                                (State::Held, Some(id.clone()))
                            }
                            (None, Some(Verdict::Reject { id, note })) => {
                                add_note(note);
                                (State::Dismissed, Some(id.clone()))
                            }
                            (None, None) => (State::New, None),
                        };
                        writes
                            .audit
                            .push(audit(1, Action::Created, None, state, note));
                        writes.reindex(&id, None, (f.score, state));
                        FindingRecord {
                            id: id.clone(),
                            listing_id: listing.id.clone(),
                            mark_id: f.mark_id,
                            mark: f.mark,
                            score: f.score,
                            signals: f.signals,
                            state,
                            version: 1,
                            created_at: at.clone(),
                            updated_at: at.clone(),
                            seller_id: seller.clone(),
                            marketplace: listing.marketplace.clone(),
                            spans: f.spans,
                            relist_rule: relist.as_ref().map(|r| r.rule.to_string()),
                            relist_of: relist.map(|r| r.of),
                            confirmed: None,
                            suppressed: f.suppressed,
                            source: Default::default(),
                            notices: Vec::new(),
                            claim: None,
                            flood_group,
                        }
                    }
                };
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
            let Incoming {
                listing,
                evidence,
                body,
            } = item.incoming;
            if let (Some(e), Some(body)) = (&evidence, body) {
                writes.bodies.push((
                    e.sha256.clone().into_bytes(),
                    super::evidence::pack(&e.final_url, &body)?,
                ));
            }
            let mut records = Vec::with_capacity(kept.len());
            for photo in kept {
                writes
                    .photos
                    .push((photo.record.sha256.clone().into_bytes(), photo.thumbnail));
                records.push(photo.record);
            }
            // Photos kept earlier stay with the listing while it still names them
            // and they were not read again (a re-match from the kept thumbnails).
            if let Some(old) = &stored {
                for p in &old.photos {
                    let named = listing.images.get(p.index) == Some(&p.source);
                    if named && !records.iter().any(|r| r.index == p.index) {
                        records.push(p.clone());
                    }
                }
                records.sort_by_key(|r| r.index);
            }
            let stored = StoredListing {
                listing,
                sha256: item.sha256,
                received_at: at.clone(),
                finding_ids: ids,
                photo_hashes: photos,
                turned_photo_hashes: turned,
                registry_version: Some(item.registry_version),
                evidence,
                photos: records,
            };
            if let Some(u) = &stored.listing.url {
                writes.by_url.push((
                    crate::review::url_key(u).into_bytes(),
                    stored.listing.id.clone().into_bytes(),
                ));
            }
            writes
                .listings
                .push((stored.listing.id.clone().into_bytes(), to_json(&stored)));
        }
        Ok(answer)
    }

    /// Every stored listing not matched against `registry_version` (changed
    /// registry, or migrated from an older database), in id order.
    pub fn pending(&self, registry_version: u64) -> Result<Vec<StoredListing>, StoreError> {
        let mut out = Vec::new();
        for entry in self.listings.iter() {
            let (k, v) = entry?;
            let stored: StoredListing = Self::decode(LISTINGS, &k, &v)?;
            if stored.registry_version != Some(registry_version) {
                out.push(stored);
            }
        }
        Ok(out)
    }

    /// Every stored listing, in id order.
    pub fn listings(&self) -> impl Iterator<Item = Result<StoredListing, StoreError>> + '_ {
        self.listings.iter().map(|entry| {
            let (k, v) = entry?;
            Self::decode(LISTINGS, &k, &v)
        })
    }

    /// How many listings are stored.
    pub fn listing_count(&self) -> usize {
        self.listings.len()
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
    ) -> Result<FindingRecord, StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let (f, writes) = self.plan_transition(id, to, version, actor, note)?;
        self.apply(&writes)?;
        Ok(f)
    }

    /// Records `note` in finding `id`'s audit log without moving it (version
    /// bumped, action `feedback`): an undo of a bank entry its decision made.
    pub fn annotate(&self, id: &str, actor: &str, note: &str) -> Result<FindingRecord, StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = self.finding_or_404(id)?;
        f.version += 1;
        f.updated_at = now();
        let entry = AuditEntry {
            finding_id: id.to_owned(),
            version: f.version,
            at: f.updated_at.clone(),
            actor: actor.to_owned(),
            action: Action::Feedback,
            from: Some(f.state),
            to: f.state,
            note: note.to_owned(),
        };
        let writes = Writes {
            findings: vec![(id.as_bytes().to_vec(), to_json(&f))],
            audit: vec![(audit_key(id, f.version), to_json(&entry))],
            ..Writes::default()
        };
        self.apply(&writes)?;
        Ok(f)
    }

    /// The finding after a transition and every write it takes, for one
    /// [`Store::apply`]. The caller holds the write lock.
    pub(super) fn plan_transition(
        &self,
        id: &str,
        to: State,
        version: u64,
        actor: &str,
        note: &str,
    ) -> Result<(FindingRecord, Writes), StoreError> {
        let mut f = self.finding_or_404(id)?;
        if f.version != version {
            return Err(StoreError::Stale {
                id: id.to_owned(),
                current: f.version,
                given: version,
            });
        }
        if !f.state.can_move_to(to) {
            return Err(StoreError::NotAllowed {
                id: id.to_owned(),
                from: f.state,
                to,
            });
        }
        f.check_claim(actor, &now())?;
        // A decision ends the claim that led to it.
        f.claim = None;
        let from = f.state;
        if to == State::Confirmed {
            // The notice cites the listing as the reviewer saw it.
            f.confirmed = self.listing(&f.listing_id)?.map(|l| l.confirmed());
        }
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
        if let Some(seller) = &f.seller_id {
            let key = seller_key(seller, &f.mark_id, id);
            if to == State::Removed {
                writes.removed_by_seller.push((key, true));
            } else if from == State::Removed {
                writes.removed_by_seller.push((key, false));
            }
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
    ) -> Result<Page, StoreError> {
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

    /// [`Store::list`] answering each finding's stored JSON as it is, which is
    /// the FINDING JSON of the API: the queue page is served without decoding or
    /// encoding a finding when only state and score filter it.
    pub fn list_raw(
        &self,
        filter: &Filter,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<RawPage, StoreError> {
        let (tree, prefix) = match filter.state {
            Some(s) => (&self.by_state, vec![state_number(s)]),
            None => (&self.by_score, Vec::new()),
        };
        let start = match cursor {
            Some(c) => {
                let after = hex::decode(c).map_err(|_| StoreError::BadCursor)?;
                if after.len() < 8 {
                    return Err(StoreError::BadCursor);
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
    pub fn audit(&self, id: &str) -> Result<Vec<AuditEntry>, StoreError> {
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
    ) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
        let end = match cursor {
            Some(c) => {
                let seq = c.parse::<u64>().map_err(|_| StoreError::BadCursor)?;
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
            let seq: [u8; 8] = seq.as_ref().try_into().map_err(|_| StoreError::BadCursor)?;
            last = Some(u64::from_be_bytes(seq).to_string());
        }
        Ok((items, None))
    }

    /// Every audit entry, by finding then version (for exports and checks).
    pub fn audit_all(&self) -> Result<Vec<AuditEntry>, StoreError> {
        Self::decode_all(&self.audit, AUDIT)
    }

    /// Every finding, in id order.
    pub fn all_findings(&self) -> Result<Vec<FindingRecord>, StoreError> {
        Self::decode_all(&self.findings, FINDINGS)
    }

    /// Sellers with their findings counted, repeat infringers first.
    pub fn sellers(&self) -> Result<Vec<SellerSummary>, StoreError> {
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
    pub fn seller_findings(&self, seller: &str) -> Result<Vec<FindingRecord>, StoreError> {
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

    fn setup() -> (tempfile::TempDir, Store, Scorer) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let mark = Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            ..Mark::default()
        };
        let scorer = Scorer::new(vec![mark], Rates::default());
        (dir, Store::open(&db).unwrap(), scorer)
    }

    fn ingest(store: &Store, scorer: &Scorer, listings: &[(&str, &str)]) -> Vec<FindingRecord> {
        let batch = listings
            .iter()
            .map(|(id, title)| {
                Incoming::handed_in(Listing {
                    id: (*id).into(),
                    title: (*title).into(),
                    ..Listing::default()
                })
            })
            .collect();
        let matcher = |l: &Listing| Matched {
            findings: scorer.score(l),
            ..Matched::default()
        };
        let scored = store.score(batch, 1, matcher).unwrap();
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
        assert!(matches!(err, StoreError::NotAllowed { .. }), "{err}");
        let err = store
            .transition(id, State::Confirmed, 1, "ana", "")
            .unwrap_err();
        assert!(matches!(err, StoreError::Stale { current: 2, .. }), "{err}");
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
            Err(StoreError::BadCursor)
        ));
    }
}
