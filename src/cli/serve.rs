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
    /// Queue posted listings on NATS JetStream for `markhound worker`s instead of
    /// matching them here, and store the workers' results (e.g.
    /// nats://127.0.0.1:4222). A batch is answered 200 once JetStream holds it.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
}

impl ServeArgs {
    /// The pipeline configuration of the service.
    fn config(&self) -> anyhow::Result<Config> {
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
        })
    }
}

/// Runs `markhound serve`.
pub fn run(global: &Global, args: ServeArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open_existing(&global.db)?;
    super::registry_marks(&db, &global.db)?;
    let pipeline = Pipeline::from_registry(&db, &args.config()?)?;
    serve_with(&db, pipeline, args.bind, args.nats.as_deref(), |addr| {
        format!("listening on http://{addr}")
    })?;
    Ok(Outcome::Success)
}

/// Serves the review service for `db` on `bind` until Ctrl-C or SIGTERM; prints
/// `announce(address)` on stdout once listening.
pub fn serve_until_stopped(
    db: &sled::Db,
    pipeline: Pipeline,
    bind: SocketAddr,
    announce: impl FnOnce(SocketAddr) -> String,
) -> anyhow::Result<()> {
    serve_with(db, pipeline, bind, None, announce)
}

/// Serves as [`serve_until_stopped`]; with `nats`, posted listings go to JetStream
/// and one task stores the workers' results until the service stops.
fn serve_with(
    db: &sled::Db,
    pipeline: Pipeline,
    bind: SocketAddr,
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
            AppState::with_engine(db, store, Arc::new(pipeline), Arc::new(engine))
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
        serve(listener, Arc::new(state), shutdown_signal())
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
