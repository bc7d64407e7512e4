//! `markhound crawl`: fetch listings into the database, from a site profile or
//! plain URLs. The flags become a [`CrawlConfig`] here; the crawl itself lives in
//! `markhound::crawl`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use markhound::crawl::{
    CrawlConfig, CrawlMatcher, FetchConfig, Profile, RenderConfig, RenderMode, Seeds, Stats,
};
use markhound::engine::jetstream::crawl::publisher;
use markhound::engine::jetstream::LISTINGS_SUBJECT;
use markhound::pipeline::{Config, Pipeline};
use markhound::registry::Registry;
use markhound::store::Store;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Global, Outcome};

/// Environment variable scaling retry sleeps (backoff, Retry-After); tests set it
/// small so that retries take milliseconds.
pub const DELAY_SCALE_ENV: &str = "MARKHOUND_DELAY_SCALE";

/// The flags that control a crawl (shared by `crawl` and `scan`). The limits are
/// optional so that `--resume` can tell a flag given again from one left out: a
/// resumed crawl keeps every limit it started with unless it is given anew.
#[derive(Debug, Args, Clone, Default)]
pub struct CrawlFlags {
    /// The most pages fetched in this run [default: 10000].
    #[arg(long, value_name = "N")]
    max_pages: Option<usize>,
    /// The most links followed from a result page (a start URL, or a page reached
    /// through pagination, which is not counted) [default: 2].
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,
    /// Fetches in flight at once, over all hosts [default: 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: Option<u16>,
    /// Fetches in flight at once on one host [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    per_host_concurrency: Option<u16>,
    /// Requests per second to one host; 0 lifts the limit (for your own servers)
    /// [default: 1].
    #[arg(long, value_name = "R", value_parser = parse_rps)]
    per_host_rps: Option<f64>,
    /// The most pages fetched from one host [default: 50000].
    #[arg(long, value_name = "N")]
    max_pages_per_host: Option<usize>,
    /// Continue the previous crawl (of the targets given, or of the ones recorded
    /// when none are), with the limits it started with: finished pages are not
    /// fetched again.
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
    /// Fetch every page and photo through this HTTP(S) proxy. The proxy resolves
    /// host names, so refusing private addresses becomes its job. Without this flag
    /// the HTTP_PROXY/HTTPS_PROXY/ALL_PROXY variables are ignored.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// The largest page body kept, in bytes: a longer plain body is cut, a
    /// compressed one that inflates past it is refused [default: 5242880].
    #[arg(long, value_name = "BYTES")]
    max_body: Option<usize>,
    /// Exit with status 1 when any page failed (by default a crawl that stored
    /// what it could succeeds, and lists its failures).
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    render: RenderFlags,
}

/// When to render pages in headless Chromium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderArg {
    /// Pages whose static HTML yields no listing; without Chromium, a warning
    /// and static HTML only.
    Auto,
    /// Every page; fails without Chromium.
    Always,
    /// No page.
    Never,
}

impl From<RenderArg> for RenderMode {
    fn from(a: RenderArg) -> RenderMode {
        match a {
            RenderArg::Auto => RenderMode::Auto,
            RenderArg::Always => RenderMode::Always,
            RenderArg::Never => RenderMode::Never,
        }
    }
}

/// The rendering flags (shared by `crawl`, `scan` and `extract`).
#[derive(Debug, Args, Clone, Default)]
pub struct RenderFlags {
    /// Render pages built by script in headless Chromium (every request of the
    /// browser under the same address guard, robots.txt and per-host limits);
    /// `--render` alone is `auto`; name another with `--render=always`
    /// [default: never].
    #[arg(
        long,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "auto"
    )]
    pub(super) render: Option<RenderArg>,
    /// The most pages rendered in one crawl [default: 500].
    #[arg(long, value_name = "N")]
    max_renders: Option<usize>,
    /// The Chromium executable [default: chromium, chromium-browser or
    /// google-chrome on the PATH].
    #[arg(long, value_name = "PATH")]
    chromium: Option<PathBuf>,
    /// The longest one page's render may take, in seconds; a page not rendered
    /// by then keeps its static HTML and the browser is restarted [default: 45].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    render_timeout: Option<u64>,
}

impl RenderFlags {
    /// The render configuration these flags ask for.
    pub fn config(&self) -> RenderConfig {
        let d = RenderConfig::default();
        RenderConfig {
            mode: self.render.map_or(d.mode, RenderMode::from),
            max_renders: self.max_renders.unwrap_or(d.max_renders),
            chromium: self.chromium.clone(),
            page_timeout: self
                .render_timeout
                .map_or(d.page_timeout, Duration::from_secs),
            navigation_timeout: self.render_timeout.map_or(d.navigation_timeout, |s| {
                d.navigation_timeout.min(Duration::from_secs(s))
            }),
            ..d
        }
    }
}

