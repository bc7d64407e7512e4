//! Load on the review service: ingest throughput with 32 concurrent clients, then
//! queue-page latency (p50/p99) with 100 concurrent readers while the 32 ingest
//! clients keep posting, against a registry of 1,000 marks.
//!
//! It runs the real binary (`markhound serve` on 127.0.0.1:0, its own database in a
//! temp dir) and loads it from this process with async reqwest clients. Marks are
//! generated (pronounceable names); a fifth of the listings name one, the rest are
//! plain product titles, every listing id is new, and each POST carries a batch of
//! `BATCH` listings.
//!
//! Hand-rolled rather than criterion or oha: the figures are a throughput and a
//! latency distribution under concurrent mixed load against a separate process,
//! which neither a criterion routine nor a single-URL load tool gives.
//!
//! Run: `cargo bench --bench review_load` (env: `MARKHOUND_BIN` to load another
//! build of markhound; `SECONDS` per phase, default 10;
//! `BATCH`, default 100).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MARKS: usize = 1_000;
const INGEST_CLIENTS: usize = 32;
const READERS: usize = 100;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn registry_toml() -> String {
    let mut t = String::new();
    for i in 0..MARKS {
        t.push_str(&format!(
            "[[mark]]\nid = \"m{i}\"\nname = \"{}\"\nowner = \"Owner {i}\"\n\n",
            mark_name(i)
        ));
    }
    t
}

const WORDS: [&str; 12] = [
    "running",
    "shoes",
    "leather",
    "bag",
    "cotton",
    "shirt",
    "wireless",
    "headphones",
    "steel",
    "watch",
    "kids",
    "jacket",
];

fn listing(client: usize, seq: u64, i: usize) -> Value {
    let n = seq as usize * 131 + i * 17 + client;
    let mut title = format!(
        "{} {} {}",
        WORDS[n % 12],
        WORDS[(n / 12) % 12],
        WORDS[(n / 7) % 12]
    );
    if n % 5 == 0 {
        title = format!("{} {title}", mark_name(n % MARKS));
    }
    json!({"id": format!("c{client}-{seq}-{i}"), "title": title,
           "seller": {"id": format!("s{}", n % 500)}, "marketplace": "bench"})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() -> anyhow::Result<()> {
    let seconds = env_or("SECONDS", 10);
    let batch = env_or("BATCH", 100) as usize;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("db");
    // MARKHOUND_BIN runs another build (an earlier release) under the same load,
    // for a comparison in one run.
    let bin_path =
        std::env::var("MARKHOUND_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_markhound").into());
    let bin = bin_path.as_str();
    let marks = dir.path().join("marks.toml");
    std::fs::write(&marks, registry_toml())?;
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(bin).arg("--db").arg(&db).args(args).output()?;
        anyhow::ensure!(out.status.success(), "{args:?}: {out:?}");
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    };
    run(&["registry", "import", marks.to_str().unwrap()])?;
    let ingest_token = run(&["token", "create", "--role", "ingest", "--name", "bench"])?;
    let read_token = run(&["token", "create", "--role", "reviewer", "--name", "reader"])?;
    let mut server = Command::new(bin)
        .arg("--db")
        .arg(&db)
        // --quiet: no log line per request, which would cost as much as a page.
        .args(["--quiet", "serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line)?;
    let base = line.trim().trim_start_matches("listening on ").to_owned();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async move {
        let client = reqwest::Client::new();
        // Phase 1: ingest alone.
        let (listings, elapsed) =
            ingest_phase(&client, &base, &ingest_token, batch, seconds, None).await?;
        println!(
            "ingest: {INGEST_CLIENTS} clients, batches of {batch}, {MARKS} marks: {listings} listings in {:.1} s = {:.0} listings/s",
            elapsed.as_secs_f64(),
            listings as f64 / elapsed.as_secs_f64()
        );
        // Phase 2: readers while ingest runs.
        let stop = Arc::new(AtomicBool::new(false));
        let ingest = tokio::spawn({
            let (client, base, token, stop) =
                (client.clone(), base.clone(), ingest_token.clone(), stop.clone());
            async move { ingest_phase(&client, &base, &token, batch, u64::MAX, Some(stop)).await }
        });
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let (client, base, token) = (client.clone(), base.clone(), read_token.clone());
            readers.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = client
                        .get(format!("{base}/api/v1/findings?state=new&limit=50"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            lat.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        for r in readers {
            let (l, e) = r.await?;
            lat.extend(l);
            errors += e;
        }
        stop.store(true, Ordering::Relaxed);
        let (listings, elapsed) = ingest.await??;
        lat.sort();
        println!(
            "queue page (limit 50) with {READERS} readers during ingest: {} requests, {errors} errors, p50 {:.1} ms, p99 {:.1} ms; ingest meanwhile {:.0} listings/s",
            lat.len(),
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            listings as f64 / elapsed.as_secs_f64()
        );
        anyhow::Ok(())
    });
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// 32 clients posting batches until `seconds` pass or `stop` is set; returns the
/// listings acknowledged and the time taken.
async fn ingest_phase(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    batch: usize,
    seconds: u64,
    stop: Option<Arc<AtomicBool>>,
) -> anyhow::Result<(u64, Duration)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds.min(3600));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..INGEST_CLIENTS {
        let (client, base, token, done, stop) = (
            client.clone(),
            base.to_owned(),
            token.to_owned(),
            done.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let stopped = stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
                if stopped || (stop.is_none() && Instant::now() >= deadline) {
                    return anyhow::Ok(());
                }
                let seq = SEQ.fetch_add(1, Ordering::Relaxed);
                let body: Vec<Value> = (0..batch).map(|i| listing(c, seq, i)).collect();
                let r = client
                    .post(format!("{base}/api/v1/listings"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "ingest: {}", r.status());
                let _ = r.bytes().await?;
                done.fetch_add(batch as u64, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((done.load(Ordering::Relaxed), start.elapsed()))
}
