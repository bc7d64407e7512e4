//! Where listings handed in go to be matched. One small trait, [`Engine`], with two
//! implementations: [`InProcess`] (the default: the listings are matched by this
//! process's [`Pipeline`] and stored at once, as markhound always did) and
//! [`jetstream::JetStreamEngine`] (the listings are put on a NATS JetStream work
//! queue, matched by stateless `markhound worker` processes on any machine, and
//! their results written back into the store by one consumer inside `serve`).
//!
//! The pipeline itself knows nothing of either: its tests need no server.

pub mod jetstream;

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::listing::Listing;
use crate::pipeline::Current;
use crate::review::FindingRecord;
use crate::store::{Incoming, Store, StoreError};

/// What became of a batch handed to an [`Engine`].
#[derive(Debug)]
pub enum Submitted {
    /// Matched and stored already: every finding of the batch's listings.
    Stored(Vec<FindingRecord>),
    /// Held durably by the engine, to be matched by workers; how many listings.
    Queued(usize),
}

/// Why a batch could not be handed over.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Storing in process failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The message engine failed.
    #[error(transparent)]
    JetStream(#[from] jetstream::NatsError),
    /// The matching task failed (a bug).
    #[error("this is a bug in markhound: the matching task failed: {0}")]
    Task(String),
}

/// Takes batches of checked listings and sees them matched and stored.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// Hands `listings` over on behalf of `actor` (named in the audit log); resolves
    /// once they are stored, or held durably by the engine.
    fn submit(
        &self,
        listings: Vec<Listing>,
        actor: String,
    ) -> BoxFuture<'_, Result<Submitted, EngineError>>;
}

/// The default engine: matching and storing in this process, on the blocking pool.
#[derive(Debug)]
pub struct InProcess {
    pipeline: Current,
    store: Arc<Store>,
}

impl InProcess {
    /// Matches with the current `pipeline` into `store`.
    pub fn new(pipeline: Current, store: Arc<Store>) -> InProcess {
        InProcess { pipeline, store }
    }
}

impl Engine for InProcess {
    fn submit(
        &self,
        listings: Vec<Listing>,
        actor: String,
    ) -> BoxFuture<'_, Result<Submitted, EngineError>> {
        let pipeline = self.pipeline.get();
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            let stored = tokio::task::spawn_blocking(move || {
                let incoming = listings.into_iter().map(Incoming::handed_in).collect();
                pipeline.ingest(&store, incoming, &actor)
            })
            .await
            .map_err(|e| EngineError::Task(e.to_string()))??;
            Ok(Submitted::Stored(stored))
        })
    }
}
