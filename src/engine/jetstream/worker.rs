//! `markhound worker`: a stateless matcher. It pulls listings from the shared
//! durable consumer of the listings stream, fetches and hashes their photos under
//! the pipeline's fetch limits and address guard, matches them with the
//! [`Pipeline`] of the current registry snapshot and publishes one result per
//! listing. A listing is acknowledged only after JetStream has stored its result;
//! one that fails is handed back (negative ack) until its last delivery, when it goes
//! to the dead-letter subject instead.
//!
//! The registry snapshot is followed while the worker runs: a new one is loaded
//! beside the old, then swapped in; listings in flight finish on the one they
//! started with, and every result names its version.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::message::{ListingResult, DELIVERIES_HEADER, ERROR_HEADER};
use super::snapshot::{self, SnapshotPointer};
use super::{
    ack_err, ensure_streams, js_err, NatsError, CURRENT_KEY, DEAD_SUBJECT, LISTINGS_STREAM,
    RESULTS_SUBJECT, WORKERS_CONSUMER,
};
use crate::listing::Listing;
use crate::pipeline::{Config, Pipeline};
use crate::review::listing_sha256;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Its name in results and logs.
    pub name: String,
    /// Messages of listings matched at once (each on a blocking thread): the cores
    /// it uses.
    pub concurrency: usize,
    /// Messages of listings pulled and not yet acknowledged at most: matching,
    /// or waiting for JetStream to store their results.
    pub in_flight: usize,
    /// How long a delivered listing may go unacknowledged before JetStream hands
    /// it to another worker.
    pub ack_wait: Duration,
    /// Deliveries of one listing; the last one that fails dead-letters it.
    pub max_deliver: i64,
    /// How long a failed listing waits before its next delivery.
    pub retry_delay: Duration,
    /// The pipeline's configuration (rates, photo fetching and its limits).
    pub pipeline: Config,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            name: "worker".into(),
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            in_flight: 64,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            retry_delay: Duration::from_secs(1),
            pipeline: Config::default(),
        }
    }
}

/// What a worker has done, for its log lines and its caller.
#[derive(Debug, Default)]
pub struct Counters {
    /// Listings whose result JetStream stored.
    pub processed: AtomicU64,
    /// Listings delivered more than once (a worker died, or matching failed).
    pub redelivered: AtomicU64,
    /// Listings handed back after a failure.
    pub failed: AtomicU64,
    /// Listings sent to the dead-letter subject.
    pub dead_lettered: AtomicU64,
    /// Listings waiting in the stream at the last delivery (the lag).
    pub lag: AtomicU64,
}

impl Counters {
    /// One line for the log.
    pub fn summary(&self) -> String {
        format!(
            "processed {}, redelivered {}, failed {}, dead-lettered {}, lag {}",
            self.processed.load(Ordering::Relaxed),
            self.redelivered.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.dead_lettered.load(Ordering::Relaxed),
            self.lag.load(Ordering::Relaxed),
        )
    }
}

/// The pipeline of the newest registry snapshot loaded.
struct Current {
    pipeline: RwLock<Arc<Pipeline>>,
}

impl Current {
    fn get(&self) -> Arc<Pipeline> {
        Arc::clone(&self.pipeline.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn set(&self, pipeline: Pipeline) {
        *self.pipeline.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(pipeline);
    }
}

/// Loads the snapshot `pointer` names and builds its pipeline.
async fn build(
    js: &jetstream::Context,
    pointer: &SnapshotPointer,
    config: &Config,
) -> Result<Pipeline, NatsError> {
    let (marks, read) = snapshot::load(js, pointer).await?;
    let started = std::time::Instant::now();
    let config = config.clone();
    let version = pointer.version;
    let pipeline = tokio::task::spawn_blocking(move || Pipeline::new(marks, version, &config))
        .await
        .map_err(js_err("building the matcher"))?
        .map_err(js_err("building the matcher"))?;
    tracing::info!(
        "registry version {version} loaded: {} marks, {} bytes, read in {} ms, matcher built in {} ms",
        pointer.marks,
        pointer.bytes,
        read.as_millis(),
        started.elapsed().as_millis()
    );
    Ok(pipeline)
}

/// Follows [`CURRENT_KEY`] and swaps in each newer snapshot.
async fn follow_registry(
    js: jetstream::Context,
    current: Arc<Current>,
    config: Config,
) -> Result<(), NatsError> {
    let kv = snapshot::bucket(&js).await?;
    let mut watch = kv
        .watch_with_history(CURRENT_KEY)
        .await
        .map_err(js_err(format!("cannot watch the key {CURRENT_KEY}")))?;
    while let Some(entry) = watch.next().await {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("watching the registry key: {e}");
                continue;
            }
        };
        if entry.value.is_empty() {
            continue;
        }
        let pointer = match snapshot::parse_pointer(&entry.value) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("{e}");
                continue;
            }
        };
        if pointer.version <= current.get().registry_version() {
            continue;
        }
        match build(&js, &pointer, &config).await {
            Ok(p) => current.set(p),
            Err(e) => tracing::error!(
                "registry version {} not loaded, staying on {}: {}",
                pointer.version,
                current.get().registry_version(),
                crate::error_chain(&e)
            ),
        }
    }
    Ok(())
}

