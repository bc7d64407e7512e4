//! The crawl loop: takes URLs from the frontier, fetches them under the politeness
//! rules (robots.txt, per-host concurrency and rate, backoff), extracts listings and
//! links, and commits each page to the [`Store`] as one transaction. Fetches run in a
//! bounded [`JoinSet`]; the store is written from the loop only, and flushed after
//! each batch of commits (group commit), so a kill loses at most the pages in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use url::Url;

use super::extract;
use super::fetch::{FetchError, Fetcher, Page};
use super::politeness::{is_retryable, parse_retry_after, Backoff, RateLimiter};
use super::profile::Profile;
use super::render::{Gate, RenderError, RenderMode, Rendered, Renderer};
use super::CrawlMatcher;
use super::{canon, CrawlConfig, CrawlError, Stats};
use crate::listing::{Evidence, Listing};
use crate::photos::{error_chain, PhotoLoader, MAX_PHOTOS};
use crate::store::{Incoming, PageCommit, PageKind, Queued, Scored, Store, UrlStatus};

/// The actor named in the audit log for findings a crawl stores.
const ACTOR: &str = "crawl";

/// What to crawl.
#[derive(Debug, Clone)]
pub enum Seeds {
    /// A site profile and the queries its `{query}` start URLs expand to.
    Profile(Arc<Profile>, Vec<String>),
    /// Plain mode: start URLs; same-site links are followed.
    Urls(Vec<Url>),
}

impl Seeds {
    fn allows(&self, url: &Url) -> bool {
        match self {
            Seeds::Profile(p, _) => p.allows(url),
            Seeds::Urls(starts) => starts.iter().any(|s| {
                s.host_str() == url.host_str()
                    && s.port_or_known_default() == url.port_or_known_default()
            }),
        }
    }

    fn start(&self) -> Vec<(String, PageKind)> {
        match self {
            Seeds::Profile(p, queries) => p
                .expand_start_urls(queries)
                .into_iter()
                .filter_map(|u| Url::parse(&u).ok())
                .filter_map(|u| canon::canonicalize(&u))
                .map(|u| (u.to_string(), PageKind::Index))
                .collect(),
            Seeds::Urls(urls) => urls
                .iter()
                .filter_map(canon::canonicalize)
                .map(|u| (u.to_string(), PageKind::Any))
                .collect(),
        }
    }
}

/// Per-host politeness state.
struct Host {
    robots: OnceCell<Robots>,
    limiter: Mutex<RateLimiter>,
    slots: Semaphore,
}

/// What robots.txt says about a host.
enum Robots {
    /// No usable robots.txt: everything is allowed.
    AllowAll,
    /// The host's rules.
    Rules(Box<texting_robots::Robot>),
    /// robots.txt could not be fetched: the host is skipped.
    Unreachable(String),
}

/// What the fetch task hands back to the loop.
struct Outcome {
    page: Queued,
    result: Result<Fetched, PageError>,
}

/// Why a page yielded nothing.
enum PageError {
    /// robots.txt disallows it: expected, not an error.
    Blocked(String),
    /// Fetching or parsing failed: the kind of failure (`HTTP 404`, `network
    /// error`, ...), for the summary, and the message, for the log.
    Failed(String, String),
}

fn failed(kind: impl Into<String>) -> impl FnOnce(String) -> PageError {
    let kind = kind.into();
    move |message| PageError::Failed(kind, message)
}

struct Fetched {
    page: Page,
    fetched_at: chrono::DateTime<chrono::Utc>,
    listing: Option<Scored>,
    links: Vec<Link>,
    render: Option<RenderNote>,
}

/// What rendering did for a page.
enum RenderNote {
    /// Rendered; the browser's requests the crawl refused.
    Rendered { blocked: usize },
    /// The render failed (logged); the static HTML was used.
    Failed,
}

/// A link found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    url: String,
    kind: PageKind,
    /// The next result page of the same list: not a hop, it keeps the depth.
    pagination: bool,
}

