//! `markhound serve`: the review service. Opens the database, builds the scorer and
//! the reference-image index once from the registry, binds, prints the address it
//! listens on and serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use markhound::crawl::FetchOptions;
use markhound::engine::jetstream::{self, JetStreamEngine};
use markhound::pipeline::{Config, PhotoSources, Pipeline};
use markhound::server::listen::ConnectionLimits;
use markhound::server::{serve, shutdown_signal, AppState};
use markhound::store::Store;

use super::{Global, Outcome};

/// Arguments of `markhound serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Exchange rates for price floors (TOML `[rates]`, US dollars per unit).
    #[arg(long, value_name = "FILE")]
    rates: Option<std::path::PathBuf>,
    /// Also fetch the http(s) photo URLs of ingested listings and match them
    /// against the reference images (supplied `image_hashes` are always matched).
    /// Slows ingest down by the photos' download time. Local paths are never read.
    #[arg(long)]
    fetch_images: bool,
    /// With --fetch-images: fetch photos from loopback, private and link-local
    /// addresses too (your own test servers; refused by default).
    #[arg(long, requires = "fetch_images")]
    allow_private: bool,
    /// Also search photos for the registered logos and for parts of the
    /// registered product photos (local features). Off by default: its recall is
    /// low so far and it costs about 0.3 s a photo (EVALUATION.md).
    #[arg(long)]
    logos: bool,
    #[command(flatten)]
    photo_text: super::PhotoTextArgs,
    /// Seconds a client may take to send a request's headers (also how long an
    /// idle keep-alive connection stays open).
    #[arg(long, value_name = "SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Connections open at once; more wait for a free slot [default: 10000, or
    /// the file-descriptor limit less 128 when that is lower].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: Option<u64>,
    /// Queue posted listings on NATS JetStream for `markhound worker`s instead of
    /// matching them here, and store the workers' results (e.g.
    /// nats://127.0.0.1:4222). A batch is answered 200 once JetStream holds it.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
}

impl ServeArgs {
    /// The accept loop's limits: the flags, within what the process may open.
    fn limits(&self) -> ConnectionLimits {
        let mut limits = ConnectionLimits::for_this_process();
        if let Some(n) = self.max_connections {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > limits.max_connections {
                tracing::warn!(
                    "--max-connections {n} is above what the file-descriptor limit allows; \
                     using {}",
                    limits.max_connections
                );
            } else {
                limits.max_connections = n;
            }
        }
        limits.header_timeout = std::time::Duration::from_secs(self.header_timeout);
        limits
    }

    /// The pipeline configuration of the service.
    fn config(&self) -> anyhow::Result<Config> {
        if self.photo_text.photo_text && !self.fetch_images {
            tracing::warn!("--photo-text reads only photos fetched with --fetch-images");
        }
        Ok(Config {
            rates: super::load_rates(self.rates.as_deref())?,
            photos: if self.fetch_images {
                PhotoSources::Urls
            } else {
                PhotoSources::HashesOnly
            },
            fetch: FetchOptions {
                allow_private: self.allow_private,
                ..FetchOptions::default()
            },
            keep_photos: true,
            logos: self.logos,
            photo_text: self.photo_text.load(),
        })
    }
}

/// Runs `markhound serve`.
pub fn run(global: &Global, args: ServeArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open_existing(&global.db)?;
    super::registry_marks(&db, &global.db)?;
    let pipeline = Pipeline::from_registry(&db, &args.config()?)?;
    let limits = args.limits();
    serve_with(
        &db,
        pipeline,
        args.bind,
        limits,
        args.nats.as_deref(),
        |addr| format!("listening on http://{addr}"),
    )?;
    Ok(Outcome::Success)
}

/// Serves the review service for `db` on `bind` until Ctrl-C or SIGTERM; prints
/// `announce(address)` on stdout once listening.
pub fn serve_until_stopped(
    db: &sled::Db,
    pipeline: Pipeline,
    bind: SocketAddr,
    limits: ConnectionLimits,
    announce: impl FnOnce(SocketAddr) -> String,
) -> anyhow::Result<()> {
    serve_with(db, pipeline, bind, limits, None, announce)
}

/// Serves as [`serve_until_stopped`]; with `nats`, posted listings go to JetStream
/// and one task stores the workers' results until the service stops.
fn serve_with(
    db: &sled::Db,
    pipeline: Pipeline,
    bind: SocketAddr,
    limits: ConnectionLimits,
    nats: Option<&str>,
    announce: impl FnOnce(SocketAddr) -> String,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut results = None;
    let state = match nats {
        None => AppState::new(db, pipeline).context("cannot open the review queue")?,
        Some(url) => {
            let engine = runtime.block_on(JetStreamEngine::connect(url, "markhound serve"))?;
            let store = Arc::new(Store::open(db).context("cannot open the review queue")?);
            let js = engine.context().clone();
            let mut stopped = stopped.clone();
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            results = Some(runtime.spawn(jetstream::results::run(js, Arc::clone(&store), until)));
            AppState::with_engine(
                db,
                store,
                markhound::pipeline::Current::new(Arc::new(pipeline)),
                Arc::new(engine),
            )
            .context("cannot open the review queue")?
        }
    };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", announce(addr))?;
        out.flush()?;
        drop(out);
        serve(listener, Arc::new(state), limits, shutdown_signal())
            .await
            .context("the server failed")
    });
    // The results consumer finishes the batch it is writing, then stops.
    let _ = stop.send(true);
    if let Some(task) = results {
        match runtime.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(
                "the results consumer failed: {}",
                markhound::error_chain(&e)
            ),
            Err(e) => {
                tracing::error!("this is a bug in markhound: the results consumer failed: {e}")
            }
        }
    }
    served?;
    db.flush().context("cannot flush the database")?;
    Ok(())
}