/// The durable consumer every worker shares, created when missing.
pub async fn consumer(
    js: &jetstream::Context,
    config: &WorkerConfig,
) -> Result<jetstream::consumer::Consumer<pull::Config>, NatsError> {
    let stream = js
        .get_stream(LISTINGS_STREAM)
        .await
        .map_err(js_err(format!("cannot open the stream {LISTINGS_STREAM}")))?;
    stream
        .get_or_create_consumer(
            WORKERS_CONSUMER,
            pull::Config {
                durable_name: Some(WORKERS_CONSUMER.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: config.ack_wait,
                max_deliver: config.max_deliver,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err(format!(
            "cannot open the consumer {WORKERS_CONSUMER} of {LISTINGS_STREAM}"
        )))
}

/// Matches one listing (the JSON of one item of a message); an error is the
/// reason it failed.
fn process(
    pipeline: &Pipeline,
    item: &[u8],
    intake_sequence: u64,
    deliveries: i64,
    worker: &str,
) -> Result<ListingResult, String> {
    // Read plainly first: tracking the path of every field is paid on every
    // listing, and only a listing that fails needs it, to name the bad field.
    let mut listing: Listing = match serde_json::from_slice(item) {
        Ok(listing) => listing,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(item);
            let e = serde_path_to_error::deserialize::<_, Listing>(&mut de)
                .err()
                .map_or_else(|| "not a listing".to_owned(), |e| e.to_string());
            return Err(format!("not a listing: {e}"));
        }
    };
    listing.check()?;
    listing.strip_bidi_controls();
    let sha256 = listing_sha256(&listing);
    let matched = pipeline.matched(&listing, true);
    Ok(ListingResult::new(
        listing,
        sha256,
        pipeline.registry_version(),
        matched,
        intake_sequence,
        deliveries,
        worker,
    ))
}

/// What matching one message gave: the results of the listings that matched, and
/// each one that failed with its JSON and why.
struct Outcome {
    results: Vec<ListingResult>,
    failed: Vec<(Vec<u8>, String)>,
}

/// Matches every listing of a message (see [`message::split_listings`]).
fn process_message(
    pipeline: &Pipeline,
    payload: &[u8],
    intake_sequence: u64,
    deliveries: i64,
    worker: &str,
) -> Outcome {
    let items = match super::message::split_listings(payload) {
        Ok(items) => items,
        Err(reason) => {
            return Outcome {
                results: Vec::new(),
                failed: vec![(payload.to_vec(), reason)],
            }
        }
    };
    let single = items.len() == 1;
    let mut out = Outcome {
        results: Vec::with_capacity(items.len()),
        failed: Vec::new(),
    };
    for item in items {
        let bytes = item.get().as_bytes();
        match process(pipeline, bytes, intake_sequence, deliveries, worker) {
            Ok(r) => out.results.push(r),
            // A message of one listing is dead-lettered as it came.
            Err(reason) if single => out.failed.push((payload.to_vec(), reason)),
            Err(reason) => out.failed.push((bytes.to_vec(), reason)),
        }
    }
    out
}

/// What one message handler shares.
struct Shared {
    js: jetstream::Context,
    /// One permit per message being matched.
    cores: Semaphore,
    current: Arc<Current>,
    counters: Arc<Counters>,
    config: WorkerConfig,
}

/// Handles one delivered message of listings: match them, publish their results,
/// then ack. When a listing fails, the message is handed back whole (its other
/// listings' results are deduplicated when they come again); on its last delivery
/// the results of the listings that matched are published and each listing that
/// failed is dead-lettered on its own.
async fn handle(shared: Arc<Shared>, message: jetstream::Message) -> Result<(), NatsError> {
    let (sequence, delivered, pending) = {
        let info = message.info().map_err(|e| NatsError::Message {
            subject: message.subject.to_string(),
            reason: format!("no delivery information: {e}"),
        })?;
        (info.stream_sequence, info.delivered, info.pending)
    };
    let counters = &shared.counters;
    counters.lag.store(pending, Ordering::Relaxed);
    if delivered > 1 {
        counters.redelivered.fetch_add(1, Ordering::Relaxed);
    }
    let pipeline = shared.current.get();
    let payload = message.payload.clone();
    let name = shared.config.name.clone();
    let core = shared.cores.acquire().await;
    let mut matching = tokio::task::spawn_blocking(move || {
        process_message(&pipeline, &payload, sequence, delivered, &name)
    });
    // A message of a hundred listings with slow photo hosts may take longer than
    // the ack wait: tell JetStream it is in progress, so that it is not handed to
    // another worker while this one still works on it.
    let mut progress = tokio::time::interval(shared.config.ack_wait / 3);
    progress.tick().await;
    let joined = loop {
        tokio::select! {
            joined = &mut matching => break joined,
            _ = progress.tick() => {
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    tracing::warn!("{LISTINGS_STREAM}#{sequence}: cannot report progress: {e}");
                }
            }
        }
    };
    let outcome = joined.unwrap_or_else(|e| Outcome {
        results: Vec::new(),
        failed: vec![(message.payload.to_vec(), format!("matching failed: {e}"))],
    });
    drop(core);
    let last = delivered >= shared.config.max_deliver;
    let mut failed = outcome.failed;
    if failed.is_empty() || last {
        if let Err(e) = publish_results(&shared.js, &outcome.results).await {
            // Nothing is acknowledged: the whole message comes again.
            failed = vec![(message.payload.to_vec(), crate::error_chain(&e))];
        } else if failed.is_empty() {
            message.double_ack().await.map_err(ack_err(format!(
                "cannot acknowledge {LISTINGS_STREAM}#{sequence}"
            )))?;
            counters
                .processed
                .fetch_add(outcome.results.len() as u64, Ordering::Relaxed);
            return Ok(());
        } else {
            counters
                .processed
                .fetch_add(outcome.results.len() as u64, Ordering::Relaxed);
        }
    }
    if last {
        for (i, (item, reason)) in failed.iter().enumerate() {
            let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
            dead_letter(&shared.js, item, sequence, i, delivered, &reason).await?;
            counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "{LISTINGS_STREAM}#{sequence}: dead-lettered after {delivered} deliveries: {reason}"
            );
        }
        message
            .double_ack_with(AckKind::Term)
            .await
            .map_err(ack_err(format!(
                "cannot terminate {LISTINGS_STREAM}#{sequence}"
            )))?;
    } else {
        counters.failed.fetch_add(1, Ordering::Relaxed);
        let reason: String = failed[0].1.chars().filter(|c| !c.is_control()).collect();
        tracing::warn!(
            "{LISTINGS_STREAM}#{sequence}: delivery {delivered} failed ({} of its listings): {reason}",
            failed.len()
        );
        message
            .ack_with(AckKind::Nak(Some(shared.config.retry_delay)))
            .await
            .map_err(ack_err(format!(
                "cannot hand back {LISTINGS_STREAM}#{sequence}"
            )))?;
    }
    Ok(())
}

