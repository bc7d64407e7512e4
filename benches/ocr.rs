//! Reading the text of one listing photo with the OCR models (`--photo-text`,
//! issue 13's budget: 150 ms for a photo's logo and text search on one core):
//! detection alone on a photo without text, and the whole read (detection, then
//! recognition of each line found) on the same photo with a word printed on a label.
//!
//! Models: PP-OCRv4 from `scripts/fetch-ocr-models.sh` (in `target/ocr-models`, or
//! the folder `MARKHOUND_OCR_MODELS` names); without them the benchmark says so and
//! measures nothing. Photo: the PDQ reference bridge photo
//! (`../shared/data/pdq-threatexchange`) brought to 800 pixels; without the data, a
//! synthetic photo. The word is drawn in the 8 × 8 bitmap font.
//!
//! `cargo bench --bench ocr` (one thread: tract runs each model on the calling
//! thread).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{imageops, DynamicImage, Rgb, RgbImage};
use markhound::image::ocr::{models_dir, Ocr, OcrConfig, OcrError};

fn photo() -> RgbImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/pdq-threatexchange/images/bridge-mods/aaa-orig.jpg");
    match image::open(&path) {
        Ok(img) => img
            .resize(800, 800, imageops::FilterType::Triangle)
            .to_rgb8(),
        Err(_) => RgbImage::from_fn(800, 600, |x, y| {
            let wave =
                40.0 * (x as f32 / 53.0).sin() + 30.0 * ((y as f32 + x as f32 * 0.2) / 37.0).cos();
            let v = (120.0 + wave).clamp(0.0, 255.0) as u8;
            Rgb([v, v / 2 + 50, 200 - v / 3])
        }),
    }
}

/// `word` dark on a light label, `px` pixels a glyph.
fn label(word: &str, px: u32) -> RgbImage {
    use font8x8::UnicodeFonts;
    let mut img = RgbImage::from_pixel(px * (word.len() as u32 + 1), px * 2, Rgb([235; 3]));
    for (i, ch) in word.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) != 0 {
                    let (x0, y0) = (
                        px / 2 + i as u32 * px + col * px / 8,
                        px / 2 + row as u32 * px / 8,
                    );
                    for y in y0..y0 + px / 8 {
                        for x in x0..x0 + px / 8 {
                            img.put_pixel(x, y, Rgb([20, 30, 40]));
                        }
                    }
                }
            }
        }
    }
    img
}

fn bench(c: &mut Criterion) {
    let started = std::time::Instant::now();
    let ocr = match Ocr::load(&models_dir(None), OcrConfig::default()) {
        Ok(ocr) => ocr,
        Err(e @ OcrError::Missing { .. }) => {
            eprintln!("{e}; nothing measured");
            return;
        }
        Err(e) => panic!("the OCR models do not load: {e}"),
    };
    eprintln!("models loaded and optimised in {:.2?}", started.elapsed());
    let plain = DynamicImage::ImageRgb8(photo());
    let mut printed = photo();
    imageops::overlay(&mut printed, &label("ZENTRIX", 40), 200, 150);
    let printed = DynamicImage::ImageRgb8(printed);
    let lines = ocr.read(&printed).expect("the photo is read");
    eprintln!(
        "the printed photo reads {:?}",
        lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>()
    );

    let mut group = c.benchmark_group("ocr");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("read a photo without text", |b| {
        b.iter(|| ocr.read(black_box(&plain)).unwrap())
    });
    group.bench_function("read a photo with a printed word", |b| {
        b.iter(|| ocr.read(black_box(&printed)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
