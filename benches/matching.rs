//! Title matching at scale: does the matcher keep its speed and stay within memory
//! when the registry grows from 1,000 to 100,000 marks?
//!
//! Registries of fictional marks are generated deterministically (pronounceable names
//! of 4 to 12 letters, some of two words, about a fifth with a Han alias); the 1,000
//! marks are the first 1,000 of the 100,000, so both runs look for the same mentions.
//! A fixed set of 20,000 titles (real Amazon titles from the Walmart-Amazon data when
//! `../shared/data` is present, generated ones otherwise) gets planted mentions of
//! those first marks, written as registered, misspelt by one edit or disguised, so the
//! exact, look-alike and fuzzy paths all run.
//!
//! For each size the bench reports the index build time, titles per second through
//! [`Scorer::score`] on one thread, and peak memory. Each size runs in its own process
//! (the bench re-executes itself with `--size N`) so that the peak resident set
//! (`VmHWM` in `/proc/self/status`) of one size does not hide in the other's.
//!
//! Hand-rolled rather than criterion: criterion times one routine in one process,
//! while this table needs a build time, a throughput over a fixed corpus and a peak
//! memory per registry size, each in a fresh process.
//!
//! Run: `cargo bench --bench matching`

use std::collections::HashSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use markhound::listing::Listing;
use markhound::registry::Mark;
use markhound::scoring::{Rates, Scorer};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Registry sizes measured, smallest first (the first is the baseline of the ratio).
const SIZES: &[usize] = &[1_000, 100_000];
/// Titles in the fixed corpus.
const TITLES: usize = 20_000;
/// Marks whose names are planted in titles: the first ones, present at every size.
const PLANTED_FROM: usize = 1_000;
/// Keep timing passes over the corpus until this much time has passed.
const MIN_MEASURE: Duration = Duration::from_secs(3);
/// Real titles, relative to the crate root.
const TITLE_CSV: &str = "../shared/data/magellan-walmart-amazon/tableB.csv";

const REGISTRY_SEED: u64 = 0x6d61_726b;
const TITLE_SEED: u64 = 0x7469_746c;

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "cr", "dr", "fl", "gr", "kl", "pr", "st", "tr", "sh", "ch", "th", "qu", "x",
];
const VOWELS: &[&str] = &[
    "a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "io", "ou", "y",
];
const CODAS: &[&str] = &["", "", "", "n", "r", "s", "x", "l", "m", "t", "k"];
/// Common Han characters of transliterated brand names.
const HAN: &str = "安百宝北贝比博彩畅辰诚达大德迪东都尔法飞丰福富格谷冠光广国海豪和恒宏华辉惠吉佳嘉杰金锦晶京精久聚凯康科克可酷莱蓝乐雷力立利联良林灵龙隆路罗马美蒙米明摩纳耐能尼欧派鹏品普奇启千强晴瑞润森尚圣盛诗时世仕士斯思泰特天通威维伟文沃西喜仙祥欣新鑫星兴雅亚扬耀伊艺益英永优宇元源悦云泽展兆真正之中卓紫";
/// Words of generated titles, when the real ones are absent.
const PRODUCT_WORDS: &[&str] = &[
    "wireless",
    "charger",
    "usb",
    "cable",
    "black",
    "white",
    "pack",
    "case",
    "cover",
    "ink",
    "cartridge",
    "laptop",
    "bag",
    "sleeve",
    "kit",
    "replacement",
    "battery",
    "lamp",
    "mount",
    "stand",
    "adapter",
    "hdmi",
    "speaker",
    "stereo",
    "headphones",
    "mouse",
    "keyboard",
    "drive",
    "portable",
    "digital",
    "camera",
    "lens",
    "filter",
    "memory",
    "card",
    "printer",
    "toner",
    "professional",
    "series",
    "edition",
    "inch",
    "set",
    "pro",
    "mini",
    "compact",
    "deluxe",
];

/// What one size's process reports to the parent.
#[derive(Debug, Serialize, Deserialize)]
struct Measurement {
    marks: usize,
    terms: usize,
    build_ms: f64,
    titles: usize,
    passes: usize,
    titles_per_s: f64,
    /// Per second of this thread's CPU time, when the kernel reports it.
    titles_per_cpu_s: Option<f64>,
    planted: usize,
    planted_found: usize,
    titles_with_findings: usize,
    rss_before_index_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
}

