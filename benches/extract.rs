//! Speed of listing extraction without a profile (`crawl::extract::extract`: parse,
//! markup, application state, document heuristics) on the real product pages of
//! `../shared/data/product-pages-dev` (57 pages, 27.7 MB of HTML); skipped with a
//! message when the data is absent. One thread: pages per second per core.

use std::hint::black_box;
use std::io::Read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use markhound::crawl::extract::extract;
use url::Url;

fn pages() -> Option<Vec<(String, Url)>> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/product-pages-dev"
    );
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/ground-truth.json")).ok()?).ok()?;
    let mut out = Vec::new();
    for (id, t) in truth.as_object()? {
        let f = std::fs::File::open(format!("{dir}/html/{id}.html.gz")).ok()?;
        let mut html = String::new();
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut html)
            .ok()?;
        out.push((html, Url::parse(t["url"].as_str()?).ok()?));
    }
    Some(out)
}

fn bench(c: &mut Criterion) {
    let Some(pages) = pages() else {
        eprintln!("skipping: ../shared/data/product-pages-dev is absent");
        return;
    };
    let mut g = c.benchmark_group("extract");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pages.len() as u64));
    g.bench_function("57 product pages", |b| {
        b.iter(|| {
            for (html, url) in &pages {
                black_box(extract(html, url, None, "bench"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
