//! The logo search of one listing photo against 1,000 registered logos (issue 13's
//! budget: 150 ms on one core): local features of the photo, the descriptor-index
//! look-ups and the geometric checks, decoding excluded; and, apart, extracting the
//! photo's features alone.
//!
//! Logos: the first 1,000 icons of the npm package `simple-icons` (CC0) in slug
//! order, fetched by `scripts/fetch-simple-icons.sh` into `target/simple-icons`;
//! without them the benchmark says so and measures nothing. Photo: the PDQ
//! reference bridge photo (`../shared/data/pdq-threatexchange`) brought to 800
//! pixels, with one of the logos pasted in; without the data, a synthetic photo.
//!
//! `cargo bench --bench logos` (one thread: `RAYON_NUM_THREADS=1`, the search itself
//! is single-threaded).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{imageops, DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};
use markhound::image::features::{detect, grey_within};
use markhound::image::logo::{QUERY_KEYPOINTS, QUERY_SIDE};
use markhound::image::{LogoIndex, RegionKind, RegionRef};

const LOGOS: usize = 1000;

fn rasterise(svg: &str, hex: &str) -> Option<RgbaImage> {
    let svg = svg.replace("<path ", &format!("<path fill=\"#{hex}\" "));
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).ok()?;
    let size = tree.size();
    let scale = 256.0 / size.width().max(size.height());
    let mut pixmap = resvg::tiny_skia::Pixmap::new(
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    )?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let mut out = RgbaImage::new(pixmap.width(), pixmap.height());
    for (p, q) in pixmap.pixels().iter().zip(out.pixels_mut()) {
        let c = p.demultiply();
        *q = Rgba([c.red(), c.green(), c.blue(), c.alpha()]);
    }
    Some(out)
}

fn logos() -> Option<Vec<RgbaImage>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/simple-icons/package");
    let listing: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(root.join("data/simple-icons.json")).ok()?).ok()?;
    let mut icons: Vec<(String, String)> = listing
        .iter()
        .filter_map(|i| {
            Some((
                i["slug"].as_str()?.to_owned(),
                i["hex"].as_str()?.to_owned(),
            ))
        })
        .collect();
    icons.sort();
    Some(
        icons
            .iter()
            .filter_map(|(slug, hex)| {
                let svg =
                    std::fs::read_to_string(root.join("icons").join(format!("{slug}.svg"))).ok()?;
                rasterise(&svg, hex)
            })
            .take(LOGOS)
            .collect(),
    )
}

fn photo(logo: &RgbaImage) -> DynamicImage {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/pdq-threatexchange/images/bridge-mods/aaa-orig.jpg"
    );
    let base = image::open(path).unwrap_or_else(|_| {
        DynamicImage::ImageRgb8(RgbImage::from_fn(1600, 1004, |x, y| {
            let v = ((x as f32 / 37.0).sin() * 100.0 + (y as f32 / 23.0).cos() * 100.0) as u8;
            Rgb([v, v.wrapping_add(40), 255 - v])
        }))
    });
    let mut photo = base
        .resize(800, 800, imageops::FilterType::Triangle)
        .to_rgba8();
    let small = imageops::resize(logo, 160, 160, imageops::FilterType::Triangle);
    imageops::overlay(&mut photo, &small, 300, 150);
    DynamicImage::ImageRgba8(photo)
}

fn bench(c: &mut Criterion) {
    let Some(logos) = logos() else {
        eprintln!("no simple-icons in target/simple-icons: run scripts/fetch-simple-icons.sh");
        return;
    };
    let shot = photo(&logos[LOGOS / 2]);
    let references: Vec<(RegionRef, DynamicImage)> = logos
        .into_iter()
        .enumerate()
        .map(|(mark, logo)| {
            let region = RegionRef {
                mark,
                image: 0,
                kind: RegionKind::Logo,
            };
            (region, DynamicImage::ImageRgba8(logo))
        })
        .collect();
    let n = references.len();
    let index = LogoIndex::new(references);
    eprintln!("{n} logos indexed, {} keypoints", index.keypoints());
    let mut group = c.benchmark_group("logos");
    group.sample_size(20);
    group.bench_function(format!("search one 800-pixel photo, {n} logos"), |b| {
        b.iter(|| black_box(index.search(black_box(&shot))))
    });
    group.bench_function("features of one 800-pixel photo", |b| {
        b.iter(|| {
            let (grey, _) = grey_within(black_box(&shot), QUERY_SIDE);
            black_box(detect(&grey, QUERY_KEYPOINTS))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