/// A pronounceable word of `min..=max` letters.
fn word(rng: &mut SmallRng, min: usize, max: usize) -> String {
    let target = rng.random_range(min..=max);
    let mut w = String::new();
    while w.len() < target {
        w.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
        w.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
        if rng.random_bool(0.3) {
            w.push_str(CODAS[rng.random_range(0..CODAS.len())]);
        }
    }
    w.truncate(target);
    w
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The first `n` marks of the generated registry (a prefix of every larger one).
fn registry(n: usize) -> Vec<Mark> {
    let mut rng = SmallRng::seed_from_u64(REGISTRY_SEED);
    let han: Vec<char> = HAN.chars().collect();
    let mut seen = HashSet::new();
    let mut marks = Vec::with_capacity(n);
    while marks.len() < n {
        let name = if rng.random_bool(0.15) {
            // Two words, 4 to 12 letters together.
            let a = word(&mut rng, 2, 6);
            let b = word(&mut rng, 2, 6);
            format!("{} {}", capitalise(&a), capitalise(&b))
        } else {
            capitalise(&word(&mut rng, 4, 12))
        };
        let letters = name.chars().filter(char::is_ascii_alphabetic).count();
        if !(4..=12).contains(&letters) || !seen.insert(name.to_lowercase()) {
            continue;
        }
        let aliases = if rng.random_bool(0.2) {
            let len = rng.random_range(2..=4);
            vec![(0..len)
                .map(|_| han[rng.random_range(0..han.len())])
                .collect()]
        } else {
            Vec::new()
        };
        marks.push(Mark {
            id: format!("m{:06}", marks.len()),
            name,
            aliases,
            ..Mark::default()
        });
    }
    marks
}

/// Real titles from the Walmart-Amazon data, or `None` when the folder is absent.
fn real_titles() -> anyhow::Result<Option<Vec<String>>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TITLE_CSV);
    if !path.exists() {
        return Ok(None);
    }
    let mut rdr =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("{}: no header row", path.display()))?
        .clone();
    let Some(col) = headers.iter().position(|h| h == "title") else {
        bail!("{}: no column \"title\"", path.display());
    };
    let mut titles = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: record {}", path.display(), n + 1))?;
        let t = rec.get(col).unwrap_or("").trim();
        if !t.is_empty() {
            titles.push(t.to_string());
        }
    }
    if titles.is_empty() {
        bail!("{}: no titles", path.display());
    }
    Ok(Some(titles))
}

/// One edit of the mark's name: a letter replaced, dropped, doubled or two swapped.
fn misspell(name: &str, rng: &mut SmallRng) -> String {
    let mut c: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (1..c.len())
        .filter(|&i| c[i].is_ascii_alphabetic())
        .collect();
    let i = letters[rng.random_range(0..letters.len())];
    match rng.random_range(0..4) {
        0 => c[i] = (b'a' + rng.random_range(0..26u8)) as char,
        1 => {
            c.remove(i);
        }
        2 => c.insert(i, c[i]),
        _ => {
            if i + 1 < c.len() && c[i + 1].is_ascii_alphabetic() {
                c.swap(i, i + 1);
            } else {
                c.swap(i - 1, i);
            }
        }
    }
    c.into_iter().collect()
}

/// The mark's name with look-alike digits (leetspeak).
fn disguise(name: &str) -> String {
    name.chars()
        .map(|ch| match ch {
            'o' => '0',
            'e' => '3',
            'a' => '4',
            'i' => '1',
            c => c,
        })
        .collect()
}

/// The fixed title corpus.
struct Corpus {
    titles: Vec<String>,
    /// Per title, the index of the mark whose name is planted in it.
    planted: Vec<Option<usize>>,
    /// Where the titles come from.
    source: &'static str,
}

