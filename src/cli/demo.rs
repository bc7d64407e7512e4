//! `markhound demo`: the main job end to end on the bundled sample. Serves the sample
//! marketplace on 127.0.0.1, crawls it with a site profile, scans the listings with
//! the bundled registry, writes the reports and prints the ranking.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use markhound::demo::server::{DemoServer, Shop};
use markhound::registry::Registry;
use markhound::scoring::{sanitize, SUSPECT_THRESHOLD};

use super::crawl::CrawlFlags;
use super::{Global, Outcome};

/// Arguments of `markhound demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the reports (and the demo's own database).
    #[arg(long, default_value = "markhound-report")]
    out: PathBuf,
}

/// Runs the demo: imports the bundled registry into `OUT/demo.db`, serves and crawls
/// the sample shop, writes `findings.json` and `findings.csv`, prints the ranking.
pub fn run(global: &Global, args: DemoArgs) -> anyhow::Result<Outcome> {
    let Some(registry_dir) = markhound::demo::bundled_registry() else {
        bail!("the bundled registry (trademarks/marks.toml) was not found; run the demo from the source tree");
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let db_path = args.out.join("demo.db");
    let db = markhound::db::open(&db_path)?;
    let registry = Registry::open(&db).context("cannot open the demo registry")?;
    for (path, result) in registry.import_paths(std::slice::from_ref(&registry_dir)) {
        result.with_context(|| format!("cannot import {}", path.display()))?;
    }
    let server = DemoServer::start(Shop::sample(Some(registry_dir.join("images"))))
        .context("cannot start the demo shop on 127.0.0.1")?;
    let profile = args.out.join("demo-site.toml");
    std::fs::write(&profile, server.profile())
        .with_context(|| format!("cannot write {}", profile.display()))?;
    if !global.quiet {
        eprintln!(
            "demo shop at {}; crawling it with {}",
            server.base_url(),
            profile.display()
        );
    }
    let targets = [profile.display().to_string()];
    let s = super::scan::scan(
        global,
        &db,
        &targets,
        &CrawlFlags::demo(),
        &args.out,
        SUSPECT_THRESHOLD,
    )?;
    drop(server);
    let data = &s.data;
    if !global.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{} listings crawled and scored against {} marks: {} suspects (score >= {SUSPECT_THRESHOLD})\n",
            data.listings_scanned,
            s.marks,
            data.suspects.len()
        )?;
        writeln!(
            out,
            "{:>4}  {:>5}  {:<13} {:<18} TITLE",
            "RANK", "SCORE", "MARK", "SELLER"
        )?;
        for (i, suspect) in data.suspects.iter().enumerate() {
            let f = &suspect.findings[0];
            let seller = sanitize(
                suspect
                    .listing
                    .seller
                    .as_ref()
                    .map_or("-", |x| x.id.as_str()),
            );
            let title: String = sanitize(&suspect.listing.title).chars().take(60).collect();
            writeln!(
                out,
                "{:>4}  {:>5.3}  {:<13} {:<18} {}",
                i + 1,
                f.score,
                sanitize(&f.mark),
                seller,
                title
            )?;
        }
        writeln!(out)?;
        for p in &s.written {
            writeln!(out, "report: {}", p.display())?;
        }
    }
    Ok(Outcome::Success)
}
