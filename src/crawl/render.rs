//! Pages built by script: headless Chromium renders them over the DevTools protocol
//! (`chromiumoxide`), and the rendered HTML goes through the same extraction as a
//! static page.
//!
//! The browser never reaches the network itself. It is started with a dead proxy
//! and a resolver that resolves nothing, and every request it makes is paused
//! (`Fetch.enable` with the pattern `*`) and answered by markhound: the page's
//! own document from the body the crawl already fetched, scripts, XHR and other
//! data through a [`Gate`] (the crawl's address guard, robots.txt, per-host rate
//! and concurrency, retries and body cap), and the rest failed. Images, media,
//! fonts and style sheets are never fetched (they do not change the text of the
//! page), nor are requests other than GET. A request the gate refuses fails in
//! the browser and is counted in [`Rendered::blocked`].
//!
//! Each render has a navigation timeout and a total timeout; a browser that does
//! not answer in time is killed and started afresh for the next page. The browser
//! runs with a temporary profile folder, removed with it, and is killed when the
//! [`Renderer`] is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::fetch::{
    self, EventRequestPaused, FailRequestParams, FulfillRequestParams, HeaderEntry, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::Page as BrowserPage;
use futures::future::BoxFuture;
use futures::StreamExt;
use tokio::sync::Semaphore;
use url::Url;

use super::fetch::Page;

/// When a crawl renders pages with Chromium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderMode {
    /// Never: static HTML only.
    #[default]
    Never,
    /// Only pages whose static HTML yields no listing.
    Auto,
    /// Every page.
    Always,
}

/// How to render.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    /// When to render.
    pub mode: RenderMode,
    /// The most pages rendered in one crawl; pages past it keep their static HTML.
    pub max_renders: usize,
    /// The longest wait for a page's navigation (its load event).
    pub navigation_timeout: Duration,
    /// The longest one render may take in all: navigation, the scripts' requests,
    /// reading the HTML.
    pub page_timeout: Duration,
    /// After the load event, the page is read once no request has been pending for
    /// this long (or at `page_timeout`).
    pub settle: Duration,
    /// The most requests one page may make; later ones fail.
    pub max_requests: usize,
    /// The Chromium executable; found on the `PATH` when `None`.
    pub chromium: Option<PathBuf>,
}

impl Default for RenderConfig {
    fn default() -> RenderConfig {
        RenderConfig {
            mode: RenderMode::Never,
            max_renders: DEFAULT_MAX_RENDERS,
            navigation_timeout: Duration::from_secs(20),
            page_timeout: Duration::from_secs(45),
            settle: Duration::from_millis(500),
            max_requests: 200,
            chromium: None,
        }
    }
}

/// The default page budget of `--render`.
pub const DEFAULT_MAX_RENDERS: usize = 500;

/// Renders in flight at once (each is one browser tab).
const RENDERS_AT_ONCE: usize = 2;

