//! The one consumer of results, inside `serve --nats`: it reads the results the
//! workers published and writes them into the review store, which stays the single
//! writer. Writing is idempotent: a result for a listing already stored with the
//! same content and registry version changes nothing, and a result computed against
//! an older registry version than the stored one is skipped, never written over it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;

use super::message::ListingResult;
use super::{js_err, NatsError, RESULTS_STREAM, STORE_CONSUMER};
use crate::store::{Incoming, Matched, Store, StoreError};

/// The actor the audit log names for results written by this consumer.
pub const ACTOR: &str = "worker";

/// Results read at most per store transaction.
const BATCH: usize = 512;

/// What writing a batch of results did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Results written (new, changed, or matched against a newer registry).
    pub stored: usize,
    /// Results identical to what is stored (a duplicate): nothing changed.
    pub unchanged: usize,
    /// Results of an older registry version than the stored one: skipped.
    pub stale: usize,
}

/// Writes `results` into `store`; see the module documentation.
pub fn apply(store: &Store, results: Vec<ListingResult>) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    // One per listing: the newest registry version, else the latest read.
    let mut newest: HashMap<String, ListingResult> = HashMap::new();
    for r in results {
        match newest.get(&r.listing.id) {
            Some(old) if old.registry_version > r.registry_version => applied.stale += 1,
            Some(_) => {
                applied.unchanged += 1;
                newest.insert(r.listing.id.clone(), r);
            }
            None => {
                newest.insert(r.listing.id.clone(), r);
            }
        }
    }
    let mut by_version: HashMap<u64, Vec<ListingResult>> = HashMap::new();
    for r in newest.into_values() {
        let stored = store.listing(&r.listing.id)?;
        match stored {
            Some(s) if s.registry_version.is_some_and(|v| v > r.registry_version) => {
                applied.stale += 1;
            }
            Some(s) if s.is_current(&r.sha256, r.registry_version) => applied.unchanged += 1,
            _ => by_version.entry(r.registry_version).or_default().push(r),
        }
    }
    for (version, results) in by_version {
        let mut matched: HashMap<String, Matched> = HashMap::with_capacity(results.len());
        let mut incoming = Vec::with_capacity(results.len());
        for r in results {
            match r.matched() {
                Ok(m) => {
                    matched.insert(r.listing.id.clone(), m);
                    incoming.push(Incoming::handed_in(r.listing));
                }
                Err(e) => {
                    tracing::error!("{e}");
                }
            }
        }
        applied.stored += incoming.len();
        let scored = store.score(incoming, version, |l| {
            matched.get(&l.id).cloned().unwrap_or_default()
        })?;
        store.store(
            scored,
            |l| matched.get(&l.id).cloned().unwrap_or_default(),
            ACTOR,
        )?;
    }
    Ok(applied)
}

