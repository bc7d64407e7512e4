//! `markhound serve`: the review service. Opens the database, builds the scorer once
//! from the registry, binds, prints the address it listens on and serves until
//! Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use markhound::scoring::{Rates, Scorer};
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
}

/// Runs `markhound serve`.
pub fn run(global: &Global, args: ServeArgs) -> anyhow::Result<Outcome> {
    let rates = match &args.rates {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Rates::from_toml(&text).with_context(|| format!("{}", p.display()))?
        }
        None => Rates::default(),
    };
    let db = markhound::db::open(&global.db)?;
    let marks = super::registry_marks(&db, &global.db)?;
    let state =
        AppState::new(&db, Scorer::new(marks, rates)).context("cannot open the review queue")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
        drop(out);
        serve(listener, Arc::new(state), shutdown_signal())
            .await
            .context("the server failed")
    })?;
    db.flush().context("cannot flush the database")?;
    Ok(Outcome::Success)
}
