//! Notices (DSA Article 16) filed into the store: each URL becomes a finding of the
//! notice's mark with `source = notice`, in one transaction with the notice, so a
//! notice is never acknowledged without its findings nor its findings stored without
//! the notice. See [`crate::review::NoticeSubmission`] for what a notice carries.

use super::findings::{audit_key, seller_key};
use super::{to_json, Store, StoreError, Writes};
use crate::db::trees::{LISTINGS, NOTICES};
use crate::listing::Listing;
use crate::review::{
    finding_id, listing_sha256, new_notice_id_and_receipt, notice_listing_id, now, receipt_sha256,
    url_key, with_notices, Action, AuditEntry, FindingRecord, FindingSource, NoticeItem,
    NoticeRecord, NoticeRef, NoticeSubmission, Source, State, StoredListing,
};

/// A notice to file: checked, with the mark it names and who sends it.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// The notice, [`NoticeSubmission::validate`]d.
    pub submission: NoticeSubmission,
    /// The mark's name (the notice's `mark_id` is registered).
    pub mark: String,
    /// `Article16`, or `TrustedFlagger` for a flagger's token.
    pub source: Source,
    /// The token's name, or `public`.
    pub filed_by: String,
}

impl Store {
    /// The stored listing whose URL is `url` (compared as [`url_key`] writes it).
    pub fn listing_by_url(&self, url: &str) -> Result<Option<StoredListing>, StoreError> {
        let key = url_key(url);
        let Some(id) = self.by_url.get(key.as_bytes())? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        // The index keeps a listing's earlier URLs: only its current one counts.
        Ok(self
            .listing(&id)?
            .filter(|l| l.listing.url.as_deref().map(url_key).as_deref() == Some(key.as_str())))
    }

    /// Builds the URL index of a store written before it existed.
    pub(super) fn index_urls(&self) -> Result<(), StoreError> {
        if !self.by_url.is_empty() || self.listings.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for entry in self.listings.iter() {
            let (k, v) = entry?;
            let l: StoredListing = Self::decode(LISTINGS, &k, &v)?;
            if let Some(u) = &l.listing.url {
                batch.insert(url_key(u).as_bytes(), k);
            }
        }
        self.by_url.apply_batch(batch)?;
        Ok(())
    }

