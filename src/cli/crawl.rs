//! `markhound crawl`: fetch listings into the database, from a site profile or
//! plain URLs. The flags become a [`CrawlConfig`] here; the crawl itself lives in
//! `markhound::crawl`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use markhound::crawl::{CrawlConfig, FetchConfig, Profile, Seeds, Stats};
use markhound::pipeline::{Config, Pipeline};
use markhound::registry::Registry;
use markhound::store::Store;
use url::Url;

use super::{Global, Outcome};

/// Environment variable scaling retry sleeps (backoff, Retry-After); tests set it
/// small so that retries take milliseconds.
pub const DELAY_SCALE_ENV: &str = "MARKHOUND_DELAY_SCALE";

/// The flags that control a crawl (shared by `crawl` and `scan`).
#[derive(Debug, Args, Clone)]
pub struct CrawlFlags {
    /// The most pages fetched in this run.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_pages: usize,
    /// The deepest link distance from a start URL followed.
    #[arg(long, default_value_t = 10, value_name = "N")]
    max_depth: u32,
    /// Fetches in flight at once, over all hosts.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Fetches in flight at once on one host.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    per_host_concurrency: u16,
    /// Requests per second to one host; 0 lifts the limit (for your own servers).
    #[arg(long, default_value_t = 1.0, value_name = "R", value_parser = parse_rps)]
    per_host_rps: f64,
    /// The most pages fetched from one host.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    max_pages_per_host: usize,
    /// Continue the previous crawl (of the targets given, or of the ones recorded
    /// when none are): finished pages are not fetched again.
    #[arg(long)]
    resume: bool,
    /// Allow private, loopback and link-local addresses (your own test servers).
    #[arg(long)]
    pub(super) allow_private: bool,
    /// Allow this one private HOST:PORT (a staging server) while other private
    /// addresses stay refused; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    allow_host: Vec<String>,
    /// How site owners can reach you; added to the User-Agent.
    #[arg(long, value_name = "EMAIL|URL")]
    contact: Option<String>,
    /// The largest page body kept, in bytes: a longer plain body is cut, a
    /// compressed one that inflates past it is refused.
    #[arg(long, default_value_t = 5 << 20, value_name = "BYTES")]
    max_body: usize,
}

fn parse_rps(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("not a number: {s}"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be 0 or more, got {s}"))
    }
}

impl CrawlFlags {
    /// The flags `markhound demo` crawls its own shop with: private addresses
    /// allowed (the shop is on 127.0.0.1), a brisk but bounded rate.
    pub fn demo() -> CrawlFlags {
        CrawlFlags {
            max_pages: 500,
            max_depth: 10,
            concurrency: 8,
            per_host_concurrency: 8,
            per_host_rps: 100.0,
            max_pages_per_host: 500,
            resume: false,
            allow_private: true,
            allow_host: Vec::new(),
            contact: None,
            max_body: 5 << 20,
        }
    }

    /// Whether `--resume` was given.
    pub fn resuming(&self) -> bool {
        self.resume
    }

    /// The pipeline configuration of a crawl: photos are fetched by the crawl
    /// itself and kept; `rates` from `--rates`.
    pub fn pipeline_config(&self, rates: Option<&std::path::Path>) -> anyhow::Result<Config> {
        Ok(Config {
            rates: super::load_rates(rates)?,
            fetch: markhound::crawl::FetchOptions {
                allow_private: self.allow_private,
                ..Default::default()
            },
            ..Config::default()
        })
    }

    /// The validated crawl configuration.
    pub fn config(&self) -> anyhow::Result<CrawlConfig> {
        let mut fetch = FetchConfig::new(self.contact.as_deref());
        fetch.allow_private = self.allow_private;
        fetch.allow_hosts = self.allow_host.clone();
        fetch.max_body = self.max_body.max(1024);
        let delay_scale = match std::env::var(DELAY_SCALE_ENV) {
            Ok(v) => v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .with_context(|| format!("{DELAY_SCALE_ENV}: not a number: {v}"))?,
            Err(_) => 1.0,
        };
        Ok(CrawlConfig {
            max_pages: self.max_pages,
            max_depth: self.max_depth,
            concurrency: self.concurrency.into(),
            per_host_concurrency: self.per_host_concurrency.into(),
            per_host_rps: self.per_host_rps,
            max_pages_per_host: self.max_pages_per_host,
            delay_scale,
            fetch,
            ..CrawlConfig::default()
        })
    }
}

