//! Robustness of photo matching: how often an edited copy of a registered photo is
//! found (recall) and how often an edited unregistered photo matches a mark
//! (false matches), per edit and overall, for plain PDQ and for markhound's full
//! matching, in the same run.
//!
//! Photos: the real photos among the PDQ reference images (the bridge photo once,
//! not its edits or rotations; the pen and coaster; the LabelMe scenes; the misc
//! photos), those of quality 50 or more. They are split in two by a hash of the
//! file name: each photo of the first half is its own registered mark, the second
//! half is not registered. Every photo is then edited 15 ways (below; four more
//! edits, centred crops and crops and turns drawn at random, are shown apart and
//! not counted) and looked
//! up, after a PNG round trip (JPEG for the JPEG edit), as a listing photo would be.
//! The bundled reference images (`trademarks/images`, rendered product shots and
//! logos) are run through the same steps as a second set.
//!
//! Matchers compared, each adding to the one before (reference side / listing side):
//! * `plain PDQ`: one hash of each; the baseline;
//! * `+ dihedral`: the listing photo's 8 rotations and mirror images (one DCT);
//! * `+ turned refs`: the reference turned the 7 other ways pixel by pixel;
//! * `+ trim`: the photo and the reference without uniform borders;
//! * `+ halves`: the top and bottom halves of the photo and the reference;
//! * `+ crops`: the reference's centre crops (90, 80, 70 %);
//! * `+ windows`: the reference's off-centre windows (95, 90, 85 % anchored on a
//!   grid);
//! * `markhound (+ tilts)`: the reference turned by ±1.5 to ±6° and the photo, both
//!   cut to their centre 80 %: all of them, what `match` does.
//!
//! Before the recall table, per family of reference variants: hashes per reference
//! and how close the hashes of different photos of the set come to each other.
//!
//! Usage: `cargo run --release --example eval_images -- [--data ../shared/data]`

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{imageops, DynamicImage, ImageFormat, Rgb, RgbImage};
use markhound::image::{
    decode_bytes, pdq_hash, query_hashes, reference_hashes, Dihedral, Limits, QueryHash,
    ReferenceEntry, ReferenceIndex, Variant, MIN_QUALITY,
};
use sha2::{Digest, Sha256};

/// One edit a counterfeit listing might apply to a brand's photo.
struct Edit {
    name: &'static str,
    /// The edit; the number is drawn from the photo's name, for edits that vary.
    apply: fn(&DynamicImage, u64) -> DynamicImage,
}

fn scale(img: &DynamicImage, factor: f32) -> DynamicImage {
    let w = ((img.width() as f32 * factor).round() as u32).max(1);
    let h = ((img.height() as f32 * factor).round() as u32).max(1);
    img.resize_exact(w, h, imageops::FilterType::Triangle)
}

fn jpeg(img: &DynamicImage, quality: u8) -> DynamicImage {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&DynamicImage::ImageRgb8(img.to_rgb8()))
        .expect("encode JPEG");
    decode_bytes(&out, &Limits::DEFAULT).expect("decode JPEG")
}

/// Cuts `percent` of each side off, two thirds of it from the left and top and one
/// third from the right and bottom: off-centre, unlike the reference's crops.
fn crop(img: &DynamicImage, percent: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (cw, ch) = (w * percent / 100, h * percent / 100);
    img.crop_imm(cw * 2 / 3, ch * 2 / 3, w - cw, h - ch)
}

fn border(img: &DynamicImage) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (bw, bh) = (w / 10, h / 10);
    let mut canvas = RgbImage::from_pixel(w + 2 * bw, h + 2 * bh, Rgb([255, 255, 255]));
    imageops::overlay(&mut canvas, &img.to_rgb8(), i64::from(bw), i64::from(bh));
    DynamicImage::ImageRgb8(canvas)
}