/// The executables looked for on the `PATH`, in order.
const CHROMIUM_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// What to install when no browser is found.
pub const INSTALL_HINT: &str =
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`) or name it with --chromium";

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No Chromium was found.
    #[error("no Chromium found on the PATH (looked for {}): {INSTALL_HINT}", CHROMIUM_NAMES.join(", "))]
    NoChromium,
    /// The named executable does not exist.
    #[error("{0}: no such Chromium executable")]
    Missing(PathBuf),
    /// The browser could not be started.
    #[error("cannot start Chromium ({path})")]
    Launch {
        /// The executable.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A DevTools command failed (the browser crashed, or the page is gone).
    #[error("{url}: the browser failed: {message}")]
    Browser {
        /// The page.
        url: String,
        /// What failed.
        message: String,
    },
    /// The page did not finish in time; the browser was killed.
    #[error("{url}: not rendered within {} s ({stage}); the browser was restarted", limit.as_secs_f64())]
    Timeout {
        /// The page.
        url: String,
        /// What was going on.
        stage: &'static str,
        /// The limit.
        limit: Duration,
    },
}

/// Fetches what the browser asks for, under the crawl's rules; `Err` is why the
/// request is refused.
pub type Gate = dyn Fn(Url) -> BoxFuture<'static, Result<Page, String>> + Send + Sync;

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The document as the scripts left it.
    pub html: String,
    /// Requests answered through the gate (the page's own document excluded).
    pub fetched: usize,
    /// Requests refused by the gate (address guard, robots.txt, fetch errors), as
    /// `URL: reason`.
    pub blocked: Vec<String>,
    /// Requests not fetched by design (images, fonts, style sheets, media, methods
    /// other than GET, over `max_requests`).
    pub skipped: usize,
}

/// The Chromium executable: `explicit` if given, else the first of the usual names
/// on the `PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, RenderError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(RenderError::Missing(p.to_owned()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    CHROMIUM_NAMES
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(RenderError::NoChromium)
}

/// On Linux with `setpriv` (util-linux), a launcher script in `dir` that starts
/// `chromium` with the parent-death signal set to SIGKILL, so the browser dies with
/// markhound even when markhound is killed with SIGKILL (a dropped [`Renderer`]
/// kills it in any case). `None` where `setpriv` is missing.
fn tethered(chromium: &Path, dir: &Path) -> std::io::Result<Option<PathBuf>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let Some(setpriv) = std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
            .map(|d| d.join("setpriv"))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
        let script = dir.join("chromium.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec {} --pdeathsig KILL -- {} \"$@\"\n",
                quote(&setpriv),
                quote(chromium)
            ),
        )?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700))?;
        Ok(Some(script))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (chromium, dir);
        Ok(None)
    }
}

/// A started browser and what must live as long as it.
struct Running {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// Set when the DevTools connection ended (the browser exited or crashed).
    dead: Arc<AtomicBool>,
    /// The profile folder, removed after the browser is gone.
    profile: tempfile::TempDir,
}

impl Running {
    /// Kills the browser and waits for it, then removes its profile folder.
    async fn shut_down(mut self) {
        let closed = tokio::time::timeout(Duration::from_secs(3), self.browser.close()).await;
        if !matches!(closed, Ok(Ok(_))) {
            let _ = self.browser.kill().await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        let _ = self.browser.kill().await;
        self.handler.abort();
        drop(self.profile);
    }
}

/// Renders pages in one headless Chromium, started on first use.
pub struct Renderer {
    config: RenderConfig,
    executable: PathBuf,
    browser: tokio::sync::Mutex<Option<Running>>,
    slots: Semaphore,
    started: AtomicUsize,
}

impl Renderer {
    /// A renderer for `config`; fails when no Chromium is found. The browser
    /// starts with the first render.
    pub fn new(config: RenderConfig) -> Result<Renderer, RenderError> {
        let executable = find_chromium(config.chromium.as_deref())?;
        Ok(Renderer {
            config,
            executable,
            browser: tokio::sync::Mutex::new(None),
            slots: Semaphore::new(RENDERS_AT_ONCE),
            started: AtomicUsize::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// Takes one render from the budget: false once `max_renders` are used.
    pub fn take_budget(&self) -> bool {
        self.started
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.config.max_renders).then_some(n + 1)
            })
            .is_ok()
    }

