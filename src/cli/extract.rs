//! `markhound extract URL|FILE.html [--json]`: what the crawler would store for one
//! page, and where each field came from, so a user can see why a page yields
//! nothing and write a site profile where needed. Nothing is stored.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use markhound::crawl::extract::{extract, Extracted};
use markhound::crawl::fetch::{Fetcher, Page};
use markhound::crawl::render::{Gate, Renderer};
use markhound::crawl::{FetchConfig, Profile, RenderConfig, RenderMode};
use serde_json::json;
use url::Url;

use super::{Global, Outcome};

/// Arguments of `markhound extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// An http(s) URL to fetch, or a saved HTML file.
    #[arg(value_name = "URL|FILE.html")]
    target: String,
    /// The page's address when reading a file (resolves relative links and sets
    /// the marketplace name); defaults to a file: URL.
    #[arg(long, value_name = "URL")]
    url: Option<Url>,
    /// Extract with this site profile's selectors, as a crawl with it would.
    #[arg(long, value_name = "PROFILE.toml")]
    profile: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Allow private, loopback and link-local addresses (your own test servers).
    #[arg(long)]
    allow_private: bool,
    /// How site owners can reach you; added to the User-Agent.
    #[arg(long, value_name = "EMAIL|URL")]
    contact: Option<String>,
    /// Render the page in headless Chromium first (for pages built by script);
    /// every request of the browser goes through the address guard. A saved file
    /// is rendered as if served at --url.
    #[arg(long)]
    render: bool,
    /// The Chromium executable [default: chromium, chromium-browser or
    /// google-chrome on the PATH].
    #[arg(long, value_name = "PATH", requires = "render")]
    chromium: Option<PathBuf>,
}