/// The durable consumer of results, created when missing.
async fn consumer(
    js: &jetstream::Context,
) -> Result<jetstream::consumer::Consumer<pull::Config>, NatsError> {
    let stream = js
        .get_stream(RESULTS_STREAM)
        .await
        .map_err(js_err(format!("cannot open the stream {RESULTS_STREAM}")))?;
    stream
        .get_or_create_consumer(
            STORE_CONSUMER,
            pull::Config {
                durable_name: Some(STORE_CONSUMER.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(js_err(format!(
            "cannot open the consumer {STORE_CONSUMER} of {RESULTS_STREAM}"
        )))
}

/// Writes results into `store` until `shutdown` resolves, a batch at a time: each
/// batch is written in one transaction and flushed to disk before its messages are
/// acknowledged.
pub async fn run(
    js: jetstream::Context,
    store: Arc<Store>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), NatsError> {
    let consumer = consumer(&js).await?;
    let mut totals = Applied::default();
    tokio::pin!(shutdown);
    loop {
        let batch = tokio::select! {
            () = &mut shutdown => break,
            batch = consumer
                .fetch()
                .max_messages(BATCH)
                .expires(Duration::from_secs(1))
                .messages() => batch,
        };
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("pulling from {STORE_CONSUMER}: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut messages = Vec::new();
        let mut results = Vec::new();
        while let Some(m) = batch.next().await {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("pulling from {STORE_CONSUMER}: {e}");
                    break;
                }
            };
            match ListingResult::parse_all(&m.payload) {
                Ok(r) => {
                    results.extend(r);
                    messages.push(m);
                }
                Err(e) => {
                    // Never valid, however often it is read.
                    tracing::error!("{e}; dropped");
                    if let Err(e) = m.ack_with(AckKind::Term).await {
                        tracing::warn!("{RESULTS_STREAM}: {e}");
                    }
                }
            }
        }
        if results.is_empty() {
            continue;
        }
        let writer = Arc::clone(&store);
        let written = tokio::task::spawn_blocking(move || {
            let applied = apply(&writer, results)?;
            writer.flush()?;
            Ok::<_, StoreError>(applied)
        })
        .await;
        match written {
            Ok(Ok(a)) => {
                totals.stored += a.stored;
                totals.unchanged += a.unchanged;
                totals.stale += a.stale;
                tracing::debug!("results: {a:?}, in all {totals:?}");
                for m in messages {
                    if let Err(e) = m.ack().await {
                        tracing::warn!("{RESULTS_STREAM}: cannot acknowledge: {e}");
                    }
                }
            }
            Ok(Err(e)) => {
                // Left unacknowledged: redelivered after the ack wait.
                tracing::error!("cannot store results: {}", crate::error_chain(&e));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => tracing::error!("this is a bug in markhound: storing results failed: {e}"),
        }
    }
    tracing::info!(
        "results consumer stopped: {} stored, {} unchanged, {} stale",
        totals.stored,
        totals.unchanged,
        totals.stale
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Listing;
    use crate::review::listing_sha256;
    use crate::scoring::Finding;

    fn result(version: u64, mark: &str) -> ListingResult {
        let listing = Listing {
            id: "L1".into(),
            title: "Zentrix shoes".into(),
            ..Listing::default()
        };
        let finding = Finding {
            mark_id: mark.into(),
            mark: mark.into(),
            score: 0.9,
            signals: Vec::new(),
            spans: Vec::new(),
            suppressed: None,
        };
        let matched = Matched {
            findings: vec![finding],
            ..Matched::default()
        };
        let sha = listing_sha256(&listing);
        ListingResult::new(listing, sha, version, matched, 1, 1, "w")
    }

    #[test]
    fn results_are_stored_once_and_an_older_registry_never_overwrites_a_newer_one() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = Store::open(&db).unwrap();
        let a = apply(&store, vec![result(2, "zentrix")]).unwrap();
        assert_eq!(a.stored, 1);
        // The same result again (a redelivery): nothing changes.
        let a = apply(&store, vec![result(2, "zentrix")]).unwrap();
        assert_eq!((a.stored, a.unchanged), (0, 1));
        // A worker still on version 1: skipped.
        let a = apply(&store, vec![result(1, "korvello")]).unwrap();
        assert_eq!((a.stored, a.stale), (0, 1));
        let stored = store.listing("L1").unwrap().unwrap();
        assert_eq!(stored.registry_version, Some(2));
        let marks: Vec<String> = stored
            .finding_ids
            .iter()
            .map(|id| store.finding(id).unwrap().unwrap().mark_id)
            .collect();
        assert_eq!(marks, ["zentrix"]);
        // Within one batch too, the newest version wins whatever the order.
        let a = apply(&store, vec![result(4, "zentrix"), result(3, "korvello")]).unwrap();
        assert_eq!((a.stored, a.stale), (1, 1));
        assert_eq!(
            store.listing("L1").unwrap().unwrap().registry_version,
            Some(4)
        );
    }
}
