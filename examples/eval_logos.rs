//! Logos inside photos, and partial copies of product photos: how often markhound's
//! local-feature search ([`markhound::image::logo`]) finds a registered logo pasted
//! into a real photo (recall), how often it reports a logo in a photo that shows no
//! registered one (false matches), how often it finds a registered product photo
//! cropped by 40 % (crop recall), and the time per photo; beside OpenCV's ORB with
//! a RANSAC homography on the same pictures, in the same run.
//!
//! Data, all real and none written by this project:
//! * logos: the npm package `simple-icons` (CC0), fetched by
//!   `scripts/fetch-simple-icons.sh` into `target/simple-icons`; icons are drawn
//!   by a seeded shuffle of their slugs: the first [`REGISTERED`] are registered
//!   (rasterised at 256 pixels in their brand colour on transparency), the next
//!   [`UNREGISTERED`] are pasted as negatives;
//! * photos: the real photos among the PDQ reference images
//!   (`pdq-threatexchange/images`, see its README), a random 60-100 % window of one,
//!   perhaps mirrored, brought to 800 pixels on the longer side.
//!
//! Each positive trial pastes a registered logo at 8-35 % of the photo's width,
//! turned by up to ±25°, skewed (shear up to ±0.2), at 60-100 % opacity, then blurs
//! half of the photos (σ 0.5-1.5 px) and saves it as JPEG of quality 45-90. The
//! negatives are the same with an unregistered logo, and plain photos. A logo
//! counts as found when the right logo is reported with a box overlapping the
//! pasted one (intersection over union 0.3 or more); any registered logo reported
//! in a negative is a false match, and so is a wrong logo in a positive.
//!
//! Partial copies: the photos are split by a hash of their name; the registered
//! half are the marks' product photos. Each photo is cut to a window of 60 % of
//! its width and height (40 % cut off each dimension) at a random place and saved
//! as JPEG 75; found means the right product photo is reported. Crops of the
//! other half are negatives (`crop-unregistered`), except a photo that shows the
//! same printed object as a registered one ([`SAME_OBJECT`]): its crops are
//! scored apart (`crop-same-object`), as positives of that product.
//!
//! The peer, `scripts/peer_orb_logos.py` (PyPI `opencv-python-headless`), reads the
//! same pictures from the folder this example writes and runs ORB (1,000 features
//! per photo, logos drawn on white), a ratio test of 0.8 and a RANSAC homography
//! with the same minimum of inliers, against each registered logo in turn. Without
//! `python3` and `cv2` its columns are left empty.
//!
//! Everything is seeded and deterministic.
//!
//! Usage:
//! `cargo run --release --example eval_logos -- [--data ../shared/data]
//! [--icons target/simple-icons] [--out target/eval-logos] [--trials N] [--scale N]
//! [--no-peer] [--logos-only]` (`--scale N`: also time the search with N
//! registered logos; `--no-peer`: leave the peer's columns empty; `--logos-only`:
//! no crops.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use markhound::image::logo::MIN_INLIERS;
use markhound::image::{LogoIndex, RegionHit, RegionKind, RegionRef};

mod common;
use common::{background, photos, Icon, Rng};

/// Registered logos.
const REGISTERED: usize = 50;
/// Unregistered logos pasted as negatives.
const UNREGISTERED: usize = 50;
/// Side, in pixels, registered logos are rasterised at.
const LOGO_SIDE: u32 = 256;
/// Longer side of the listing photos.
const PHOTO_SIDE: u32 = 800;

/// The icon `slug` in colour `hex`, `side` pixels on its longer side, on
/// transparency.
fn rasterise(icons: &Path, slug: &str, hex: &str, side: u32) -> Option<RgbaImage> {
    let svg =
        std::fs::read_to_string(icons.join("package/icons").join(format!("{slug}.svg"))).ok()?;
    let svg = svg.replace("<path ", &format!("<path fill=\"#{hex}\" "));
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).ok()?;
    let size = tree.size();
    let scale = side as f32 / size.width().max(size.height());
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    // Premultiplied to straight alpha.
    let mut out = RgbaImage::new(w, h);
    for (p, q) in pixmap.pixels().iter().zip(out.pixels_mut()) {
        let c = p.demultiply();
        *q = Rgba([c.red(), c.green(), c.blue(), c.alpha()]);
    }
    Some(out)
}