fn fetcher(args: &ExtractArgs) -> anyhow::Result<Fetcher> {
    let mut config = FetchConfig::new(args.contact.as_deref());
    config.allow_private = args.allow_private;
    Fetcher::new(config).context("cannot start the HTTP client")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Reads the page: a file, or one GET under the crawler's address guard, size cap
/// and timeouts.
fn load(args: &ExtractArgs) -> anyhow::Result<(String, Url)> {
    if let Ok(url) = Url::parse(&args.target) {
        if matches!(url.scheme(), "http" | "https") {
            let fetcher = fetcher(args)?;
            let page = runtime()?
                .block_on(fetcher.get(&url))
                .with_context(|| format!("cannot fetch {url}"))?;
            if !(200..300).contains(&page.status) {
                bail!("{url}: HTTP {}", page.status);
            }
            return Ok((
                String::from_utf8_lossy(&page.body).into_owned(),
                page.final_url,
            ));
        }
    }
    let path = PathBuf::from(&args.target);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let base = match &args.url {
        Some(u) => u.clone(),
        None => {
            let abs = std::path::absolute(&path).unwrap_or(path.clone());
            Url::from_file_path(&abs)
                .map_err(|()| anyhow::anyhow!("{}: not a usable path", path.display()))?
        }
    };
    Ok((String::from_utf8_lossy(&bytes).into_owned(), base))
}

fn print_text(e: &Extracted, out: &mut impl Write) -> std::io::Result<()> {
    let Some(l) = &e.listing else {
        writeln!(out, "no listing: the page declares no product (no schema.org Product in JSON-LD, microdata or RDFa, no OpenGraph product tags, no product in its application state) and the heuristics found no title with a main price next to a buy control")?;
        if let Some(a) = e.amount_without_currency {
            writeln!(out, "(an amount {a} was found without a currency)")?;
        }
        writeln!(out, "write a site profile for this marketplace: see `markhound crawl --help` and the README")?;
        return Ok(());
    };
    let source = |field: &str| -> String {
        e.sources
            .iter()
            .find(|s| s.field == field)
            .map(|s| format!("  [{} {:.2}]", s.source.name(), s.confidence))
            .unwrap_or_default()
    };
    writeln!(out, "id:          {}{}", l.id, source("id"))?;
    writeln!(out, "title:       {}{}", l.title, source("title"))?;
    if let Some(p) = &l.price {
        writeln!(out, "price:       {}{}", p.amount, source("price"))?;
        writeln!(out, "currency:    {}{}", p.currency, source("currency"))?;
    } else if let Some(a) = e.amount_without_currency {
        writeln!(out, "price:       {a} (no currency found: not stored)")?;
    }
    if let Some(b) = &l.brand {
        writeln!(out, "brand:       {b}{}", source("brand"))?;
    }
    if let Some(s) = &l.seller {
        writeln!(
            out,
            "seller:      {}{}{}",
            s.name.as_deref().unwrap_or(&s.id),
            s.url
                .as_deref()
                .map(|u| format!(" <{u}>"))
                .unwrap_or_default(),
            source("seller")
        )?;
    }
    if let Some(c) = &l.category {
        writeln!(out, "category:    {c}{}", source("category"))?;
    }
    if let Some(u) = &l.url {
        writeln!(out, "url:         {u}{}", source("url"))?;
    }
    if let Some(m) = &l.marketplace {
        writeln!(out, "marketplace: {m}")?;
    }
    for (i, img) in l.images.iter().enumerate() {
        let label = if i == 0 { "images:" } else { "" };
        let src = if i == 0 {
            source("images")
        } else {
            String::new()
        };
        writeln!(out, "{label:<13}{img}{src}")?;
    }
    if let Some(d) = &l.description {
        let short: String = d.chars().take(160).collect();
        let more = if d.chars().count() > 160 { "..." } else { "" };
        writeln!(out, "description: {short}{more}{}", source("description"))?;
    }
    Ok(())
}

/// Renders the page in headless Chromium: its document is `html`, every other
/// request goes through the address guard (and the body cap and timeouts).
fn render(args: &ExtractArgs, html: String, base: &Url) -> anyhow::Result<String> {
    if !matches!(base.scheme(), "http" | "https") {
        bail!("--render needs the page's http(s) address: give a URL, or --url with a file");
    }
    let renderer = Renderer::new(RenderConfig {
        mode: RenderMode::Always,
        chromium: args.chromium.clone(),
        ..RenderConfig::default()
    })?;
    let fetcher = std::sync::Arc::new(fetcher(args)?);
    let gate: std::sync::Arc<Gate> = std::sync::Arc::new(move |url: Url| {
        let fetcher = std::sync::Arc::clone(&fetcher);
        Box::pin(async move {
            fetcher
                .get(&url)
                .await
                .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
        })
    });
    let first = Page {
        final_url: base.clone(),
        status: 200,
        retry_after: None,
        content_type: Some("text/html; charset=utf-8".into()),
        body: html.into_bytes(),
        truncated: false,
    };
    let runtime = runtime()?;
    let rendered = runtime.block_on(async {
        let r = renderer.render(base, &first, gate).await;
        renderer.shut_down().await;
        r
    })?;
    for refused in &rendered.blocked {
        eprintln!("refused: {refused}");
    }
    Ok(rendered.html)
}

/// Runs `markhound extract`. Exits 1 when the page yields no listing.
pub fn run(_global: &Global, args: ExtractArgs) -> anyhow::Result<Outcome> {
    let profile = args.profile.as_deref().map(Profile::load).transpose()?;
    let (html, base) = load(&args)?;
    let html = if args.render {
        render(&args, html, &base)?
    } else {
        html
    };
    let marketplace = match &profile {
        Some(p) => p.name.clone(),
        None => base.host_str().unwrap_or("local").to_owned(),
    };
    let e = extract(
        &html,
        &base,
        profile.as_ref().map(|p| &p.fields),
        &marketplace,
    );
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({
            "listing": e.listing,
            "sources": e.sources,
            "canonical": e.canonical.as_ref().map(Url::as_str),
            "amount_without_currency": e.amount_without_currency,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        print_text(&e, &mut out)?;
    }
    Ok(if e.listing.is_some() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
