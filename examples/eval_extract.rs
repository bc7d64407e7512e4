//! Listing extraction without a site profile on real product pages, beside three
//! other extractors.
//!
//! The pages are `product-pages-dev/` of the shared data (57 pages from 25 shops,
//! with ground truth and what Zyte, Diffbot and extruct returned). Each page is
//! extracted as the crawler would (`markhound::crawl::extract::extract`, its saved
//! URL as the base, no profile) and scored with the benchmark's rule: a prediction
//! counts when it equals an accepted value (prices as decimals); no prediction where
//! the truth has one is a miss; a wrong prediction is a false positive, and also a
//! miss where the truth has a value. Then:
//!
//! * **price**: the stored amount (or the amount found without a currency);
//! * **brand**: the brand as written, compared exactly;
//! * **currency**: the truth spells currencies as the page writes them (`£`,
//!   `ر.س`, `EUR`), markhound stores ISO 4217 codes and the peers mix both, so a
//!   prediction counts when it and an accepted spelling can stand for the same ISO
//!   code (`£`~`GBP`, `$`~`CLP`; the table of `markhound::crawl::price`). Scored twice:
//!   on all pages (a currency predicted where the annotators wrote none is a false
//!   positive) and on the pages whose currency is annotated;
//! * **listing**: pages with a listing (for the peers, pages where they returned a
//!   price).
//!
//! Usage: `cargo run --release --example eval_extract -- [--data ../shared/data] [--show-errors]
//! [--repeat N] [--dump FILE]`
//!
//! `--repeat N` extracts every page N times (the scores are from the first pass, the
//! speed from all of them), for steadier timings; `--dump FILE` writes everything
//! `extract` returned for each page (listing, canonical URL, field sources), one
//! page a line, so that two builds can be compared page by page. `--crawl` also
//! times what the crawler does with each page in plain-URL mode (the listing, the
//! `rel=next` links and every link), parsed once as the crawler does now and
//! parsed three times, once for each, as it did before, on the same pages.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use markhound::crawl::extract::extract;
use markhound::crawl::price::currency_codes;
use serde_json::Value;
use url::Url;

#[derive(Default, Clone)]
struct Prediction {
    price: Option<String>,
    currency: Option<String>,
    brand: Option<String>,
    listing: bool,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn add(&mut self, truth: &[String], pred: Option<&str>, same: impl Fn(&str, &str) -> bool) {
        match pred {
            None => {
                if !truth.is_empty() {
                    self.fn_ += 1;
                }
            }
            Some(p) => {
                if truth.iter().any(|t| same(t, p)) {
                    self.tp += 1;
                } else {
                    self.fp += 1;
                    if !truth.is_empty() {
                        self.fn_ += 1;
                    }
                }
            }
        }
    }

    fn f1(&self) -> f64 {
        let p = if self.tp + self.fp == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        };
        let r = if self.tp + self.fn_ == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        };
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn same_price(t: &str, p: &str) -> bool {
    match (t.trim().parse::<f64>(), p.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        _ => false,
    }
}

