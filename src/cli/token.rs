//! `markhound token create`: mint an API token for the review service. The token is
//! printed alone on stdout, once; only its salted hash is stored.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use markhound::review::{Role, Tokens};

use super::{Global, Outcome};

/// `markhound token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (shown once).
    Create(CreateArgs),
}

/// Arguments of `markhound token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// What the token may do: ingest (post listings), reviewer (read and move
    /// findings) or admin (everything).
    #[arg(long)]
    role: Role,
    /// Who holds the token; recorded in the audit log for every change.
    #[arg(long)]
    name: String,
}

/// Runs `markhound token`.
pub fn run(global: &Global, cmd: TokenCommand) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCommand::Create(args) => {
            let db = markhound::db::open_existing(&global.db)?;
            let token = Tokens::open(&db)
                .context("cannot open the token store")?
                .create(&args.name, args.role)
                .context("cannot create the token")?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
            Ok(Outcome::Success)
        }
    }
}