/// The limits a crawl started with, recorded for `--resume`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Limits {
    max_pages: Option<usize>,
    max_depth: Option<u32>,
    concurrency: Option<u16>,
    per_host_concurrency: Option<u16>,
    per_host_rps: Option<f64>,
    max_pages_per_host: Option<usize>,
    allow_private: bool,
    allow_host: Vec<String>,
    contact: Option<String>,
    max_body: Option<usize>,
    strict: bool,
    #[serde(default)]
    proxy: Option<String>,
    #[serde(default)]
    render: Option<RenderArg>,
    #[serde(default)]
    max_renders: Option<usize>,
    #[serde(default)]
    chromium: Option<PathBuf>,
    #[serde(default)]
    render_timeout: Option<u64>,
}

/// The sled tree and key where a crawl's limits are kept.
use markhound::db::trees::CRAWL_META as LIMITS_TREE;
const LIMITS_KEY: &str = "limits";

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
            max_pages: Some(500),
            max_depth: Some(10),
            concurrency: Some(8),
            per_host_concurrency: Some(8),
            per_host_rps: Some(100.0),
            max_pages_per_host: Some(500),
            allow_private: true,
            ..CrawlFlags::default()
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_pages: self.max_pages,
            max_depth: self.max_depth,
            concurrency: self.concurrency,
            per_host_concurrency: self.per_host_concurrency,
            per_host_rps: self.per_host_rps,
            max_pages_per_host: self.max_pages_per_host,
            allow_private: self.allow_private,
            allow_host: self.allow_host.clone(),
            contact: self.contact.clone(),
            max_body: self.max_body,
            strict: self.strict,
            proxy: self.proxy.clone(),
            render: self.render.render,
            max_renders: self.render.max_renders,
            chromium: self.render.chromium.clone(),
            render_timeout: self.render.render_timeout,
        }
    }

    /// These flags, with the ones not given taken from `earlier` (a resumed crawl).
    fn or(&self, earlier: &Limits) -> CrawlFlags {
        CrawlFlags {
            max_pages: self.max_pages.or(earlier.max_pages),
            max_depth: self.max_depth.or(earlier.max_depth),
            concurrency: self.concurrency.or(earlier.concurrency),
            per_host_concurrency: self.per_host_concurrency.or(earlier.per_host_concurrency),
            per_host_rps: self.per_host_rps.or(earlier.per_host_rps),
            max_pages_per_host: self.max_pages_per_host.or(earlier.max_pages_per_host),
            resume: self.resume,
            allow_private: self.allow_private || earlier.allow_private,
            allow_host: if self.allow_host.is_empty() {
                earlier.allow_host.clone()
            } else {
                self.allow_host.clone()
            },
            contact: self.contact.clone().or_else(|| earlier.contact.clone()),
            max_body: self.max_body.or(earlier.max_body),
            strict: self.strict || earlier.strict,
            proxy: self.proxy.clone().or_else(|| earlier.proxy.clone()),
            render: RenderFlags {
                render: self.render.render.or(earlier.render),
                max_renders: self.render.max_renders.or(earlier.max_renders),
                chromium: self
                    .render
                    .chromium
                    .clone()
                    .or_else(|| earlier.chromium.clone()),
                render_timeout: self.render.render_timeout.or(earlier.render_timeout),
            },
        }
    }

    /// Whether `--strict` was given.
    pub fn is_strict(&self) -> bool {
        self.strict
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
        let d = CrawlConfig::default();
        let mut fetch = FetchConfig::new(self.contact.as_deref());
        fetch.allow_private = self.allow_private;
        fetch.allow_hosts = self.allow_host.clone();
        fetch.proxy = self.proxy.clone();
        fetch.max_body = self.max_body.unwrap_or(5 << 20).max(1024);
        let delay_scale = match std::env::var(DELAY_SCALE_ENV) {
            Ok(v) => v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .with_context(|| format!("{DELAY_SCALE_ENV}: not a number: {v}"))?,
            Err(_) => 1.0,
        };
        Ok(CrawlConfig {
            max_pages: self.max_pages.unwrap_or(d.max_pages),
            max_depth: self.max_depth.unwrap_or(d.max_depth),
            concurrency: self.concurrency.map_or(d.concurrency, usize::from),
            per_host_concurrency: self
                .per_host_concurrency
                .map_or(d.per_host_concurrency, usize::from),
            per_host_rps: self.per_host_rps.unwrap_or(d.per_host_rps),
            max_pages_per_host: self.max_pages_per_host.unwrap_or(d.max_pages_per_host),
            delay_scale,
            fetch,
            render: self.render.config(),
            ..d
        })
    }
}

/// The limits recorded by the crawl that started in `db`, if any.
fn recorded_limits(db: &sled::Db) -> anyhow::Result<Option<Limits>> {
    let tree = db
        .open_tree(LIMITS_TREE)
        .context("cannot open the crawl's limits")?;
    match tree
        .get(LIMITS_KEY)
        .context("cannot read the crawl's limits")?
    {
        None => Ok(None),
        Some(v) => Ok(Some(
            serde_json::from_slice(&v).context("the recorded crawl limits are unreadable")?,
        )),
    }
}