/// Rotation by `degrees` about the centre, same size, corners filled white,
/// bilinear sampling. Written here because the crate that has it (imageproc) would
/// bring a linear-algebra stack into the build for one function of an example.
fn rotate(img: &DynamicImage, degrees: f32) -> DynamicImage {
    let src = img.to_rgb8();
    let (w, h) = src.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let sample = |x: f32, y: f32| -> Option<[f32; 3]> {
        if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
            return None;
        }
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |x, y| src.get_pixel(x, y).0.map(f32::from);
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        Some(std::array::from_fn(|i| {
            (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy
        }))
    };
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        // Inverse rotation: where in the source this output pixel comes from.
        let sx = cos * dx + sin * dy + cx - 0.5;
        let sy = -sin * dx + cos * dy + cy - 0.5;
        match sample(sx, sy) {
            Some(v) => Rgb(v.map(|c| c.round().clamp(0.0, 255.0) as u8)),
            None => Rgb([255, 255, 255]),
        }
    }))
}

fn map_pixels(img: &DynamicImage, f: impl Fn(u8) -> u8) -> DynamicImage {
    let mut rgb = img.to_rgb8();
    for p in rgb.pixels_mut() {
        p.0 = p.0.map(&f);
    }
    DynamicImage::ImageRgb8(rgb)
}

/// A band across 15 % of the height of alternating black and white blocks, with
/// lighter "letters" inside: a caption or price banner pasted over the photo. Its
/// height on the photo is drawn from `seed`, anywhere from top to bottom.
fn banner(img: &DynamicImage, seed: u64) -> DynamicImage {
    let mut rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let band = (h * 15 / 100).max(1);
    let top = (seed % u64::from(h - band + 1)) as u32;
    for y in top..(top + band).min(h) {
        for x in 0..w {
            let block = (x / band.max(1)) % 2 == 0;
            let inner = x % band > band / 8 && (y - top) > band / 4 && (y - top) < band * 3 / 4;
            let v = if block == inner { 0 } else { 255 };
            rgb.put_pixel(x, y, Rgb([v, v, if block { 0 } else { 255 }]));
        }
    }
    DynamicImage::ImageRgb8(rgb)
}

/// The edits counted in the overall figures: the first this many of [`edits`].
const COUNTED: usize = 15;

fn edits() -> Vec<Edit> {
    vec![
        Edit {
            name: "resize 50 %",
            apply: |i, _| scale(i, 0.5),
        },
        Edit {
            name: "resize 25 %",
            apply: |i, _| scale(i, 0.25),
        },
        Edit {
            name: "upscale 150 %",
            apply: |i, _| scale(i, 1.5),
        },
        Edit {
            name: "JPEG quality 30",
            apply: |i, _| jpeg(i, 30),
        },
        Edit {
            name: "crop 5 %",
            apply: |i, _| crop(i, 5),
        },
        Edit {
            name: "crop 15 %",
            apply: |i, _| crop(i, 15),
        },
        Edit {
            name: "10 % white border",
            apply: |i, _| border(i),
        },
        Edit {
            name: "mirror",
            apply: |i, _| i.fliph(),
        },
        Edit {
            name: "rotate 90°",
            apply: |i, _| i.rotate90(),
        },
        Edit {
            name: "rotate 5°",
            apply: |i, _| rotate(i, 5.0),
        },
        Edit {
            name: "brightness +25 %",
            apply: |i, _| map_pixels(i, |c| (f32::from(c) * 1.25).min(255.0) as u8),
        },
        Edit {
            name: "contrast −30 %",
            apply: |i, _| i.adjust_contrast(-30.0),
        },
        Edit {
            name: "greyscale",
            apply: |i, _| DynamicImage::ImageRgb8(i.grayscale().to_rgb8()),
        },
        Edit {
            name: "Gaussian blur",
            apply: |i, _| i.blur((i.width().max(i.height()) as f32 / 400.0).max(1.0)),
        },
        Edit {
            name: "banner overlay",
            apply: banner,
        },
        // Not counted in the overall figures: centred crops, which line up with the
        // reference's own centre crops; they show what those crops do.
        Edit {
            name: "centred crop, 5 % per edge",
            apply: |i, _| markhound::image::centre_crop(i, 90),
        },
        Edit {
            name: "centred crop, 15 % per edge",
            apply: |i, _| markhound::image::centre_crop(i, 70),
        },
        // Not counted either: the general case the off-centre windows and tilts are
        // built for, with sizes, anchors and angles that are not the grid's.
        Edit {
            name: "crop 3–14 %, anchor anywhere",
            apply: |i, seed| {
                let percent = 3 + (seed % 12) as u8;
                let (x, y) = ((seed >> 8) % 101, (seed >> 16) % 101);
                markhound::image::window(i, 100 - percent, x as u8, y as u8)
            },
        },
        Edit {
            name: "rotate −6° to +6°",
            apply: |i, seed| rotate(i, ((seed >> 24) % 121) as f32 / 10.0 - 6.0),
        },
    ]
}

