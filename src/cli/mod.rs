//! Command-line parsing and dispatch. Thin: each command turns its flags into the
//! library's types and calls the library; errors are printed once, in [`main`].

mod crawl;
mod demo;
mod extract;
mod hash;
mod listings;
mod match_cmd;
mod registry;
mod report;
mod scan;
mod serve;
mod token;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes of docs/INTERFACES.md: 0 success, 1 handled failure, 2 usage error.
pub const EXIT_FAILURE: u8 = 1;

/// markhound: find trademark infringements in marketplace listings.
#[derive(Debug, Parser)]
#[command(name = "markhound", version, about, long_about = None)]
pub struct Cli {
    /// The database (a sled directory).
    #[arg(
        long,
        global = true,
        env = "MARKHOUND_DB",
        default_value = "markhound.db"
    )]
    pub db: PathBuf,
    /// No progress bars, no informational messages.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More log output (repeat for more).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the trademark registry.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Score listings (JSON lines) or one title against the registry.
    Match(match_cmd::MatchArgs),
    /// Score the bundled sample listings with the bundled registry and write reports.
    Demo(demo::DemoArgs),
    /// Fetch listings into the database from a site profile or start URLs.
    Crawl(crawl::CrawlArgs),
    /// Show the listing one page yields (URL or saved HTML) and where each field
    /// came from, without storing anything.
    Extract(extract::ExtractArgs),
    /// Crawl what is given, match the stored listings and write the reports.
    Scan(scan::ScanArgs),
    /// Write the report of the stored findings.
    Report(report::ReportArgs),
    /// Work with the stored listings.
    #[command(subcommand)]
    Listings(listings::ListingsCommand),
    /// Print the perceptual hash of images: HASH_HEX,QUALITY,PATH per line.
    Hash(hash::HashArgs),
    /// Run the review service: the JSON API and the web UI.
    Serve(serve::ServeArgs),
    /// Manage the review service's API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Match listings from NATS JetStream: a stateless worker (no database).
    Worker(worker::WorkerArgs),
}

/// What a command reports back: success, or a handled failure (already reported).
pub enum Outcome {
    /// Everything worked.
    Success,
    /// Some input was bad; it was reported and nothing was lost.
    Failure,
}

/// Parses the arguments, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service logs each request at info level; other commands stay quiet.
    let serving = matches!(cli.command, Command::Serve(_) | Command::Worker(_));
    init_logging(cli.quiet, cli.verbose + u8::from(serving));
    match run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failure) => ExitCode::from(EXIT_FAILURE),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let global = Global {
        db: cli.db,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Registry(cmd) => registry::run(&global, cmd),
        Command::Match(args) => match_cmd::run(&global, args),
        Command::Demo(args) => demo::run(&global, args),
        Command::Hash(args) => hash::run(args),
        Command::Crawl(args) => crawl::run(&global, args),
        Command::Extract(args) => extract::run(&global, args),
        Command::Scan(args) => scan::run(&global, args),
        Command::Report(args) => report::run(&global, args),
        Command::Listings(cmd) => listings::run(&global, cmd),
        Command::Serve(args) => serve::run(&global, args),
        Command::Token(cmd) => token::run(&global, cmd),
        Command::Worker(args) => worker::run(args),
    }
}

/// Flags every command may read.
#[derive(Debug, Clone)]
#[allow(dead_code)] // Read by the database commands; `hash` needs neither field.
pub struct Global {
    /// The database path.
    pub db: PathBuf,
    /// `--quiet` was given.
    pub quiet: bool,
}

fn init_logging(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MARKHOUND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// A closed stdout (`markhound ... | head`) ends the program quietly, as ripgrep does.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The switch of the text search inside photos, shared by `match`, `serve` and
/// `worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct PhotoTextArgs {
    /// Also read the text in photos (OCR) and match it like a title (signal
    /// `photo_text`). Needs the OCR models, fetched once by
    /// scripts/fetch-ocr-models.sh; without them it is off, with a warning. Off by
    /// default: it costs about half a second a photo (BENCHMARKS.md).
    #[arg(long)]
    pub photo_text: bool,
    /// The OCR models' folder [default: $MARKHOUND_OCR_MODELS, else
    /// target/ocr-models].
    #[arg(long, value_name = "DIR", requires = "photo_text")]
    pub ocr_models: Option<PathBuf>,
}

impl PhotoTextArgs {
    /// The OCR models when `--photo-text` asks for them; without them (or when
    /// they cannot be loaded) the text search is off, said once on stderr.
    pub fn load(&self) -> Option<std::sync::Arc<markhound::image::ocr::Ocr>> {
        use markhound::image::ocr;
        if !self.photo_text {
            return None;
        }
        let dir = ocr::models_dir(self.ocr_models.as_deref());
        match ocr::Ocr::load(&dir, ocr::OcrConfig::default()) {
            Ok(o) => Some(std::sync::Arc::new(o)),
            Err(e) => {
                tracing::warn!("--photo-text is off: {}", markhound::error_chain(&e));
                None
            }
        }
    }
}

/// The exchange-rate table of `--rates FILE`, or the bundled one.
pub fn load_rates(path: Option<&std::path::Path>) -> anyhow::Result<markhound::scoring::Rates> {
    use anyhow::Context;
    let Some(p) = path else {
        return Ok(markhound::scoring::Rates::default());
    };
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    markhound::scoring::Rates::from_toml(&text).with_context(|| format!("{}", p.display()))
}

/// The marks stored in `db` (at `path`), or an error that says how to import some
/// when there are none.
pub fn registry_marks(
    db: &sled::Db,
    path: &std::path::Path,
) -> anyhow::Result<Vec<markhound::registry::Mark>> {
    use anyhow::Context;
    let registry = markhound::registry::Registry::open(db).context("cannot open the registry")?;
    registry_marks_of(&registry, path)
}

/// The marks of `registry` (in the database at `path`), or an error that says how
/// to import some when there are none.
pub fn registry_marks_of(
    registry: &markhound::registry::Registry,
    path: &std::path::Path,
) -> anyhow::Result<Vec<markhound::registry::Mark>> {
    use anyhow::Context;
    let marks = registry.marks().context("cannot read the registry")?;
    if marks.is_empty() {
        anyhow::bail!(
            "the registry in {} is empty: import marks first, e.g. `markhound registry import trademarks/`",
            path.display()
        );
    }
    Ok(marks)
}