/// Publishes results and waits until JetStream stored them (or recognised them as
/// duplicates of messages stored).
async fn publish_results(
    js: &jetstream::Context,
    results: &[ListingResult],
) -> Result<(), NatsError> {
    let mut acks = Vec::new();
    for publish in super::message::result_messages(results)? {
        acks.push(
            js.send_publish(RESULTS_SUBJECT, publish)
                .await
                .map_err(js_err(format!("cannot publish to {RESULTS_SUBJECT}")))?,
        );
    }
    for ack in acks {
        ack.await
            .map_err(js_err(format!("{RESULTS_SUBJECT}: no acknowledgement")))?;
    }
    Ok(())
}

/// Publishes a listing that never gave a result (item `index` of message
/// `sequence`) on the dead-letter subject.
async fn dead_letter(
    js: &jetstream::Context,
    item: &[u8],
    sequence: u64,
    index: usize,
    delivered: i64,
    reason: &str,
) -> Result<(), NatsError> {
    let mut headers = async_nats::HeaderMap::new();
    let reason: String = reason.chars().take(1000).collect();
    headers.insert(ERROR_HEADER, reason.as_str());
    headers.insert(DELIVERIES_HEADER, delivered.to_string().as_str());
    let publish = PublishMessage::build()
        .payload(item.to_vec().into())
        .headers(headers)
        .message_id(format!("dead.{LISTINGS_STREAM}.{sequence}.{index}"));
    js.send_publish(DEAD_SUBJECT, publish)
        .await
        .map_err(js_err(format!("cannot publish to {DEAD_SUBJECT}")))?
        .await
        .map_err(js_err(format!("{DEAD_SUBJECT}: no acknowledgement")))?;
    Ok(())
}