/// A way of matching: which reference hashes are indexed and which listing hashes
/// are looked up.
struct Matcher {
    name: &'static str,
    reference: fn(Variant) -> bool,
    dihedral: bool,
    trim: bool,
    halves: bool,
    centre: bool,
}

const MATCHERS: [Matcher; 8] = [
    Matcher {
        name: "plain PDQ",
        reference: |v| v == Variant::Full,
        dihedral: false,
        trim: false,
        halves: false,
        centre: false,
    },
    Matcher {
        name: "+ dihedral",
        reference: |v| v == Variant::Full,
        dihedral: true,
        trim: false,
        halves: false,
        centre: false,
    },
    Matcher {
        name: "+ turned refs",
        reference: |v| matches!(v, Variant::Full | Variant::Turned(_)),
        dihedral: true,
        trim: false,
        halves: false,
        centre: false,
    },
    Matcher {
        name: "+ trim",
        reference: |v| matches!(v, Variant::Full | Variant::Turned(_) | Variant::Trimmed),
        dihedral: true,
        trim: true,
        halves: false,
        centre: false,
    },
    Matcher {
        name: "+ halves",
        reference: |v| {
            !matches!(
                v,
                Variant::Crop(_) | Variant::Window { .. } | Variant::Tilted(_)
            )
        },
        dihedral: true,
        trim: true,
        halves: true,
        centre: false,
    },
    Matcher {
        name: "+ crops",
        reference: |v| !matches!(v, Variant::Window { .. } | Variant::Tilted(_)),
        dihedral: true,
        trim: true,
        halves: true,
        centre: false,
    },
    Matcher {
        name: "+ windows",
        reference: |v| !matches!(v, Variant::Tilted(_)),
        dihedral: true,
        trim: true,
        halves: true,
        centre: false,
    },
    Matcher {
        name: "markhound (+ tilts)",
        reference: |_| true,
        dihedral: true,
        trim: true,
        halves: true,
        centre: true,
    },
];

impl Matcher {
    fn wants(&self, q: &QueryHash) -> bool {
        (self.dihedral || q.transform.dihedral == Dihedral::Original)
            && (self.trim || !q.transform.trimmed)
            && (self.halves || q.transform.half.is_none())
            && (self.centre || !q.transform.centre)
    }
}
struct Photo {
    name: String,
    image: DynamicImage,
}

/// Loads `paths`, keeping photos of PDQ quality 50 or more.
fn load(paths: &[PathBuf]) -> Vec<Photo> {
    let mut photos = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let image = decode_bytes(&bytes, &Limits::DEFAULT)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let quality = pdq_hash(&image).quality;
        if quality < MIN_QUALITY {
            eprintln!("left out {name}: PDQ quality {quality}");
            continue;
        }
        photos.push(Photo { name, image });
    }
    photos
}

fn registered(name: &str) -> bool {
    Sha256::digest(name.as_bytes())[0] % 2 == 0
}

/// A listing photo as a matcher receives it: encoded and decoded again (PNG, which
/// is lossless, unless the edit already went through JPEG).
fn round_trip(img: &DynamicImage) -> DynamicImage {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.to_rgb8())
        .write_to(&mut out, ImageFormat::Png)
        .expect("encode PNG");
    decode_bytes(out.get_ref(), &Limits::DEFAULT).expect("decode PNG")
}