struct Shared {
    fetcher: Fetcher,
    config: CrawlConfig,
    seeds: Seeds,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// The page each listing id of this crawl was given to (see
    /// [`Shared::unique_id`]).
    claimed: Mutex<HashMap<String, String>>,
    store: Arc<Store>,
    matcher: Arc<dyn CrawlMatcher>,
    /// Headless Chromium for pages built by script (`--render`).
    renderer: Option<Renderer>,
}

/// The photos of one listing, fetched by the crawler before matching: each URL's
/// bytes, or why it could not be fetched.
struct FetchedPhotos(HashMap<String, Result<Vec<u8>, String>>);

impl PhotoLoader for FetchedPhotos {
    fn load(&self, source: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(source)
            .cloned()
            .unwrap_or_else(|| Err(format!("{source}: not fetched")))
    }
}

impl Shared {
    fn host(&self, url: &Url) -> Arc<Host> {
        let key = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
            + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let mut hosts = self.hosts.lock().expect("host map lock");
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Host {
                    robots: OnceCell::new(),
                    limiter: Mutex::new(RateLimiter::new(self.config.per_host_rps)),
                    slots: Semaphore::new(self.config.per_host_concurrency.max(1)),
                })
            })
            .clone()
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.config.delay_scale)
    }

    async fn wait_turn(&self, host: &Host) {
        let wait = host
            .limiter
            .lock()
            .expect("limiter lock")
            .reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// robots.txt of the host, fetched once. A missing file (4xx) allows all; a
    /// failing or unreachable one (5xx, network error) skips the host, as is usual,
    /// and each of its pages counts as failed.
    async fn robots<'h>(&self, url: &Url, host: &'h Host) -> &'h Robots {
        host.robots
            .get_or_init(|| async {
                let Ok(robots_url) = url.join("/robots.txt") else {
                    return Robots::AllowAll;
                };
                self.wait_turn(host).await;
                match self.fetcher.get(&robots_url).await {
                    Ok(p) if (200..300).contains(&p.status) => {
                        match texting_robots::Robot::new(super::ROBOTS_AGENT, &p.body) {
                            Ok(r) => {
                                if let Some(d) = r.delay {
                                    host.limiter
                                        .lock()
                                        .expect("limiter lock")
                                        .at_least(Duration::from_secs_f32(d.clamp(0.0, 60.0)));
                                }
                                Robots::Rules(Box::new(r))
                            }
                            Err(e) => {
                                tracing::warn!(url = %robots_url, "unreadable robots.txt, obeying none: {e}");
                                Robots::AllowAll
                            }
                        }
                    }
                    Ok(p) if (400..500).contains(&p.status) => Robots::AllowAll,
                    Ok(p) => Robots::Unreachable(format!("{robots_url}: HTTP {}", p.status)),
                    Err(e) => Robots::Unreachable(error_chain(&e)),
                }
            })
            .await
    }

    /// Fetches with retries on 429, 5xx and transient errors. A page follows
    /// redirects only to pages the crawl may fetch (its `allow` patterns or start
    /// hosts); photos and robots.txt may redirect to any host the guard allows.
    async fn fetch(&self, url: &Url, host: &Host, page: bool) -> Result<Page, FetchError> {
        let backoff: Backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            self.wait_turn(host).await;
            let result = {
                let _slot = host
                    .slots
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                if page {
                    let seeds = &self.seeds;
                    self.fetcher
                        .get_in_scope(url, &|next| {
                            seeds.allows(next) && !canon::looks_like_trap(next)
                        })
                        .await
                } else {
                    self.fetcher.get(url).await
                }
            };
            let retry_in = match &result {
                Ok(p) if is_retryable(p.status) => {
                    let asked = p
                        .retry_after
                        .as_deref()
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        .map(|d| d.min(self.config.max_retry_after));
                    let d = asked.unwrap_or_else(|| backoff.delay(attempt, rand::random()));
                    if p.status == 429 || asked.is_some() {
                        // The whole host slows down, not just this URL.
                        host.limiter
                            .lock()
                            .expect("limiter lock")
                            .pause(Instant::now(), self.scaled(d));
                    }
                    Some(d)
                }
                Err(e) if e.is_transient() => Some(backoff.delay(attempt, rand::random())),
                _ => None,
            };
            match retry_in {
                Some(d) if attempt < backoff.retries => {
                    tracing::info!(%url, attempt, delay_ms = d.as_millis() as u64, "retrying");
                    tokio::time::sleep(self.scaled(d)).await;
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    /// Fetches the photos of a listing under the same rules as pages: the address
    /// guard, robots.txt, the host's rate and concurrency, retries and the body cap.
    async fn fetch_photos(&self, listing: &Listing, base: &Url) -> FetchedPhotos {
        let mut out = HashMap::new();
        for source in listing.images.iter().take(MAX_PHOTOS) {
            if out.contains_key(source) {
                continue;
            }
            let result = self.fetch_photo(source, base).await;
            out.insert(source.clone(), result);
        }
        FetchedPhotos(out)
    }

    async fn fetch_photo(&self, source: &str, base: &Url) -> Result<Vec<u8>, String> {
        let url = base
            .join(source)
            .map_err(|e| format!("{source}: not a URL ({e})"))?;
        let page = self.fetch_resource(&url).await?;
        if !(200..300).contains(&page.status) {
            return Err(format!("{url}: HTTP {}", page.status));
        }
        if page.truncated {
            return Err(format!(
                "{url}: larger than the body limit of {} bytes",
                self.fetcher.config().max_body
            ));
        }
        Ok(page.body)
    }

    /// Fetches a photo, or a script or data a rendered page asks for, under the
    /// rules of pages: the address guard, robots.txt, the host's rate and
    /// concurrency, retries and the body cap. `Err` says why it was refused.
    async fn fetch_resource(&self, url: &Url) -> Result<Page, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url}: not an http(s) URL"));
        }
        self.fetcher.check(url).map_err(|e| error_chain(&e))?;
        let host = self.host(url);
        match self.robots(url, &host).await {
            Robots::AllowAll => {}
            Robots::Rules(r) if r.allowed(url.as_str()) => {}
            Robots::Rules(_) => return Err(format!("{url}: disallowed by robots.txt")),
            Robots::Unreachable(e) => return Err(format!("{url}: robots.txt unavailable: {e}")),
        }
        self.fetch(url, &host, false)
            .await
            .map_err(|e| error_chain(&e))
    }

    /// The id a crawled listing is stored under. A page's declared id (a `sku`, a
    /// product id) is only trusted within its marketplace and crawl: shops reuse a
    /// `sku` across pages, and two shops may both have product "1". So a page whose
    /// declared id is already another page's (claimed by another URL in this crawl,
    /// or stored from another marketplace) is stored under its own canonical URL,
    /// and keeps that id in every later crawl. A listing whose URL changed within its
    /// marketplace (a new slug) keeps its declared id and its findings.
    fn unique_id(&self, listing: &Listing, final_url: &Url) -> Result<String, PageError> {
        let page = listing.url.clone().unwrap_or_else(|| final_url.to_string());
        if listing.id == page {
            return Ok(page);
        }
        let stored = |id: &str| {
            self.store
                .listing(id)
                .map_err(|e| failed("store error")(error_chain(&e)))
        };
        let mut claimed = self
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(owner) = claimed.get(&listing.id) {
            return Ok(if *owner == page {
                listing.id.clone()
            } else {
                page
            });
        }
        // Set apart in an earlier crawl: it stays apart.
        if stored(&page)?.is_some() {
            return Ok(page);
        }
        let same_owner = stored(&listing.id)?.is_none_or(|s| {
            let other = &s.listing;
            other.url.as_deref() == Some(page.as_str())
                || (other.url.is_some() && other.marketplace == listing.marketplace)
        });
        if !same_owner {
            return Ok(page);
        }
        claimed.insert(listing.id.clone(), page);
        Ok(listing.id.clone())
    }

    /// Matches a crawled listing (its photos fetched first, unless the store
    /// already holds it unchanged), ready to be committed with its page.
    async fn score(
        &self,
        listing: Listing,
        sources: Vec<extract::FieldSource>,
        page: &Page,
        fetched_at: chrono::DateTime<chrono::Utc>,
        rendered: bool,
    ) -> Result<Scored, PageError> {
        let mut listing = listing;
        listing.id = self.unique_id(&listing, &page.final_url)?;
        listing.fit_to_limits();
        let version = self.matcher.registry_version();
        let current = self
            .store
            .listing(&listing.id)
            .map_err(|e| failed("store error")(error_chain(&e)))?
            .is_some_and(|s| s.is_current(&crate::review::listing_sha256(&listing), version));
        let photos = if current {
            FetchedPhotos(HashMap::new())
        } else {
            self.fetch_photos(&listing, &page.final_url).await
        };
        let incoming = Incoming {
            listing,
            evidence: Some(Evidence {
                final_url: page.final_url.to_string(),
                status: page.status,
                fetched_at: fetched_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                sha256: hex::encode(Sha256::digest(&page.body)),
                truncated: page.truncated,
                sources,
                rendered,
            }),
            body: Some(page.body.clone()),
        };
        // Decoding and hashing photos is CPU work: off the async threads.
        let store = Arc::clone(&self.store);
        let matcher = Arc::clone(&self.matcher);
        let url = page.final_url.clone();
        tokio::task::spawn_blocking(move || {
            store.score(vec![incoming], version, |l| {
                matcher.matched(l, Some(&photos))
            })
        })
        .await
        .map_err(|e| failed("matching failed")(format!("{url}: matching failed: {e}")))?
        .map_err(|e| failed("store error")(format!("{url}: {}", error_chain(&e))))?
        .pop()
        .ok_or_else(|| failed("store error")(format!("{url}: nothing to store")))
    }

    async fn process(self: Arc<Self>, page: Queued) -> Outcome {
        let result = self.process_inner(&page).await;
        Outcome { page, result }
    }

    /// True when a page whose static HTML gave `parsed` is to be rendered: always,
    /// or (auto) when it yields nothing of what it is for: no listing, or on a
    /// profile's result page, no links.
    fn wants_render(&self, kind: PageKind, parsed: &Parsed) -> bool {
        let Some(r) = &self.renderer else {
            return false;
        };
        let wanted = match r.config().mode {
            RenderMode::Never => false,
            RenderMode::Always => true,
            RenderMode::Auto => match (&self.seeds, kind) {
                (Seeds::Profile(..), PageKind::Listing) | (Seeds::Urls(_), _) => {
                    parsed.listing.is_none()
                }
                (Seeds::Profile(..), _) => parsed.links.is_empty(),
            },
        };
        wanted && r.take_budget()
    }

    /// Renders `page` in Chromium, every request of the browser going through
    /// [`Shared::fetch_resource`].
    async fn render(self: &Arc<Self>, page: &Page) -> Result<Rendered, RenderError> {
        let renderer = self.renderer.as_ref().expect("checked by wants_render");
        let me = Arc::clone(self);
        let gate: Arc<Gate> = Arc::new(move |url: Url| {
            let me = Arc::clone(&me);
            Box::pin(async move { me.fetch_resource(&url).await })
        });
        renderer.render(&page.final_url, page, gate).await
    }

    async fn process_inner(self: &Arc<Self>, q: &Queued) -> Result<Fetched, PageError> {
        let url =
            Url::parse(&q.url).map_err(|e| failed("bad URL")(format!("bad URL {}: {e}", q.url)))?;
        let host = self.host(&url);
        // Refused addresses fail before anything is sent, robots.txt included.
        self.fetcher
            .check(&url)
            .map_err(|e| failed("refused address")(error_chain(&e)))?;
        match self.robots(&url, &host).await {
            Robots::AllowAll => {}
            Robots::Rules(r) if r.allowed(url.as_str()) => {}
            Robots::Rules(_) => {
                return Err(PageError::Blocked(format!(
                    "{url}: disallowed by robots.txt"
                )))
            }
            Robots::Unreachable(e) => {
                return Err(failed("robots.txt unavailable")(format!(
                    "{url}: skipped, robots.txt unavailable: {e}"
                )))
            }
        }
        let page = self.fetch(&url, &host, true).await.map_err(|e| {
            let kind = match &e {
                FetchError::Http { source, .. } if source.is_timeout() => "timeout",
                FetchError::Http { .. } => "network error",
                _ => "fetch refused",
            };
            failed(kind)(error_chain(&e))
        })?;
        let fetched_at = chrono::Utc::now();
        if !(200..300).contains(&page.status) {
            return Err(failed(format!("HTTP {}", page.status))(format!(
                "{url}: HTTP {}",
                page.status
            )));
        }
        let is_html = page
            .content_type
            .as_deref()
            .is_none_or(|t| t.contains("html") || t.contains("xml"));
        if !is_html {
            return Err(failed("not HTML")(format!(
                "{url}: not HTML ({})",
                page.content_type.as_deref().unwrap_or("")
            )));
        }
        let kind = q.state.kind;
        let mut page = page;
        let mut parsed = self.parse_off_thread(kind, &page).await?;
        let mut render = None;
        if self.wants_render(kind, &parsed) {
            match self.render(&page).await {
                Ok(r) => {
                    tracing::debug!(%url, fetched = r.fetched, blocked = r.blocked.len(), skipped = r.skipped, "rendered");
                    // The rendered document is the page's evidence.
                    page.body = r.html.into_bytes();
                    page.truncated = false;
                    parsed = self.parse_off_thread(kind, &page).await?;
                    render = Some(RenderNote::Rendered {
                        blocked: r.blocked.len(),
                    });
                }
                Err(e) => {
                    tracing::warn!("{}", error_chain(&e));
                    render = Some(RenderNote::Failed);
                }
            }
        }
        let rendered = matches!(render, Some(RenderNote::Rendered { .. }));
        let Parsed {
            listing,
            sources,
            links,
        } = parsed;
        let listing = match listing {
            Some(listing) => Some(
                self.score(listing, sources, &page, fetched_at, rendered)
                    .await?,
            ),
            None => None,
        };
        Ok(Fetched {
            page,
            fetched_at,
            listing,
            links,
            render,
        })
    }

    /// Parses a page off the async threads (parsing is CPU work).
    async fn parse_off_thread(&self, kind: PageKind, page: &Page) -> Result<Parsed, PageError> {
        let seeds = self.seeds.clone();
        let body = page.body.clone();
        let final_url = page.final_url.clone();
        tokio::task::spawn_blocking(move || parse(&seeds, kind, &body, &final_url))
            .await
            .map_err(|e| failed("parser failed")(format!("{}: parser failed: {e}", page.final_url)))
    }
}