    /// Files a notice: every URL becomes a finding of the notice's mark (the one
    /// the matcher made, or a new one on a listing stored for the notice), raised
    /// to the notice's floor, a dismissed one reopened. Answers the notice as
    /// stored and the receipt for its notifier (shown once, stored hashed).
    pub fn file_notice(&self, n: NewNotice) -> Result<(NoticeRecord, String), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let (id, receipt) = new_notice_id_and_receipt();
        let at = now();
        let sub = &n.submission;
        let actor = format!("notice {id}");
        let reference = NoticeRef {
            id: id.clone(),
            source: n.source,
            notifier: sub.name.clone(),
        };
        let mut writes = Writes::default();
        let mut items = Vec::with_capacity(sub.urls.len());
        for u in &sub.urls {
            let found = self.listing_by_url(u)?;
            let known = found.is_some();
            let mut stored = match found {
                Some(l) => l,
                None => {
                    let lid = notice_listing_id(u);
                    match self.listing(&lid)? {
                        Some(l) => l,
                        None => {
                            let listing = Listing {
                                id: lid,
                                url: Some(u.clone()),
                                marketplace: url::Url::parse(u)
                                    .ok()
                                    .and_then(|p| p.host_str().map(str::to_owned)),
                                ..Listing::default()
                            };
                            StoredListing {
                                sha256: listing_sha256(&listing),
                                listing,
                                received_at: at.clone(),
                                finding_ids: Vec::new(),
                                photo_hashes: Vec::new(),
                                turned_photo_hashes: Vec::new(),
                                // Not matched yet: the next `scan` matches it.
                                registry_version: None,
                                evidence: None,
                                photos: Vec::new(),
                            }
                        }
                    }
                }
            };
            let lid = stored.listing.id.clone();
            let fid = finding_id(&lid, &sub.mark_id);
            let note = format!(
                "notice {id} from {} names this listing: {}",
                sub.name,
                clip(&sub.explanation, 300)
            );
            let seller = stored.listing.seller.as_ref().map(|s| s.id.clone());
            let record = match self.finding(&fid)? {
                Some(mut f) => {
                    if f.notices.iter().any(|r| r.id == id) {
                        // The same URL twice in one notice: once is enough.
                        continue;
                    }
                    let before = (f.score, f.state);
                    f.notices.push(reference.clone());
                    f.source = FindingSource::Notice;
                    f.score = with_notices(f.score, &f.notices);
                    let to = if f.state == State::Dismissed {
                        State::Reopened
                    } else {
                        f.state
                    };
                    f.version += 1;
                    f.updated_at = at.clone();
                    writes.audit.push((
                        audit_key(&fid, f.version),
                        to_json(&AuditEntry {
                            finding_id: fid.clone(),
                            version: f.version,
                            at: at.clone(),
                            actor: actor.clone(),
                            action: Action::Notice,
                            from: Some(f.state),
                            to,
                            note,
                        }),
                    ));
                    f.state = to;
                    if before != (f.score, f.state) {
                        writes.reindex(&fid, Some(before), (f.score, f.state));
                    }
                    f
                }
                None => {
                    let f = FindingRecord {
                        id: fid.clone(),
                        listing_id: lid.clone(),
                        mark_id: sub.mark_id.clone(),
                        mark: n.mark.clone(),
                        score: with_notices(0.0, std::slice::from_ref(&reference)),
                        signals: Vec::new(),
                        state: State::New,
                        version: 1,
                        created_at: at.clone(),
                        updated_at: at.clone(),
                        seller_id: seller.clone(),
                        marketplace: stored.listing.marketplace.clone(),
                        spans: Vec::new(),
                        relist_of: None,
                        relist_rule: None,
                        confirmed: None,
                        suppressed: None,
                        source: FindingSource::Notice,
                        notices: vec![reference.clone()],
                        claim: None,
                        flood_group: None,
                    };
                    writes.audit.push((
                        audit_key(&fid, 1),
                        to_json(&AuditEntry {
                            finding_id: fid.clone(),
                            version: 1,
                            at: at.clone(),
                            actor: actor.clone(),
                            action: Action::Created,
                            from: None,
                            to: State::New,
                            note,
                        }),
                    ));
                    writes.reindex(&fid, None, (f.score, f.state));
                    if let Some(s) = &seller {
                        writes.by_seller.push(seller_key(s, &f.mark_id, &fid));
                    }
                    f
                }
            };
            writes
                .findings
                .push((fid.clone().into_bytes(), to_json(&record)));
            if !stored.finding_ids.contains(&fid) {
                stored.finding_ids.push(fid.clone());
                if let Some(u) = &stored.listing.url {
                    writes
                        .by_url
                        .push((url_key(u).into_bytes(), lid.clone().into_bytes()));
                }
                writes
                    .listings
                    .push((lid.clone().into_bytes(), to_json(&stored)));
            }
            items.push(NoticeItem {
                url: u.clone(),
                listing_id: lid,
                finding_id: fid,
                known,
            });
        }
        let record = NoticeRecord {
            id: id.clone(),
            received_at: at,
            source: n.source,
            name: sub.name.clone(),
            email: sub.email.clone(),
            explanation: sub.explanation.clone(),
            mark_id: sub.mark_id.clone(),
            good_faith: sub.good_faith,
            items,
            receipt_sha256: receipt_sha256(&receipt),
            filed_by: n.filed_by,
        };
        writes.notices.push((id.into_bytes(), to_json(&record)));
        self.apply(&writes)?;
        Ok((record, receipt))
    }

    /// The notice `id`.
    pub fn notice(&self, id: &str) -> Result<Option<NoticeRecord>, StoreError> {
        self.notices
            .get(id.as_bytes())?
            .map(|v| Self::decode(NOTICES, id.as_bytes(), &v))
            .transpose()
    }

    /// Every notice, newest first.
    pub fn all_notices(&self) -> Result<Vec<NoticeRecord>, StoreError> {
        let mut all: Vec<NoticeRecord> = Self::decode_all(&self.notices, NOTICES)?;
        all.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }
}

fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}
