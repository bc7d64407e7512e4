//! Wordmarks inside photos: how often a registered brand name set in a real font
//! and printed into a real photo is read by markhound's OCR
//! ([`markhound::image::ocr`]) and found by the title matcher in the text read
//! (recall), how often a photo without a registered name gives a finding (false
//! matches), and the time per photo on one core.
//!
//! Data, all real and none written by this project:
//! * names: the brand titles of the npm package `simple-icons` (CC0), fetched by
//!   `scripts/fetch-simple-icons.sh` into `target/simple-icons`: titles of one or
//!   two words of Latin letters with five letters or more, in a seeded shuffle;
//!   the first [`REGISTERED`] are registered marks, the next [`UNREGISTERED`] are
//!   printed as negatives;
//! * fonts: DejaVu (Debian `fonts-dejavu-core`) and Liberation
//!   (`fonts-liberation`), the faces of [`FONTS`] that are installed (at least
//!   one is needed);
//! * photos: the real photos among the PDQ reference images
//!   (`pdq-threatexchange/images`), a random 60-100 % window of one, perhaps
//!   mirrored, brought to 800 pixels on the longer side, as in
//!   `examples/eval_logos.rs`.
//!
//! Each positive trial sets a registered name (as written or in capitals) in a
//! random face, prints it at 8-35 % of the photo's width, turned by up to ±25°,
//! skewed (shear up to ±0.15), at 80-100 % opacity, in the brand's colour, or in
//! black or white where that colour would not stand out from the photo under it
//! (as a printed wordmark does); then half of the photos are blurred (σ 0.5-1.5
//! px) and every photo is saved as JPEG of quality 45-90 and decoded again. The
//! negatives are the same with an unregistered name, and plain photos. A name
//! counts as found when a `photo_text` signal names its mark
//! ([`markhound::scoring::Scorer::text_signals`]); any registered mark in a
//! negative is a false match, and so is another mark in a positive.
//!
//! Everything is seeded and deterministic.
//!
//! Usage:
//! `cargo run --release --example eval_wordmarks -- [--data ../shared/data]
//! [--icons target/simple-icons] [--models target/ocr-models] [--trials N]
//! [--max-side N] [--out DIR]` (`--trials`: photos of each kind, default 100;
//! `--max-side`: the detector's input side, default that of
//! [`markhound::image::ocr::OcrConfig`]; `--out`: also save the first 20 photos of
//! each kind there.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{DynamicImage, RgbaImage};
use markhound::image::ocr::{models_dir, readings, Ocr, OcrConfig};
use markhound::registry::Mark;
use markhound::scoring::{PhotoLine, Rates, Scorer};

mod common;
use common::{background, photos, Icon, Rng};

/// Registered names.
const REGISTERED: usize = 100;
/// Unregistered names printed as negatives.
const UNREGISTERED: usize = 100;
/// Longer side of the listing photos.
const PHOTO_SIDE: u32 = 800;
/// The faces names are set in, where installed.
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Oblique.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-BoldItalic.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
];

/// `text` set in `font` at 96 pixels, as coverage (0..1) over a tight box with a
/// small margin.
fn set(font: &FontVec, text: &str) -> (Vec<f32>, u32, u32) {
    let scaled = font.as_scaled(PxScale::from(96.0));
    let margin = 6.0;
    let mut caret = margin;
    let mut glyphs = Vec::new();
    let mut last = None;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        if let Some(prev) = last {
            caret += scaled.kern(prev, id);
        }
        glyphs.push(id.with_scale_and_position(
            PxScale::from(96.0),
            ab_glyph::point(caret, margin + scaled.ascent()),
        ));
        caret += scaled.h_advance(id);
        last = Some(id);
    }
    let (w, h) = (
        (caret + margin).ceil() as u32,
        (scaled.ascent() - scaled.descent() + 2.0 * margin).ceil() as u32,
    );
    let mut cover = vec![0f32; (w * h) as usize];
    for g in glyphs {
        if let Some(outline) = font.outline_glyph(g) {
            let b = outline.px_bounds();
            outline.draw(|x, y, c| {
                let (x, y) = (b.min.x as i32 + x as i32, b.min.y as i32 + y as i32);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let i = (y as u32 * w + x as u32) as usize;
                    cover[i] = (cover[i] + c).min(1.0);
                }
            });
        }
    }
    (cover, w, h)
}

