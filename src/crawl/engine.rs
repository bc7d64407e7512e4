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
    /// Fetching or parsing failed.
    Failed(String),
}

struct Fetched {
    page: Page,
    fetched_at: chrono::DateTime<chrono::Utc>,
    listing: Option<Scored>,
    links: Vec<(String, PageKind)>,
}

struct Shared {
    fetcher: Fetcher,
    config: CrawlConfig,
    seeds: Seeds,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    store: Arc<Store>,
    matcher: Arc<dyn CrawlMatcher>,
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

    /// Fetches with retries on 429, 5xx and transient errors.
    async fn fetch(&self, url: &Url, host: &Host) -> Result<Page, FetchError> {
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
                self.fetcher.get(url).await
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
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url}: not an http(s) URL"));
        }
        self.fetcher.check(&url).map_err(|e| error_chain(&e))?;
        let host = self.host(&url);
        match self.robots(&url, &host).await {
            Robots::AllowAll => {}
            Robots::Rules(r) if r.allowed(url.as_str()) => {}
            Robots::Rules(_) => return Err(format!("{url}: disallowed by robots.txt")),
            Robots::Unreachable(e) => return Err(format!("{url}: robots.txt unavailable: {e}")),
        }
        let page = self.fetch(&url, &host).await.map_err(|e| error_chain(&e))?;
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

    /// Matches a crawled listing (its photos fetched first, unless the store
    /// already holds it unchanged), ready to be committed with its page.
    async fn score(
        &self,
        listing: Listing,
        page: &Page,
        fetched_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Scored, PageError> {
        use PageError::Failed;
        let mut listing = listing;
        listing.fit_to_limits();
        let version = self.matcher.registry_version();
        let current = self
            .store
            .listing(&listing.id)
            .map_err(|e| Failed(error_chain(&e)))?
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
        .map_err(|e| Failed(format!("{url}: matching failed: {e}")))?
        .map_err(|e| Failed(format!("{url}: {}", error_chain(&e))))?
        .pop()
        .ok_or_else(|| Failed(format!("{url}: nothing to store")))
    }

    async fn process(self: Arc<Self>, page: Queued) -> Outcome {
        let result = self.process_inner(&page).await;
        Outcome { page, result }
    }

    async fn process_inner(&self, q: &Queued) -> Result<Fetched, PageError> {
        use PageError::Failed;
        let url = Url::parse(&q.url).map_err(|e| Failed(format!("bad URL {}: {e}", q.url)))?;
        let host = self.host(&url);
        // Refused addresses fail before anything is sent, robots.txt included.
        self.fetcher
            .check(&url)
            .map_err(|e| Failed(error_chain(&e)))?;
        match self.robots(&url, &host).await {
            Robots::AllowAll => {}
            Robots::Rules(r) if r.allowed(url.as_str()) => {}
            Robots::Rules(_) => {
                return Err(PageError::Blocked(format!(
                    "{url}: disallowed by robots.txt"
                )))
            }
            Robots::Unreachable(e) => {
                return Err(Failed(format!(
                    "{url}: skipped, robots.txt unavailable: {e}"
                )))
            }
        }
        let page = self
            .fetch(&url, &host)
            .await
            .map_err(|e| Failed(error_chain(&e)))?;
        let fetched_at = chrono::Utc::now();
        if !(200..300).contains(&page.status) {
            return Err(Failed(format!("{url}: HTTP {}", page.status)));
        }
        let is_html = page
            .content_type
            .as_deref()
            .is_none_or(|t| t.contains("html") || t.contains("xml"));
        if !is_html {
            return Err(Failed(format!(
                "{url}: not HTML ({})",
                page.content_type.as_deref().unwrap_or("")
            )));
        }
        // Parsing is CPU work: off the async threads.
        let seeds = self.seeds.clone();
        let kind = q.state.kind;
        let body = page.body.clone();
        let final_url = page.final_url.clone();
        let (listing, links) =
            tokio::task::spawn_blocking(move || parse(&seeds, kind, &body, &final_url))
                .await
                .map_err(|e| Failed(format!("{url}: parser failed: {e}")))?;
        let listing = match listing {
            Some(listing) => Some(self.score(listing, &page, fetched_at).await?),
            None => None,
        };
        Ok(Fetched {
            page,
            fetched_at,
            listing,
            links,
        })
    }
}

/// Extracts the listing and the links to follow from one page.
fn parse(
    seeds: &Seeds,
    kind: PageKind,
    body: &[u8],
    base: &Url,
) -> (Option<crate::listing::Listing>, Vec<(String, PageKind)>) {
    let html = String::from_utf8_lossy(body);
    match seeds {
        Seeds::Profile(p, _) => match kind {
            PageKind::Listing => {
                let e = extract::extract(&html, base, Some(&p.fields), &p.name);
                (e.listing, Vec::new())
            }
            _ => {
                let mut links: Vec<(String, PageKind)> = Vec::new();
                if let Some(s) = &p.listing_links {
                    links.extend(
                        extract::links(&html, base, Some(s))
                            .into_iter()
                            .map(|u| (u.to_string(), PageKind::Listing)),
                    );
                }
                if let Some(s) = &p.next_page {
                    links.extend(
                        extract::links(&html, base, Some(s))
                            .into_iter()
                            .map(|u| (u.to_string(), PageKind::Index)),
                    );
                }
                (None, links)
            }
        },
        Seeds::Urls(_) => {
            let market = base.host_str().unwrap_or("unknown").to_owned();
            let e = extract::extract(&html, base, None, &market);
            let links = extract::links(&html, base, None)
                .into_iter()
                .map(|u| (u.to_string(), PageKind::Any))
                .collect();
            (e.listing, links)
        }
    }
}

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
        store: Arc::clone(&store),
        matcher: Arc::clone(&matcher),
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
        Err(PageError::Failed(e)) => {
            tracing::warn!("{e}");
            stats.errors += 1;
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
            let depth = page.state.depth + 1;
            let links = if depth > shared.config.max_depth {
                Vec::new()
            } else {
                f.links
                    .into_iter()
                    .filter(|(u, _)| {
                        Url::parse(u)
                            .is_ok_and(|u| shared.seeds.allows(&u) && !canon::looks_like_trap(&u))
                    })
                    .map(|(u, k)| (u, depth, k))
                    .collect()
            };
            if f.listing.is_some() {
                stats.listings += 1;
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
        let (listing, links) = parse(&seeds, PageKind::Any, html.as_bytes(), &base);
        assert_eq!(
            listing.unwrap().marketplace.as_deref(),
            Some("shop.example")
        );
        let allowed: Vec<&str> = links
            .iter()
            .filter(|(u, _)| seeds.allows(&Url::parse(u).unwrap()))
            .map(|(u, _)| u.as_str())
            .collect();
        assert_eq!(allowed, ["http://shop.example/item/2"]);
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
        let (listing, links) = parse(&seeds, PageKind::Index, html.as_bytes(), &base);
        assert!(listing.is_none());
        assert_eq!(
            links,
            [
                ("http://m.example/i/1".to_owned(), PageKind::Listing),
                (
                    "http://m.example/s?p=2&q=Zentrix".to_owned(),
                    PageKind::Index
                )
            ]
        );
    }
}