/// Pastes `logo` at `width` pixels wide, turned, sheared and faded, at a random
/// place wholly inside the photo; returns the box it covers.
fn paste(photo: &mut RgbaImage, logo: &RgbaImage, rng: &mut Rng) -> [f32; 4] {
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    let width = rng.range(0.08, 0.35) * pw;
    let scale = width / logo.width() as f32;
    let turn = rng.range(-25.0, 25.0).to_radians();
    let shear = rng.range(-0.2, 0.2);
    let opacity = rng.range(0.6, 1.0);
    let (s, c) = turn.sin_cos();
    // Forward map of the logo's centred coordinates: shear, scale, turn.
    let fwd = |u: f32, v: f32| {
        let (u, v) = ((u + shear * v) * scale, v * scale);
        (c * u - s * v, s * u + c * v)
    };
    let (lw, lh) = (logo.width() as f32, logo.height() as f32);
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
    // Inverse of the linear part.
    let (a, b, cc, d) = (
        scale * c,
        scale * (c * shear - s),
        scale * s,
        scale * (s * shear + c),
    );
    let det = a * d - b * cc;
    for y in (cy + min_y).max(0.0) as u32..((cy + max_y).ceil() as u32).min(photo.height()) {
        for x in (cx + min_x).max(0.0) as u32..((cx + max_x).ceil() as u32).min(photo.width()) {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let u = (d * dx - b * dy) / det + lw / 2.0;
            let v = (-cc * dx + a * dy) / det + lh / 2.0;
            if u < 0.0 || v < 0.0 || u >= lw - 1.0 || v >= lh - 1.0 {
                continue;
            }
            let p = bilinear(logo, u, v);
            let alpha = p[3] / 255.0 * opacity;
            let q = photo.get_pixel_mut(x, y);
            for (to, from) in q.0.iter_mut().zip(p).take(3) {
                *to = (from * alpha + *to as f32 * (1.0 - alpha)).round() as u8;
            }
        }
    }
    [cx + min_x, cy + min_y, max_x - min_x, max_y - min_y]
}

fn bilinear(img: &RgbaImage, u: f32, v: f32) -> [f32; 4] {
    let (x0, y0) = (u.floor() as u32, v.floor() as u32);
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let mut out = [0f32; 4];
    for (dx, dy, w) in [
        (0, 0, (1.0 - fx) * (1.0 - fy)),
        (1, 0, fx * (1.0 - fy)),
        (0, 1, (1.0 - fx) * fy),
        (1, 1, fx * fy),
    ] {
        let p = img.get_pixel(x0 + dx, y0 + dy).0;
        // Colour weighted by alpha, so transparent pixels do not darken the edge.
        let a = p[3] as f32 * w;
        for (to, from) in out.iter_mut().zip(p).take(3) {
            *to += from as f32 * a;
        }
        out[3] += a;
    }
    if out[3] > 0.0 {
        let total = out[3];
        for v in out.iter_mut().take(3) {
            *v /= total;
        }
    }
    out
}

fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.to_rgb8()
        .write_with_encoder(enc)
        .expect("JPEG encoding");
    out
}

fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

/// Photos of the PDQ set that show the same object as another one (the other
/// photo's name, the registered one's): `c.png` is another photo of the printed
/// coaster in `pen-and-coaster.png`, seen by looking at both.
const SAME_OBJECT: &[(&str, &str)] = &[("c.png", "pen-and-coaster.png")];

/// One listing photo of the set.
struct Trial {
    file: String,
    /// `logo`, `other-logo`, `plain`, `crop`, `crop-unregistered`,
    /// `crop-same-object`.
    family: &'static str,
    /// The registered reference it shows (logo index, or product photo index).
    truth: Option<usize>,
    bbox: Option<[f32; 4]>,
}

