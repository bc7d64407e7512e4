//! `markhound crawl`, `scan`, `report` and `listings export` against local servers
//! on 127.0.0.1: politeness, the fetch guards, resuming after kill -9, and re-matching
//! after a registry change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Response, StatusCode, Uri};
use axum::Router;

use crate::util::{repo_root, stderr, stdout, Workspace};

/// What the test site answers to one request.
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn html(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "text/html; charset=utf-8".into())],
            body: body.into().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: vec![],
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Handler = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A site on 127.0.0.1 that logs every request (time and path with query).
pub(crate) struct Site {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Site {
    /// Serves `handler(path_and_query, nth request of that path from 1)`.
    pub(crate) fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Site {
        let handler: Arc<Handler> = Arc::new(handler);
        let log: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app_log = log.clone();
        let app = Router::new().fallback(move |uri: Uri| {
            let handler = handler.clone();
            let log = app_log.clone();
            async move {
                let path = uri
                    .path_and_query()
                    .map_or(uri.path().to_owned(), |p| p.as_str().to_owned());
                let nth = {
                    let mut log = log.lock().unwrap();
                    log.push((Instant::now(), path.clone()));
                    log.iter().filter(|(_, p)| *p == path).count()
                };
                let reply = handler(&path, nth);
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut resp =
                    Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
                for (k, v) in reply.headers {
                    resp = resp.header(k, v);
                }
                resp.body(Body::from(reply.body)).unwrap()
            }
        });
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Site {
            addr,
            log,
            _runtime: runtime,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<(Instant, String)> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|(_, p)| p == path).count()
    }
}

/// A listing page with schema.org Product JSON-LD.
fn product(id: &str, title: &str) -> String {
    format!(
        r#"<html><head><script type="application/ld+json">
        {{"@type":"Product","sku":"{id}","name":"{title}",
          "offers":{{"@type":"Offer","price":"10.00","priceCurrency":"USD",
            "seller":{{"@type":"Organization","identifier":"s-{id}","name":"Shop"}}}}}}
        </script></head><body><h1>{title}</h1></body></html>"#
    )
}

pub(crate) fn export(ws: &Workspace) -> Vec<serde_json::Value> {
    let out = ws.run(&["listings", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(lines: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn robots_txt_is_obeyed() {
    let site = Site::start(|path, _| match path {
        "/robots.txt" => Reply::html("User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n"),
        "/" => Reply::html(r#"<a href="/item/1">one</a> <a href="/private/2">two</a>"#),
        "/item/1" => Reply::html(product("1", "Public bag")),
        "/private/2" => Reply::html(product("2", "Private bag")),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--per-host-rps",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(site.hits("/private/2"), 0);
    assert_eq!(site.hits("/robots.txt"), 1);
    // Crawl-delay holds even with the rate limit lifted.
    let times: Vec<Instant> = site.requests().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 3, "robots.txt, the index and one item");
    assert!(times[2] - times[1] >= Duration::from_millis(290));
    let lines = export(&ws);
    assert_eq!(ids(&lines), ["1"]);
    let l = &lines[0];
    assert_eq!(l["title"], "Public bag");
    assert_eq!(l["status"], 200);
    assert_eq!(l["final_url"], site.url("/item/1"));
    assert_eq!(l["sha256"].as_str().unwrap().len(), 64);
    assert!(chrono::DateTime::parse_from_rfc3339(l["fetched_at"].as_str().unwrap()).is_ok());
    assert_eq!(l["seller"]["id"], "s-1");
    assert_eq!(l["price"]["currency"], "USD");
}

#[test]
fn pages_sharing_a_sku_keep_their_own_listings() {
    // A shop reusing "sku": "1" on two products must not make one overwrite the other.
    let site = Site::start(|path, _| match path {
        "/" => Reply::html(r#"<a href="/item/a">a</a> <a href="/item/b">b</a>"#),
        "/item/a" => Reply::html(product("1", "Leather bag")),
        "/item/b" => Reply::html(product("1", "Canvas shoe")),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let crawl = || {
        let out = ws.run(&[
            "crawl",
            &site.url("/"),
            "--allow-private",
            "--per-host-rps",
            "0",
            "--concurrency",
            "2",
            "--per-host-concurrency",
            "2",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut lines = export(&ws);
        lines.sort_by_key(|l| l["title"].as_str().unwrap().to_owned());
        lines
            .iter()
            .map(|l| {
                (
                    l["id"].as_str().unwrap().to_owned(),
                    l["title"].as_str().unwrap().to_owned(),
                    l["final_url"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = crawl();
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first[0].1, "Canvas shoe");
    assert_eq!(first[1].1, "Leather bag");
    // One page keeps the sku; the other is known by its own URL.
    let mut ids: Vec<&str> = first.iter().map(|(id, _, _)| id.as_str()).collect();
    ids.sort_unstable();
    assert!(
        ids == ["1", site.url("/item/b").as_str()] || ids == ["1", site.url("/item/a").as_str()],
        "{first:?}"
    );
    for (id, _, url) in &first {
        assert!(id == "1" || id == url, "{first:?}");
    }
    // A second crawl gives each page the same id again.
    assert_eq!(crawl(), first);
}

#[test]
fn the_per_host_rate_limit_holds() {
    let site = Site::start(|path, _| match path {
        "/" => Reply::html(
            (1..=8)
                .map(|i| format!("<a href=\"/item/{i}\">x</a>"))
                .collect::<String>(),
        ),
        p if p.starts_with("/item/") => Reply::html(product(&p[6..], "Bag")),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--per-host-rps",
        "10",
        "--concurrency",
        "8",
        "--per-host-concurrency",
        "8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let times: Vec<Instant> = site.requests().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 10, "robots.txt, the index and 8 items");
    // 10 requests per second: any k consecutive gaps span at least k × 100 ms, less
    // the jitter of one late arrival (a request sent on time can reach the server
    // late, which shortens the next gap without breaking the rate).
    for i in 0..times.len() {
        for j in i + 1..times.len() {
            let span = times[j] - times[i];
            let floor = Duration::from_millis(100 * (j - i) as u64)
                .saturating_sub(Duration::from_millis(60));
            assert!(span >= floor, "requests {i} and {j} only {span:?} apart");
        }
    }
}

#[test]
fn retries_honour_retry_after() {
    let site = Site::start(|path, nth| match (path, nth) {
        ("/item/1", 1) => Reply::status(429).header("retry-after", "3"),
        ("/item/2", 1) => Reply::status(503),
        ("/", _) => Reply::html(r#"<a href="/item/1">1</a><a href="/item/2">2</a>"#),
        (p, _) if p.starts_with("/item/") => Reply::html(product(&p[6..], "Bag")),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws
        .cmd()
        .args([
            "crawl",
            &site.url("/"),
            "--allow-private",
            "--per-host-rps",
            "0",
        ])
        .env("MARKHOUND_DELAY_SCALE", "0.1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = site.requests();
    let item1: Vec<Instant> = requests
        .iter()
        .filter(|(_, p)| p == "/item/1")
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(item1.len(), 2);
    // Retry-After: 3 seconds, scaled by 0.1.
    let waited = item1[1] - item1[0];
    assert!(
        waited >= Duration::from_millis(290),
        "retried after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "the scale applies: {waited:?}"
    );
    assert_eq!(site.hits("/item/2"), 2);
    assert_eq!(ids(&export(&ws)), ["1", "2"]);
}

#[test]
fn redirect_loops_are_stopped() {
    let site = Site::start(|path, _| match path {
        "/a" => Reply::status(302).header("location", "/b"),
        "/b" => Reply::status(301).header("location", "/a?again=1"),
        "/a?again=1" => Reply::status(302).header("location", "/b"),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/a"),
        "--allow-private",
        "--per-host-rps",
        "0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed page sets the exit status"
    );
    let err = stderr(&out);
    assert!(err.contains("too many redirects"), "{err}");
    let fetched = site.requests().len();
    assert!(fetched <= 4, "{fetched} requests");
}

#[test]
fn oversized_bodies_are_cut() {
    let padding = "<p>filler</p>".repeat(200_000); // 2.6 MB
    let page = product("big", "Big bag") + &padding;
    let site = Site::start(move |path, _| match path {
        "/" => Reply::html(page.clone()),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--max-body",
        "65536",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = export(&ws);
    assert_eq!(ids(&lines), ["big"]);
    assert_eq!(lines[0]["truncated"], true);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn gzipped(body: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("content-type", "text/html".into()),
            ("content-encoding", "gzip".into()),
        ],
        body,
        delay: Duration::ZERO,
    }
}

#[test]
fn a_gzip_bomb_is_refused_and_gzip_pages_are_read() {
    // 64 MiB of spaces behind a product page, gzip-compressed to about 64 KiB.
    let mut page = product("bomb", "Bomb").into_bytes();
    page.resize(64 << 20, b' ');
    let bomb = gzip(&page);
    drop(page);
    assert!(bomb.len() < 1 << 20);
    let zipped = gzip(product("zipped", "Zipped bag").as_bytes());
    let site = Site::start(move |path, _| match path {
        "/" => Reply::html(r#"<a href="/bomb">b</a><a href="/zipped">z</a>"#),
        "/bomb" => gzipped(bomb.clone()),
        "/zipped" => gzipped(zipped.clone()),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--per-host-rps",
        "0",
        "--max-body",
        "100000",
    ]);
    // The other pages were stored: the crawl succeeds and lists the failure.
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("failed pages by cause"), "{err}");
    assert!(err.contains("inflates past 100000 bytes; refused"), "{err}");
    assert_eq!(ids(&export(&ws)), ["zipped"]);
}

#[test]
fn the_ssrf_guard_refuses_a_redirect_to_loopback() {
    let inner = Site::start(|_, _| Reply::html(product("secret", "Internal")));
    let target = inner.url("/latest/meta-data");
    let outer = Site::start(move |path, _| match path {
        "/" => Reply::status(302).header("location", target.clone()),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    // The outer site is allowed by name; the redirect target is not.
    let allowed = outer.addr.to_string();
    let out = ws.run(&["crawl", &outer.url("/"), "--allow-host", &allowed]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("refused") && err.contains("127.0.0.1"),
        "{err}"
    );
    assert_eq!(outer.hits("/"), 1);
    assert!(
        inner.requests().is_empty(),
        "the private address was reached"
    );
    assert!(export(&ws).is_empty());
    // Without any allowance the first request is refused too.
    let out = ws.run(&["crawl", &outer.url("/")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(outer.hits("/"), 1);
}

#[test]
fn a_redirect_outside_the_crawled_site_is_not_followed() {
    let other = Site::start(|_, _| Reply::html(product("elsewhere", "Other shop")));
    let target = other.url("/item/1");
    let site = Site::start(move |path, _| match path {
        "/" => Reply::html(r#"<a href="/go">go</a>"#),
        "/go" => Reply::status(301).header("location", target.clone()),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&["crawl", &site.url("/"), "--allow-private"]);
    let err = stderr(&out);
    assert!(
        err.contains("outside the pages this crawl may fetch"),
        "{err}"
    );
    assert_eq!(site.hits("/go"), 1);
    assert!(other.requests().is_empty(), "the redirect was followed");
    assert!(export(&ws).is_empty());
}

#[test]
fn proxy_variables_do_not_bypass_the_address_guard() {
    // A "proxy" that would happily fetch anything: it must never be asked.
    let proxy = Site::start(|_, _| Reply::html(product("leak", "Internal")));
    let ws = Workspace::new();
    // `localhost` resolves to loopback: the guarded resolver must see the name.
    let target = format!("http://localhost:{}/", proxy.addr.port());
    let proxy_url = proxy.url("");
    let out = ws
        .cmd()
        .args(["crawl", &target])
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refused"), "{err}");
    assert!(proxy.requests().is_empty(), "the proxy variable was used");
    assert!(export(&ws).is_empty());
    // An explicit --proxy is used, and the log says the guard is now its job.
    let out = ws.run(&["crawl", "http://shop.invalid/", "--proxy", &proxy_url]);
    let err = stderr(&out);
    assert!(
        err.contains("refusing private and loopback addresses is its job"),
        "{err}"
    );
    assert!(!proxy.requests().is_empty(), "--proxy was not used: {err}");
}

#[test]
fn a_crawl_killed_with_sigkill_resumes_without_refetching_or_losing_listings() {
    const N: usize = 60;
    let site = Site::start(|path, _| match path {
        "/" => Reply::html(
            (1..=N)
                .map(|i| format!("<a href=\"/item/{i}\">x</a>"))
                .collect::<String>(),
        ),
        p if p.starts_with("/item/") => {
            let mut r = Reply::html(product(&p[6..], "Bag"));
            r.delay = Duration::from_millis(20);
            r
        }
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let args = [
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--per-host-rps",
        "40",
        "--concurrency",
        "2",
    ];
    let mut child = ws.cmd().args(args).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while site
        .requests()
        .iter()
        .filter(|(_, p)| p.starts_with("/item/"))
        .count()
        < N / 3
    {
        assert!(Instant::now() < deadline, "the crawl did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = export(&ws);
    assert!(
        !before.is_empty() && before.len() < N,
        "{} stored",
        before.len()
    );

    // The targets are not given again: the database remembers them.
    let out = ws
        .cmd()
        .args(["crawl", "--resume"])
        .args(&args[2..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let after = export(&ws);
    assert_eq!(after.len(), N);
    let after_by_id: HashMap<&str, &serde_json::Value> = after
        .iter()
        .map(|l| (l["id"].as_str().unwrap(), l))
        .collect();
    for l in &before {
        let id = l["id"].as_str().unwrap();
        // Stored before the kill: kept as it was, and never fetched again.
        assert_eq!(after_by_id[id], l);
        assert_eq!(site.hits(&format!("/item/{id}")), 1, "/item/{id} refetched");
    }
    assert_eq!(site.hits("/"), 1, "the finished index page was refetched");
    let item_requests = site
        .requests()
        .iter()
        .filter(|(_, p)| p.starts_with("/item/"))
        .count();
    // Only the pages in flight at the kill may be fetched twice.
    assert!(item_requests <= N + 2, "{item_requests} item requests");
}

#[test]
fn resume_without_targets_needs_an_earlier_crawl() {
    let ws = Workspace::new();
    let out = ws.cmd().args(["crawl", "--resume"]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no earlier crawl"), "{err}");
    // Without --resume, targets are required.
    let out = ws.cmd().arg("crawl").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn scan_matches_crawled_listings_and_rematches_after_a_registry_change() {
    use markhound::demo::server::{DemoServer, Shop};
    let server = DemoServer::start(Shop::sample(None)).unwrap();
    let ws = Workspace::new();
    let profile = ws.write("shop.toml", server.profile());
    let registry = repo_root().join("trademarks");
    let out = ws.run(&["registry", "import", registry.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = ws.path().join("report");
    let out = ws.run(&[
        "scan",
        profile.to_str().unwrap(),
        "--allow-private",
        "--per-host-rps",
        "0",
        "--out",
        report.to_str().unwrap(),
    ]);
    // The shop has a page that always fails: listed by cause, as `crawl` does, and
    // the scan that stored what it could succeeds.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 500: 1"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("36 listings crawled, 0 matched again"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("findings.json")).unwrap())
            .unwrap();
    let marks: Vec<&str> = json["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["findings"][0]["mark_id"].as_str().unwrap())
        .collect();
    assert!(marks.contains(&"zentrix"), "{marks:?}");
    // Every suspect cites what was seen; the HTML report shows it too.
    let first = &json["suspects"][0];
    let sha = first["evidence"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    let html = std::fs::read_to_string(report.join("findings.html")).unwrap();
    assert!(html.contains(sha), "the HTML report cites the body hash");

    // Nothing new to match until the registry changes.
    let out = ws.run(&["scan", "--out", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 listings crawled, 0 matched again"),
        "{}",
        stderr(&out)
    );
    let out = ws.run(&["registry", "remove", "zentrix"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ws.run(&["report", "--format", "csv"]);
    assert!(stderr(&out).contains("not matched against the current registry"));
    let out = ws.run(&["scan", "--out", report.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("0 listings crawled, 36 matched again"),
        "{}",
        stderr(&out)
    );
    let out = ws.run(&["report", "--format", "csv", "--min-score", "0.5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.starts_with("rank,listing_id"), "{csv}");
    assert!(
        csv.contains("fake-04") && !csv.contains(",zentrix,"),
        "{csv}"
    );
}

/// A search of `pages` result pages, each linking `per_page` product pages and the
/// next result page (`rel=next` and a numbered link); each product page links a
/// deeper page (two hops from its result page) that is also a product.
fn paginated_site(pages: usize, per_page: usize, item_delay: Duration) -> Site {
    Site::start(move |path, _| {
        if let Some(n) = path
            .strip_prefix("/search?page=")
            .and_then(|r| r.strip_suffix("&q=bag"))
        {
            let n: usize = n.parse().unwrap_or(0);
            if n == 0 || n > pages {
                return Reply::status(404);
            }
            let mut html = String::from("<html><body><h1>Results</h1>");
            for k in 1..=per_page {
                html += &format!("<a href=\"/item/{n}-{k}\">bag {n}-{k}</a> ");
            }
            if n < pages {
                html += &format!(
                    "<a rel=\"next\" href=\"/search?page={}&q=bag\">next</a>",
                    n + 1
                );
            }
            html += "<a href=\"/search?page=1&q=bag\">first</a></body></html>";
            return Reply::html(html);
        }
        if let Some(id) = path.strip_prefix("/item/") {
            if let Some(id) = id.strip_suffix("/more") {
                return Reply::html(product(&format!("more-{id}"), "More"));
            }
            let mut r = Reply::html(product(id, "Bag").replace(
                "</body>",
                &format!("<a href=\"/item/{id}/more\">more</a></body>"),
            ));
            r.delay = item_delay;
            return r;
        }
        Reply::status(404)
    })
}

#[test]
fn a_paginated_search_is_crawled_whole_with_default_flags() {
    const PAGES: usize = 100;
    let site = paginated_site(PAGES, 3, Duration::ZERO);
    let ws = Workspace::new();
    let out = ws.run(&[
        "crawl",
        &site.url("/search?page=1&q=bag"),
        "--allow-private",
        "--per-host-rps",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for n in 1..=PAGES {
        assert_eq!(site.hits(&format!("/search?page={n}&q=bag")), 1, "page {n}");
    }
    let lines = export(&ws);
    let items = lines
        .iter()
        .filter(|l| !l["id"].as_str().unwrap().starts_with("more-"))
        .count();
    assert_eq!(items, PAGES * 3);
    // Two hops from a result page are followed by default, not three.
    assert_eq!(lines.len(), PAGES * 3 * 2);
    // Each field's source is stored with the evidence.
    let price_source = lines[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == "price")
        .unwrap();
    assert_eq!(price_source["source"], "json-ld");
}

#[test]
fn a_killed_crawl_resumes_with_its_limits_without_flags() {
    const PAGES: usize = 30;
    let site = paginated_site(PAGES, 3, Duration::from_millis(20));
    let ws = Workspace::new();
    let mut child = ws
        .cmd()
        .args([
            "crawl",
            &site.url("/search?page=1&q=bag"),
            "--allow-private",
            "--per-host-rps",
            "0",
            "--max-depth",
            "1",
            "--concurrency",
            "2",
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while site
        .requests()
        .iter()
        .filter(|(_, p)| p.starts_with("/item/"))
        .count()
        < PAGES
    {
        assert!(Instant::now() < deadline, "the crawl did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = export(&ws).len();
    assert!(before < PAGES * 3, "{before} stored before the kill");

    // No flags: the private address, the rate and the depth are restored.
    let out = ws.cmd().args(["crawl", "--resume"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(export(&ws).len(), PAGES * 3);
    let deeper = site
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("/more"))
        .count();
    assert_eq!(deeper, 0, "--max-depth 1 was forgotten");
    for n in 1..=PAGES {
        assert!(
            site.hits(&format!("/search?page={n}&q=bag")) >= 1,
            "page {n}"
        );
    }
    // Only the pages in flight at the kill (2 at once) may be fetched twice.
    let search_requests = site
        .requests()
        .iter()
        .filter(|(_, p)| p.starts_with("/search"))
        .count();
    assert!(
        search_requests <= PAGES + 2,
        "{search_requests} result-page requests"
    );
}

#[test]
fn a_crawl_that_stored_what_it_could_succeeds_unless_strict() {
    let site = Site::start(|path, _| match path {
        "/" => Reply::html(
            r#"<a href="/item/1">one</a> <a href="/gone">gone</a> <a href="/broken">b</a>"#,
        ),
        "/item/1" => Reply::html(product("1", "Bag")),
        "/broken" => Reply::status(500),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let args = [
        "crawl",
        &site.url("/"),
        "--allow-private",
        "--per-host-rps",
        "0",
    ];
    let out = ws
        .cmd()
        .args(args)
        .env("MARKHOUND_DELAY_SCALE", "0.001")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("HTTP 404: 1"), "{err}");
    assert!(err.contains("HTTP 500: 1"), "{err}");
    assert_eq!(ids(&export(&ws)), ["1"]);
    let out = ws
        .cmd()
        .args(args)
        .arg("--strict")
        .env("MARKHOUND_DELAY_SCALE", "0.001")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Nothing fetched at all is a failure without --strict too.
    let out = ws.run(&[
        "crawl",
        &site.url("/gone"),
        "--allow-private",
        "--per-host-rps",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn extract_shows_a_page_listing_and_its_sources() {
    let site = Site::start(|path, _| match path {
        "/item/7" => Reply::html(product("7", "Velmora bag")),
        "/help" => Reply::html("<h1>Help</h1><p>Ask us.</p>"),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let out = ws.run(&["extract", &site.url("/item/7"), "--allow-private", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["listing"]["title"], "Velmora bag");
    assert_eq!(v["listing"]["price"]["currency"], "USD");
    let sources = v["sources"].as_array().unwrap();
    assert!(sources
        .iter()
        .any(|s| s["field"] == "title" && s["source"] == "json-ld"));
    // Without --allow-private the address guard refuses the local server.
    let out = ws.run(&["extract", &site.url("/item/7")]);
    assert_eq!(out.status.code(), Some(1));
    // A saved page, and a page without a product (exit 1, with the reason).
    let file = ws.write("page.html", product("9", "Quvo case"));
    let out = ws.run(&[
        "extract",
        file.to_str().unwrap(),
        "--url",
        "https://shop.example/9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Quvo case  [json-ld 0.95]"), "{text}");
    let out = ws.run(&["extract", &site.url("/help"), "--allow-private"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("no listing"), "{}", stdout(&out));
    // Nothing was stored: the database was never created.
    assert!(!ws.db().exists());
}
