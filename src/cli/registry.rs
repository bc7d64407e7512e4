//! `markhound registry ...`: import, list, show, remove, export.

use clap::Subcommand;

use super::{Global, Outcome};

/// Registry subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// List the registered marks.
    List,
}

/// Runs a registry subcommand.
pub fn run(_global: &Global, _cmd: RegistryCommand) -> anyhow::Result<Outcome> {
    Ok(Outcome::Success)
}
