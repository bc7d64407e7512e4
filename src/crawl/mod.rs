//! The crawler: fetches marketplace pages politely and turns them into
//! [`Listing`](crate::listing::Listing)s stored with their evidence.
//!
//! Two modes:
//! - **Site profile** (a TOML file, below): start URLs, which links lead to listing
//!   pages and to the next result page, and CSS selectors for the listing fields.
//! - **Plain URLs**: same-site links are followed and a listing is extracted wherever
//!   a page shows one product ([`extract`]: markup, application state, document
//!   heuristics).
//!
//! Depth counts hops from a result page (a start URL or a page reached through
//! pagination); the next result page (`rel=next`, a profile's `next_page`, a
//! `?page=N` link of the same path) keeps its page's depth, so pagination is bounded
//! by `max_pages` only.
//!
//! Politeness is on by default: robots.txt (with `Crawl-delay`), a per-host request
//! rate and concurrency, exponential backoff with jitter on 429 and 5xx honouring
//! `Retry-After`, an honest User-Agent, timeouts, a body-size cap (compression bombs
//! are refused) and a redirect limit.
//! Private, loopback and link-local addresses are refused unless allowed
//! ([`fetch`]). The frontier lives in the database, so a killed crawl resumes.
//!
//! The photos of crawled listings are fetched by the crawl itself, under the same
//! rules as pages (address guard, robots.txt, per-host rate and concurrency,
//! retries, body cap), and handed to the [`CrawlMatcher`] with the listing; each
//! page is committed with its listing's findings. Photos named by listings handed
//! in (`markhound match`, `serve --fetch-images`) are fetched by [`ImageFetcher`]
//! (`images`), under the same address guard.
//!
//! # Site profile format
//!
//! ```toml
//! name = "example-market"            # the marketplace name stored with each listing
//! # Start URLs; {query} is replaced by every mark's name and alias (URL-encoded).
//! start_urls = ["https://market.example/search?q={query}"]
//! # Regular expressions a URL must match to be fetched. Without any, URLs on the
//! # hosts of the start URLs are allowed.
//! allow = ['^https://market\.example/(search|item)/']
//! listing_links = "a.result-title"   # CSS: links from result pages to listing pages
//! next_page = "a[rel=next]"          # CSS: the link to the next result page
//!
//! [fields]                           # CSS selectors on listing pages; all optional
//! id = "[data-listing-id]"           # `content`/`data-id` attribute, else the text
//! title = "h1"
//! description = ".description"
//! price = ".price"                   # `content` attribute, else the text: "$1,299.00"
//! currency = "[itemprop=priceCurrency]"
//! brand = ".brand"
//! category = ".breadcrumb li:last-child"
//! seller_id = ".seller[data-id]"
//! seller_name = ".seller"
//! seller_url = "a.seller"            # its `href`
//! images = ".gallery img"            # every `src`
//! ```
//!
//! A field without a selector, or whose selector matches nothing, is taken from the
//! page's structured data when it has any; otherwise it stays missing. A listing
//! without a title is not stored. The id defaults to the canonical URL.

mod address;
pub mod canon;
pub mod decode;
pub mod engine;
pub mod extract;
pub mod fetch;
mod images;
pub mod politeness;
pub mod price;
pub mod profile;
pub mod render;

use std::time::Duration;

pub use address::{is_public, PrivateAddress};
pub use engine::{run, Seeds};
pub use fetch::FetchConfig;
pub use images::{is_url, FetchError, FetchOptions, ImageFetcher};
pub use politeness::Backoff;
pub use profile::{Profile, ProfileError};
pub use render::{RenderConfig, RenderMode};

/// Matches the listings a crawl finds, before each is committed with its page.
pub trait CrawlMatcher: Send + Sync {
    /// The registry version findings are computed against.
    fn registry_version(&self) -> u64;
    /// The findings of `listing`, its photos read by `photos` (`None`: supplied
    /// hashes only).
    fn matched(
        &self,
        listing: &crate::listing::Listing,
        photos: Option<&dyn crate::photos::PhotoLoader>,
    ) -> crate::store::Matched;
}

/// The product token matched against robots.txt groups.
pub const ROBOTS_AGENT: &str = "markhound";

/// The default `max_depth`: a result page, the listings it links to, and one hop
/// further (a seller's page, a variant). Pagination does not count, so a search
/// of any length is crawled whole within `max_pages`.
pub const DEFAULT_MAX_DEPTH: u32 = 2;

/// How to crawl.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// The most pages fetched in this run.
    pub max_pages: usize,
    /// The most hops followed from a result page (a start URL or a page reached
    /// through pagination); the next result page is not a hop.
    pub max_depth: u32,
    /// Fetches in flight at once, over all hosts.
    pub concurrency: usize,
    /// Fetches in flight at once on one host.
    pub per_host_concurrency: usize,
    /// Requests per second to one host; 0 lifts the limit (robots.txt
    /// `Crawl-delay` still holds).
    pub per_host_rps: f64,
    /// The most pages fetched from one host (a trap guard).
    pub max_pages_per_host: usize,
    /// Backoff on 429, 5xx and transient errors.
    pub backoff: Backoff,
    /// The longest `Retry-After` honoured; longer requests are capped.
    pub max_retry_after: Duration,
    /// Multiplies retry sleeps; 1 in normal use, small in tests.
    pub delay_scale: f64,
    /// HTTP settings.
    pub fetch: FetchConfig,
    /// Rendering pages built by script in headless Chromium (`--render`).
    pub render: RenderConfig,
}

impl Default for CrawlConfig {
    fn default() -> CrawlConfig {
        CrawlConfig {
            max_pages: 10_000,
            max_depth: DEFAULT_MAX_DEPTH,
            concurrency: 8,
            per_host_concurrency: 2,
            per_host_rps: 1.0,
            max_pages_per_host: 50_000,
            backoff: Backoff::default(),
            max_retry_after: Duration::from_secs(120),
            delay_scale: 1.0,
            fetch: FetchConfig::new(None),
            render: RenderConfig::default(),
        }
    }
}

/// Counters of a crawl, for the progress bar and the summary.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Fetches started.
    pub pages_started: usize,
    /// Pages fetched successfully.
    pub pages: usize,
    /// Listings stored.
    pub listings: usize,
    /// Pages given up on (errors, robots.txt).
    pub errors: usize,
    /// The failed pages by kind of failure (`HTTP 404`, `network error`, ...).
    pub failures: std::collections::BTreeMap<String, usize>,
    /// Links not followed because they were more than `max_depth` hops from a
    /// result page.
    pub beyond_depth: usize,
    /// Pages robots.txt disallows.
    pub blocked: usize,
    /// Pages skipped by a trap guard.
    pub skipped: usize,
    /// Pages rendered in Chromium.
    pub rendered: usize,
    /// Pages whose render failed (timeout, browser crash); their static HTML
    /// was used.
    pub render_failed: usize,
    /// Requests of rendered pages refused (address guard, robots.txt, fetch
    /// errors).
    pub render_refused: usize,
    /// URLs still queued at the end (`max_pages` reached).
    pub queued_left: usize,
    /// Time spent.
    pub elapsed: Duration,
}

/// Why a crawl stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrawlError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The HTTP client could not be built.
    #[error("cannot start the HTTP client")]
    Client(#[source] reqwest::Error),
    /// `--render=always` without a browser.
    #[error("cannot render pages")]
    Render(#[source] render::RenderError),
    /// A fetch task panicked.
    #[error("a fetch task failed: {0}")]
    Task(String),
}
