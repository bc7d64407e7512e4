//! The store of crawled listings, their evidence and their findings, and the crawl
//! frontier, all in trees of the one sled database.
//!
//! A fetched page is committed in one transaction: the page marked done, the links
//! it found queued, its listing and evidence stored (the raw body compressed with
//! zstd, keyed by its SHA-256). A crawl killed at any moment therefore resumes from a
//! consistent state: a page is either done with everything it yielded, or still
//! queued.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use crate::listing::Listing;
use crate::scoring::Finding;

/// Tree of stored listings: `marketplace \0 id` → [`StoredListing`] (JSON).
pub const LISTINGS: &str = "store.listings";
/// Tree of raw bodies: SHA-256 → zstd-compressed body.
pub const BODIES: &str = "store.bodies";
/// Tree of findings: listing key → [`StoredFindings`] (JSON).
pub const FINDINGS: &str = "store.findings";
/// Tree of every URL of the current crawl: canonical URL → [`UrlState`] (JSON).
pub const URLS: &str = "crawl.urls";
/// Tree of queued URLs in order: sequence (big-endian u64) → canonical URL.
pub const QUEUE: &str = "crawl.queue";

/// Tree of facts about the current crawl; key `targets`: the crawl's targets as given
/// (a profile path made absolute, or start URLs), JSON.
pub const CRAWL: &str = "crawl.meta";

/// zstd level for stored bodies: fast, and HTML compresses well at any level.
const ZSTD_LEVEL: i32 = 3;

/// A store error; every variant names what was being read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed.
    #[error("database error")]
    Db(#[from] sled::Error),
    /// A stored record cannot be read.
    #[error("damaged record in tree {tree} at key {key:?}: {reason}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The key, lossily decoded.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A body could not be compressed.
    #[error("cannot compress the body of {url}")]
    Compress {
        /// The page.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What was seen when a listing was fetched, so a report can cite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The URL after redirects.
    pub final_url: String,
    /// The HTTP status.
    pub status: u16,
    /// When the body was received (UTC).
    pub fetched_at: DateTime<Utc>,
    /// SHA-256 of the raw body, hex.
    pub sha256: String,
    /// The body was longer than the cap and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Where each field of the listing was extracted from, with a confidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::crawl::extract::FieldSource>,
}

impl From<Evidence> for crate::report::Evidence {
    fn from(e: Evidence) -> crate::report::Evidence {
        crate::report::Evidence {
            final_url: e.final_url,
            status: e.status,
            fetched_at: e
                .fetched_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            sha256: e.sha256,
        }
    }
}

/// A listing with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredListing {
    /// The listing as extracted.
    pub listing: Listing,
    /// How it was seen.
    pub evidence: Evidence,
}

/// The findings of one listing against one registry version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFindings {
    /// The registry version matched against.
    pub registry_version: u64,
    /// When it was matched.
    pub matched_at: DateTime<Utc>,
    /// The findings, highest score first.
    pub findings: Vec<Finding>,
}

/// Where a URL of the crawl stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlStatus {
    /// Waiting to be fetched.
    Queued,
    /// Fetched and committed.
    Done,
    /// Given up on (error, robots.txt, trap guard).
    Failed,
}

/// What kind of page a URL is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// A start or result page: follow its links.
    Index,
    /// A listing page (site profile mode).
    Listing,
    /// Plain mode: follow links and extract where Product data is found.
    Any,
}

/// A URL's record in the frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlState {
    /// Link distance from a start URL.
    pub depth: u32,
    /// The page kind.
    pub kind: PageKind,
    /// Where it stands.
    pub status: UrlStatus,
}

/// A URL waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The queue position (commit it with the page).
    pub seq: u64,
    /// The canonical URL.
    pub url: String,
    /// Its record.
    pub state: UrlState,
}

