//! The one store of listings and findings, in trees of the one sled database
//! (named in [`crate::db::trees`]): every listing, crawled, handed to `match --store`
//! or posted to the API, with the evidence of how it was seen; its findings under
//! the review model ([`crate::review`]: states, versions, audit log); the indexes
//! that serve the queue; the raw page bodies and listing photos kept as evidence;
//! and the crawl frontier.
//!
//! Every action that writes several trees does so in one sled transaction, so a
//! crash never leaves a listing without its findings, a finding without its audit
//! entry, or a crawled page done without what it yielded. Writers take one lock so
//! that a read-check-write (version checks, idempotent ingest) cannot interleave
//! with another; reads take no lock.

mod evidence;
mod findings;
mod floods;
mod frontier;
mod notices;
mod queue;
mod relist;

use std::sync::Mutex;

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

pub use crate::db::trees::{
    AUDIT, AUDIT_LOG, BODIES, BY_SCORE, BY_SELLER, BY_STATE, CRAWL_META, CRAWL_QUEUE, CRAWL_URLS,
    FINDINGS, LISTINGS, PHOTOS, REMOVED_BY_SELLER, REMOVED_PHOTOS,
};
pub use crate::review::ReviewError as StoreError;
pub use findings::{Filter, Incoming, Matched, Page, RawPage, Scored};
pub use frontier::{PageCommit, PageKind, Queued, UrlState, UrlStatus};
pub use notices::NewNotice;
pub use queue::{OldestOpen, QueueStats, DEFAULT_CLAIM_MINUTES, MAX_CLAIM_MINUTES};

/// The store over one database.
#[derive(Debug)]
pub struct Store {
    db: sled::Db,
    listings: sled::Tree,
    findings: sled::Tree,
    audit: sled::Tree,
    audit_log: sled::Tree,
    by_score: sled::Tree,
    by_seller: sled::Tree,
    by_state: sled::Tree,
    removed_photos: sled::Tree,
    removed_by_seller: sled::Tree,
    bodies: sled::Tree,
    photos: sled::Tree,
    urls: sled::Tree,
    queue: sled::Tree,
    crawl: sled::Tree,
    statements: sled::Tree,
    notices: sled::Tree,
    by_url: sled::Tree,
    floods: sled::Tree,
    flood_window: Mutex<crate::review::FloodWindow>,
    write: Mutex<()>,
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records always serialize")
}

impl Store {
    /// Opens the store's trees in `db`.
    pub fn open(db: &sled::Db) -> Result<Store, StoreError> {
        let store = Store {
            db: db.clone(),
            listings: db.open_tree(LISTINGS)?,
            findings: db.open_tree(FINDINGS)?,
            audit: db.open_tree(AUDIT)?,
            audit_log: db.open_tree(AUDIT_LOG)?,
            by_score: db.open_tree(BY_SCORE)?,
            by_seller: db.open_tree(BY_SELLER)?,
            by_state: db.open_tree(BY_STATE)?,
            removed_photos: db.open_tree(REMOVED_PHOTOS)?,
            removed_by_seller: db.open_tree(REMOVED_BY_SELLER)?,
            bodies: db.open_tree(BODIES)?,
            photos: db.open_tree(PHOTOS)?,
            urls: db.open_tree(CRAWL_URLS)?,
            queue: db.open_tree(CRAWL_QUEUE)?,
            crawl: db.open_tree(CRAWL_META)?,
            statements: db.open_tree(crate::db::trees::STATEMENTS)?,
            notices: db.open_tree(crate::db::trees::NOTICES)?,
            by_url: db.open_tree(crate::db::trees::BY_URL)?,
            floods: db.open_tree(crate::db::trees::FLOODS)?,
            flood_window: Mutex::default(),
            write: Mutex::new(()),
        };
        store.index_states()?;
        store.index_urls()?;
        store.index_removed_sellers()?;
        Ok(store)
    }

    /// Records a statement of reasons (keyed by its `puid`: recording it again
    /// changes nothing).
    pub fn record_statement(&self, s: &crate::review::Statement) -> Result<(), StoreError> {
        self.statements.insert(s.puid.as_bytes(), to_json(s))?;
        Ok(())
    }

    /// Every statement of reasons, oldest decision first.
    pub fn statements(&self) -> Result<Vec<crate::review::Statement>, StoreError> {
        let mut out: Vec<crate::review::Statement> = Vec::new();
        for entry in self.statements.iter() {
            let (k, v) = entry?;
            out.push(Self::decode(crate::db::trees::STATEMENTS, &k, &v)?);
        }
        out.sort_by(|a, b| a.decided_at.cmp(&b.decided_at).then(a.puid.cmp(&b.puid)));
        Ok(out)
    }