#[derive(Default, Clone, Copy)]
struct Tally {
    found: usize,
    trials: usize,
    false_matches: usize,
    false_trials: usize,
}

fn ratio(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.2}", n as f64 / d as f64)
    }
}

fn evaluate(title: &str, photos: &[Photo]) {
    let (reg, unreg): (Vec<&Photo>, Vec<&Photo>) = photos.iter().partition(|p| registered(&p.name));
    println!("\n### {title}\n");
    println!(
        "{} photos: {} registered (each its own mark), {} not registered.\n",
        photos.len(),
        reg.len(),
        unreg.len()
    );
    let t = Instant::now();
    let refs: Vec<Vec<markhound::image::ReferenceHash>> =
        reg.iter().map(|p| reference_hashes(&p.image)).collect();
    let ref_time = t.elapsed().as_secs_f64() / reg.len().max(1) as f64;
    let t = Instant::now();
    for p in &reg {
        std::hint::black_box(pdq_hash(&p.image));
    }
    let plain_time = t.elapsed().as_secs_f64() / reg.len().max(1) as f64;
    println!(
        "Hashing a reference image: {:.1} ms with all variants, {:.1} ms for the plain hash.\n",
        ref_time * 1e3,
        plain_time * 1e3
    );
    families(&reg, &unreg, &refs);
    let indexes: Vec<ReferenceIndex> = MATCHERS
        .iter()
        .map(|m| {
            ReferenceIndex::new(refs.iter().enumerate().flat_map(|(mark, hashes)| {
                hashes
                    .iter()
                    .filter(|h| (m.reference)(h.variant))
                    .map(move |&hash| ReferenceEntry {
                        mark,
                        image: 0,
                        hash,
                    })
            }))
        })
        .collect();
    let edits = edits();
    // tallies[edit][matcher]
    let mut tallies = vec![[Tally::default(); MATCHERS.len()]; edits.len()];
    // For each edit, the distance from each edited registered photo to the closest
    // usable hash of its own reference (all variants, all listing hashes).
    let mut closest: Vec<Vec<u32>> = vec![Vec::new(); edits.len()];
    let mut query_time = 0.0;
    let mut queries = 0;
    for (ei, edit) in edits.iter().enumerate() {
        let cases = reg
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(i), *p))
            .chain(unreg.iter().map(|p| (None, *p)));
        for (mark, photo) in cases {
            let seed = u64::from_be_bytes(
                Sha256::digest(photo.name.as_bytes())[8..16]
                    .try_into()
                    .expect("8 bytes"),
            );
            let listing = round_trip(&(edit.apply)(&photo.image, seed));
            let t = Instant::now();
            let hashes = query_hashes(&listing);
            query_time += t.elapsed().as_secs_f64();
            queries += 1;
            if let Some(own) = mark {
                let usable = |q: &QueryHash| q.pdq.quality >= MIN_QUALITY;
                let d = hashes
                    .iter()
                    .filter(|q| usable(q))
                    .flat_map(|q| {
                        refs[own]
                            .iter()
                            .filter(|r| r.pdq.quality >= MIN_QUALITY)
                            .map(move |r| q.pdq.hash.hamming(&r.pdq.hash))
                    })
                    .min()
                    .unwrap_or(256);
                closest[ei].push(d);
            }
            for (mi, m) in MATCHERS.iter().enumerate() {
                let wanted: Vec<QueryHash> =
                    hashes.iter().copied().filter(|q| m.wants(q)).collect();
                let hits = indexes[mi].lookup(&wanted);
                let tally = &mut tallies[ei][mi];
                match mark {
                    Some(own) => {
                        tally.trials += 1;
                        tally.found += usize::from(hits.iter().any(|h| h.mark == own));
                        tally.false_trials += 1;
                        tally.false_matches += usize::from(hits.iter().any(|h| h.mark != own));
                    }
                    None => {
                        tally.false_trials += 1;
                        tally.false_matches += usize::from(!hits.is_empty());
                    }
                }
            }
        }
    }
    println!(
        "Hashing a listing photo for the full look-up (8 dihedral hashes, 2 halves, centre, border \
         check, trimmed content): {:.1} ms on average over {queries} edited photos.\n",
        query_time * 1e3 / queries.max(1) as f64
    );
    println!(
        "Recall of the right mark (in brackets, false matches: edited photos matching a \
         mark not their own). Median distance: from each edited registered photo to the \
         closest hash of its own reference under markhound's full matching (a match needs \
         31 or less).\n"
    );
    print!("| edit |");
    for m in &MATCHERS {
        print!(" {} |", m.name);
    }
    print!(" median distance |\n| --- |");
    for _ in &MATCHERS {
        print!(" ---: |");
    }
    println!(" ---: |");
    let mut totals = [Tally::default(); MATCHERS.len()];
    let row = |name: &str, tallies: &[Tally], closest: &[u32]| {
        print!("| {name} |");
        for t in tallies {
            print!(" {} ({}) |", ratio(t.found, t.trials), t.false_matches);
        }
        let mut sorted = closest.to_vec();
        sorted.sort_unstable();
        match sorted.get(sorted.len() / 2) {
            Some(d) => println!(" {d} |"),
            None => println!(" – |"),
        }
    };
    for ((edit, tallies), closest) in edits.iter().zip(&tallies).zip(&closest).take(COUNTED) {
        row(edit.name, tallies, closest);
        for (total, t) in totals.iter_mut().zip(tallies) {
            total.found += t.found;
            total.trials += t.trials;
            total.false_matches += t.false_matches;
            total.false_trials += t.false_trials;
        }
    }
    print!("| **overall** |");
    for t in &totals {
        print!(
            " **{}** ({}/{}) |",
            ratio(t.found, t.trials),
            t.false_matches,
            t.false_trials
        );
    }
    println!(" |");
    for ((edit, tallies), closest) in edits.iter().zip(&tallies).zip(&closest).skip(COUNTED) {
        row(&format!("*{} (not counted)*", edit.name), tallies, closest);
    }
    let by_name: BTreeMap<&str, usize> = MATCHERS
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name, i))
        .collect();
    let full = &totals[by_name["markhound (+ tilts)"]];
    println!(
        "\nmarkhound: recall {} over {} trials, false-match rate {} ({} of {} edited photos).",
        ratio(full.found, full.trials),
        full.trials,
        ratio(full.false_matches, full.false_trials),
        full.false_matches,
        full.false_trials
    );
}

