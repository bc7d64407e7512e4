//! Benchmarks of the image-hashing hot path: decoding a photo, hashing it with PDQ
//! (plain and with the 8 dihedral variants), comparing hashes, and matching listing
//! photos against reference images (hashing both sides, index look-ups).
//!
//! Uses the PDQ reference photo from `../shared/data/pdq-threatexchange` when present,
//! else a synthetic photo of the same size.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use markhound::image::{
    decode_bytes, pdq_hash, pdq_hash_dihedral, query_hashes, reference_hashes, Hash256, HashIndex,
    Limits, PdqHash, QueryHash, ReferenceEntry, ReferenceHash, ReferenceIndex, Variant,
};

fn photo_bytes() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/pdq-threatexchange/images/bridge-mods/aaa-orig.jpg"
    );
    match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(_) => {
            eprintln!("reference photo absent; using a synthetic 1600 x 1004 JPEG");
            let img = RgbImage::from_fn(1600, 1004, |x, y| {
                let v = ((x as f32 / 37.0).sin() * 100.0 + (y as f32 / 23.0).cos() * 100.0) as u8;
                Rgb([v, v.wrapping_add(40), 255 - v])
            });
            let mut out = std::io::Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(img)
                .write_to(&mut out, ImageFormat::Jpeg)
                .unwrap();
            out.into_inner()
        }
    }
}

fn bench(c: &mut Criterion) {
    let bytes = photo_bytes();
    let limits = Limits::default();
    let image = decode_bytes(&bytes, &limits).unwrap();
    let (w, h) = (image.width(), image.height());

    c.bench_function(&format!("decode jpeg {w}x{h}"), |b| {
        b.iter(|| decode_bytes(black_box(&bytes), &limits).unwrap())
    });
    c.bench_function(&format!("pdq_hash {w}x{h}"), |b| {
        b.iter(|| pdq_hash(black_box(&image)))
    });
    c.bench_function(&format!("pdq_hash_dihedral {w}x{h}"), |b| {
        b.iter(|| pdq_hash_dihedral(black_box(&image)))
    });
    let small = image.resize_exact(256, 256, image::imageops::FilterType::Triangle);
    c.bench_function("pdq_hash 256x256", |b| {
        b.iter(|| pdq_hash(black_box(&small)))
    });

    let a = pdq_hash(&image).hash;
    let other: Hash256 = "f0a1f102f1dcc0bd9c5309720fff018de34ef1e8ada9a956d2967ade0ea91a50"
        .parse()
        .unwrap();
    c.bench_function("hamming", |b| {
        b.iter(|| black_box(&a).hamming(black_box(&other)))
    });
}

/// A xorshift generator: reproducible random hashes without another dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn hash(&mut self) -> Hash256 {
        Hash256::from_words([self.next(), self.next(), self.next(), self.next()])
    }
}

/// Search among 1 million random hashes within the PDQ match radius (31 bits):
/// the multi-index against comparing with every hash.
fn bench_index(c: &mut Criterion) {
    const SIZE: usize = 1_000_000;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let hashes: Vec<Hash256> = (0..SIZE).map(|_| rng.hash()).collect();
    // Half the queries are stored hashes with 20 bits flipped, half are new.
    let queries: Vec<Hash256> = (0..64)
        .map(|i| {
            if i % 2 == 0 {
                return rng.hash();
            }
            let mut w = hashes[rng.next() as usize % SIZE].words();
            for _ in 0..20 {
                let bit = rng.next() as usize % 256;
                w[bit / 64] ^= 1 << (bit % 64);
            }
            Hash256::from_words(w)
        })
        .collect();

    let mut group = c.benchmark_group("index 1M");
    group.sample_size(10);
    group.bench_function("build", |b| b.iter(|| HashIndex::new(hashes.clone())));
    let index = HashIndex::new(hashes.clone());
    let mut q = queries.iter().cycle();
    group.bench_function("within 31, multi-index", |b| {
        b.iter(|| index.within(q.next().unwrap(), 31))
    });
    group.bench_function("within 31, linear scan", |b| {
        b.iter(|| index.scan(q.next().unwrap(), 31))
    });
    group.finish();
}

/// Hashing for photo matching: a reference image at import (whole, turns, crops,
/// halves, trimmed) and a listing photo at look-up (8 dihedral, 2 halves, trim).
fn bench_matching_hashes(c: &mut Criterion) {
    let image = decode_bytes(&photo_bytes(), &Limits::default()).unwrap();
    let small = image.resize_exact(256, 256, image::imageops::FilterType::Triangle);
    let (w, h) = (image.width(), image.height());
    let mut group = c.benchmark_group("photo matching");
    group.sample_size(20);
    group.bench_function(format!("reference_hashes {w}x{h}"), |b| {
        b.iter(|| reference_hashes(black_box(&image)))
    });
    group.bench_function("reference_hashes 256x256", |b| {
        b.iter(|| reference_hashes(black_box(&small)))
    });
    group.bench_function(format!("query_hashes {w}x{h}"), |b| {
        b.iter(|| query_hashes(black_box(&image)))
    });
    group.bench_function("query_hashes 256x256", |b| {
        b.iter(|| query_hashes(black_box(&small)))
    });
    group.finish();
}

/// Look-ups of a listing photo's 18 hashes among 1 million reference hashes.
fn bench_reference_index(c: &mut Criterion) {
    const SIZE: usize = 1_000_000;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let entries: Vec<ReferenceEntry> = (0..SIZE)
        .map(|i| ReferenceEntry {
            mark: i / 13,
            image: 0,
            hash: ReferenceHash {
                variant: Variant::Full,
                pdq: PdqHash {
                    hash: rng.hash(),
                    quality: 100,
                },
            },
        })
        .collect();
    // A photo's 18 hashes: unrelated to every reference but, in every other
    // query, for one hash 20 bits from a stored one.
    let queries: Vec<Vec<QueryHash>> = (0..32)
        .map(|i| {
            (0..18)
                .map(|j| {
                    let hash = if i % 2 == 1 && j == 0 {
                        let mut w = entries[rng.next() as usize % SIZE].hash.pdq.hash.words();
                        for _ in 0..20 {
                            let bit = rng.next() as usize % 256;
                            w[bit / 64] ^= 1 << (bit % 64);
                        }
                        Hash256::from_words(w)
                    } else {
                        rng.hash()
                    };
                    QueryHash::supplied(hash)
                })
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("reference index 1M");
    group.sample_size(10);
    let index = ReferenceIndex::new(entries);
    let mut q = queries.iter().cycle();
    group.bench_function("lookup of 18 hashes", |b| {
        b.iter(|| index.lookup(q.next().unwrap()))
    });
    group.bench_function("lookup of 1 hash", |b| {
        b.iter(|| index.lookup(&q.next().unwrap()[..1]))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench,
    bench_index,
    bench_matching_hashes,
    bench_reference_index
);
criterion_main!(benches);