/// The outcome of one page, committed atomically by [`Store::commit_page`].
#[derive(Debug, Clone)]
pub struct PageCommit {
    /// The page's queue entry.
    pub page: Queued,
    /// Done or failed.
    pub status: UrlStatus,
    /// The listing found, with its evidence and raw body.
    pub listing: Option<(StoredListing, Vec<u8>)>,
    /// Links found: canonical URL, depth, kind. Already-known URLs are skipped.
    pub links: Vec<(String, u32, PageKind)>,
}

/// A listing with its findings.
pub type Scored = (Listing, Vec<Finding>);

/// The store over one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    listings: sled::Tree,
    bodies: sled::Tree,
    findings: sled::Tree,
    urls: sled::Tree,
    queue: sled::Tree,
    crawl: sled::Tree,
}

fn corrupt(tree: &'static str, key: &[u8], reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        tree,
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.to_string(),
    }
}

/// The key of a listing: marketplace, NUL, id.
pub fn listing_key(l: &Listing) -> Vec<u8> {
    let m = l.marketplace.as_deref().unwrap_or("");
    [m.as_bytes(), b"\0", l.id.as_bytes()].concat()
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("store records always serialise")
}

impl Store {
    /// Opens the store's trees in `db`.
    pub fn open(db: &sled::Db) -> Result<Store, StoreError> {
        Ok(Store {
            db: db.clone(),
            listings: db.open_tree(LISTINGS)?,
            bodies: db.open_tree(BODIES)?,
            findings: db.open_tree(FINDINGS)?,
            urls: db.open_tree(URLS)?,
            queue: db.open_tree(QUEUE)?,
            crawl: db.open_tree(CRAWL)?,
        })
    }

    /// Records the targets of the crawl being started, so that `--resume` can go on
    /// without them.
    pub fn set_crawl_targets(&self, targets: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_vec(targets).expect("strings serialise");
        self.crawl.insert("targets", json)?;
        Ok(())
    }