/// Runs a worker against the NATS server at `url` until `shutdown` resolves; then
/// pulls no more, finishes and acknowledges the listings in flight, and answers
/// its counters.
pub async fn run(
    url: &str,
    config: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Arc<Counters>, NatsError> {
    let js = super::connect(url, &format!("markhound {}", config.name)).await?;
    ensure_streams(&js).await?;
    let pointer = snapshot::current(&js).await?.ok_or(NatsError::NoSnapshot)?;
    let current = Arc::new(Current {
        pipeline: RwLock::new(Arc::new(build(&js, &pointer, &config.pipeline).await?)),
    });
    let follower = tokio::spawn(follow_registry(
        js.clone(),
        Arc::clone(&current),
        config.pipeline.clone(),
    ));
    let consumer = consumer(&js, &config).await?;
    let concurrency = config.concurrency.max(1);
    let in_flight = config.in_flight.max(concurrency);
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(in_flight)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(js_err(format!("cannot pull from {WORKERS_CONSUMER}")))?;
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        js,
        cores: Semaphore::new(concurrency),
        current,
        counters: Arc::clone(&counters),
        config,
    });
    // Bounded in flight: the next listing is pulled only when a slot is free.
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut tasks = JoinSet::new();
    let mut report = tokio::time::interval(Duration::from_secs(10));
    report.tick().await;
    tracing::info!(
        "worker {} ready on registry version {}",
        shared.config.name,
        shared.current.get().registry_version()
    );
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let next = tokio::select! {
            () = &mut shutdown => break,
            _ = report.tick() => {
                tracing::info!("{}", counters.summary());
                continue;
            }
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::warn!("pulling from {WORKERS_CONSUMER}: {e}");
                continue;
            }
            None => break,
        };
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            if let Err(e) = handle(shared, message).await {
                tracing::error!("{}", crate::error_chain(&e));
            }
            drop(slot);
        });
        while tasks.try_join_next().is_some() {}
    }
    // Stop pulling; what was pulled and not started is redelivered after the ack
    // wait. Listings in flight finish and are acknowledged.
    drop(messages);
    while tasks.join_next().await.is_some() {}
    follower.abort();
    tracing::info!(
        "worker {} stopped: {}",
        shared.config.name,
        counters.summary()
    );
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Mark;

    fn pipeline() -> Pipeline {
        let marks = vec![Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            ..Mark::default()
        }];
        Pipeline::new(marks, 7, &Config::default()).unwrap()
    }

    #[test]
    fn a_listing_is_matched_and_a_bad_one_names_its_field() {
        let pipeline = pipeline();
        let ok = process(
            &pipeline,
            br#"{"id":"a","title":"Zentrix watch"}"#,
            3,
            1,
            "w",
        )
        .expect("a listing");
        assert_eq!(ok.registry_version, 7);
        assert_eq!(ok.findings[0].mark_id, "zentrix");
        let bad = process(&pipeline, br#"{"id":"b","title":12}"#, 3, 1, "w").unwrap_err();
        assert!(bad.starts_with("not a listing: title:"), "{bad}");
        let broken = process(&pipeline, br#"{"id":"c","#, 3, 1, "w").unwrap_err();
        assert!(broken.starts_with("not a listing: "), "{broken}");
    }
}
