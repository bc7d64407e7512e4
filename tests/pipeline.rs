//! The one pipeline from listing to decision: the demo's findings in the review
//! queue, reviewer decisions that survive a re-scan, a changed listing reopened with
//! the reason in its audit log, a scan killed at any moment leaving every listing
//! whole, a database of the previous release migrated, and the HTML report showing
//! every listing photo after the shop is gone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use markhound::demo::{kind_of, sample_listings, Kind};
use markhound::review::State;
use markhound::store::Store;
use serde_json::Value;

use crate::util::{listening, repo_root, stderr, stdout, Workspace};

const MARKS: &str = r#"
[[mark]]
id = "zentrix"
name = "Zentrix"
owner = "Zentrix Sports Ltd."
"#;

/// `markhound serve` on a database, stopped when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Imports [`MARKS`] into the workspace's database.
fn import_marks(ws: &Workspace) {
    let marks = ws.write("marks.toml", MARKS);
    let out = ws.run(&["registry", "import", marks.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A workspace whose database holds [`MARKS`].
fn with_marks() -> Workspace {
    let ws = Workspace::new();
    import_marks(&ws);
    ws
}

fn markhound(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_markhound"));
    cmd.arg("--db").arg(db).env_remove("MARKHOUND_DB");
    cmd
}

fn token(db: &Path) -> String {
    let out = markhound(db)
        .args(["token", "create", "--role", "admin", "--name", "ada"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn serve(db: &Path) -> Served {
    let mut child = markhound(db)
        .args(["--quiet", "serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = listening(&mut child);
    Served { child, base }
}

fn get(served: &Served, token: &str, path: &str) -> Value {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}{path}", served.base))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().unwrap()
}

/// Opens a database another process just closed (sled frees its lock shortly
/// after the process exits).
fn open_db(path: &Path) -> sled::Db {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match markhound::db::open(path) {
            Ok(db) => return db,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open {}: {e:#}", path.display()),
        }
    }
}

/// A product page with JSON-LD, as a raw HTTP answer.
fn product_page(sku: &str, title: &str) -> Vec<u8> {
    let body = format!(
        r#"<html><head><script type="application/ld+json">{{"@type":"Product","name":"{title}","sku":"{sku}","offers":{{"price":"15.00","priceCurrency":"USD"}}}}</script></head><body><h1>{title}</h1></body></html>"#
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn robots() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
}

#[test]
fn the_demo_leaves_its_suspects_in_the_review_queue() {
    let ws = Workspace::new();
    let out_dir = ws.path().join("out");
    let out = ws.run(&["demo", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("review queue"), "{}", stdout(&out));
    let db = out_dir.join("demo.db");
    let token = token(&db);
    let served = serve(&db);
    let page = get(&served, &token, "/api/v1/findings?min_score=0.5&limit=500");
    let items = page["items"].as_array().unwrap();
    let listed: Vec<&str> = items
        .iter()
        .map(|f| f["listing_id"].as_str().unwrap())
        .collect();
    for l in sample_listings() {
        if kind_of(&l.id) == Some(Kind::Counterfeit) {
            assert!(
                listed.contains(&l.id.as_str()),
                "{} missing: {listed:?}",
                l.id
            );
        }
    }
    assert!(items.iter().all(|f| f["state"] == "new"));
    // The finding page's listing carries the crawl's evidence.
    let first = items[0]["id"].as_str().unwrap();
    let finding = get(&served, &token, &format!("/api/v1/findings/{first}"));
    assert_eq!(finding["history"][0]["actor"], "crawl", "{finding}");
}

#[test]
fn a_dismissal_survives_a_rescan_and_a_changed_listing_reopens() {
    let ws = with_marks();
    let first = crate::util::serve(vec![
        ("/robots.txt", robots()),
        ("/item/1", product_page("Z1", "Zentrix trainers")),
    ]);
    let scan = |base: &str| {
        let out = ws.run(&[
            "--quiet",
            "scan",
            &format!("{base}/item/1"),
            "--allow-private",
            "--out",
            ws.path().join("report").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    scan(&first);
    let finding_id = {
        let db = open_db(&ws.db());
        let store = Store::open(&db).unwrap();
        let listing = store.listing("Z1").unwrap().expect("the crawled listing");
        assert!(listing.evidence.is_some());
        let id = listing.finding_ids[0].clone();
        let f = store.existing_finding(&id).unwrap();
        assert_eq!(f.state, State::New);
        store
            .transition(&id, State::InReview, 1, "rita", "")
            .unwrap();
        store
            .transition(&id, State::Dismissed, 2, "rita", "the brand's own shop")
            .unwrap();
        store.flush().unwrap();
        id
    };
    // The same page again: nothing changes.
    scan(&first);
    {
        let db = open_db(&ws.db());
        let store = Store::open(&db).unwrap();
        let f = store.existing_finding(&finding_id).unwrap();
        assert_eq!((f.state, f.version), (State::Dismissed, 3));
        assert_eq!(store.audit(&finding_id).unwrap().len(), 3);
    }
    // The listing comes back with another title: its evidence changed, so the
    // finding reopens and the audit log says why.
    let changed = crate::util::serve(vec![
        ("/robots.txt", robots()),
        (
            "/item/1",
            product_page("Z1", "Zentrix trainers 1:1 replica"),
        ),
    ]);
    scan(&changed);
    let db = open_db(&ws.db());
    let store = Store::open(&db).unwrap();
    let f = store.existing_finding(&finding_id).unwrap();
    assert_eq!(f.state, State::Reopened);
    let last = store.audit(&finding_id).unwrap().pop().unwrap();
    assert_eq!(last.from, Some(State::Dismissed));
    assert!(
        last.note.contains("listing changed: title"),
        "{}",
        last.note
    );
}

#[test]
fn a_scan_killed_at_any_moment_leaves_every_listing_whole() {
    use markhound::demo::server::{DemoServer, Shop};
    let server =
        DemoServer::start(Shop::sample(Some(repo_root().join("trademarks/images")))).unwrap();
    let ws = Workspace::new();
    let profile = ws.write("shop.toml", server.profile());
    let registry = repo_root().join("trademarks");
    assert!(ws
        .run(&["registry", "import", registry.to_str().unwrap()])
        .status
        .success());
    let counterfeits = sample_listings()
        .into_iter()
        .filter(|l| kind_of(&l.id) == Some(Kind::Counterfeit))
        .map(|l| l.id)
        .collect::<Vec<_>>();
    let mut partial = false;
    for kill_after in [1500, 2500, 3500] {
        let mut child = ws
            .cmd()
            .args([
                "--quiet",
                "scan",
                profile.to_str().unwrap(),
                "--allow-private",
                "--per-host-rps",
                "10",
                "--out",
                ws.path().join("report").to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        child.kill().unwrap();
        child.wait().unwrap();
        let db = open_db(&ws.db());
        let store = Store::open(&db).unwrap();
        let mut stored = 0;
        for listing in store.listings() {
            let listing = listing.unwrap();
            stored += 1;
            // Matched when stored, and every finding it names exists.
            assert!(listing.registry_version.is_some(), "{}", listing.listing.id);
            for id in &listing.finding_ids {
                assert!(store.finding(id).unwrap().is_some(), "{id}");
                assert!(!store.audit(id).unwrap().is_empty(), "{id}");
            }
            if counterfeits.contains(&listing.listing.id) {
                assert!(
                    !listing.finding_ids.is_empty(),
                    "{} stored without its findings",
                    listing.listing.id
                );
            }
        }
        eprintln!("killed after {kill_after} ms: {stored} listings stored, all whole");
        partial |= (1..36).contains(&stored);
    }
    assert!(partial, "no kill landed in the middle of the scan");
}

/// Unpacks the database written by the previous release (schema version 1: see
/// tests/fixtures/README.md) into `dir`.
fn previous_release_db(dir: &Path) -> PathBuf {
    let status = Command::new("tar")
        .arg("xzf")
        .arg(repo_root().join("tests/fixtures/db-v1.tar.gz"))
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("demo.db")
}

#[test]
fn a_database_of_the_previous_release_is_migrated_on_open() {
    let ws = Workspace::new();
    let db = previous_release_db(ws.path());
    // Crawled listings of version 1 are in the one store, with their evidence,
    // waiting to be matched.
    let out = markhound(&db)
        .args(["listings", "export"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 36, "{}", lines.len());
    let crawled = lines
        .iter()
        .find(|l| l["id"] == "fake-01")
        .expect("a crawled listing");
    assert_eq!(crawled["sha256"].as_str().unwrap().len(), 64);
    assert!(lines.iter().any(|l| l["id"] == "api-1"));
    // The review queue of version 1 is intact: decisions and audit log.
    {
        let handle = open_db(&db);
        let store = Store::open(&handle).unwrap();
        let confirmed = store.existing_finding("f1d12ae8f791b00a").unwrap();
        assert_eq!((confirmed.state, confirmed.version), (State::Confirmed, 3));
        assert_eq!(store.audit("f1d12ae8f791b00a").unwrap().len(), 3);
        let dismissed = store.existing_finding("afb8c388a10bb9f4").unwrap();
        assert_eq!(dismissed.state, State::Dismissed);
        assert_eq!(store.pending(u64::MAX).unwrap().len(), lines.len());
        let names = handle.tree_names();
        assert!(
            !names.iter().any(|n| n.starts_with(b"store.")),
            "the old trees are gone"
        );
    }
    // A scan matches the migrated listings into the queue; decisions stay.
    let out = markhound(&db)
        .args(["scan", "--out"])
        .arg(ws.path().join("report"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let handle = open_db(&db);
    let store = Store::open(&handle).unwrap();
    let fake = store.listing("fake-01").unwrap().unwrap();
    assert!(!fake.finding_ids.is_empty());
    assert_eq!(
        store.existing_finding("afb8c388a10bb9f4").unwrap().state,
        State::Dismissed
    );
    assert_eq!(
        store.existing_finding("f1d12ae8f791b00a").unwrap().state,
        State::Confirmed
    );
}

#[test]
fn the_html_report_shows_every_photo_after_the_shop_is_gone() {
    let Some(bin) = crate::util::chromium_or_skip() else {
        return;
    };
    let ws = Workspace::new();
    let out_dir = ws.path().join("out");
    let out = ws.run(&["demo", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The demo shop stopped with the demo; the report must not need it.
    let html = std::fs::read_to_string(out_dir.join("findings.html")).unwrap();
    assert!(
        !html.contains("src=\"http"),
        "the report loads from the shop"
    );
    let page = out_dir.join("findings.html");
    let mut b = crate::review_browser::Browser::launch(&bin);
    b.goto(&format!("file://{}", page.display()));
    b.wait_for("document.images.length > 0");
    let photos = b.eval("document.querySelectorAll('img[alt=\"listing photo\"]').length");
    assert!(photos.as_u64().unwrap() >= 20, "{photos} listing photos");
    assert_eq!(
        b.eval("document.querySelectorAll('.missing').length"),
        serde_json::json!(0),
        "a listing photo was not kept"
    );
    // Every picture decoded, and none came from anywhere but the page itself.
    assert_eq!(
        b.eval("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"),
        serde_json::json!(0),
        "broken images"
    );
    assert_eq!(
        b.eval("[...document.images].filter(i => !i.src.startsWith('data:image/')).length"),
        serde_json::json!(0)
    );
    assert_eq!(
        b.eval("performance.getEntriesByType('resource').filter(e => !e.name.startsWith('data:')).length"),
        serde_json::json!(0),
        "the report made a request"
    );
}

#[test]
fn read_commands_on_a_missing_database_fail_and_create_nothing() {
    let ws = Workspace::new();
    for args in [
        &["registry", "list"][..],
        &["registry", "export"],
        &["report"],
        &["listings", "export"],
        &["match", "--title", "Zentrix"],
        &["token", "create", "--role", "admin", "--name", "ada"],
    ] {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("there is no database at"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!ws.db().exists(), "{args:?} created a database");
    }
    // A command that writes creates it.
    import_marks(&ws);
    assert!(ws.run(&["registry", "list"]).status.success());
}

#[test]
fn handed_in_listings_keep_one_limit_per_field_on_every_path() {
    let ws = with_marks();
    let long = "x".repeat(markhound::listing::limits::TITLE + 1);
    let lines = format!(
        "{{\"id\":\"a\",\"title\":\"{long}\"}}\n{{\"id\":\"b\",\"title\":\"Zentrix\",\"price\":{{\"amount\":-1,\"currency\":\"USD\"}}}}\n{{\"id\":\"c\",\"title\":\"Zentrix\"}}\n"
    );
    let out = crate::util::run_with_stdin(ws.cmd().args(["match", "--store"]), &lines);
    assert_eq!(out.status.code(), Some(1));
    let answers: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(answers[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("title: 2049 bytes, at most 2048"));
    assert!(answers[1]["error"]
        .as_str()
        .unwrap()
        .starts_with("price.amount"));
    assert_eq!(answers[2]["findings"][0]["mark_id"], "zentrix");
    // The same limits on the service's ingest; the stored listing went to the
    // review queue through `match --store`.
    let db = ws.db();
    let token = token(&db);
    let served = serve(&db);
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/listings", served.base))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"id": "a", "title": long}]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .unwrap()
        .contains("title: 2049 bytes, at most 2048"));
    let queue = get(&served, &token, "/api/v1/findings");
    assert_eq!(queue["items"][0]["listing_id"], "c", "{queue}");
}

/// A listing of `shop.example` for the census tests: its title, declared brand and
/// seller.
fn listing(id: &str, title: &str, brand: Option<&str>, seller: &str) -> markhound::store::Incoming {
    use markhound::listing::{Listing, Seller};
    markhound::store::Incoming::handed_in(Listing {
        id: id.into(),
        title: title.into(),
        brand: brand.map(Into::into),
        marketplace: Some("shop.example".into()),
        seller: Some(Seller {
            id: seller.into(),
            ..Seller::default()
        }),
        ..Listing::default()
    })
}

/// The database of `ws`, a pipeline built from its registry and its store, as a
/// new process opens them.
fn open_pipeline(ws: &Workspace) -> (sled::Db, markhound::pipeline::Pipeline, Store) {
    use markhound::pipeline::{Config, Pipeline};
    let db = open_db(&ws.db());
    let pipeline = Pipeline::from_registry(&db, &Config::default()).unwrap();
    let store = Store::open(&db).unwrap();
    (db, pipeline, store)
}

/// How many of `records` are findings of listing `id`.
fn findings_of(records: &[markhound::review::FindingRecord], id: &str) -> usize {
    records.iter().filter(|r| r.listing_id == id).count()
}

#[test]
fn a_spelling_two_sellers_declare_as_their_brand_is_learnt_and_kept() {
    let ws = with_marks();
    {
        let (db, pipeline, store) = open_pipeline(&ws);
        // A misspelling of the mark that no seller declares is a finding.
        let r = pipeline
            .ingest(
                &store,
                vec![listing("a", "Zentrax running shoes", None, "s1")],
                "t",
            )
            .unwrap();
        assert_eq!(findings_of(&r, "a"), 1);
        // One seller declaring it decides for that listing only; a second seller in
        // the same batch makes it a brand for the batch's other listings too.
        let r = pipeline
            .ingest(
                &store,
                vec![
                    listing("d", "Zentrax trail jacket", None, "s3"),
                    listing("b", "Zentrax trail shoes", Some("Zentrax"), "s1"),
                    listing("c", "Zentrax hiking socks", Some("ZENTRAX"), "s2"),
                ],
                "t",
            )
            .unwrap();
        assert_eq!(r.len(), 0, "{r:?}");
        store.flush().unwrap();
        db.flush().unwrap();
    }
    // A new process knows it from the database.
    let (_db, pipeline, store) = open_pipeline(&ws);
    let r = pipeline
        .ingest(
            &store,
            vec![
                listing("e", "Zentrax cap", None, "s4"),
                listing("f", "Zentrix cap", None, "s4"),
                listing("g", "Zentrax cap replica", None, "s4"),
            ],
            "t",
        )
        .unwrap();
    assert_eq!(findings_of(&r, "e"), 0, "{r:?}");
    assert_eq!(findings_of(&r, "f"), 1, "the mark as written");
    assert_eq!(findings_of(&r, "g"), 1, "code words");
}

#[test]
fn a_spelling_two_sellers_write_and_one_declares_is_learnt_and_kept() {
    let ws = with_marks();
    {
        let (db, pipeline, store) = open_pipeline(&ws);
        // Written by two sellers, declared by neither: a misspelling still.
        let r = pipeline
            .ingest(
                &store,
                vec![
                    listing("a", "Zentrux running shoes", None, "s1"),
                    listing("b", "Zentrux trail shoes", None, "s2"),
                ],
                "t",
            )
            .unwrap();
        assert_eq!(findings_of(&r, "a") + findings_of(&r, "b"), 2, "{r:?}");
        // Written by two sellers in one batch and declared by one of them: a brand
        // of its own for every listing of the batch, those declaring nothing too.
        let r = pipeline
            .ingest(
                &store,
                vec![
                    listing("c", "Zentrox tripod 4-section", None, "s3"),
                    listing(
                        "d",
                        "Zentrox travel charger",
                        Some("Zentrox Electronics"),
                        "s1",
                    ),
                    listing("e", "Zentrox usb cable", None, "s2"),
                ],
                "t",
            )
            .unwrap();
        assert_eq!(r.len(), 0, "{r:?}");
        store.flush().unwrap();
        db.flush().unwrap();
    }
    // A new process knows it from the database (its keys end in 0x01 and the
    // seller); the mark as written and code words still count.
    let (_db, pipeline, store) = open_pipeline(&ws);
    let r = pipeline
        .ingest(
            &store,
            vec![
                listing("f", "Zentrox lamp", None, "s4"),
                listing("g", "Zentrix lamp", None, "s4"),
                listing("h", "Zentrox lamp replica", None, "s4"),
                listing("i", "Zentrux lamp", None, "s4"),
            ],
            "t",
        )
        .unwrap();
    assert_eq!(findings_of(&r, "f"), 0, "{r:?}");
    assert_eq!(findings_of(&r, "g"), 1, "the mark as written");
    assert_eq!(findings_of(&r, "h"), 1, "code words");
    assert_eq!(findings_of(&r, "i"), 1, "a spelling nobody declares");
}