    /// Waits until everything written so far is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// [`Store::flush`] for async callers: concurrent callers share one write.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Reads a stored JSON record, naming the tree and key when it is damaged.
    fn decode<T: serde::de::DeserializeOwned>(
        tree: &'static str,
        key: &[u8],
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Damaged {
            tree,
            key: String::from_utf8_lossy(key).into_owned(),
            source,
        })
    }

    /// Every value of `tree` (named `name`), in key order.
    fn decode_all<T: serde::de::DeserializeOwned>(
        tree: &sled::Tree,
        name: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        tree.iter()
            .map(|entry| {
                let (k, v) = entry?;
                Self::decode(name, &k, &v)
            })
            .collect()
    }

    /// Applies `w` and then `more` (which may read and write the crawl frontier) in
    /// one transaction over every tree of the store. The caller holds the write
    /// lock.
    fn apply_with<T>(
        &self,
        w: &Writes,
        more: impl Fn(&Frontier<'_>) -> Result<T, ConflictableTransactionError<()>>,
    ) -> Result<T, StoreError> {
        // Sixteen trees: more than sled's tuples take, so a slice, named below.
        let trees = [
            &self.listings,
            &self.findings,
            &self.audit,
            &self.by_score,
            &self.by_seller,
            &self.by_state,
            &self.audit_log,
            &self.removed_photos,
            &self.removed_by_seller,
            &self.bodies,
            &self.photos,
            &self.urls,
            &self.queue,
            &self.notices,
            &self.by_url,
            &self.floods,
        ];
        let flood_pairs = w.flood.pairs();
        trees[..]
            .transaction(|t| {
                let [listings, findings, audit, by_score, by_seller, by_state, audit_log, removed_photos, removed_by_seller, bodies, photos, urls, queue, notices, by_url, floods] =
                    &t[..]
                else {
                    unreachable!("one view per tree")
                };
                let put = |tree: &TransactionalTree, pairs: &[(Vec<u8>, Vec<u8>)]| {
                    for (k, v) in pairs {
                        tree.insert(k.as_slice(), v.as_slice())?;
                    }
                    Ok::<_, ConflictableTransactionError<()>>(())
                };
                put(listings, &w.listings)?;
                put(findings, &w.findings)?;
                put(removed_photos, &w.removed_photos)?;
                put(bodies, &w.bodies)?;
                put(photos, &w.photos)?;
                put(notices, &w.notices)?;
                put(by_url, &w.by_url)?;
                put(floods, &flood_pairs)?;
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
                for (tree, keys) in [
                    (by_state, &w.by_state),
                    (removed_by_seller, &w.removed_by_seller),
                ] {
                    for (k, add) in keys {
                        if *add {
                            tree.insert(k.as_slice(), &[][..])?;
                        } else {
                            tree.remove(k.as_slice())?;
                        }
                    }
                }
                more(&Frontier { urls, queue })
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => StoreError::Db(e),
                TransactionError::Abort(()) => unreachable!("store transactions never abort"),
            })
    }

    /// [`Store::apply_with`] without frontier changes.
    fn apply(&self, w: &Writes) -> Result<(), StoreError> {
        self.apply_with(w, |_| Ok(()))
    }
}

/// The crawl frontier's trees inside a transaction.
struct Frontier<'a> {
    urls: &'a TransactionalTree,
    queue: &'a TransactionalTree,
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
    removed_by_seller: Vec<(Vec<u8>, bool)>,
    bodies: Vec<(Vec<u8>, Vec<u8>)>,
    photos: Vec<(Vec<u8>, Vec<u8>)>,
    notices: Vec<(Vec<u8>, Vec<u8>)>,
    by_url: Vec<(Vec<u8>, Vec<u8>)>,
    flood: floods::FloodWrites,
}

impl Writes {
    /// Adds `other`'s writes after these (flood counts and groups excepted: only
    /// the store's batch plans write them).
    fn merge(&mut self, other: Writes) {
        self.listings.extend(other.listings);
        self.findings.extend(other.findings);
        self.audit.extend(other.audit);
        self.by_score.extend(other.by_score);
        self.by_seller.extend(other.by_seller);
        self.by_state.extend(other.by_state);
        self.removed_photos.extend(other.removed_photos);
        self.removed_by_seller.extend(other.removed_by_seller);
        self.bodies.extend(other.bodies);
        self.photos.extend(other.photos);
        self.notices.extend(other.notices);
        self.by_url.extend(other.by_url);
    }
}
