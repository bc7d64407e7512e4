//! Ingest time per batch when the same sellers come back batch after batch.
//!
//! Twenty batches of 2,000 listings, each naming one of 50 marks, go through
//! `Pipeline::ingest` (the path of `serve`, `match --store` and the crawler) into one
//! store. After each batch a tenth of its findings are taken down (moved to
//! `removed`), so the relisting check has removed findings of the same sellers and
//! marks to consult. Run twice in one process: with 50 recurring sellers, and with a
//! new seller for every listing. The relisting check must not read every earlier
//! finding of a seller: per-batch time stays flat in both runs.
//!
//! Hand-rolled rather than criterion: the figure is how one batch's time evolves as
//! the store grows, not one routine's time.
//!
//! Run: `cargo bench --bench recurring_sellers` (env: `BATCHES`, default 20;
//! `BATCH`, default 2,000).

use std::path::Path;
use std::time::Instant;

use markhound::listing::{Listing, Seller};
use markhound::pipeline::{Config, Pipeline};
use markhound::registry::{parse_str, Format};
use markhound::review::State;
use markhound::store::{Incoming, Store};

const MARKS: usize = 50;
const SELLERS: usize = 50;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A distinct invented word for mark `i`.
fn mark_name(i: usize) -> String {
    const ONSETS: [&str; 8] = ["b", "d", "k", "l", "m", "r", "t", "v"];
    const VOWELS: [&str; 4] = ["a", "e", "o", "u"];
    let mut n = i + 100;
    let mut s = String::from("Zy");
    while n > 0 {
        s.push_str(ONSETS[n % 8]);
        n /= 8;
        s.push_str(VOWELS[n % 4]);
        n /= 4;
    }
    s
}

fn run(label: &str, recurring: bool, batches: usize, batch: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::open(dir.path().join("db")).expect("open sled");
    let toml: String = (0..MARKS)
        .map(|i| {
            format!(
                "[[mark]]\nid = \"m{i}\"\nname = \"{}\"\nclasses = [25]\n\n",
                mark_name(i)
            )
        })
        .collect();
    let marks = parse_str(&toml, Format::Toml, Path::new(".")).expect("marks");
    let pipeline = Pipeline::new(marks, 1, &Config::default()).expect("pipeline");
    let store = Store::open(&db).expect("store");
    let mut times = Vec::new();
    for b in 0..batches {
        let incoming: Vec<Incoming> = (0..batch)
            .map(|i| {
                let n = b * batch + i;
                let seller = if recurring {
                    format!("seller-{}", n % SELLERS)
                } else {
                    format!("seller-{n}")
                };
                Incoming {
                    listing: Listing {
                        id: format!("l{n}"),
                        title: format!("{} running shoes size {}", mark_name(n % MARKS), n % 13),
                        seller: Some(Seller {
                            id: seller,
                            name: None,
                            url: None,
                        }),
                        marketplace: Some("bench".into()),
                        ..Listing::default()
                    },
                    evidence: None,
                    body: None,
                }
            })
            .collect();
        let started = Instant::now();
        let findings = pipeline.ingest(&store, incoming, "bench").expect("ingest");
        let took = started.elapsed();
        times.push(took.as_secs_f64());
        // Take a tenth of the batch's findings down.
        for f in findings.iter().step_by(10) {
            let mut version = f.version;
            for to in [
                State::InReview,
                State::Confirmed,
                State::NoticeSent,
                State::Removed,
            ] {
                version = store
                    .transition(&f.id, to, version, "bench", "")
                    .expect("transition")
                    .version;
            }
        }
        eprintln!(
            "{label}: batch {:>2}: {:>6.3} s ({} findings)",
            b + 1,
            took.as_secs_f64(),
            findings.len()
        );
    }
    let first = times[..3].iter().sum::<f64>() / 3.0;
    let last = times[times.len() - 3..].iter().sum::<f64>() / 3.0;
    println!(
        "{label}: first three batches {first:.3} s each, last three {last:.3} s each, ratio {:.2}",
        last / first
    );
}

fn main() {
    let batches = env_or("BATCHES", 20).max(6);
    let batch = env_or("BATCH", 2_000);
    println!("{batches} batches of {batch} listings, {MARKS} marks");
    run("50 recurring sellers", true, batches, batch);
    run("unique sellers", false, batches, batch);
}
