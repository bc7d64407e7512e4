//! `markhound report`: write the report of the stored findings (HTML, JSON or CSV),
//! to a file or stdout. Also the report writing shared by `scan` and `demo`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use markhound::pipeline::ReportFilter;
use markhound::registry::Registry;
use markhound::report::{CsvReport, HtmlReport, JsonReport, Report, ReportData};
use markhound::review::State;
use markhound::store::Store;

use super::{Global, Outcome};

/// The report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// A self-contained page for people, with evidence and draft notices.
    Html,
    /// The versioned JSON report.
    Json,
    /// One row per finding.
    Csv,
}

impl Format {
    fn report(self) -> &'static dyn Report {
        match self {
            Format::Html => &HtmlReport,
            Format::Json => &JsonReport,
            Format::Csv => &CsvReport,
        }
    }

    /// The format a file name's extension names.
    fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// `--state`: the review states a report shows.
#[derive(Debug, Clone, Args)]
pub struct StateArg {
    /// Only report findings in these review states (comma-separated: new,
    /// in_review, confirmed, dismissed, reopened, notice_sent, removed,
    /// reinstated); the default is every state but `dismissed`.
    #[arg(long = "state", value_name = "STATE,...", value_delimiter = ',', value_parser = parse_state)]
    state: Vec<State>,
}

impl StateArg {
    /// The states given, or the default.
    pub fn states(&self) -> Vec<State> {
        if self.state.is_empty() {
            ReportFilter::default().states
        } else {
            self.state.clone()
        }
    }
}

fn parse_state(s: &str) -> Result<State, String> {
    s.parse::<State>().map_err(|e| e.to_string())
}

/// Arguments of `markhound report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output format; the default is the one `--out`'s extension names, else
    /// JSON.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Only report findings with at least this score (0..1); the default is the
    /// suspect threshold.
    #[arg(long, default_value_t = markhound::scoring::SUSPECT_THRESHOLD, value_parser = super::report::parse_score)]
    min_score: f64,
    #[command(flatten)]
    states: StateArg,
}

/// Parses a score between 0 and 1.
pub fn parse_score(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("not a number: {s}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1, got {v}"))
    }
}

/// Writes `data` in every available format into `dir` as `findings.EXT`.
pub fn write_all(data: &ReportData, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for format in [Format::Html, Format::Json, Format::Csv] {
        let report = format.report();
        let path = dir.join(format!("findings.{}", report.extension()));
        write_to(report, data, &path)?;
        written.push(path);
    }
    Ok(written)
}

fn write_to(report: &dyn Report, data: &ReportData, path: &Path) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::new(file);
    report
        .write(data, &mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The report of the stored findings `filter` selects; warns when some listings
/// were not matched against the current registry.
pub fn stored_report(
    global: &Global,
    db: &sled::Db,
    filter: &ReportFilter,
) -> anyhow::Result<ReportData> {
    let registry = Registry::open(db).context("cannot open the registry")?;
    let version = registry
        .version()
        .context("cannot read the registry version")?;
    let marks = registry.marks().context("cannot read the registry")?;
    let store = Store::open(db).context("cannot open the store")?;
    let (data, pending) = markhound::pipeline::report(&store, &marks, version, filter)?;
    if pending > 0 && !global.quiet {
        eprintln!(
            "warning: {pending} stored listings are not matched against the current registry; run `markhound scan` first"
        );
    }
    Ok(data)
}

/// Runs `markhound report`.
pub fn run(global: &Global, args: ReportArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open_existing(&global.db)?;
    let filter = ReportFilter {
        min_score: args.min_score,
        states: args.states.states(),
    };
    let data = stored_report(global, &db, &filter)?;
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(Format::of_path))
        .unwrap_or(Format::Json);
    let report = format.report();
    match &args.out {
        Some(path) => write_to(report, &data, path)?,
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            report.write(&data, &mut out)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Success)
}
