//! `crawl --render` and `extract --render` against a local shop whose product page
//! is built by script: the listing is stored from the rendered document, every
//! request of the browser goes through the address guard and robots.txt (the
//! refused requests never reach a server), and a page that never finishes
//! loading is given up at the timeout without stopping the crawl or leaving a
//! browser behind.
//!
//! Chromium is installed by `.ci/run`; elsewhere the tests are skipped with a
//! message when no Chromium is found (and fail when `CI` or
//! `MARKHOUND_REQUIRE_CHROMIUM` is set).

use std::time::{Duration, Instant};

use crate::crawl::{export, Reply, Site};
use crate::util::{stderr, stdout, Workspace};

/// A product page with no product in its HTML: a script fetches the product,
/// builds the heading and injects schema.org JSON-LD; it also asks for a URL on
/// `elsewhere` and one robots.txt disallows.
fn script_shop(elsewhere: String) -> Site {
    Site::start(move |path, _| match path {
        "/robots.txt" => Reply::html("User-agent: *\nDisallow: /private/\n"),
        "/item/1" => Reply::html(
            r#"<!doctype html><html><head><title>Loading</title></head>
            <body><div id="app">Loading</div><img src="/img/1.png">
            <script src="/app.js"></script></body></html>"#,
        ),
        "/app.js" => Reply::html(format!(
            r#"fetch("{elsewhere}/leak").catch(() => {{}});
            fetch("/private/secret.json").catch(() => {{}});
            fetch("/api/product.json").then(r => r.json()).then(p => {{
              const h = document.createElement("h1");
              h.textContent = p.name;
              document.getElementById("app").replaceChildren(h);
              const s = document.createElement("script");
              s.type = "application/ld+json";
              s.textContent = JSON.stringify({{"@context": "https://schema.org",
                "@type": "Product", "name": p.name, "sku": p.sku,
                "brand": {{"@type": "Brand", "name": p.brand}},
                "offers": {{"@type": "Offer", "price": p.price, "priceCurrency": "EUR"}}}});
              document.head.appendChild(s);
            }});"#
        ))
        .header("content-type", "text/javascript"),
        "/api/product.json" => Reply::html(
            r#"{"name": "Velmora tote", "sku": "VT-1", "brand": "Velmora", "price": "129.00"}"#,
        )
        .header("content-type", "application/json"),
        _ => Reply::status(404),
    })
}

/// Chromium processes started with a markhound profile folder under `dir`.
fn browsers_under(dir: &std::path::Path) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("user-data-dir={}", dir.display())])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn profiles_left(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("markhound-chromium-"))
        .collect()
}