fn luminance(c: [f32; 3]) -> f32 {
    (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255.0
}

/// Prints the coverage `cover` (`cw` × `ch`) at 8-35 % of the photo's width,
/// turned, sheared and faded, wholly inside the photo, in `colour` or black or
/// white where `colour` would not stand out.
fn print(photo: &mut RgbaImage, cover: &[f32], cw: u32, ch: u32, colour: [u8; 3], rng: &mut Rng) {
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    let scale = rng.range(0.08, 0.35) * pw / cw as f32;
    let turn = rng.range(-25.0, 25.0).to_radians();
    let shear = rng.range(-0.15, 0.15);
    let opacity = rng.range(0.8, 1.0);
    let (s, c) = turn.sin_cos();
    let fwd = |u: f32, v: f32| {
        let (u, v) = ((u + shear * v) * scale, v * scale);
        (c * u - s * v, s * u + c * v)
    };
    let (lw, lh) = (cw as f32, ch as f32);
    let corners = [
        (-lw / 2.0, -lh / 2.0),
        (lw / 2.0, -lh / 2.0),
        (-lw / 2.0, lh / 2.0),
        (lw / 2.0, lh / 2.0),
    ]
    .map(|(u, v)| fwd(u, v));
    let min_x = corners.iter().map(|p| p.0).fold(f32::MAX, f32::min);
    let max_x = corners.iter().map(|p| p.0).fold(f32::MIN, f32::max);
    let min_y = corners.iter().map(|p| p.1).fold(f32::MAX, f32::min);
    let max_y = corners.iter().map(|p| p.1).fold(f32::MIN, f32::max);
    let cx = rng.range(-min_x, (pw - max_x).max(-min_x + 1.0));
    let cy = rng.range(-min_y, (ph - max_y).max(-min_y + 1.0));
    let (a, b, cc, d) = (
        scale * c,
        scale * (c * shear - s),
        scale * s,
        scale * (s * shear + c),
    );
    let det = a * d - b * cc;
    let xs = (cx + min_x).max(0.0) as u32..((cx + max_x).ceil() as u32).min(photo.width());
    let ys = (cy + min_y).max(0.0) as u32..((cy + max_y).ceil() as u32).min(photo.height());
    // The photo under the name decides whether the brand's colour shows.
    let mut under = [0f32; 3];
    let mut n = 0f32;
    for y in ys.clone() {
        for x in xs.clone() {
            let p = photo.get_pixel(x, y).0;
            for (u, v) in under.iter_mut().zip(p) {
                *u += v as f32;
            }
            n += 1.0;
        }
    }
    let under = under.map(|v| v / n.max(1.0));
    let brand = colour.map(f32::from);
    let ink = if (luminance(brand) - luminance(under)).abs() >= 0.35 {
        brand
    } else if luminance(under) > 0.5 {
        [0.0; 3]
    } else {
        [255.0; 3]
    };
    let sample = |u: f32, v: f32| -> f32 {
        let (x0, y0) = (u.floor() as u32, v.floor() as u32);
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let at = |x: u32, y: u32| cover[(y.min(ch - 1) * cw + x.min(cw - 1)) as usize];
        at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x0 + 1, y0) * fx * (1.0 - fy)
            + at(x0, y0 + 1) * (1.0 - fx) * fy
            + at(x0 + 1, y0 + 1) * fx * fy
    };
    for y in ys {
        for x in xs.clone() {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let u = (d * dx - b * dy) / det + lw / 2.0;
            let v = (-cc * dx + a * dy) / det + lh / 2.0;
            if u < 0.0 || v < 0.0 || u >= lw - 1.0 || v >= lh - 1.0 {
                continue;
            }
            let alpha = sample(u, v) * opacity;
            let q = photo.get_pixel_mut(x, y);
            for (to, from) in q.0.iter_mut().zip(ink) {
                *to = (from * alpha + *to as f32 * (1.0 - alpha)).round() as u8;
            }
        }
    }
}

