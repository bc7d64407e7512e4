//! `markhound token create|list|revoke`: the review service's API tokens. A new
//! token is printed alone on stdout, once; only its salted hash is stored. While
//! the service runs it holds the database: use `/api/v1/tokens` then.

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
    /// List tokens: id, role, name and creation time (never a secret).
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (the part after `mh_`) or the whole token.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
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
        TokenCommand::List { json } => {
            let db = markhound::db::open_existing(&global.db)?;
            let tokens = Tokens::open(&db)
                .context("cannot open the token store")?
                .list()
                .context("cannot read the tokens")?;
            let mut out = std::io::stdout().lock();
            for t in &tokens {
                if json {
                    writeln!(out, "{}", serde_json::to_string(t)?)?;
                } else {
                    writeln!(out, "{}  {:<8}  {}  {}", t.id, t.role, t.created_at, t.name)?;
                }
            }
            Ok(Outcome::Success)
        }
        TokenCommand::Revoke { id } => {
            let db = markhound::db::open_existing(&global.db)?;
            let revoked = Tokens::open(&db)
                .context("cannot open the token store")?
                .revoke(&id)
                .context("cannot revoke the token")?;
            if revoked {
                eprintln!(
                    "revoked token {}",
                    markhound::review::token_id(&id).unwrap_or(&id)
                );
                Ok(Outcome::Success)
            } else {
                anyhow::bail!("no token with id {id:?} (see `markhound token list`)")
            }
        }
    }
}
