//! The NATS JetStream engine: markhound past one machine. Listings go on a
//! work-queue stream; stateless [`worker`]s pull them (a durable pull consumer,
//! explicit ack, redelivery after the ack wait, a dead-letter subject after the last
//! delivery), match them with the registry [`snapshot`] they loaded and publish one
//! result per listing; one [`results`] consumer inside `serve` writes the results
//! into the review store, which stays the single writer.
//!
//! The subjects, streams and message formats are the contract of
//! docs/INTERFACES.md ("Several machines: NATS JetStream"); the names are declared
//! here, once.

pub mod crawl;
pub mod message;
pub mod results;
pub mod snapshot;
pub mod worker;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures::future::BoxFuture;

use super::{Engine, EngineError, Submitted};
use crate::listing::Listing;

/// Listings to match are published here (JSON, the `match` input schema).
pub const LISTINGS_SUBJECT: &str = "markhound.listings";
/// The work-queue stream holding [`LISTINGS_SUBJECT`].
pub const LISTINGS_STREAM: &str = "MARKHOUND_LISTINGS";
/// The durable pull consumer every worker shares.
pub const WORKERS_CONSUMER: &str = "markhound-workers";
/// One result per listing is published here (JSON [`message::ListingResult`]).
pub const RESULTS_SUBJECT: &str = "markhound.results";
/// The stream holding [`RESULTS_SUBJECT`], kept for [`RESULTS_MAX_AGE`].
pub const RESULTS_STREAM: &str = "MARKHOUND_RESULTS";
/// The durable consumer inside `serve` that stores results.
pub const STORE_CONSUMER: &str = "markhound-store";
/// A listing no worker could match after the last delivery is published here,
/// with the reason in the `Markhound-Error` header.
pub const DEAD_SUBJECT: &str = "markhound.dead";
/// The stream holding [`DEAD_SUBJECT`].
pub const DEAD_STREAM: &str = "MARKHOUND_DEAD";
/// The key-value bucket and the object store of registry snapshots.
pub const REGISTRY_BUCKET: &str = "markhound-registry";
/// The key naming the current snapshot (JSON [`snapshot::SnapshotPointer`]).
pub const CURRENT_KEY: &str = "current";
/// How long results stay in [`RESULTS_STREAM`] (for audits and late consumers).
pub const RESULTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// The window in which JetStream drops a message whose `Nats-Msg-Id` it has seen:
/// a redelivered listing's result, or a batch posted again, is stored once.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(3600);

/// A boxed error of the NATS client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The server's URL, credentials removed.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A JetStream request failed; `what` names the stream, subject or bucket.
    #[error("JetStream: {what}")]
    JetStream {
        /// What was asked, naming the stream, subject or bucket.
        what: String,
        /// Why it failed.
        #[source]
        source: BoxError,
    },
    /// A message could not be read; `subject` names where it came from.
    #[error("{subject}: {reason}")]
    Message {
        /// The subject (or bucket and key) of the message.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No registry snapshot has been published.
    #[error("no registry snapshot in the {REGISTRY_BUCKET} bucket: publish one with `markhound registry publish --nats URL`")]
    NoSnapshot,
}

/// Wraps a client error, naming what was asked.
pub(crate) fn js_err<E>(what: impl Into<String>) -> impl FnOnce(E) -> NatsError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let what = what.into();
    move |e| NatsError::JetStream {
        what,
        source: Box::new(e),
    }
}

/// Wraps an acknowledgement error (the client boxes those), naming what was asked.
pub(crate) fn ack_err(what: impl Into<String>) -> impl FnOnce(BoxError) -> NatsError {
    let what = what.into();
    move |source| NatsError::JetStream { what, source }
}

/// `url` without user name and password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        (None, Some(at)) => format!("***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Connects to the NATS server at `url` as `name` and opens JetStream.
pub async fn connect(url: &str, name: &str) -> Result<jetstream::Context, NatsError> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .map_err(|e| NatsError::Connect {
            url: redact(url),
            source: Box::new(e),
        })?;
    Ok(jetstream::new(client))
}

/// Creates the three streams when they do not exist yet (every process calls this
/// at start, so none depends on another to have run first).
pub async fn ensure_streams(js: &jetstream::Context) -> Result<(), NatsError> {
    let configs = [
        stream::Config {
            name: LISTINGS_STREAM.into(),
            subjects: vec![LISTINGS_SUBJECT.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
        stream::Config {
            name: RESULTS_STREAM.into(),
            subjects: vec![RESULTS_SUBJECT.into()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: RESULTS_MAX_AGE,
            ..Default::default()
        },
        stream::Config {
            name: DEAD_STREAM.into(),
            subjects: vec![DEAD_SUBJECT.into()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
    ];
    for config in configs {
        let name = config.name.clone();
        js.get_or_create_stream(config)
            .await
            .map_err(js_err(format!("cannot create the stream {name}")))?;
    }
    Ok(())
}

/// The engine of `serve --nats` and `crawl --nats`: listings handed in are
/// published on [`LISTINGS_SUBJECT`] in messages of up to a hundred, each with a
/// message id made of its listings' ids and contents, so a batch sent twice within
/// [`DUPLICATE_WINDOW`] is queued once.
#[derive(Debug, Clone)]
pub struct JetStreamEngine {
    js: jetstream::Context,
}

impl JetStreamEngine {
    /// Connects to `url` and makes sure the streams exist.
    pub async fn connect(url: &str, name: &str) -> Result<JetStreamEngine, NatsError> {
        let js = connect(url, name).await?;
        ensure_streams(&js).await?;
        Ok(JetStreamEngine { js })
    }

    /// The JetStream context.
    pub fn context(&self) -> &jetstream::Context {
        &self.js
    }

    /// Publishes `listings` (in messages of up to
    /// [`message::MAX_LISTINGS_PER_MESSAGE`]) and waits until JetStream has stored
    /// every one.
    pub async fn publish(&self, listings: &[Listing]) -> Result<usize, NatsError> {
        let mut acks = Vec::new();
        for publish in message::listing_messages(listings)? {
            let ack = self
                .js
                .send_publish(LISTINGS_SUBJECT, publish)
                .await
                .map_err(js_err(format!("cannot publish to {LISTINGS_SUBJECT}")))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await
                .map_err(js_err(format!("{LISTINGS_SUBJECT}: no acknowledgement")))?;
        }
        Ok(listings.len())
    }
}

impl Engine for JetStreamEngine {
    fn submit(
        &self,
        listings: Vec<Listing>,
        _actor: String,
    ) -> BoxFuture<'_, Result<Submitted, EngineError>> {
        Box::pin(async move { Ok(Submitted::Queued(self.publish(&listings).await?)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(
            redact("nats://user:secret@10.0.0.1:4222"),
            "nats://***@10.0.0.1:4222"
        );
        assert_eq!(redact("tok@host:4222"), "***@host:4222");
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