    async fn launch(&self) -> Result<Running, RenderError> {
        let launch_err = |source: Box<dyn std::error::Error + Send + Sync>| RenderError::Launch {
            path: self.executable.clone(),
            source,
        };
        let profile = tempfile::Builder::new()
            .prefix("markhound-chromium-")
            .tempdir()
            .map_err(|e| launch_err(Box::new(e)))?;
        // The tethered launcher first; the browser itself where the launcher
        // cannot run (a temporary folder mounted noexec).
        let mut candidates = Vec::new();
        match tethered(&self.executable, profile.path()) {
            Ok(Some(script)) => candidates.push(script),
            Ok(None) => {}
            Err(e) => tracing::debug!("starting Chromium without a parent-death signal: {e}"),
        }
        candidates.push(self.executable.clone());
        let mut launched = None;
        for executable in candidates {
            let config = BrowserConfig::builder()
                .chrome_executable(&executable)
                .user_data_dir(profile.path().join("profile"))
                .no_sandbox()
                .launch_timeout(Duration::from_secs(20))
                .request_timeout(self.config.navigation_timeout)
                .args([
                    "--disable-gpu",
                    "--disable-quic",
                    "--disable-component-update",
                    "--disable-domain-reliability",
                    "--no-pings",
                    "--no-default-browser-check",
                    // The network is sealed: whatever escapes the interception
                    // goes to a proxy that does not exist, through a resolver that
                    // resolves nothing, loopback included.
                    "--proxy-server=http://markhound-sealed.invalid:9",
                    "--proxy-bypass-list=<-loopback>",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                ])
                .build()
                .map_err(|e| launch_err(e.into()))?;
            match Browser::launch(config).await {
                Ok(b) => {
                    launched = Some(Ok(b));
                    break;
                }
                Err(e) => {
                    tracing::debug!(executable = %executable.display(), "cannot start Chromium: {e}");
                    launched = Some(Err(e));
                }
            }
        }
        let (browser, mut handler) = launched
            .expect("at least the browser itself is tried")
            .map_err(|e| launch_err(Box::new(e)))?;
        let dead = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&dead);
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if let Err(e) = event {
                    tracing::debug!("DevTools connection: {e}");
                    if matches!(e, chromiumoxide::error::CdpError::Ws(_)) {
                        break;
                    }
                }
            }
            flag.store(true, Ordering::Relaxed);
        });
        tracing::info!(path = %self.executable.display(), "Chromium started");
        Ok(Running {
            browser,
            handler,
            dead,
            profile,
        })
    }

    /// Renders `url`, whose document the crawl fetched as `first`; every other
    /// request of the page goes through `gate`.
    pub async fn render(
        &self,
        url: &Url,
        first: &Page,
        gate: Arc<Gate>,
    ) -> Result<Rendered, RenderError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let page = {
            let mut guard = self.browser.lock().await;
            if guard
                .as_ref()
                .is_some_and(|r| r.dead.load(Ordering::Relaxed))
            {
                if let Some(old) = guard.take() {
                    old.shut_down().await;
                }
            }
            if guard.is_none() {
                *guard = Some(self.launch().await?);
            }
            let running = guard.as_ref().expect("just started");
            let opened = tokio::time::timeout(
                Duration::from_secs(10),
                running.browser.new_page("about:blank"),
            )
            .await;
            match opened {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    if let Some(old) = guard.take() {
                        old.shut_down().await;
                    }
                    return Err(RenderError::Browser {
                        url: url.to_string(),
                        message: format!("cannot open a tab: {e}"),
                    });
                }
                Err(_) => {
                    if let Some(old) = guard.take() {
                        old.shut_down().await;
                    }
                    return Err(RenderError::Timeout {
                        url: url.to_string(),
                        stage: "opening a tab",
                        limit: Duration::from_secs(10),
                    });
                }
            }
        };
        let tally = Arc::new(Tally::default());
        let result = tokio::time::timeout(
            self.config.page_timeout,
            self.drive(&page, url, first, gate, Arc::clone(&tally)),
        )
        .await;
        let outcome = match result {
            Ok(r) => r,
            Err(_) => Err(RenderError::Timeout {
                url: url.to_string(),
                stage: "rendering",
                limit: self.config.page_timeout,
            }),
        };
        tally.closed.store(true, Ordering::Relaxed);
        let closed = tokio::time::timeout(Duration::from_secs(5), page.close()).await;
        // A browser that hung, or cannot close a tab, is not trusted with the next
        // page.
        if matches!(outcome, Err(RenderError::Timeout { .. })) || !matches!(closed, Ok(Ok(()))) {
            if let Some(old) = self.browser.lock().await.take() {
                old.shut_down().await;
            }
        }
        outcome
    }

    async fn drive(
        &self,
        page: &BrowserPage,
        url: &Url,
        first: &Page,
        gate: Arc<Gate>,
        tally: Arc<Tally>,
    ) -> Result<Rendered, RenderError> {
        let browser_err = |message: String| RenderError::Browser {
            url: url.to_string(),
            message,
        };
        let mut paused = page
            .event_listener::<EventRequestPaused>()
            .await
            .map_err(|e| browser_err(format!("cannot listen for requests: {e}")))?;
        page.execute(
            fetch::EnableParams::builder()
                .pattern(
                    RequestPattern::builder()
                        .url_pattern("*")
                        .request_stage(RequestStage::Request)
                        .build(),
                )
                .build(),
        )
        .await
        .map_err(|e| browser_err(format!("cannot intercept requests: {e}")))?;
        let answerer = Answerer {
            page: page.clone(),
            document: Mutex::new(Some((url.clone(), first.clone()))),
            gate,
            tally: Arc::clone(&tally),
            max_requests: self.config.max_requests,
        };
        let answerer = Arc::new(answerer);
        let intercept = tokio::spawn(async move {
            while let Some(event) = paused.next().await {
                let a = Arc::clone(&answerer);
                a.tally.pending.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    a.answer(&event).await;
                    a.tally.pending.fetch_sub(1, Ordering::Relaxed);
                    *a.tally.last.lock().expect("tally lock") = Instant::now();
                });
            }
        });
        let _stop = AbortOnDrop(intercept);
        match tokio::time::timeout(self.config.navigation_timeout, page.goto(url.as_str())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(browser_err(format!("navigation failed: {e}"))),
            Err(_) => {
                return Err(RenderError::Timeout {
                    url: url.to_string(),
                    stage: "navigation",
                    limit: self.config.navigation_timeout,
                })
            }
        }
        // The scripts' requests: wait until none has been pending for `settle`.
        loop {
            let quiet = tally.last.lock().expect("tally lock").elapsed();
            if tally.pending.load(Ordering::Relaxed) == 0 && quiet >= self.config.settle {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let html = page
            .content()
            .await
            .map_err(|e| browser_err(format!("cannot read the document: {e}")))?;
        let blocked = tally.blocked.lock().expect("tally lock").clone();
        Ok(Rendered {
            html,
            fetched: tally.fetched.load(Ordering::Relaxed),
            blocked,
            skipped: tally.skipped.load(Ordering::Relaxed),
        })
    }

    /// Closes the browser, if started, and removes its profile folder.
    pub async fn shut_down(&self) {
        if let Some(running) = self.browser.lock().await.take() {
            running.shut_down().await;
        }
    }
}