/// Query parameters that number the pages of a result list (`?page=3`), as the
/// common shop and search software names them.
const PAGE_PARAMS: &[&str] = &[
    "page",
    "p",
    "pg",
    "pn",
    "pagina",
    "seite",
    "sayfa",
    "strana",
    "stranka",
    "side",
    "sivu",
    "page_num",
    "pagenum",
    "pagenumber",
    "currentpage",
    "pageindex",
    "start",
    "offset",
    "from",
];

/// True when `link` is another page of the same result list as `page`: the same
/// path, and the query differs only in a page-number parameter.
fn is_next_page(page: &Url, link: &Url) -> bool {
    if page.host_str() != link.host_str()
        || page.port_or_known_default() != link.port_or_known_default()
        || page.path() != link.path()
    {
        return false;
    }
    let numbered = |k: &str, v: &str| {
        PAGE_PARAMS.contains(&k.to_ascii_lowercase().as_str())
            && !v.is_empty()
            && v.len() <= 9
            && v.chars().all(|c| c.is_ascii_digit())
    };
    let rest = |u: &Url| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, v)| !numbered(k, v))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        v.sort();
        v
    };
    link.query_pairs().any(|(k, v)| numbered(&k, &v)) && rest(page) == rest(link)
}

/// What one page yields.
struct Parsed {
    listing: Option<crate::listing::Listing>,
    /// Where the listing's fields came from.
    sources: Vec<extract::FieldSource>,
    links: Vec<Link>,
}

