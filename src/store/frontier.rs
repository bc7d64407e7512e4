//! The crawl frontier: every URL of the current crawl with its state, the queue of
//! URLs to fetch, and the crawl's targets and limits.
//!
//! A fetched page is committed in one transaction: the page marked done, the links
//! it found queued, and its listing stored with its findings and evidence (the raw
//! body compressed with zstd, keyed by its SHA-256). A crawl killed at any moment
//! therefore resumes from a consistent state: a page is either done with everything
//! it yielded, listing and findings included, or still queued.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use super::findings::{Matched, Scored};
use super::{to_json, Frontier, Store, StoreError, Writes};
use crate::db::trees::{CRAWL_META, CRAWL_QUEUE, CRAWL_URLS};
use crate::listing::Listing;
use crate::review::FindingRecord;

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
#[derive(Debug)]
pub struct PageCommit {
    /// The page's queue entry.
    pub page: Queued,
    /// Done or failed.
    pub status: UrlStatus,
    /// The listing found, matched, with its evidence and raw body.
    pub listing: Option<Scored>,
    /// Links found: canonical URL, depth, kind. Already-known URLs are skipped.
    pub links: Vec<(String, u32, PageKind)>,
}

fn corrupt(tree: &'static str, key: &[u8], reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        tree,
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.to_string(),
    }
}

impl Store {
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
                .map_err(|e| corrupt(CRAWL_META, b"targets", e)),
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
                .map_err(|_| corrupt(CRAWL_QUEUE, &k, "key is not a u64"))?;
            let url = String::from_utf8(v.to_vec()).map_err(|e| corrupt(CRAWL_QUEUE, &k, e))?;
            let state = self
                .url_state(&url)?
                .ok_or_else(|| corrupt(CRAWL_QUEUE, &k, format!("{url} is queued but unknown")))?;
            out.push(Queued { seq, url, state });
        }
        Ok(out)
    }

    /// The frontier record of `url`.
    pub fn url_state(&self, url: &str) -> Result<Option<UrlState>, StoreError> {
        self.urls
            .get(url)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(CRAWL_URLS, url.as_bytes(), e)))
            .transpose()
    }

    /// Commits one page: its status, the links it found and its listing with its
    /// findings, at once. Returns the links that were new, with their queue
    /// entries, and the listing's findings. `rematch` as for [`Store::store`].
    pub fn commit_page(
        &self,
        commit: PageCommit,
        rematch: &dyn Fn(&Listing) -> Matched,
        actor: &str,
    ) -> Result<(Vec<Queued>, Vec<FindingRecord>), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut writes = Writes::default();
        let findings = match commit.listing {
            Some(scored) => self.plan_store(vec![scored], rematch, actor, &mut writes)?,
            None => Vec::new(),
        };
        let mut state = commit.page.state;
        state.status = commit.status;
        let state = to_json(&state);
        let added = self.apply_with(&writes, |Frontier { urls, queue }| {
            urls.insert(commit.page.url.as_bytes(), state.as_slice())?;
            queue.remove(&commit.page.seq.to_be_bytes())?;
            let mut added = Vec::new();
            for (url, depth, kind) in &commit.links {
                if let Some(q) = push(urls, queue, url, *depth, *kind)? {
                    added.push(q);
                }
            }
            Ok(added)
        })?;
        Ok((added, findings))
    }

    /// The raw body with this SHA-256, decompressed.
    pub fn body(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bodies
            .get(sha256)?
            .map(|v| super::evidence::unpack(sha256, &v))
            .transpose()
    }
}

/// Queues a URL inside a transaction unless known.
fn push(
    urls: &TransactionalTree,
    queue: &TransactionalTree,
    url: &str,
    depth: u32,
    kind: PageKind,
) -> Result<Option<Queued>, ConflictableTransactionError<()>> {
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

fn unwrap_tx(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Abort(()) => unreachable!("frontier transactions never abort"),
        TransactionError::Storage(e) => StoreError::Db(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Evidence;
    use crate::registry::Mark;
    use crate::scoring::{Rates, Scorer};
    use crate::store::findings::Incoming;

    fn crawled(id: &str, title: &str) -> Incoming {
        Incoming {
            listing: Listing {
                id: id.into(),
                title: title.into(),
                marketplace: Some("m".into()),
                ..Listing::default()
            },
            evidence: Some(Evidence {
                final_url: format!("http://m.example/{id}"),
                status: 200,
                fetched_at: "2026-12-01T00:00:00Z".into(),
                sha256: format!("sha-{id}"),
                truncated: false,
                sources: Vec::new(),
                rendered: false,
            }),
            body: Some(b"<html>body</html>".to_vec()),
        }
    }

    #[test]
    fn a_page_commit_moves_the_frontier_and_stores_the_listing_with_its_findings() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let s = Store::open(&db).unwrap();
        let scorer = Scorer::new(
            vec![Mark {
                id: "zentrix".into(),
                name: "Zentrix".into(),
                ..Mark::default()
            }],
            Rates::default(),
        );
        let matcher = |l: &Listing| Matched {
            findings: scorer.score(l),
            ..Matched::default()
        };
        assert!(s.enqueue("http://m.example/", 0, PageKind::Index).unwrap());
        assert!(!s.enqueue("http://m.example/", 0, PageKind::Index).unwrap());
        let q = s.queued().unwrap();
        assert_eq!(q.len(), 1);
        let scored = s
            .score(vec![crawled("a", "Zentrix shoes")], 1, matcher)
            .unwrap()
            .pop();
        let (added, findings) = s
            .commit_page(
                PageCommit {
                    page: q[0].clone(),
                    status: UrlStatus::Done,
                    listing: scored,
                    links: vec![
                        ("http://m.example/".into(), 1, PageKind::Index),
                        ("http://m.example/b".into(), 1, PageKind::Listing),
                    ],
                },
                &matcher,
                "crawl",
            )
            .unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(findings.len(), 1);
        let q = s.queued().unwrap();
        assert_eq!(
            q.iter().map(|q| q.url.as_str()).collect::<Vec<_>>(),
            ["http://m.example/b"]
        );
        assert_eq!(
            s.url_state("http://m.example/").unwrap().unwrap().status,
            UrlStatus::Done
        );
        let stored = s.listing("a").unwrap().unwrap();
        assert_eq!(stored.finding_ids, [findings[0].id.clone()]);
        assert_eq!(stored.registry_version, Some(1));
        assert_eq!(stored.evidence.unwrap().sha256, "sha-a");
        assert_eq!(s.body("sha-a").unwrap().unwrap(), b"<html>body</html>");
        assert_eq!(
            s.existing_finding(&findings[0].id).unwrap().state,
            crate::review::State::New
        );
    }

    #[test]
    fn damaged_records_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let s = Store::open(&db).unwrap();
        db.open_tree(CRAWL_QUEUE)
            .unwrap()
            .insert("x", "http://m.example/")
            .unwrap();
        let e = s.queued().unwrap_err().to_string();
        assert!(e.contains("crawl/queue") && e.contains("u64"), "{e}");
    }
}