/// What happened to one page's requests.
struct Tally {
    pending: AtomicUsize,
    /// When the last request was answered.
    last: Mutex<Instant>,
    seen: AtomicUsize,
    fetched: AtomicUsize,
    skipped: AtomicUsize,
    blocked: Mutex<Vec<String>>,
    /// The render is over: requests still arriving are failed.
    closed: AtomicBool,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            pending: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            seen: AtomicUsize::new(0),
            fetched: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
            blocked: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers the paused requests of one page.
struct Answerer {
    page: BrowserPage,
    /// The page's own document, served once from the crawl's fetch.
    document: Mutex<Option<(Url, Page)>>,
    gate: Arc<Gate>,
    tally: Arc<Tally>,
    max_requests: usize,
}

/// What to do with one paused request.
enum Decision {
    Serve(Page),
    Skip,
    Refuse(String),
}

impl Answerer {
    async fn answer(&self, event: &EventRequestPaused) {
        let decision = self.decide(event).await;
        let id = event.request_id.clone();
        let sent = match decision {
            Decision::Serve(page) => {
                let mut headers = Vec::new();
                if let Some(t) = &page.content_type {
                    headers.push(HeaderEntry::new("Content-Type", t.clone()));
                }
                let body = base64::engine::general_purpose::STANDARD.encode(&page.body);
                let params = FulfillRequestParams::builder()
                    .request_id(id)
                    .response_code(i64::from(page.status))
                    .response_headers(headers)
                    .body(chromiumoxide::Binary::from(body))
                    .build();
                match params {
                    Ok(p) => self.page.execute(p).await.map(drop),
                    Err(e) => {
                        tracing::debug!("cannot build a response: {e}");
                        return;
                    }
                }
            }
            Decision::Skip => {
                self.tally.skipped.fetch_add(1, Ordering::Relaxed);
                self.fail(id).await
            }
            Decision::Refuse(reason) => {
                tracing::info!("render: refused {reason}");
                self.tally.blocked.lock().expect("tally lock").push(reason);
                self.fail(id).await
            }
        };
        if let Err(e) = sent {
            // The tab closed or navigated away meanwhile.
            tracing::debug!("render: cannot answer {}: {e}", event.request.url);
        }
    }