/// Extracts the listing and the links to follow from one page, parsed once.
fn parse(seeds: &Seeds, kind: PageKind, body: &[u8], base: &Url) -> Parsed {
    let html = String::from_utf8_lossy(body);
    let page = extract::Page::parse(&html);
    let link = |u: Url, kind, pagination| Link {
        url: u.to_string(),
        kind,
        pagination,
    };
    match seeds {
        Seeds::Profile(p, _) => match kind {
            PageKind::Listing => {
                let e = page.extract(base, Some(&p.fields), &p.name);
                Parsed {
                    listing: e.listing,
                    sources: e.sources,
                    links: Vec::new(),
                }
            }
            _ => {
                let mut links = Vec::new();
                if let Some(s) = &p.listing_links {
                    links.extend(
                        page.links(base, Some(s))
                            .into_iter()
                            .map(|u| link(u, PageKind::Listing, false)),
                    );
                }
                if let Some(s) = &p.next_page {
                    links.extend(
                        page.links(base, Some(s))
                            .into_iter()
                            .map(|u| link(u, PageKind::Index, true)),
                    );
                }
                Parsed {
                    listing: None,
                    sources: Vec::new(),
                    links,
                }
            }
        },
        Seeds::Urls(_) => {
            let market = base.host_str().unwrap_or("unknown").to_owned();
            let e = page.extract(base, None, &market);
            let next: Vec<Url> = page.links(base, Some(&NEXT.0));
            // A listing page is not a result page: its links are hops.
            let result_page = e.listing.is_none();
            let links = page
                .links(base, None)
                .into_iter()
                .map(|u| {
                    let pagination = result_page && (next.contains(&u) || is_next_page(base, &u));
                    link(u, PageKind::Any, pagination)
                })
                .collect();
            Parsed {
                listing: e.listing,
                sources: e.sources,
                links,
            }
        }
    }
}

