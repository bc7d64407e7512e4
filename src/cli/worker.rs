//! `markhound worker --nats URL`: a stateless matcher on NATS JetStream. Needs no
//! database: the registry comes from the snapshot `registry publish` wrote, the
//! listings from the listings stream, and results go back on the results stream.
//! Runs until Ctrl-C or SIGTERM, then finishes and acknowledges what is in flight.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use markhound::crawl::FetchOptions;
use markhound::engine::jetstream::worker::{self, WorkerConfig};
use markhound::pipeline::{Config, PhotoSources};

use super::Outcome;

/// Arguments of `markhound worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The NATS server, e.g. nats://127.0.0.1:4222.
    #[arg(long, value_name = "URL")]
    nats: String,
    /// This worker's name in results and logs (default: worker-PID).
    #[arg(long)]
    name: Option<String>,
    /// Messages of listings (up to 100 listings each) matched at once, each on a
    /// thread of its own (default: the number of cores).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Messages of listings pulled and not yet acknowledged at most (matching, or
    /// waiting for JetStream to store their results).
    #[arg(long, value_name = "N", default_value_t = WorkerConfig::default().in_flight)]
    in_flight: usize,
    /// Seconds a listing may go unacknowledged before another worker gets it
    /// (applies when the shared consumer is first created).
    #[arg(long, value_name = "SECONDS", default_value_t = WorkerConfig::default().ack_wait.as_secs_f64())]
    ack_wait: f64,
    /// Deliveries of one listing before it goes to the dead-letter subject
    /// `markhound.dead` (applies when the shared consumer is first created).
    #[arg(long, value_name = "N", default_value_t = WorkerConfig::default().max_deliver)]
    max_deliver: i64,
    /// Exchange rates for price floors (TOML `[rates]`, US dollars per unit).
    #[arg(long, value_name = "FILE")]
    rates: Option<std::path::PathBuf>,
    /// Fetch photos from loopback, private and link-local addresses too (your own
    /// test servers; refused by default).
    #[arg(long)]
    allow_private: bool,
    /// Also search photos for the registered logos and for parts of the
    /// registered product photos (local features). Off by default: its recall is
    /// low so far and it costs about 0.3 s a photo (EVALUATION.md).
    #[arg(long)]
    logos: bool,
    #[command(flatten)]
    photo_text: super::PhotoTextArgs,
}

impl WorkerArgs {
    fn config(&self) -> anyhow::Result<WorkerConfig> {
        let defaults = WorkerConfig::default();
        if !(self.ack_wait.is_finite() && self.ack_wait >= 1.0) {
            anyhow::bail!("--ack-wait: {} seconds; at least 1", self.ack_wait);
        }
        if self.max_deliver < 1 {
            anyhow::bail!("--max-deliver: {}; at least 1", self.max_deliver);
        }
        Ok(WorkerConfig {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| format!("worker-{}", std::process::id())),
            concurrency: self.concurrency.unwrap_or(defaults.concurrency).max(1),
            in_flight: self.in_flight.max(1),
            ack_wait: Duration::from_secs_f64(self.ack_wait),
            max_deliver: self.max_deliver,
            retry_delay: defaults.retry_delay,
            pipeline: Config {
                rates: super::load_rates(self.rates.as_deref())?,
                photos: PhotoSources::Urls,
                fetch: FetchOptions {
                    allow_private: self.allow_private,
                    ..FetchOptions::default()
                },
                keep_photos: true,
                logos: self.logos,
                photo_text: self.photo_text.load(),
            },
        })
    }
}

/// Runs `markhound worker`.
pub fn run(args: WorkerArgs) -> anyhow::Result<Outcome> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(worker::run(
        &args.nats,
        config,
        markhound::server::shutdown_signal(),
    ))?;
    Ok(Outcome::Success)
}