fn record_limits(db: &sled::Db, limits: &Limits) -> anyhow::Result<()> {
    let tree = db
        .open_tree(LIMITS_TREE)
        .context("cannot open the crawl's limits")?;
    tree.insert(
        LIMITS_KEY,
        serde_json::to_vec(limits).expect("limits serialise"),
    )
    .context("cannot record the crawl's limits")?;
    Ok(())
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
    /// Also publish the listings stored on NATS JetStream (e.g.
    /// nats://127.0.0.1:4222) for `markhound worker`s to match, instead of
    /// matching them here; `serve --nats` stores their findings.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
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
/// each listing found is matched by `matcher` and stored with its findings.
pub fn crawl(
    global: &Global,
    db: &sled::Db,
    store: &Arc<Store>,
    matcher: Arc<dyn CrawlMatcher>,
    targets: &[String],
    flags: &CrawlFlags,
) -> anyhow::Result<Stats> {
    // A resumed crawl keeps the limits it started with; a new one records its own.
    let flags = if flags.resume {
        match recorded_limits(db)? {
            Some(earlier) => flags.or(&earlier),
            None => flags.clone(),
        }
    } else {
        record_limits(db, &flags.limits())?;
        flags.clone()
    };
    let flags = &flags;
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
        matcher,
        &progress,
    ))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !global.quiet {
        eprintln!("{}", summary(&stats));
    }
    Ok(stats)
}

/// The summary line of a crawl, then its failures by kind.
pub fn summary(stats: &Stats) -> String {
    let mut s = format!(
        "crawled {} pages in {:.1}s ({:.1} pages/s): {} listings stored, {} errors, {} disallowed by robots.txt, {} skipped by the per-host limit",
        stats.pages,
        stats.elapsed.as_secs_f64(),
        stats.pages as f64 / stats.elapsed.as_secs_f64().max(0.001),
        stats.listings,
        stats.errors,
        stats.blocked,
        stats.skipped,
    );
    if stats.beyond_depth > 0 {
        s += &format!(
            ", {} links beyond --max-depth not followed",
            stats.beyond_depth
        );
    }
    if stats.rendered + stats.render_failed > 0 {
        s += &format!(
            ", {} pages rendered in Chromium ({} of their requests refused, {} renders failed)",
            stats.rendered, stats.render_refused, stats.render_failed
        );
    }
    if stats.queued_left > 0 {
        s += &format!(
            ", {} still queued (--max-pages reached; continue with --resume)",
            stats.queued_left
        );
    }
    if !stats.failures.is_empty() {
        s += "\nfailed pages by cause (run with -v for each URL):";
        for (kind, n) in &stats.failures {
            s += &format!("\n  {kind}: {n}");
        }
    }
    s
}

/// The exit status of a crawl: a crawl that fetched what it could succeeds;
/// one that could fetch nothing fails, and with `--strict` any failed page fails it.
pub fn outcome(stats: &Stats, strict: bool) -> Outcome {
    let nothing = stats.pages == 0 && stats.errors > 0;
    if nothing || (strict && stats.errors > 0) {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

/// Runs `markhound crawl`. Exits 1 when no page could be fetched, or with
/// `--strict` when any page failed (failures are listed by cause); a store write
/// failure is an error.
pub fn run(global: &Global, args: CrawlArgs) -> anyhow::Result<Outcome> {
    let db = markhound::db::open(&global.db)?;
    let store = Arc::new(Store::open(&db).context("cannot open the store")?);
    let pipeline = Arc::new(Pipeline::from_registry(
        &db,
        &args.flags.pipeline_config(None)?,
    )?);
    let stats = match &args.nats {
        None => {
            let matcher = markhound::pipeline::crawl_matcher(pipeline);
            crawl(global, &db, &store, matcher, &args.targets, &args.flags)?
        }
        Some(url) => {
            let (forwarder, publisher) =
                publisher(url, pipeline.registry_version()).context("crawl --nats")?;
            let stats = crawl(
                global,
                &db,
                &store,
                Arc::new(forwarder),
                &args.targets,
                &args.flags,
            )?;
            // The crawl dropped the forwarder: the publisher drains and stops.
            let published = publisher
                .join()
                .map_err(|_| anyhow::anyhow!("this is a bug in markhound: the publisher failed"))?
                .context("cannot publish the crawled listings")?;
            if !global.quiet {
                eprintln!("published {published} listings on {LISTINGS_SUBJECT}");
            }
            stats
        }
    };
    let strict =
        args.flags.strict || (args.flags.resume && recorded_limits(&db)?.is_some_and(|l| l.strict));
    Ok(outcome(&stats, strict))
}
