//! `markhound scan`: crawl what is given (each listing matched and stored with its
//! findings as it is found), match again every stored listing not matched against
//! the current registry version, and write the reports.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use markhound::pipeline::{Pipeline, ReportFilter};
use markhound::store::Store;

use super::crawl::CrawlFlags;
use super::report::StateArg;
use super::{Global, Outcome};

/// Arguments of `markhound scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A site profile (.toml) or start URLs to crawl first; without, only the stored
    /// listings are matched.
    #[arg(value_name = "PROFILE.toml|URL")]
    targets: Vec<String>,
    /// Where to write the reports.
    #[arg(long, default_value = "markhound-report", value_name = "DIR")]
    out: PathBuf,
    /// Only report findings with at least this score (0..1); the default is the
    /// suspect threshold.
    #[arg(long, default_value_t = markhound::scoring::SUSPECT_THRESHOLD, value_parser = super::report::parse_score)]
    min_score: f64,
    /// Only report findings in these review states (comma-separated); the default
    /// is every state but `dismissed`.
    #[command(flatten)]
    states: StateArg,
    /// Exchange rates for price floors (TOML `[rates]`, US dollars per unit).
    #[arg(long, value_name = "FILE")]
    rates: Option<PathBuf>,
    #[command(flatten)]
    crawl: CrawlFlags,
}

/// What a scan did.
pub struct ScanSummary {
    /// Crawl counters, when something was crawled.
    pub crawl: Option<markhound::crawl::Stats>,
    /// Stored listings matched again (registry changed, database migrated).
    pub rematched: usize,
    /// The report.
    pub data: markhound::report::ReportData,
    /// The report files.
    pub written: Vec<PathBuf>,
    /// How many marks were matched against.
    pub marks: usize,
}

/// Crawls `targets` (if any), matches what is pending and writes the reports of
/// the findings `filter` selects to `out`.
pub fn scan(
    global: &Global,
    db: &sled::Db,
    targets: &[String],
    flags: &CrawlFlags,
    rates: Option<&std::path::Path>,
    out: &std::path::Path,
    filter: &ReportFilter,
) -> anyhow::Result<ScanSummary> {
    super::registry_marks(db, &global.db)?;
    let pipeline = Arc::new(Pipeline::from_registry(db, &flags.pipeline_config(rates)?)?);
    let store = Arc::new(Store::open(db).context("cannot open the store")?);
    let crawl = if targets.is_empty() && !flags.resuming() {
        None
    } else {
        let matcher = markhound::pipeline::crawl_matcher(Arc::clone(&pipeline));
        Some(super::crawl::crawl(
            global, db, &store, matcher, targets, flags,
        )?)
    };
    let rematched = pipeline
        .rematch_pending(&store, "scan")
        .context("cannot match the stored listings")?;
    store.flush().context("cannot write the database")?;
    let (data, _) = markhound::pipeline::report(
        &store,
        pipeline.scorer().marks(),
        pipeline.registry_version(),
        filter,
    )?;
    let written = super::report::write_all(&data, out)?;
    Ok(ScanSummary {
        crawl,
        rematched,
        data,
        written,
        marks: pipeline.scorer().marks().len(),
    })
}

/// Runs `markhound scan`.
pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open(&global.db)?;
    let filter = ReportFilter {
        min_score: args.min_score,
        states: args.states.states(),
    };
    let s = scan(
        global,
        &db,
        &args.targets,
        &args.crawl,
        args.rates.as_deref(),
        &args.out,
        &filter,
    )?;
    if !global.quiet {
        let crawled = s.crawl.as_ref().map_or(0, |c| c.listings);
        eprintln!(
            "{crawled} listings crawled, {} matched again, against {} marks; {} of {} stored listings are suspects (score >= {}); their findings are in the review queue",
            s.rematched,
            s.marks,
            s.data.suspects.len(),
            s.data.listings_scanned,
            args.min_score
        );
    }
    for p in &s.written {
        println!("{}", p.display());
    }
    // The exit rules of `crawl`: failures are listed, and only a crawl that could
    // fetch nothing (or any failure with --strict) fails the scan.
    Ok(match &s.crawl {
        Some(c) => super::crawl::outcome(c, args.crawl.is_strict()),
        None => Outcome::Success,
    })
}