/// `rel=next` links.
struct NextSelector(scraper::Selector);
static NEXT: std::sync::LazyLock<NextSelector> = std::sync::LazyLock::new(|| {
    NextSelector(
        scraper::Selector::parse("a[rel~=next][href], link[rel~=next][href]")
            .expect("a valid selector"),
    )
});

/// Runs a crawl to the end (or `max_pages`), reporting progress through `progress`.
pub async fn run(
    store: Arc<Store>,
    seeds: Seeds,
    config: CrawlConfig,
    resume: bool,
    matcher: Arc<dyn CrawlMatcher>,
    progress: &(dyn Fn(&Stats) + Sync),
) -> Result<Stats, CrawlError> {
    let fetcher = Fetcher::new(config.fetch.clone()).map_err(CrawlError::Client)?;
    let renderer = match config.render.mode {
        RenderMode::Never => None,
        RenderMode::Always => {
            Some(Renderer::new(config.render.clone()).map_err(CrawlError::Render)?)
        }
        RenderMode::Auto => match Renderer::new(config.render.clone()) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!("pages built by script are not rendered: {e}");
                None
            }
        },
    };
    let started = Instant::now();
    let mut queue: std::collections::VecDeque<Queued> = if resume {
        store.queued()?.into()
    } else {
        store.reset_frontier()?;
        Default::default()
    };
    if queue.is_empty() && !(resume && store_has_frontier(&store)?) {
        for (url, kind) in seeds.start() {
            store.enqueue(&url, 0, kind)?;
        }
        queue = store.queued()?.into();
    }
    store.flush_async().await?;
    let shared = Arc::new(Shared {
        fetcher,
        config: config.clone(),
        seeds,
        hosts: Mutex::new(HashMap::new()),
        claimed: Mutex::new(HashMap::new()),
        store: Arc::clone(&store),
        matcher: Arc::clone(&matcher),
        renderer,
    });
    // A listing changed by another writer since it was scored is matched again
    // under the store's lock, without its photos.
    let rematch = |l: &Listing| matcher.matched(l, None);
    let mut stats = Stats::default();
    let mut per_host: HashMap<String, usize> = HashMap::new();
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    loop {
        while tasks.len() < config.concurrency.max(1) && stats.pages_started < config.max_pages {
            let Some(next) = queue.pop_front() else { break };
            let host = Url::parse(&next.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            let n = per_host.entry(host).or_default();
            if *n >= config.max_pages_per_host {
                stats.skipped += 1;
                store.commit_page(
                    PageCommit {
                        page: next,
                        status: UrlStatus::Failed,
                        listing: None,
                        links: vec![],
                    },
                    &rematch,
                    ACTOR,
                )?;
                continue;
            }
            *n += 1;
            stats.pages_started += 1;
            tasks.spawn(shared.clone().process(next));
        }
        let Some(first) = tasks.join_next().await else {
            break;
        };
        let mut done = vec![first];
        while let Some(more) = tasks.try_join_next() {
            done.push(more);
        }
        for joined in done {
            let outcome = joined.map_err(|e| CrawlError::Task(e.to_string()))?;
            let commit = settle(&shared, outcome, &mut stats);
            let (added, _) = store.commit_page(commit, &rematch, ACTOR)?;
            queue.extend(added);
        }
        store.flush_async().await?;
        stats.elapsed = started.elapsed();
        progress(&stats);
    }
    if let Some(r) = &shared.renderer {
        r.shut_down().await;
    }
    stats.elapsed = started.elapsed();
    stats.queued_left = store.queued()?.len();
    Ok(stats)
}

