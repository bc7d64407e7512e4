//! `markhound demo`: the main job end to end on the bundled sample. Serves the sample
//! marketplace on 127.0.0.1, crawls it with a site profile, matches the listings
//! against the bundled registry (compiled into the binary) into the review queue,
//! writes the reports and prints the ranking; with `--serve`, opens the review
//! queue on 127.0.0.1 with a fresh sign-in token.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use markhound::demo::server::{DemoServer, Shop};
use markhound::pipeline::{Pipeline, ReportFilter};
use markhound::registry::Registry;
use markhound::review::{Role, Tokens};
use markhound::scoring::{sanitize, SUSPECT_THRESHOLD};

use super::crawl::CrawlFlags;
use super::{Global, Outcome};

/// Arguments of `markhound demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the reports (and the demo's own database and registry).
    #[arg(long, default_value = "markhound-report")]
    out: PathBuf,
    /// Then serve the review queue with the demo's findings on 127.0.0.1 and print
    /// the address and a sign-in token; stops on Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// With --serve: the address to serve on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    bind: SocketAddr,
}

/// Runs the demo: writes the bundled registry to `OUT/trademarks` and imports it
/// into `OUT/demo.db`, serves and crawls the sample shop, stores the findings in
/// the review queue, writes the reports, prints the ranking, and with `--serve`
/// serves the queue.
pub fn run(global: &Global, args: DemoArgs) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let registry_dir = markhound::demo::write_bundled_registry(&args.out.join("trademarks"))
        .with_context(|| {
            format!(
                "cannot write the bundled registry into {}",
                args.out.display()
            )
        })?;
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
        None,
        &args.out,
        &ReportFilter::default(),
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
        if !args.serve {
            writeln!(
                out,
                "\nThe findings are in the review queue of {}: `markhound demo --serve` (or \
                 `markhound --db {} serve`) opens it.",
                db_path.display(),
                db_path.display()
            )?;
        }
    }
    if args.serve {
        let token = Tokens::open(&db)
            .context("cannot open the token store")?
            .create("demo", Role::Admin)
            .context("cannot create a sign-in token")?;
        let pipeline = Pipeline::from_registry(&db, &CrawlFlags::demo().pipeline_config(None)?)?;
        super::serve::serve_until_stopped(
            &db,
            pipeline,
            args.bind,
            markhound::server::listen::ConnectionLimits::for_this_process(),
            |addr| {
                format!(
                "\nreview queue at http://{addr}/ - sign in with the token\n{token}\n(Ctrl-C stops it)"
            )
            },
        )?;
    }
    Ok(Outcome::Success)
}
