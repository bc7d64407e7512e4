//! `markhound report`: write the report of the stored findings (HTML, JSON or CSV),
//! to a file or stdout. Also the report writing shared by `scan` and `demo`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use markhound::registry::Registry;
use markhound::report::{attach_marks, CsvReport, HtmlReport, JsonReport, Report, ReportData};
use markhound::store::{listing_key, Store};

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

/// The report data of the stored findings, with the marks they refer to and the
/// evidence of each suspect listing; warns when some listings were not matched
/// against the current registry.
pub fn stored_report(global: &Global, db: &sled::Db, min_score: f64) -> anyhow::Result<ReportData> {
    let registry = Registry::open(db).context("cannot open the registry")?;
    let version = registry
        .version()
        .context("cannot read the registry version")?;
    let marks = registry.marks().context("cannot read the registry")?;
    let store = Store::open(db).context("cannot open the listing store")?;
    let (scored, stale) = store.scored(version)?;
    if stale > 0 && !global.quiet {
        eprintln!(
            "warning: {stale} stored listings are not matched against the current registry; run `markhound scan` first"
        );
    }
    let mut data = ReportData::new(scored, min_score);
    for suspect in &mut data.suspects {
        if let Some(stored) = store.listing(&listing_key(&suspect.listing))? {
            suspect.evidence = Some(stored.evidence.into());
        }
    }
    attach_marks(&mut data, &marks);
    Ok(data)
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
