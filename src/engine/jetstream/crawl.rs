//! `crawl --nats`: the listings a crawl stores are also published on the listings
//! subject, so crawler processes feed the same workers as `serve --nats`. The
//! crawl's own database keeps the pages and listings (its evidence); the findings
//! are made by the workers and stored by `serve --nats`, so the crawler matches
//! nothing itself.
//!
//! The crawl hands listings over from its matching threads; one thread with its
//! own runtime publishes them in batches and waits for JetStream to store each.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{JetStreamEngine, NatsError};
use crate::crawl::CrawlMatcher;
use crate::listing::Listing;
use crate::photos::PhotoLoader;
use crate::store::Matched;

/// Listings published per JetStream round.
const BATCH: usize = 256;

/// The crawl's matcher with `crawl --nats`: forwards each listing to the
/// publishing thread and answers no findings.
#[derive(Debug)]
pub struct Forwarder {
    tx: mpsc::Sender<Listing>,
    registry_version: u64,
}

impl CrawlMatcher for Forwarder {
    fn registry_version(&self) -> u64 {
        self.registry_version
    }

    fn matched(&self, listing: &Listing, _photos: Option<&dyn PhotoLoader>) -> Matched {
        if self.tx.send(listing.clone()).is_err() {
            tracing::error!(
                "listing {}: not published, the publisher stopped",
                crate::scoring::sanitize(&listing.id)
            );
        }
        Matched::default()
    }
}

/// The publishing thread: join it after the crawl (and its [`Forwarder`]) ended, for
/// the number of listings published.
pub type Publisher = JoinHandle<Result<usize, NatsError>>;

/// Connects to `url` and starts the publishing thread; the forwarder records
/// `registry_version` with the listings the crawl stores.
pub fn publisher(url: &str, registry_version: u64) -> Result<(Forwarder, Publisher), NatsError> {
    let (tx, rx) = mpsc::channel::<Listing>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), NatsError>>();
    let url = url.to_owned();
    let thread = std::thread::spawn(move || -> Result<usize, NatsError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(super::js_err("cannot start the publishing runtime"))?;
        let engine = match runtime.block_on(JetStreamEngine::connect(&url, "markhound crawl")) {
            Ok(e) => {
                let _ = ready_tx.send(Ok(()));
                e
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return Ok(0);
            }
        };
        let mut published = 0;
        // Block for the first listing, then take what is already waiting.
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(l) => batch.push(l),
                    Err(_) => break,
                }
            }
            published += runtime.block_on(engine.publish(&batch))?;
        }
        Ok(published)
    });
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((
            Forwarder {
                tx,
                registry_version,
            },
            thread,
        )),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(match thread.join() {
            Ok(Err(e)) => e,
            _ => NatsError::Message {
                subject: super::LISTINGS_SUBJECT.into(),
                reason: "the publishing thread failed to start".into(),
            },
        }),
    }
}
