//! `markhound demo`: the main job on the bundled sample, end to end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use markhound::registry::Registry;
use markhound::report::{attach_marks, CsvReport, HtmlReport, JsonReport, Report, ReportData};
use markhound::scoring::{sanitize, Rates, Scorer, SUSPECT_THRESHOLD};
use rayon::prelude::*;

use super::{Global, Outcome};

/// Arguments of `markhound demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the reports (and the demo's own database).
    #[arg(long, default_value = "markhound-report")]
    out: PathBuf,
}

/// Runs the demo: imports the bundled registry into `OUT/demo.db`, scores the bundled
/// sample listings, writes `findings.json` and `findings.csv`, prints the ranking.
pub fn run(global: &Global, args: DemoArgs) -> anyhow::Result<Outcome> {
    let Some(registry_dir) = markhound::demo::bundled_registry() else {
        bail!("the bundled registry (trademarks/marks.toml) was not found; run the demo from the source tree");
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let db_path = args.out.join("demo.db");
    let db = markhound::db::open(&db_path)?;
    let registry = Registry::open(&db).context("cannot open the demo registry")?;
    for (path, result) in registry.import_paths(&[registry_dir]) {
        result.with_context(|| format!("cannot import {}", path.display()))?;
    }
    let marks = registry.marks()?;
    let scorer = Scorer::new(marks, Rates::default());
    let listings = markhound::demo::sample_listings();
    let scored: Vec<_> = listings
        .into_par_iter()
        .map(|l| {
            let findings = scorer.score(&l);
            (l, findings)
        })
        .collect();
    let mut data = ReportData::new(scored, SUSPECT_THRESHOLD);
    attach_marks(&mut data, scorer.marks());
    let formats: [&dyn Report; 3] = [&HtmlReport, &JsonReport, &CsvReport];
    let mut written = Vec::new();
    for format in formats {
        let path = args.out.join(format!("findings.{}", format.extension()));
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::new(file);
        format
            .write(&data, &mut w)
            .and_then(|()| w.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    if !global.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{} sample listings scored against {} marks: {} suspects (score >= {SUSPECT_THRESHOLD})\n",
            data.listings_scanned,
            scorer.marks().len(),
            data.suspects.len()
        )?;
        writeln!(
            out,
            "{:>4}  {:>5}  {:<13} {:<18} TITLE",
            "RANK", "SCORE", "MARK", "SELLER"
        )?;
        for (i, s) in data.suspects.iter().enumerate() {
            let f = &s.findings[0];
            let seller = sanitize(s.listing.seller.as_ref().map_or("-", |x| x.id.as_str()));
            let title: String = s
                .listing
                .title
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect();
            writeln!(
                out,
                "{:>4}  {:>5.3}  {:<13} {:<18} {}",
                i + 1,
                f.score,
                f.mark,
                seller,
                title
            )?;
        }
        writeln!(out)?;
        for p in &written {
            writeln!(out, "report: {}", p.display())?;
        }
    }
    Ok(Outcome::Success)
}
