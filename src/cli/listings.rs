//! `markhound listings export`: every stored listing as one JSON line in the `match`
//! input schema, plus its evidence, so crawled listings can feed other tools.

use std::io::{BufWriter, Write};

use anyhow::Context;
use clap::Subcommand;
use markhound::listing::Listing;
use markhound::store::{Evidence, Store};
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
    #[serde(flatten)]
    evidence: &'a Evidence,
}

/// Runs `markhound listings`.
pub fn run(global: &Global, cmd: ListingsCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ListingsCommand::Export => {
            let db = markhound::db::open(&global.db)?;
            let store = Store::open(&db).context("cannot open the listing store")?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            for item in store.listings() {
                let (_, stored) = item?;
                serde_json::to_writer(
                    &mut out,
                    &Line {
                        listing: &stored.listing,
                        evidence: &stored.evidence,
                    },
                )?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            Ok(Outcome::Success)
        }
    }
}
