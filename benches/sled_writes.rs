//! The review store's write pattern on sled alone, written five ways, to tell
//! whether its cost is per transaction or per record: listings per second for
//! 100,000 listings in batches of 1,000, each listing a 223-byte record and, for
//! three listings in eight, a 444-byte finding, a 145-byte audit entry, an
//! audit-log entry and two index keys (the sizes the review store writes for the
//! titles of `benches/nats_load.rs`).
//!
//! Ways: one transaction over sixteen trees (as [`markhound::store::Store`] does),
//! one over the six trees written, one atomic batch per tree, one batch in one
//! tree with the tree's number as a key prefix, and plain inserts.
//!
//! Run: `cargo bench --bench sled_writes` (env `LISTINGS`, default 100,000).

use std::time::Instant;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

type Writes = Vec<Vec<(Vec<u8>, Vec<u8>)>>;

/// The records of listings `range`, by tree.
fn writes(range: std::ops::Range<usize>) -> Writes {
    let mut w: Writes = vec![Vec::new(); 16];
    for i in range {
        w[0].push((format!("T{i}").into_bytes(), vec![b'l'; 223]));
        if i % 8 < 3 {
            let id = format!("T{i}\u{0}zentrix");
            w[1].push((id.clone().into_bytes(), vec![b'f'; 444]));
            w[2].push((format!("{id}\u{0}1").into_bytes(), vec![b'a'; 145]));
            w[3].push(((i as u64).to_be_bytes().to_vec(), id.clone().into_bytes()));
            w[4].push((format!("0.9123\u{0}{id}").into_bytes(), Vec::new()));
            w[5].push((format!("new\u{0}{id}").into_bytes(), Vec::new()));
        }
    }
    w
}

fn transaction(trees: &[sled::Tree], w: &Writes) {
    let refs: Vec<&sled::Tree> = trees.iter().collect();
    refs[..]
        .transaction(|t| {
            for (view, records) in t.iter().zip(w) {
                for (k, v) in records {
                    view.insert(k.as_slice(), v.as_slice())?;
                }
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        })
        .unwrap();
}

fn run(way: &str, listings: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let trees: Vec<sled::Tree> = (0..16)
        .map(|i| db.open_tree(format!("t{i}")).unwrap())
        .collect();
    let started = Instant::now();
    for start in (0..listings).step_by(1_000) {
        let w = writes(start..(start + 1_000).min(listings));
        match way {
            "transaction, 16 trees" => transaction(&trees, &w),
            "transaction, 6 trees" => transaction(&trees[..6], &w),
            "batch per tree" => {
                for (tree, records) in trees.iter().zip(&w) {
                    let mut batch = sled::Batch::default();
                    for (k, v) in records {
                        batch.insert(k.as_slice(), v.as_slice());
                    }
                    tree.apply_batch(batch).unwrap();
                }
            }
            "one batch, one tree" => {
                let mut batch = sled::Batch::default();
                for (t, records) in w.iter().enumerate() {
                    for (k, v) in records {
                        let mut key = vec![t as u8];
                        key.extend_from_slice(k);
                        batch.insert(key, v.as_slice());
                    }
                }
                trees[0].apply_batch(batch).unwrap();
            }
            _ => {
                for (tree, records) in trees.iter().zip(&w) {
                    for (k, v) in records {
                        tree.insert(k.as_slice(), v.as_slice()).unwrap();
                    }
                }
            }
        }
    }
    db.flush().unwrap();
    listings as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let listings = std::env::var("LISTINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("| way | listings/s |");
    println!("|---|---:|");
    for way in [
        "transaction, 16 trees",
        "transaction, 6 trees",
        "batch per tree",
        "one batch, one tree",
        "plain inserts",
    ] {
        println!("| {way} | {:.0} |", run(way, listings));
    }
}