fn hex_colour(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex, 16).unwrap_or(0);
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[derive(Default)]
struct Tally {
    photos: usize,
    found: usize,
    false_matches: usize,
    millis: Vec<f64>,
}

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut icons = PathBuf::from("target/simple-icons");
    let mut models: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut trials = 100usize;
    let mut config = OcrConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = value().into(),
            "--icons" => icons = value().into(),
            "--models" => models = Some(value().into()),
            "--out" => out = Some(value().into()),
            "--trials" => trials = value().parse().expect("--trials N"),
            "--max-side" => config.max_side = value().parse().expect("--max-side N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let listing: Vec<Icon> = match std::fs::read(icons.join("package/data/simple-icons.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("simple-icons.json"),
        Err(e) => {
            eprintln!(
                "no simple-icons in {} ({e}): run scripts/fetch-simple-icons.sh first",
                icons.display()
            );
            std::process::exit(2);
        }
    };
    let dir = models_dir(models.as_deref());
    let loading = Instant::now();
    let ocr = match Ocr::load(&dir, config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{}", markhound::error_chain(&e));
            std::process::exit(2);
        }
    };
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let fonts: Vec<(String, FontVec)> = FONTS
        .iter()
        .filter_map(|p| {
            let font = FontVec::try_from_vec(std::fs::read(p).ok()?).ok()?;
            Some((
                Path::new(p).file_stem()?.to_string_lossy().into_owned(),
                font,
            ))
        })
        .collect();
    if fonts.is_empty() {
        eprintln!(
            "none of the fonts is installed: apt-get install fonts-dejavu-core fonts-liberation"
        );
        std::process::exit(2);
    }
    let photos = photos(&data);
    if photos.is_empty() {
        eprintln!(
            "no photos under {}/pdq-threatexchange/images",
            data.display()
        );
        std::process::exit(2);
    }

    let mut rng = Rng(0x776f_7264_6d61_726b);
    let mut names: Vec<(String, [u8; 3])> = listing
        .iter()
        .filter(|i| {
            let words: Vec<&str> = i.title.split(' ').collect();
            words.len() <= 2
                && words
                    .iter()
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
                && i.title.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 5
        })
        .map(|i| (i.title.clone(), hex_colour(&i.hex)))
        .collect();
    names.sort();
    names.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    names.truncate(REGISTERED + UNREGISTERED);
    let (registered, unregistered) = names.split_at(REGISTERED.min(names.len()));
    let marks: Vec<Mark> = registered
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Mark {
            id: format!("m{i}"),
            name: name.clone(),
            ..Mark::default()
        })
        .collect();
    let scorer = Scorer::new(marks, Rates::default());

    let kinds = ["registered", "unregistered", "plain"];
    let mut tallies: Vec<Tally> = kinds.iter().map(|_| Tally::default()).collect();
    let mut read_exactly = 0usize;
    let mut misses: Vec<String> = Vec::new();
    if let Some(o) = &out {
        std::fs::create_dir_all(o).expect("--out folder");
    }
    for t in 0..trials {
        for (k, kind) in kinds.iter().enumerate() {
            let mut photo = background(&photos, PHOTO_SIDE, &mut rng).to_rgba8();
            let printed = match *kind {
                "registered" => Some((t % registered.len(), &registered[t % registered.len()])),
                "unregistered" => Some((t, &unregistered[t % unregistered.len()])),
                _ => None,
            };
            if let Some((_, (name, colour))) = printed {
                let (_, font) = &fonts[rng.below(fonts.len())];
                let text = if rng.unit() < 0.5 {
                    name.to_uppercase()
                } else {
                    name.clone()
                };
                let (cover, cw, ch) = set(font, &text);
                print(&mut photo, &cover, cw, ch, *colour, &mut rng);
            }
            let mut img = DynamicImage::ImageRgba8(photo);
            if rng.unit() < 0.5 {
                img = img.blur(rng.range(0.5, 1.5));
            }
            let quality = 45 + rng.below(46) as u8;
            let mut bytes = Vec::new();
            img.to_rgb8()
                .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                    &mut bytes, quality,
                ))
                .expect("JPEG encoding");
            if let Some(o) = out.as_ref().filter(|_| t < 20) {
                std::fs::write(o.join(format!("{kind}-{t:03}.jpg")), &bytes).expect("write");
            }
            let decoded = image::load_from_memory(&bytes).expect("JPEG decoding");
            let start = Instant::now();
            let lines = match ocr.read(&decoded) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{kind} {t}: {}", markhound::error_chain(&e));
                    Vec::new()
                }
            };
            // Matched as the pipeline matches them: each line, then stacked pairs.
            let found: Vec<PhotoLine> = readings(lines.clone())
                .into_iter()
                .map(|line| PhotoLine {
                    image: 0,
                    photo: [decoded.width(), decoded.height()],
                    line,
                })
                .collect();
            let signals = scorer.text_signals(&found, 1);
            let elapsed = start.elapsed().as_secs_f64() * 1e3;
            let tally = &mut tallies[k];
            tally.photos += 1;
            tally.millis.push(elapsed);
            match printed {
                Some((mark, (name, _))) if *kind == "registered" => {
                    let hit = signals.iter().any(|(m, _)| *m == mark);
                    tally.found += usize::from(hit);
                    tally.false_matches += usize::from(signals.iter().any(|(m, _)| *m != mark));
                    let squash = |s: &str| s.replace(' ', "").to_lowercase();
                    if lines.iter().any(|l| squash(&l.text) == squash(name)) {
                        read_exactly += 1;
                    }
                    if !hit {
                        // What was read, with each line's box (x, y, w, h).
                        let read: Vec<String> = lines
                            .iter()
                            .map(|l| format!("{:?} {:?}", l.text, l.bbox))
                            .collect();
                        misses.push(format!("{name} (trial {t}): read [{}]", read.join(", ")));
                    }
                }
                _ => {
                    tally.false_matches += usize::from(!signals.is_empty());
                    for (m, s) in &signals {
                        eprintln!(
                            "false match {kind} {t}: {} ({})",
                            scorer.marks()[*m].name,
                            s.detail
                        );
                    }
                }
            }
        }
    }

    let rate = |n: usize, of: usize| {
        if of == 0 {
            "-".to_owned()
        } else {
            format!("{:.3} ({n}/{of})", n as f64 / of as f64)
        }
    };
    println!(
        "wordmarks: {} registered and {} unregistered names, {} fonts, {} photos; \
         detector side {}, models loaded in {load_ms:.0} ms",
        registered.len(),
        unregistered.len(),
        fonts.len(),
        photos.len(),
        config.max_side
    );
    println!("| trials | photos | found (recall) | false matches | ms/photo median | mean | p90 |");
    println!("|---|---|---|---|---|---|---|");
    let mut all_ms: Vec<f64> = Vec::new();
    for (kind, t) in kinds.iter().zip(&tallies) {
        let mut ms = t.millis.clone();
        ms.sort_by(f64::total_cmp);
        all_ms.extend(&ms);
        let found = if *kind == "registered" {
            rate(t.found, t.photos)
        } else {
            "-".to_owned()
        };
        println!(
            "| {kind} | {} | {found} | {} | {:.0} | {:.0} | {:.0} |",
            t.photos,
            rate(t.false_matches, t.photos),
            percentile(&ms, 0.5),
            ms.iter().sum::<f64>() / ms.len().max(1) as f64,
            percentile(&ms, 0.9),
        );
    }
    let negatives = tallies[1].photos + tallies[2].photos;
    let false_neg = tallies[1].false_matches + tallies[2].false_matches;
    all_ms.sort_by(f64::total_cmp);
    println!(
        "\nrecall {}; names read exactly {}; false matches on negatives {}; \
         ms/photo on one core: median {:.0}, mean {:.0}",
        rate(tallies[0].found, tallies[0].photos),
        rate(read_exactly, tallies[0].photos),
        rate(false_neg, negatives),
        percentile(&all_ms, 0.5),
        all_ms.iter().sum::<f64>() / all_ms.len().max(1) as f64,
    );
    if !misses.is_empty() {
        eprintln!("\nmissed ({}):", misses.len());
        for m in misses.iter().take(40) {
            eprintln!("  {m}");
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