    /// The targets of the last crawl started with this database, if any.
    pub fn crawl_targets(&self) -> Result<Option<Vec<String>>, StoreError> {
        match self.crawl.get("targets")? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(CRAWL, b"targets", e)),
        }
    }

    /// Forgets the frontier of the previous crawl (stored listings stay).
    pub fn reset_frontier(&self) -> Result<(), StoreError> {
        self.urls.clear()?;
        self.queue.clear()?;
        Ok(())
    }

    /// Queues `url` unless the frontier already knows it; returns whether it was new.
    pub fn enqueue(&self, url: &str, depth: u32, kind: PageKind) -> Result<bool, StoreError> {
        let r = (&self.urls, &self.queue)
            .transaction(|(urls, queue)| Ok(push(urls, queue, url, depth, kind)?.is_some()));
        r.map_err(unwrap_tx)
    }

    /// How many URLs the frontier knows (queued, done or failed).
    pub fn frontier_len(&self) -> usize {
        self.urls.len()
    }

    /// The queued URLs, oldest first.
    pub fn queued(&self) -> Result<Vec<Queued>, StoreError> {
        let mut out = Vec::new();
        for item in self.queue.iter() {
            let (k, v) = item?;
            let seq = <[u8; 8]>::try_from(k.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt(QUEUE, &k, "key is not a u64"))?;
            let url = String::from_utf8(v.to_vec()).map_err(|e| corrupt(QUEUE, &k, e))?;
            let state = self
                .url_state(&url)?
                .ok_or_else(|| corrupt(QUEUE, &k, format!("{url} is queued but unknown")))?;
            out.push(Queued { seq, url, state });
        }
        Ok(out)
    }

    /// The frontier record of `url`.
    pub fn url_state(&self, url: &str) -> Result<Option<UrlState>, StoreError> {
        self.urls
            .get(url)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(URLS, url.as_bytes(), e)))
            .transpose()
    }

    /// Commits one page: its status, the links it found and its listing, at once.
    /// Returns the links that were new, with their queue entries.
    pub fn commit_page(&self, commit: &PageCommit) -> Result<Vec<Queued>, StoreError> {
        let stored = match &commit.listing {
            Some((l, body)) => {
                let packed = zstd::encode_all(body.as_slice(), ZSTD_LEVEL).map_err(|source| {
                    StoreError::Compress {
                        url: l.evidence.final_url.clone(),
                        source,
                    }
                })?;
                Some((
                    listing_key(&l.listing),
                    to_json(l),
                    l.evidence.sha256.clone(),
                    packed,
                ))
            }
            None => None,
        };
        let trees = (
            &self.urls,
            &self.queue,
            &self.listings,
            &self.bodies,
            &self.findings,
        );
        let r = trees.transaction(|(urls, queue, listings, bodies, findings)| {
            let mut state = commit.page.state;
            state.status = commit.status;
            urls.insert(commit.page.url.as_bytes(), to_json(&state))?;
            queue.remove(&commit.page.seq.to_be_bytes())?;
            let mut added = Vec::new();
            for (url, depth, kind) in &commit.links {
                if let Some(q) = push(urls, queue, url, *depth, *kind)? {
                    added.push(q);
                }
            }
            if let Some((key, value, sha, packed)) = &stored {
                listings.insert(key.as_slice(), value.as_slice())?;
                bodies.insert(sha.as_bytes(), packed.as_slice())?;
                // A refetched listing is matched again.
                findings.remove(key.as_slice())?;
            }
            Ok(added)
        });
        r.map_err(unwrap_tx)
    }

    /// Flushes to disk; after it returns, committed pages survive a crash.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Every stored listing, in key order.
    pub fn listings(
        &self,
    ) -> impl Iterator<Item = Result<(Vec<u8>, StoredListing), StoreError>> + '_ {
        self.listings.iter().map(|item| {
            let (k, v) = item?;
            let l = serde_json::from_slice(&v).map_err(|e| corrupt(LISTINGS, &k, e))?;
            Ok((k.to_vec(), l))
        })
    }

    /// The stored listing with this key.
    pub fn listing(&self, key: &[u8]) -> Result<Option<StoredListing>, StoreError> {
        self.listings
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(LISTINGS, key, e)))
            .transpose()
    }

    /// How many listings are stored.
    pub fn listing_count(&self) -> usize {
        self.listings.len()
    }

    /// The raw body with this SHA-256, decompressed.
    pub fn body(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bodies
            .get(sha256)?
            .map(|v| {
                zstd::decode_all(v.as_ref()).map_err(|e| corrupt(BODIES, sha256.as_bytes(), e))
            })
            .transpose()
    }

    /// The findings of a listing.
    pub fn findings(&self, key: &[u8]) -> Result<Option<StoredFindings>, StoreError> {
        self.findings
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(FINDINGS, key, e)))
            .transpose()
    }

    /// Matches every stored listing without findings for `registry_version` and
    /// stores its findings; returns how many were matched. Scoring runs in parallel.
    /// `photos`, when given, adds the `image_match` evidence of listing photos.
    pub fn match_pending(
        &self,
        scorer: &crate::scoring::Scorer,
        photos: Option<&crate::crawl::PhotoMatcher>,
        registry_version: u64,
    ) -> Result<usize, StoreError> {
        use rayon::prelude::*;
        let mut pending = Vec::new();
        for item in self.listings() {
            let (key, stored) = item?;
            let current = self
                .findings(&key)?
                .is_some_and(|f| f.registry_version == registry_version);
            if !current {
                pending.push((key, stored.listing));
            }
        }
        let matched_at = Utc::now();
        let scored: Vec<(Vec<u8>, Vec<Finding>)> = pending
            .into_par_iter()
            .map(|(key, listing)| {
                let extra = photos.map_or_else(Vec::new, |p| p.signals(scorer, &listing));
                (key, scorer.score_with(&listing, &extra))
            })
            .collect();
        let mut batch = sled::Batch::default();
        for (key, findings) in &scored {
            let record = StoredFindings {
                registry_version,
                matched_at,
                findings: findings.clone(),
            };
            batch.insert(key.as_slice(), to_json(&record));
        }
        self.findings.apply_batch(batch)?;
        self.db.flush()?;
        Ok(scored.len())
    }

    /// Every stored listing with its findings (empty when not matched yet), and how
    /// many were matched against another registry version than `registry_version`
    /// or not at all.
    pub fn scored(&self, registry_version: u64) -> Result<(Vec<Scored>, usize), StoreError> {
        let mut out = Vec::new();
        let mut stale = 0;
        for item in self.listings() {
            let (key, stored) = item?;
            let findings = match self.findings(&key)? {
                Some(f) => {
                    if f.registry_version != registry_version {
                        stale += 1;
                    }
                    f.findings
                }
                None => {
                    stale += 1;
                    Vec::new()
                }
            };
            out.push((stored.listing, findings));
        }
        Ok((out, stale))
    }

    /// Stores the findings of a listing.
    pub fn put_findings(&self, key: &[u8], f: &StoredFindings) -> Result<(), StoreError> {
        self.findings.insert(key, to_json(f))?;
        Ok(())
    }
}