/// The family of a reference variant, for the cost and margin tables.
fn family(v: Variant) -> &'static str {
    match v {
        Variant::Full => "whole",
        Variant::Turned(_) => "turns",
        Variant::Trimmed => "trimmed",
        Variant::Half(_) => "halves",
        Variant::Crop(_) => "centre crops",
        Variant::Window { .. } => "off-centre windows",
        Variant::Tilted(_) => "tilts",
    }
}

const FAMILIES: [&str; 7] = [
    "whole",
    "turns",
    "trimmed",
    "halves",
    "centre crops",
    "off-centre windows",
    "tilts",
];

/// Per family of reference variants: usable hashes per reference image, and the
/// margin against false matches: over every pair of different photos of the set
/// (registered or not), the closest a hash of that family of one comes to any hash
/// of the other, listing photo hashes left aside.
fn families(reg: &[&Photo], unreg: &[&Photo], reg_refs: &[Vec<markhound::image::ReferenceHash>]) {
    let unreg_refs: Vec<Vec<markhound::image::ReferenceHash>> =
        unreg.iter().map(|p| reference_hashes(&p.image)).collect();
    let all: Vec<Vec<markhound::image::ReferenceHash>> = reg_refs
        .iter()
        .chain(&unreg_refs)
        .map(|h| {
            h.iter()
                .copied()
                .filter(|h| h.pdq.quality >= MIN_QUALITY)
                .collect()
        })
        .collect();
    let n = reg.len() + unreg.len();
    println!(
        "| family | usable hashes per reference | closest pair of different photos (bits) | \
         5th percentile over pairs | pairs within 31 |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for fam in FAMILIES {
        let count: usize = all
            .iter()
            .map(|h| h.iter().filter(|h| family(h.variant) == fam).count())
            .sum();
        let mut per_pair = Vec::new();
        for a in 0..n {
            for b in 0..n {
                if a == b {
                    continue;
                }
                let d = all[a]
                    .iter()
                    .filter(|h| family(h.variant) == fam)
                    .flat_map(|x| all[b].iter().map(move |y| x.pdq.hash.hamming(&y.pdq.hash)))
                    .min();
                per_pair.extend(d);
            }
        }
        per_pair.sort_unstable();
        let within = per_pair.iter().filter(|d| **d <= 31).count();
        println!(
            "| {fam} | {:.1} | {} | {} | {within} of {} |",
            count as f64 / n.max(1) as f64,
            per_pair.first().map_or("–".into(), |d| d.to_string()),
            per_pair
                .get(per_pair.len() / 20)
                .map_or("–".into(), |d| d.to_string()),
            per_pair.len()
        );
    }
    println!();
}