/// Arguments of `markhound crawl`.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// A site profile (.toml) or one or more start URLs; with `--resume`, the
    /// previous crawl's when none are given.
    #[arg(required_unless_present = "resume", value_name = "PROFILE.toml|URL")]
    targets: Vec<String>,
    #[command(flatten)]
    flags: CrawlFlags,
}

/// Turns the targets into seeds: one profile, or URLs.
pub fn seeds(targets: &[String], db: &sled::Db) -> anyhow::Result<Seeds> {
    if let [one] = targets {
        if one.ends_with(".toml") {
            let profile = Profile::load(&PathBuf::from(one))?;
            let needs_queries = profile.start_urls.iter().any(|u| u.contains("{query}"));
            let mut queries = Vec::new();
            if needs_queries {
                let marks = Registry::open(db)
                    .context("cannot open the registry")?
                    .marks()
                    .context("cannot read the registry")?;
                if marks.is_empty() {
                    bail!("{one}: the start URLs use {{query}} but the registry is empty: import marks first");
                }
                for m in marks {
                    queries.push(m.name);
                    queries.extend(m.aliases);
                }
                queries.sort();
                queries.dedup();
            }
            return Ok(Seeds::Profile(Arc::new(profile), queries));
        }
    }
    let mut urls = Vec::new();
    for t in targets {
        if t.ends_with(".toml") {
            bail!("{t}: a site profile is crawled alone, not with other targets");
        }
        let url = Url::parse(t).with_context(|| format!("not a URL or a .toml profile: {t}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("{t}: only http and https URLs can be crawled");
        }
        urls.push(url);
    }
    Ok(Seeds::Urls(urls))
}

/// Runs a crawl with a progress bar (on a terminal, unless quiet) and a summary line;
/// each listing found is matched by `pipeline` and stored with its findings.
pub fn crawl(
    global: &Global,
    db: &sled::Db,
    store: &Arc<Store>,
    pipeline: &Arc<Pipeline>,
    targets: &[String],
    flags: &CrawlFlags,
) -> anyhow::Result<Stats> {
    let config = flags.config()?;
    let targets = if targets.is_empty() {
        store
            .crawl_targets()
            .context("cannot read the previous crawl's targets")?
            .context("--resume without targets: this database records no earlier crawl; give the profile or URLs")?
    } else {
        // A profile path is kept absolute, so `--resume` works from another folder.
        let targets: Vec<String> = targets
            .iter()
            .map(
                |t| match t.ends_with(".toml").then(|| std::path::absolute(t)) {
                    Some(Ok(path)) => path.to_string_lossy().into_owned(),
                    _ => t.clone(),
                },
            )
            .collect();
        store
            .set_crawl_targets(&targets)
            .context("cannot record the crawl's targets")?;
        targets
    };
    let seeds = seeds(&targets, db)?;
    let bar = (!global.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let progress = |s: &Stats| {
        if let Some(bar) = &bar {
            let rate = s.pages as f64 / s.elapsed.as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{} pages, {} listings, {} errors, {rate:.1} pages/s",
                s.pages, s.listings, s.errors
            ));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stats = runtime.block_on(markhound::crawl::run(
        Arc::clone(store),
        seeds,
        config,
        flags.resume,
        markhound::pipeline::crawl_matcher(Arc::clone(pipeline)),
        &progress,
    ))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !global.quiet {
        eprintln!(
            "crawled {} pages in {:.1}s ({:.1} pages/s): {} listings stored, {} errors, {} disallowed by robots.txt, {} skipped{}",
            stats.pages,
            stats.elapsed.as_secs_f64(),
            stats.pages as f64 / stats.elapsed.as_secs_f64().max(0.001),
            stats.listings,
            stats.errors,
            stats.blocked,
            stats.skipped,
            if stats.queued_left > 0 {
                format!(", {} still queued (--max-pages reached; continue with --resume)", stats.queued_left)
            } else {
                String::new()
            }
        );
    }
    Ok(stats)
}

/// Runs `markhound crawl`. Exits 1 when some pages failed (they are listed in the
/// log); everything fetched is stored.
pub fn run(global: &Global, args: CrawlArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open(&global.db)?;
    let store = Arc::new(Store::open(&db).context("cannot open the store")?);
    let pipeline = Arc::new(Pipeline::from_registry(
        &db,
        &args.flags.pipeline_config(None)?,
    )?);
    let stats = crawl(global, &db, &store, &pipeline, &args.targets, &args.flags)?;
    Ok(if stats.errors > 0 {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}