/// Queues a URL inside a transaction unless known.
fn push(
    urls: &TransactionalTree,
    queue: &TransactionalTree,
    url: &str,
    depth: u32,
    kind: PageKind,
) -> Result<Option<Queued>, ConflictableTransactionError<StoreError>> {
    if urls.get(url.as_bytes())?.is_some() {
        return Ok(None);
    }
    let state = UrlState {
        depth,
        kind,
        status: UrlStatus::Queued,
    };
    let seq = queue.generate_id()?;
    urls.insert(url.as_bytes(), to_json(&state))?;
    queue.insert(&seq.to_be_bytes(), url.as_bytes())?;
    Ok(Some(Queued {
        seq,
        url: url.to_owned(),
        state,
    }))
}

fn unwrap_tx(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Db(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(id: &str) -> StoredListing {
        StoredListing {
            listing: Listing {
                id: id.into(),
                title: "t".into(),
                marketplace: Some("m".into()),
                ..Listing::default()
            },
            evidence: Evidence {
                final_url: format!("http://m.example/{id}"),
                status: 200,
                fetched_at: Utc::now(),
                sha256: format!("sha-{id}"),
                truncated: false,
                sources: Vec::new(),
            },
        }
    }

    #[test]
    fn a_page_commit_moves_the_frontier_and_stores_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let s = Store::open(&db).unwrap();
        assert!(s.enqueue("http://m.example/", 0, PageKind::Index).unwrap());
        assert!(!s.enqueue("http://m.example/", 0, PageKind::Index).unwrap());
        let q = s.queued().unwrap();
        assert_eq!(q.len(), 1);
        let added = s
            .commit_page(&PageCommit {
                page: q[0].clone(),
                status: UrlStatus::Done,
                listing: Some((listing("a"), b"<html>body</html>".to_vec())),
                links: vec![
                    ("http://m.example/".into(), 1, PageKind::Index),
                    ("http://m.example/b".into(), 1, PageKind::Listing),
                ],
            })
            .unwrap();
        assert_eq!(added.len(), 1);
        let q = s.queued().unwrap();
        assert_eq!(
            q.iter().map(|q| q.url.as_str()).collect::<Vec<_>>(),
            ["http://m.example/b"]
        );
        assert_eq!(
            s.url_state("http://m.example/").unwrap().unwrap().status,
            UrlStatus::Done
        );
        let stored: Vec<_> = s.listings().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            stored,
            [(b"m\0a".to_vec(), listing_with_time(&stored[0].1))]
        );
        assert_eq!(s.body("sha-a").unwrap().unwrap(), b"<html>body</html>");
    }

    fn listing_with_time(l: &StoredListing) -> StoredListing {
        let mut x = listing("a");
        x.evidence.fetched_at = l.evidence.fetched_at;
        x
    }

    #[test]
    fn damaged_records_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let s = Store::open(&db).unwrap();
        db.open_tree(LISTINGS).unwrap().insert("m\0x", "{").unwrap();
        let e = s.listings().next().unwrap().unwrap_err().to_string();
        assert!(e.contains("store.listings") && e.contains("m\\0x"), "{e}");
    }
}