fn store_has_frontier(store: &Store) -> Result<bool, CrawlError> {
    Ok(store.frontier_len() > 0)
}

/// Turns a finished fetch into the commit of its page.
fn settle(shared: &Shared, outcome: Outcome, stats: &mut Stats) -> PageCommit {
    let Outcome { page, result } = outcome;
    match result {
        Err(PageError::Blocked(e)) => {
            tracing::info!("{e}");
            stats.blocked += 1;
            PageCommit {
                page,
                status: UrlStatus::Failed,
                listing: None,
                links: vec![],
            }
        }
        Err(PageError::Failed(kind, e)) => {
            tracing::warn!("{e}");
            stats.errors += 1;
            *stats.failures.entry(kind).or_default() += 1;
            PageCommit {
                page,
                status: UrlStatus::Failed,
                listing: None,
                links: vec![],
            }
        }
        Ok(f) => {
            stats.pages += 1;
            tracing::debug!(url = %f.page.final_url, status = f.page.status, at = %f.fetched_at, "fetched");
            // Depth counts hops from a result page: the next result page keeps
            // its page's depth, any other link is one hop further.
            let mut links = Vec::new();
            for l in f.links {
                let depth = page.state.depth + u32::from(!l.pagination);
                let allowed = Url::parse(&l.url)
                    .is_ok_and(|u| shared.seeds.allows(&u) && !canon::looks_like_trap(&u));
                if !allowed {
                    continue;
                }
                if depth > shared.config.max_depth {
                    stats.beyond_depth += 1;
                    continue;
                }
                links.push((l.url, depth, l.kind));
            }
            if f.listing.is_some() {
                stats.listings += 1;
            }
            match f.render {
                Some(RenderNote::Rendered { blocked }) => {
                    stats.rendered += 1;
                    stats.render_refused += blocked;
                }
                Some(RenderNote::Failed) => {
                    stats.render_failed += 1;
                }
                None => {}
            }
            PageCommit {
                page,
                status: UrlStatus::Done,
                listing: f.listing,
                links,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_mode_stays_on_the_start_sites_and_extracts_products() {
        let seeds = Seeds::Urls(vec![Url::parse("http://shop.example/start").unwrap()]);
        let base = Url::parse("http://shop.example/item/1").unwrap();
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"Bag"}</script>
            <a href="/item/2#x">2</a><a href="http://other.example/">away</a>"#;
        let Parsed { listing, links, .. } = parse(&seeds, PageKind::Any, html.as_bytes(), &base);
        assert_eq!(
            listing.unwrap().marketplace.as_deref(),
            Some("shop.example")
        );
        let allowed: Vec<&str> = links
            .iter()
            .filter(|l| seeds.allows(&Url::parse(&l.url).unwrap()))
            .map(|l| l.url.as_str())
            .collect();
        assert_eq!(allowed, ["http://shop.example/item/2"]);
        assert!(
            links.iter().all(|l| !l.pagination),
            "a listing page is not a result page"
        );
    }

    #[test]
    fn profile_mode_separates_result_and_listing_pages() {
        let profile = Profile::parse(
            r#"name = "m"
               start_urls = ["http://m.example/s?q={query}"]
               listing_links = "a.l"
               next_page = "a.next""#,
            "p.toml",
        )
        .unwrap();
        let seeds = Seeds::Profile(Arc::new(profile), vec!["Zentrix".into()]);
        assert_eq!(
            seeds.start(),
            [("http://m.example/s?q=Zentrix".to_owned(), PageKind::Index)]
        );
        let base = Url::parse("http://m.example/s?q=Zentrix").unwrap();
        let html = r#"<a class="l" href="/i/1">1</a><a class="next" href="/s?q=Zentrix&p=2">n</a><a href="/help">h</a>"#;
        let Parsed { listing, links, .. } = parse(&seeds, PageKind::Index, html.as_bytes(), &base);
        assert!(listing.is_none());
        assert_eq!(
            links,
            [
                Link {
                    url: "http://m.example/i/1".to_owned(),
                    kind: PageKind::Listing,
                    pagination: false
                },
                Link {
                    url: "http://m.example/s?p=2&q=Zentrix".to_owned(),
                    kind: PageKind::Index,
                    pagination: true
                }
            ]
        );
    }

    #[test]
    fn plain_mode_tells_the_next_result_page_from_other_links() {
        let seeds = Seeds::Urls(vec![Url::parse("http://shop.example/").unwrap()]);
        let base = Url::parse("http://shop.example/search?q=bag&page=2").unwrap();
        let html = r#"<a href="/search?q=bag&page=3">3</a><a href="/search?q=shoe&page=1">x</a>
            <a href="/item/9?page=1">i</a><a rel="next" href="/more/results">next</a>
            <a href="/search?page=4&q=bag&sort=new">sorted</a>"#;
        let Parsed { listing, links, .. } = parse(&seeds, PageKind::Any, html.as_bytes(), &base);
        assert!(listing.is_none());
        let pages: Vec<(&str, bool)> = links
            .iter()
            .map(|l| (l.url.as_str(), l.pagination))
            .collect();
        assert_eq!(
            pages,
            [
                ("http://shop.example/search?page=3&q=bag", true),
                ("http://shop.example/search?page=1&q=shoe", false),
                ("http://shop.example/item/9?page=1", false),
                ("http://shop.example/more/results", true),
                ("http://shop.example/search?page=4&q=bag&sort=new", false),
            ]
        );
    }
}
