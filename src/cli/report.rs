//! `markhound report`: write the report of the stored findings, in one format, to a
//! file or stdout. Also the report writing shared by `scan` and `demo`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use markhound::registry::Registry;
use markhound::report::{CsvReport, JsonReport, Report, ReportData};
use markhound::store::Store;

use super::{Global, Outcome};

/// The report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// The versioned JSON report.
    Json,
    /// One row per finding.
    Csv,
}

impl Format {
    fn report(self) -> &'static dyn Report {
        match self {
            Format::Json => &JsonReport,
            Format::Csv => &CsvReport,
        }
    }
}

/// Arguments of `markhound report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Only report findings with at least this score (0..1).
    #[arg(long, default_value_t = markhound::scoring::SUSPECT_THRESHOLD, value_parser = super::report::parse_score)]
    min_score: f64,
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
    for format in [Format::Json, Format::Csv] {
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

/// The report data of the stored findings; warns when some listings were not
/// matched against the current registry.
pub fn stored_report(global: &Global, db: &sled::Db, min_score: f64) -> anyhow::Result<ReportData> {
    let version = Registry::open(db)
        .context("cannot open the registry")?
        .version()
        .context("cannot read the registry version")?;
    let store = Store::open(db).context("cannot open the listing store")?;
    let (scored, stale) = store.scored(version)?;
    if stale > 0 && !global.quiet {
        eprintln!(
            "warning: {stale} stored listings are not matched against the current registry; run `markhound scan` first"
        );
    }
    Ok(ReportData::new(scored, min_score))
}

/// Runs `markhound report`.
pub fn run(global: &Global, args: ReportArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open(&global.db)?;
    let data = stored_report(global, &db, args.min_score)?;
    let report = args.format.report();
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