#[derive(Default)]
struct Tally {
    trials: usize,
    found: usize,
    wrong: usize,
    millis: Vec<f64>,
}

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut icons = PathBuf::from("target/simple-icons");
    let mut out = PathBuf::from("target/eval-logos");
    let mut trials = 200usize;
    let mut scale = 0usize;
    let mut peer_wanted = true;
    let mut logos_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = value().into(),
            "--icons" => icons = value().into(),
            "--out" => out = value().into(),
            "--trials" => trials = value().parse().expect("--trials N"),
            "--scale" => scale = value().parse().expect("--scale N"),
            "--no-peer" => peer_wanted = false,
            "--logos-only" => logos_only = true,
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
    let photos = photos(&data);
    if photos.is_empty() {
        eprintln!(
            "no photos under {}/pdq-threatexchange/images",
            data.display()
        );
        std::process::exit(2);
    }
    let mut rng = Rng(0x6c6f_676f_7321);
    let mut order: Vec<usize> = (0..listing.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut logos: Vec<(String, RgbaImage)> = Vec::new();
    for &i in &order {
        if logos.len() == REGISTERED + UNREGISTERED.max(scale) {
            break;
        }
        let icon = &listing[i];
        if let Some(img) = rasterise(&icons, &icon.slug, &icon.hex, LOGO_SIDE) {
            logos.push((icon.slug.clone(), img));
        }
    }
    let (registered, unregistered) = logos.split_at(REGISTERED);
    let unregistered = &unregistered[..UNREGISTERED];
    // Product photos: split by a hash of the name.
    let (products, others): (Vec<_>, Vec<_>) = photos.iter().partition(|(name, _)| {
        name.bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
            % 3
            != 0
    });

    std::fs::create_dir_all(out.join("logos")).expect("output folder");
    for (slug, img) in registered {
        img.save(out.join("logos").join(format!("{slug}.png")))
            .expect("logo PNG");
    }
    let mut refs: Vec<(RegionRef, DynamicImage)> = registered
        .iter()
        .enumerate()
        .map(|(i, (_, img))| {
            (
                RegionRef {
                    mark: i,
                    image: 0,
                    kind: RegionKind::Logo,
                },
                DynamicImage::ImageRgba8(img.clone()),
            )
        })
        .collect();
    refs.extend(products.iter().enumerate().map(|(i, (_, img))| {
        (
            RegionRef {
                mark: REGISTERED + i,
                image: 0,
                kind: RegionKind::Photo,
            },
            img.clone(),
        )
    }));
    let started = Instant::now();
    let index = LogoIndex::new(refs);
    println!(
        "index: {} logos and {} product photos, {} keypoints, built in {:.1} s",
        REGISTERED,
        products.len(),
        index.keypoints(),
        started.elapsed().as_secs_f64()
    );

    // The set.
    let mut set: Vec<(Trial, Vec<u8>)> = Vec::new();
    let families: [(&str, usize); 3] = [
        ("logo", trials),
        ("other-logo", trials / 2),
        ("plain", trials / 2),
    ];
    for (family, n) in families {
        for t in 0..n {
            let mut photo = background(&photos, PHOTO_SIDE, &mut rng).to_rgba8();
            let (truth, bbox) = match family {
                "logo" => {
                    let i = t % REGISTERED;
                    (Some(i), Some(paste(&mut photo, &registered[i].1, &mut rng)))
                }
                "other-logo" => {
                    let i = t % UNREGISTERED;
                    paste(&mut photo, &unregistered[i].1, &mut rng);
                    (None, None)
                }
                _ => (None, None),
            };
            let mut photo = DynamicImage::ImageRgba8(photo);
            if rng.unit() < 0.5 {
                photo = photo.blur(rng.range(0.5, 1.5));
            }
            let quality = 45 + rng.below(46) as u8;
            let bytes = jpeg(&photo, quality);
            let file = format!("{family}-{t:04}.jpg");
            set.push((
                Trial {
                    file,
                    family,
                    truth,
                    bbox,
                },
                bytes,
            ));
        }
    }
    // A photo among the others that shows the same printed object as a registered
    // product photo, taken again (another photo, not a copy): finding it is right,
    // so its crops are their own family, scored as positives of that product and
    // kept out of the negatives.
    let (same, others): (Vec<_>, Vec<_>) = others.into_iter().partition(|(name, _)| {
        SAME_OBJECT
            .iter()
            .any(|(other, product)| name == other && products.iter().any(|(p, _)| p == product))
    });
    let crops: &[(&str, &Vec<&(String, DynamicImage)>)] = if logos_only {
        &[]
    } else {
        &[
            ("crop", &products),
            ("crop-unregistered", &others),
            ("crop-same-object", &same),
        ]
    };
    for &(family, group) in crops {
        for (i, (name, img)) in group.iter().enumerate() {
            for t in 0..15 {
                let (w, h) = (
                    (img.width() as f32 * 0.6) as u32,
                    (img.height() as f32 * 0.6) as u32,
                );
                let x = rng.below((img.width() - w + 1) as usize) as u32;
                let y = rng.below((img.height() - h + 1) as usize) as u32;
                let bytes = jpeg(&img.crop_imm(x, y, w, h), 75);
                let file = format!("{family}-{i:02}-{t:02}.jpg");
                let truth = match family {
                    "crop" => Some(i),
                    "crop-same-object" => SAME_OBJECT
                        .iter()
                        .find(|(other, _)| other == name)
                        .and_then(|(_, product)| products.iter().position(|(p, _)| p == product)),
                    _ => None,
                };
                set.push((
                    Trial {
                        file,
                        family,
                        truth,
                        bbox: None,
                    },
                    bytes,
                ));
            }
        }
    }
    let manifest: Vec<serde_json::Value> = set
        .iter()
        .map(|(t, bytes)| {
            std::fs::write(out.join(&t.file), bytes).expect("write photo");
            serde_json::json!({"file": t.file, "family": t.family, "truth": t.truth, "bbox": t.bbox})
        })
        .collect();
    let registered_names: Vec<String> = registered
        .iter()
        .map(|(s, _)| format!("logos/{s}.png"))
        .collect();
    std::fs::create_dir_all(out.join("products")).expect("output folder");
    let product_names: Vec<String> = products
        .iter()
        .enumerate()
        .map(|(i, (_, img))| {
            let name = format!("products/{i:02}.png");
            img.save(out.join(&name)).expect("product PNG");
            name
        })
        .collect();
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "logos": registered_names,
            "products": product_names,
            "photos": manifest,
            "min_inliers": MIN_INLIERS,
        }))
        .expect("JSON"),
    )
    .expect("write manifest");

    // markhound.
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut outcomes: Vec<serde_json::Value> = Vec::new();
    for (trial, bytes) in &set {
        let started = Instant::now();
        let photo = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).expect("decode");
        let hits: Vec<RegionHit> = index.search(&photo);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let tally = tallies.entry(trial.family).or_default();
        tally.trials += 1;
        tally.millis.push(ms);
        let crop = trial.family.starts_with("crop");
        let wanted = if crop {
            RegionKind::Photo
        } else {
            RegionKind::Logo
        };
        let mut right = false;
        let mut wrong = false;
        for h in hits.iter().filter(|h| h.reference.kind == wanted) {
            let id = if crop {
                h.reference.mark - REGISTERED
            } else {
                h.reference.mark
            };
            let b = h.bbox.map(|v| v as f32);
            let ok = Some(id) == trial.truth && trial.bbox.is_none_or(|t| iou(t, b) >= 0.3);
            if ok {
                right = true;
            } else {
                wrong = true;
            }
        }
        tally.found += right as usize;
        tally.wrong += wrong as usize;
        outcomes.push(serde_json::json!({
            "file": trial.file, "truth": trial.truth, "bbox": trial.bbox,
            "right": right, "wrong": wrong, "ms": ms,
            "hits": hits.iter().map(|h| serde_json::json!({
                "mark": h.reference.mark, "kind": format!("{:?}", h.reference.kind),
                "bbox": h.bbox, "inliers": h.inliers,
            })).collect::<Vec<_>>(),
        }));
    }
    let lines: Vec<String> = outcomes.iter().map(|o| o.to_string()).collect();
    std::fs::write(out.join("outcomes.jsonl"), lines.join("\n") + "\n").expect("write outcomes");

    // The peer.
    let peer = if peer_wanted { run_peer(&out) } else { None };

    println!();
    println!("| photos | trials | markhound: found | markhound: false matches | markhound: ms/photo (median) | ORB + RANSAC: found | ORB + RANSAC: false matches | ORB + RANSAC: ms/photo (median) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (family, t) in &tallies {
        let (pf, pw, pm) = match peer.as_ref().and_then(|p| p.get(*family)) {
            Some(p) => (
                rate(p.found, p.trials),
                rate(p.wrong, p.trials),
                format!("{:.1}", median(&p.millis)),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {family} | {} | {} | {} | {:.1} | {pf} | {pw} | {pm} |",
            t.trials,
            rate(t.found, t.trials),
            rate(t.wrong, t.trials),
            median(&t.millis),
        );
    }
    let negatives: Vec<&Tally> = ["other-logo", "plain"]
        .iter()
        .filter_map(|f| tallies.get(f))
        .collect();
    let neg_trials: usize = negatives.iter().map(|t| t.trials).sum();
    let neg_wrong: usize = negatives.iter().map(|t| t.wrong).sum();
    println!();
    println!(
        "logo recall {}; false matches in negative photos {} ({neg_wrong} of {neg_trials}); crop-40 % recall {}",
        tallies.get("logo").map_or("–".into(), |t| rate(t.found, t.trials)),
        rate(neg_wrong, neg_trials),
        tallies.get("crop").map_or("–".into(), |t| rate(t.found, t.trials)),
    );

    if scale > 0 {
        let many: Vec<(RegionRef, DynamicImage)> = logos
            .iter()
            .take(scale)
            .enumerate()
            .map(|(i, (_, img))| {
                (
                    RegionRef {
                        mark: i,
                        image: 0,
                        kind: RegionKind::Logo,
                    },
                    DynamicImage::ImageRgba8(img.clone()),
                )
            })
            .collect();
        let n = many.len();
        let started = Instant::now();
        let big = LogoIndex::new(many);
        let built = started.elapsed().as_secs_f64();
        let mut millis = Vec::new();
        for (_, bytes) in set.iter().take(100) {
            let photo =
                image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).expect("decode");
            let started = Instant::now();
            std::hint::black_box(big.search(&photo));
            millis.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "{n} registered logos ({} keypoints, indexed in {built:.1} s): search {:.1} ms/photo median, {:.1} ms mean, {:.1} ms max over {} photos (decoding excluded)",
            big.keypoints(),
            median(&millis),
            millis.iter().sum::<f64>() / millis.len() as f64,
            millis.iter().cloned().fold(0.0, f64::max),
            millis.len()
        );
    }
}

fn rate(n: usize, of: usize) -> String {
    if of == 0 {
        return "–".into();
    }
    format!("{:.3} ({n})", n as f64 / of as f64)
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `scripts/peer_orb_logos.py` on the set; `None` without Python or OpenCV.
fn run_peer(out: &Path) -> Option<BTreeMap<String, Tally>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peer_orb_logos.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(out)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "peer skipped: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    let results: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).ok()?;
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for r in results {
        let family = r["family"].as_str()?.to_owned();
        let t = tallies.entry(family).or_default();
        t.trials += 1;
        t.found += r["found"].as_bool()? as usize;
        t.wrong += r["wrong"].as_bool()? as usize;
        t.millis.push(r["ms"].as_f64()?);
    }
    Some(tallies)
}
