//! `markhound scan`: crawl what is given, match every stored listing not yet matched
//! against the current registry version, store the findings and write the reports.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use markhound::registry::Registry;
use markhound::scoring::{Rates, Scorer};
use markhound::store::Store;

use super::crawl::CrawlFlags;
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
    /// Only report findings with at least this score (0..1).
    #[arg(long, default_value_t = markhound::scoring::SUSPECT_THRESHOLD, value_parser = super::report::parse_score)]
    min_score: f64,
    #[command(flatten)]
    crawl: CrawlFlags,
}

/// What a scan did.
pub struct ScanSummary {
    /// Crawl counters, when something was crawled.
    pub crawl: Option<markhound::crawl::Stats>,
    /// Listings matched in this scan.
    pub matched: usize,
    /// The report.
    pub data: markhound::report::ReportData,
    /// The report files.
    pub written: Vec<PathBuf>,
    /// How many marks were matched against.
    pub marks: usize,
}

/// Crawls `targets` (if any), matches what is pending and writes the reports to
/// `out`.
pub fn scan(
    global: &Global,
    db: &sled::Db,
    targets: &[String],
    flags: &CrawlFlags,
    out: &std::path::Path,
    min_score: f64,
) -> anyhow::Result<ScanSummary> {
    let crawl = if targets.is_empty() {
        None
    } else {
        Some(super::crawl::crawl(global, db, targets, flags)?)
    };
    let registry = Registry::open(db).context("cannot open the registry")?;
    let marks = super::registry_marks(db, &global.db)?;
    let version = registry
        .version()
        .context("cannot read the registry version")?;
    let marks_len = marks.len();
    let scorer = Scorer::new(marks, Rates::default());
    // Listing photos are fetched under the crawl's own address policy.
    let photos = markhound::crawl::PhotoMatcher::new(scorer.marks(), flags.allow_private);
    let store = Store::open(db).context("cannot open the listing store")?;
    let matched = store.match_pending(&scorer, Some(&photos), version)?;
    let data = super::report::stored_report(global, db, min_score)?;
    let written = super::report::write_all(&data, out)?;
    Ok(ScanSummary {
        crawl,
        matched,
        data,
        written,
        marks: marks_len,
    })
}

/// Runs `markhound scan`.
pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open(&global.db)?;
    let s = scan(
        global,
        &db,
        &args.targets,
        &args.crawl,
        &args.out,
        args.min_score,
    )?;
    if !global.quiet {
        eprintln!(
            "matched {} listings against {} marks; {} of {} stored listings are suspects (score >= {})",
            s.matched,
            s.marks,
            s.data.suspects.len(),
            s.data.listings_scanned,
            args.min_score
        );
    }
    for p in &s.written {
        println!("{}", p.display());
    }
    Ok(match s.crawl {
        Some(c) if c.errors > 0 => Outcome::Failure,
        _ => Outcome::Success,
    })
}