/// How far PDQ moves when the frame moves: for each photo, the 90 % centre crop
/// against the same window shifted (right and half as much down) or shrunk about
/// its centre; the median over the photos. This is what decides how densely stored
/// crops would have to be spaced to catch arbitrary crops.
fn shift_tolerance(title: &str, photos: &[Photo]) {
    fn window(i: &DynamicImage, scale: f32, dx: f32) -> DynamicImage {
        let (w, h) = (i.width() as f32, i.height() as f32);
        let (cw, ch) = ((w * scale).round(), (h * scale).round());
        let x = ((w - cw) / 2.0 + dx * w).round().clamp(0.0, w - cw);
        let y = ((h - ch) / 2.0 + dx * h / 2.0).round().clamp(0.0, h - ch);
        i.crop_imm(x as u32, y as u32, cw as u32, ch as u32)
    }
    let median = |mut v: Vec<u32>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let shifts = [0.0025f32, 0.005, 0.01, 0.02];
    let shrinks = [0.01f32, 0.02, 0.04];
    print!("| {title} |");
    for dx in shifts {
        let d = photos.iter().map(|p| {
            let base = pdq_hash(&window(&p.image, 0.9, 0.0)).hash;
            pdq_hash(&window(&p.image, 0.9, dx)).hash.hamming(&base)
        });
        print!(" {} |", median(d.collect()));
    }
    for ds in shrinks {
        let d = photos.iter().map(|p| {
            let base = pdq_hash(&window(&p.image, 0.9, 0.0)).hash;
            pdq_hash(&window(&p.image, 0.9 - ds, 0.0))
                .hash
                .hamming(&base)
        });
        print!(" {} |", median(d.collect()));
    }
    println!();
}

fn files(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| dir.join(n)).collect()
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR").into(),
            other => panic!("unknown argument {other}; usage: eval_images [--data DIR]"),
        }
    }
    let images = data.join("pdq-threatexchange/images");
    if !images.is_dir() {
        eprintln!("{} is absent: nothing to evaluate", images.display());
        std::process::exit(1);
    }
    let mut paths = files(
        &images,
        &[
            "bridge-mods/aaa-orig.jpg",
            "reg-test-input/pen-and-coaster.png",
        ],
    );
    paths.extend(sorted_dir(&images.join("reg-test-input/labelme-subset")));
    paths.extend(sorted_dir(&images.join("misc-images")));
    let photos = load(&paths);
    println!("## Image matching: robustness to edits");
    evaluate("PDQ reference photos", &photos);
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("trademarks/images");
    let bundled = load(&sorted_dir(&bundled));
    evaluate("Bundled reference images (trademarks/images)", &bundled);
    println!(
        "\n### PDQ and a moving frame\n\nMedian distance between the 90 % centre crop \
         and the same window shifted right (by the share of the width given; down by half \
         as much) or shrunk about its centre (by the share of each side given):\n"
    );
    println!("| photos | shift 0.25 % | 0.5 % | 1 % | 2 % | shrink 1 % | 2 % | 4 % |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    shift_tolerance("PDQ reference photos", &photos);
    shift_tolerance("bundled reference images", &bundled);
}