/// Builds the corpus, planting mentions of the first [`PLANTED_FROM`] marks.
fn corpus(marks: &[Mark]) -> anyhow::Result<Corpus> {
    let mut rng = SmallRng::seed_from_u64(TITLE_SEED);
    let (base, source) = match real_titles()? {
        Some(t) => (t, "real Amazon titles (Walmart-Amazon tableB)"),
        None => {
            let generated = (0..TITLES)
                .map(|_| {
                    let n = rng.random_range(5..=12);
                    (0..n)
                        .map(|_| {
                            if rng.random_bool(0.15) {
                                rng.random_range(1..2000).to_string()
                            } else {
                                PRODUCT_WORDS[rng.random_range(0..PRODUCT_WORDS.len())].into()
                            }
                        })
                        .collect::<Vec<String>>()
                        .join(" ")
                })
                .collect();
            (generated, "generated titles (../shared/data absent)")
        }
    };
    let pool = &marks[..PLANTED_FROM.min(marks.len())];
    let mut titles = Vec::with_capacity(TITLES);
    let mut planted = Vec::with_capacity(TITLES);
    for i in 0..TITLES {
        let title = &base[i % base.len()];
        let roll: f64 = rng.random();
        let mention = if roll < 0.20 {
            let mi = rng.random_range(0..pool.len());
            let name = &pool[mi].name;
            let written = if roll < 0.05 {
                name.clone()
            } else if roll < 0.15 {
                misspell(name, &mut rng)
            } else {
                disguise(name)
            };
            Some((mi, written))
        } else {
            None
        };
        match mention {
            Some((mi, written)) => {
                let mut words: Vec<&str> = title.split_whitespace().collect();
                let at = rng.random_range(0..=words.len());
                words.insert(at, &written);
                titles.push(words.join(" "));
                planted.push(Some(mi));
            }
            None => {
                titles.push(title.clone());
                planted.push(None);
            }
        }
    }
    Ok(Corpus {
        titles,
        planted,
        source,
    })
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); `None` off Linux.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds
/// on the CPU, first field); `None` off Linux. Unlike wall time it does not grow
/// when other processes share the cores.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Measures one registry size in this process; prints a JSON line.
fn measure(size: usize) -> anyhow::Result<()> {
    let marks = registry(size);
    let Corpus {
        titles, planted, ..
    } = corpus(&marks)?;
    let listings: Vec<Listing> = titles
        .into_iter()
        .enumerate()
        .map(|(i, title)| Listing {
            id: i.to_string(),
            title,
            ..Listing::default()
        })
        .collect();
    let rss_before = proc_status_kib("VmRSS");
    let t0 = Instant::now();
    let scorer = Scorer::new(marks, Rates::default());
    let build = t0.elapsed();

    // A first pass checks what is found (and warms the caches).
    let mut found = 0;
    let mut with_findings = 0;
    for (l, p) in listings.iter().zip(&planted) {
        let f = scorer.score(l);
        with_findings += usize::from(!f.is_empty());
        if let Some(mi) = p {
            let id = &scorer.marks()[*mi].id;
            found += usize::from(f.iter().any(|x| &x.mark_id == id));
        }
    }
    let mut passes = 0;
    let t1 = Instant::now();
    let c1 = thread_cpu();
    while passes == 0 || t1.elapsed() < MIN_MEASURE {
        for l in &listings {
            black_box(scorer.score(black_box(l)));
        }
        passes += 1;
    }
    let secs = t1.elapsed().as_secs_f64();
    let cpu = thread_cpu()
        .zip(c1)
        .map(|(b, a)| b.saturating_sub(a).as_secs_f64());
    let done = (listings.len() * passes) as f64;
    let m = Measurement {
        marks: size,
        terms: scorer.matcher().term_count(),
        build_ms: build.as_secs_f64() * 1000.0,
        titles: listings.len(),
        passes,
        titles_per_s: done / secs,
        titles_per_cpu_s: cpu.filter(|c| *c > 0.0).map(|c| done / c),
        planted: planted.iter().flatten().count(),
        planted_found: found,
        titles_with_findings: with_findings,
        rss_before_index_kib: rss_before,
        peak_rss_kib: proc_status_kib("VmHWM"),
    };
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// Runs each size in a child process and prints the table.
fn report() -> anyhow::Result<()> {
    let exe: PathBuf = std::env::current_exe().context("cannot find the bench executable")?;
    let source = corpus(&registry(PLANTED_FROM))?.source;
    println!("Title matching at scale: {TITLES} titles ({source}), one thread, Scorer::score");
    println!(
        "cores available: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = Vec::new();
    for &size in SIZES {
        let out = Command::new(&exe)
            .args(["--size", &size.to_string()])
            .output()
            .with_context(|| format!("cannot run {} --size {size}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "the {size}-mark run failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let m: Measurement = serde_json::from_str(line.trim())
            .with_context(|| format!("the {size}-mark run printed {line:?}"))?;
        rows.push(m);
    }
    println!();
    println!("| marks | terms | index build | titles/s (1 thread) | titles per CPU second | planted mentions found | titles with findings | RSS before index | peak RSS (VmHWM) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for m in &rows {
        println!(
            "| {} | {} | {:.0} ms | {:.0} | {} | {}/{} | {} | {} | {} |",
            m.marks,
            m.terms,
            m.build_ms,
            m.titles_per_s,
            m.titles_per_cpu_s
                .map_or("n/a".into(), |t| format!("{t:.0}")),
            m.planted_found,
            m.planted,
            m.titles_with_findings,
            mib(m.rss_before_index_kib),
            mib(m.peak_rss_kib),
        );
    }
    if let (Some(small), Some(large)) = (rows.first(), rows.last()) {
        let ratio = small.titles_per_s / large.titles_per_s;
        println!();
        println!(
            "throughput {} marks / {} marks: {ratio:.2}x (bound: within 3x) {}",
            small.marks,
            large.marks,
            if ratio <= 3.0 { "ok" } else { "OVER" }
        );
        if let (Some(a), Some(b)) = (small.titles_per_cpu_s, large.titles_per_cpu_s) {
            println!("per CPU second: {:.2}x", a / b);
        }
        if let Some(peak) = large.peak_rss_kib {
            println!(
                "peak memory at {} marks: {} (bound: 1 GiB) {}",
                large.marks,
                mib(Some(peak)),
                if peak < 1 << 20 { "ok" } else { "OVER" }
            );
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench` (and any filter); only `--size N` matters here.
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--size") {
        Some(i) => {
            let size = args
                .get(i + 1)
                .context("--size needs a number of marks")?
                .parse()
                .context("--size needs a number of marks")?;
            measure(size)
        }
        None => report(),
    }
}