fn same_currency(t: &str, p: &str) -> bool {
    if t.trim() == p.trim() {
        return true;
    }
    let a = currency_codes(t.trim().trim_end_matches('~'));
    let b = currency_codes(p.trim());
    a.iter().any(|c| b.contains(c))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn main() -> anyhow::Result<()> {
    let mut data = PathBuf::from("../shared/data");
    let mut show_errors = false;
    let mut repeat = 1usize;
    let mut dump: Option<PathBuf> = None;
    let mut crawl = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = PathBuf::from(args.next().expect("--data DIR")),
            "--show-errors" => show_errors = true,
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow::anyhow!("--repeat N, N at least 1"))?
            }
            "--dump" => dump = Some(PathBuf::from(args.next().expect("--dump FILE"))),
            "--crawl" => crawl = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let dir = data.join("product-pages-dev");
    if !dir.exists() {
        eprintln!("skipping: {} is absent", dir.display());
        return Ok(());
    }
    let truth: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("ground-truth.json"))?)?;
    let mut systems: Vec<(String, BTreeMap<String, Prediction>)> = Vec::new();
    for peer in ["Zyte", "Diffbot", "extruct"] {
        let v: BTreeMap<String, Value> = serde_json::from_slice(&std::fs::read(
            dir.join("peers").join(format!("{peer}.json")),
        )?)?;
        let preds = v
            .into_iter()
            .map(|(k, p)| {
                let s = |key: &str| p.get(key).and_then(Value::as_str).map(str::to_owned);
                let price = s("price");
                (
                    k,
                    Prediction {
                        listing: price.is_some(),
                        price,
                        currency: s("currency"),
                        brand: s("brand"),
                    },
                )
            })
            .collect();
        systems.push((peer.to_owned(), preds));
    }
    let mut ours = BTreeMap::new();
    let mut pages = Vec::new();
    for (id, t) in &truth {
        let mut html = String::new();
        let f = std::fs::File::open(dir.join("html").join(format!("{id}.html.gz")))?;
        flate2::read::GzDecoder::new(f).read_to_string(&mut html)?;
        let url = Url::parse(t["url"].as_str().unwrap_or("http://invalid.example/"))?;
        pages.push((id.clone(), html, url));
    }
    let mut dumped = String::new();
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 1..repeat {
        for (_, html, url) in &pages {
            bytes += html.len();
            std::hint::black_box(extract(html, url, None, url.host_str().unwrap_or("")));
        }
    }
    for (id, html, url) in &pages {
        bytes += html.len();
        let e = extract(html, url, None, url.host_str().unwrap_or(""));
        if dump.is_some() {
            dumped.push_str(&format!("{id} {e:?}\n"));
        }
        let l = e.listing.as_ref();
        let price = l
            .and_then(|l| l.price.as_ref().map(|p| p.amount))
            .or(e.amount_without_currency);
        ours.insert(
            id.clone(),
            Prediction {
                price: price.map(|p| format!("{p}")),
                currency: l.and_then(|l| l.price.as_ref().map(|p| p.currency.clone())),
                brand: l.and_then(|l| l.brand.clone()),
                listing: l.is_some(),
            },
        );
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &dump {
        std::fs::write(path, dumped)?;
    }
    systems.insert(0, ("markhound".to_owned(), ours));

    println!(
        "| system | price F1 | currency F1 (all pages) | currency F1 (annotated pages) | brand F1 | pages with a listing |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, preds) in &systems {
        let (mut price, mut cur_all, mut cur_ann, mut brand) = (
            Counts::default(),
            Counts::default(),
            Counts::default(),
            Counts::default(),
        );
        let mut listings = 0;
        for (id, t) in &truth {
            let p = preds.get(id).cloned().unwrap_or_default();
            listings += usize::from(p.listing);
            let tp = strings(t.get("price"));
            let tc = strings(t.get("currency"));
            let tb = strings(t.get("brand"));
            price.add(&tp, p.price.as_deref(), same_price);
            cur_all.add(&tc, p.currency.as_deref(), same_currency);
            if !tc.is_empty() {
                cur_ann.add(&tc, p.currency.as_deref(), same_currency);
            }
            brand.add(&tb, p.brand.as_deref(), |a, b| a == b);
            if show_errors && name == "markhound" {
                let bad =
                    |truth: &[String], pred: Option<&str>, same: &dyn Fn(&str, &str) -> bool| {
                        match pred {
                            None => !truth.is_empty(),
                            Some(x) => !truth.iter().any(|t| same(t, x)),
                        }
                    };
                if bad(&tp, p.price.as_deref(), &same_price)
                    || bad(&tc, p.currency.as_deref(), &same_currency)
                    || bad(&tb, p.brand.as_deref(), &|a, b| a == b)
                {
                    eprintln!(
                        "{} {}: price {:?} want {:?}; currency {:?} want {:?}; brand {:?} want {:?}",
                        &id[..8],
                        t["url"].as_str().unwrap_or(""),
                        p.price,
                        tp,
                        p.currency,
                        tc,
                        p.brand,
                        tb
                    );
                }
            }
        }
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {listings} of {} |",
            price.f1(),
            cur_all.f1(),
            cur_ann.f1(),
            brand.f1(),
            truth.len()
        );
    }
    println!(
        "\nmarkhound: {} pages ({:.1} MB) extracted in {:.2}s on one thread: {:.0} pages/s",
        pages.len() * repeat,
        bytes as f64 / 1e6,
        secs,
        (pages.len() * repeat) as f64 / secs
    );
    if crawl {
        // The crawler's `rel=next` selector (`crawl::engine`).
        let next = scraper::Selector::parse("a[rel~=next][href], link[rel~=next][href]")
            .expect("a valid selector");
        let time = |once: bool| {
            let started = Instant::now();
            let mut links = 0;
            for _ in 0..repeat {
                for (_, html, url) in &pages {
                    let market = url.host_str().unwrap_or("");
                    if once {
                        let page = markhound::crawl::extract::Page::parse(html);
                        std::hint::black_box(page.extract(url, None, market));
                        links += page.links(url, Some(&next)).len();
                        links += page.links(url, None).len();
                    } else {
                        std::hint::black_box(extract(html, url, None, market));
                        links += markhound::crawl::extract::links(html, url, Some(&next)).len();
                        links += markhound::crawl::extract::links(html, url, None).len();
                    }
                }
            }
            (
                (pages.len() * repeat) as f64 / started.elapsed().as_secs_f64(),
                links,
            )
        };
        let (three, l3) = time(false);
        let (one, l1) = time(true);
        assert_eq!(l1, l3, "the same links either way");
        println!(
            "crawler's work per page (listing and links): {three:.0} pages/s parsing each page three times, {one:.0} pages/s parsing it once"
        );
    }
    Ok(())
}
