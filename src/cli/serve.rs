//! `markhound serve`: the review service. Opens the database, builds the scorer and
//! the reference-image index once from the registry, binds, prints the address it
//! listens on and serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use markhound::crawl::FetchOptions;
use markhound::pipeline::{Config, PhotoSources, Pipeline};
use markhound::server::{serve, shutdown_signal, AppState};

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
    serve_until_stopped(&db, pipeline, args.bind, |addr| {
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
    let state = AppState::new(db, pipeline).context("cannot open the review queue")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
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
    })?;
    db.flush().context("cannot flush the database")?;
    Ok(())
}