    async fn fail(&self, id: fetch::RequestId) -> chromiumoxide::Result<()> {
        self.page
            .execute(FailRequestParams::new(id, ErrorReason::BlockedByClient))
            .await
            .map(drop)
    }

    async fn decide(&self, event: &EventRequestPaused) -> Decision {
        let raw = &event.request.url;
        if self.tally.closed.load(Ordering::Relaxed) {
            return Decision::Skip;
        }
        let Ok(url) = Url::parse(raw) else {
            return Decision::Refuse(format!("{raw}: not a URL"));
        };
        if event.resource_type == ResourceType::Document {
            let mut doc = self.document.lock().expect("document lock");
            if doc.as_ref().is_some_and(|(u, _)| same_document(u, &url)) {
                let (_, page) = doc.take().expect("checked");
                return Decision::Serve(page);
            }
        }
        if !event.request.method.eq_ignore_ascii_case("GET") {
            return Decision::Skip;
        }
        if matches!(
            event.resource_type,
            ResourceType::Image
                | ResourceType::Media
                | ResourceType::Font
                | ResourceType::Stylesheet
                | ResourceType::TextTrack
                | ResourceType::Ping
                | ResourceType::Prefetch
                | ResourceType::CspViolationReport
                | ResourceType::Manifest
        ) {
            return Decision::Skip;
        }
        if self.tally.seen.fetch_add(1, Ordering::Relaxed) >= self.max_requests {
            return Decision::Skip;
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Decision::Refuse(format!("{url}: not an http(s) URL"));
        }
        match (self.gate)(url.clone()).await {
            Ok(page) => {
                self.tally.fetched.fetch_add(1, Ordering::Relaxed);
                Decision::Serve(page)
            }
            Err(reason) => Decision::Refuse(reason),
        }
    }
}

/// True when `a` and `b` name the same document (fragments aside).
fn same_document(a: &Url, b: &Url) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.set_fragment(None);
    b.set_fragment(None);
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_chromium_must_exist() {
        let missing = Path::new("/nonexistent/chromium");
        assert!(matches!(
            find_chromium(Some(missing)),
            Err(RenderError::Missing(p)) if p == missing
        ));
    }

    #[test]
    fn the_missing_browser_message_says_what_to_install() {
        let text = RenderError::NoChromium.to_string();
        assert!(text.contains("apt-get install chromium"), "{text}");
    }

    #[test]
    fn the_document_is_recognised_without_its_fragment() {
        let a = Url::parse("http://shop.example/p/1").unwrap();
        assert!(same_document(
            &a,
            &Url::parse("http://shop.example/p/1#top").unwrap()
        ));
        assert!(!same_document(
            &a,
            &Url::parse("http://shop.example/p/2").unwrap()
        ));
    }

    #[test]
    fn the_budget_runs_out() {
        let Ok(r) = Renderer::new(RenderConfig {
            max_renders: 2,
            chromium: Some(PathBuf::from("/bin/sh")),
            ..RenderConfig::default()
        }) else {
            panic!("/bin/sh exists");
        };
        assert!(r.take_budget());
        assert!(r.take_budget());
        assert!(!r.take_budget());
    }
}
