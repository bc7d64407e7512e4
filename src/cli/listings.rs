//! `markhound listings export`: every stored listing (crawled or handed in) as one
//! JSON line in the `match` input schema, plus the evidence of crawled ones, so
//! they can feed other tools.

use std::io::{BufWriter, Write};

use anyhow::Context;
use clap::Subcommand;
use markhound::listing::{Evidence, Listing};
use markhound::store::Store;
use serde::Serialize;

use super::{Global, Outcome};

/// `markhound listings ...`.
#[derive(Debug, Subcommand)]
pub enum ListingsCommand {
    /// Print every stored listing as a JSON line with its evidence (`fetched_at`,
    /// `status`, `sha256`, `final_url`).
    Export,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    listing: &'a Listing,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a Evidence>,
}

/// Runs `markhound listings`.
pub fn run(global: &Global, cmd: ListingsCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ListingsCommand::Export => {
            let db = markhound::db::open_existing(&global.db)?;
            let store = Store::open(&db).context("cannot open the store")?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            for stored in store.listings() {
                let stored = stored?;
                serde_json::to_writer(
                    &mut out,
                    &Line {
                        listing: &stored.listing,
                        evidence: stored.evidence.as_ref(),
                    },
                )?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            Ok(Outcome::Success)
        }
    }
}