#[test]
fn issue_11_a_page_built_by_script_is_rendered_under_the_crawl_rules() {
    let Some(_) = crate::util::chromium_or_skip() else {
        return;
    };
    // A second local server the page must not reach: it is not the allowed host.
    let refused = Site::start(|_, _| Reply::html("secret"));
    let shop = script_shop(refused.url(""));
    let allowed = shop.url("").trim_start_matches("http://").to_owned();
    let ws = Workspace::new();
    let tmp = ws.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();

    // Without --render the static HTML yields no listing.
    let out = ws.run(&[
        "crawl",
        &shop.url("/item/1"),
        "--allow-host",
        &allowed,
        "--per-host-rps",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(export(&ws).is_empty());
    assert_eq!(shop.hits("/app.js"), 0);

    let ws = Workspace::new();
    let out = ws
        .cmd()
        .args([
            "crawl",
            &shop.url("/item/1"),
            "--allow-host",
            &allowed,
            "--per-host-rps",
            "0",
            "--render",
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let lines = export(&ws);
    assert_eq!(lines.len(), 1, "{err}");
    let l = &lines[0];
    assert_eq!(l["title"], "Velmora tote");
    assert_eq!(l["brand"], "Velmora");
    assert_eq!(l["price"]["amount"], 129.0);
    assert_eq!(l["price"]["currency"], "EUR");
    assert!(
        err.contains(
            "1 pages rendered in Chromium (2 of their requests refused, 0 renders failed)"
        ),
        "{err}"
    );
    // The refused requests never arrived; the page itself was fetched once (the
    // browser got the crawl's copy); the image was not fetched at all.
    assert_eq!(refused.requests().len(), 0);
    assert_eq!(shop.hits("/private/secret.json"), 0);
    assert_eq!(shop.hits("/item/1"), 2, "once per crawl");
    assert_eq!(shop.hits("/api/product.json"), 1);
    assert_eq!(shop.hits("/img/1.png"), 0);
    // The rendered document is the evidence.
    assert_eq!(l["rendered"], true);
    assert_eq!(l["status"], 200);
    // The browser is gone, and its profile folder with it.
    assert_eq!(browsers_under(&tmp), 0);
    assert!(profiles_left(&tmp).is_empty(), "{:?}", profiles_left(&tmp));

    // extract --render shows the same listing without storing it.
    let out = ws.run(&[
        "extract",
        &shop.url("/item/1"),
        "--allow-private",
        "--render",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["listing"]["title"], "Velmora tote");
    let out = ws.run(&["extract", &shop.url("/item/1"), "--allow-private"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn issue_11_a_page_that_never_loads_is_given_up_and_the_crawl_goes_on() {
    let Some(_) = crate::util::chromium_or_skip() else {
        return;
    };
    let shop = Site::start(|path, _| match path {
        "/" => Reply::html(r#"<a href="/hang">a</a> <a href="/item/2">b</a>"#),
        "/hang" => Reply::html(
            r#"<html><head><title>Wait</title><script src="/never.js"></script></head><body></body></html>"#,
        ),
        "/never.js" => {
            let mut r = Reply::html("");
            r.delay = Duration::from_secs(60);
            r
        }
        "/item/2" => Reply::html(
            r#"<script type="application/ld+json">{"@type":"Product","name":"Quvo case",
            "offers":{"price":"5.00","priceCurrency":"USD"}}</script>"#,
        ),
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let tmp = ws.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let started = Instant::now();
    let out = ws
        .cmd()
        .args([
            "crawl",
            &shop.url("/"),
            "--allow-private",
            "--per-host-rps",
            "0",
            "--render",
            "--render-timeout",
            "3",
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40), "{err}");
    assert!(err.contains("1 renders failed"), "{err}");
    assert!(err.contains("not rendered within 3 s"), "{err}");
    let lines = export(&ws);
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0]["title"], "Quvo case");
    assert_eq!(browsers_under(&tmp), 0);
    assert!(profiles_left(&tmp).is_empty(), "{:?}", profiles_left(&tmp));
}

#[test]
fn render_always_without_chromium_names_what_to_install() {
    let ws = Workspace::new();
    let out = ws
        .cmd()
        .args([
            "crawl",
            "http://127.0.0.1:9/",
            "--allow-private",
            "--render=always",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("apt-get install chromium"), "{err}");
    // auto degrades to static HTML with one warning.
    let out = ws
        .cmd()
        .args([
            "crawl",
            "http://127.0.0.1:9/",
            "--allow-private",
            "--render",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(err.matches("are not rendered").count(), 1, "{err}");
}

#[test]
fn issue_11_the_browser_dies_with_a_crawl_killed_with_sigkill() {
    let Some(_) = crate::util::chromium_or_skip() else {
        return;
    };
    let shop = Site::start(|path, _| match path {
        "/hang" => Reply::html(
            r#"<html><head><title>Wait</title><script src="/never.js"></script></head><body></body></html>"#,
        ),
        "/never.js" => {
            let mut r = Reply::html("");
            r.delay = Duration::from_secs(60);
            r
        }
        _ => Reply::status(404),
    });
    let ws = Workspace::new();
    let tmp = ws.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = ws
        .cmd()
        .args([
            "crawl",
            &shop.url("/hang"),
            "--allow-private",
            "--per-host-rps",
            "0",
            "--render",
        ])
        .env("TMPDIR", &tmp)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while shop.hits("/never.js") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(shop.hits("/never.js"), 1, "the page is being rendered");
    assert!(browsers_under(&tmp) > 0);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while browsers_under(&tmp) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(browsers_under(&tmp), 0, "Chromium outlived markhound");
}
