//! `markhound hash` end to end: agreement with the reference PDQ hashes, the output
//! format and order, and bad input that must be reported without stopping the run.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::util::{png_header, repo_root, stderr, stdout, Workspace};

/// The reference images and hashes, or `None` (with a message) when absent.
fn pdq_data() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/data/pdq-threatexchange");
    if dir
        .join("expected/computed-pdqhash-python-0.2.8.csv")
        .is_file()
    {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (PDQ reference images)",
            dir.display()
        );
        None
    }
}

/// One line of `markhound hash` output.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    hash: markhound::image::Hash256,
    quality: u8,
    path: String,
}

fn parse_lines(out: &str) -> Vec<Line> {
    out.lines()
        .map(|line| {
            let mut parts = line.splitn(3, ',');
            let hash = parts.next().unwrap();
            assert_eq!(hash.len(), 64, "hash field of {line:?}");
            let hash = hash.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let quality: u8 = parts.next().unwrap().parse().unwrap();
            assert!(quality <= 100, "{line:?}");
            let path = parts.next().expect("path field").to_string();
            Line {
                hash,
                quality,
                path,
            }
        })
        .collect()
}

/// A smooth, asymmetric test picture.
fn picture(width: u32, height: u32, seed: f32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let v = 128.0 + 60.0 * (x / (17.0 + seed)).sin() + 50.0 * (y / 23.0 + x / 40.0).cos();
        let w = 128.0 + 100.0 * ((x * x + 2.0 * y * y).sqrt() / (30.0 + seed)).sin();
        Rgb([v as u8, w as u8, (v / 2.0 + w / 2.0) as u8])
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

#[test]
fn hashes_match_the_reference_implementation() {
    let Some(data) = pdq_data() else { return };
    let csv_path = data.join("expected/computed-pdqhash-python-0.2.8.csv");
    let mut expected: HashMap<String, (Vec<markhound::image::Hash256>, u8)> = HashMap::new();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let dihedral_cols = [
        "pdq_hex",
        "pdq_rot90",
        "pdq_rot180",
        "pdq_rot270",
        "pdq_flipx",
        "pdq_flipy",
        "pdq_flipplus1",
        "pdq_flipminus1",
    ]
    .map(col);
    for record in reader.records() {
        let record = record.unwrap();
        let hashes = dihedral_cols
            .iter()
            .map(|&c| record[c].parse().unwrap())
            .collect();
        let quality = record[col("quality")].parse().unwrap();
        expected.insert(record[col("image")].to_string(), (hashes, quality));
    }

    let images = data.join("images");
    let ws = Workspace::new();
    let out = ws.run(&["hash", "--dihedral", images.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = parse_lines(&stdout(&out));
    assert_eq!(lines.len(), expected.len() * 8, "8 lines per image");

    let (mut exact, mut max_distance, mut dihedral_exact) = (0, 0, 0);
    for group in lines.chunks(8) {
        let name = Path::new(&group[0].path)
            .strip_prefix(&images)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        let (want, want_quality) = &expected[&name];
        for (k, (line, want_hash)) in group.iter().zip(want).enumerate() {
            assert_eq!(line.path, group[0].path);
            let distance = line.hash.hamming(want_hash);
            if *want_quality >= 80 {
                assert!(
                    distance <= 10,
                    "{name} variant {k}: {distance} bits from the reference"
                );
                assert_eq!(line.quality, *want_quality, "{name}: quality");
            }
            if k == 0 {
                max_distance = max_distance.max(distance);
                exact += u32::from(distance == 0);
            }
            dihedral_exact += u32::from(distance == 0);
        }
        assert!(
            line_quality_close(group[0].quality, *want_quality),
            "{name}"
        );
    }
    eprintln!(
        "PDQ conformance: {exact}/{} hashes bit-identical to the reference, max distance \
         {max_distance}; {dihedral_exact}/{} dihedral hashes identical",
        expected.len(),
        expected.len() * 8
    );
    // The differences left come from JPEG decoding (zune-jpeg vs libjpeg-turbo
    // differ by a few grey levels); this floor catches any regression in the hasher.
    assert!(exact >= 27, "only {exact} exact matches");
}

fn line_quality_close(got: u8, want: u8) -> bool {
    got.abs_diff(want) <= 1
}

#[test]
fn edited_copies_stay_close_to_the_original() {
    let Some(data) = pdq_data() else { return };
    let images = data.join("images");
    let ws = Workspace::new();
    let bridge = images.join("bridge-mods");
    let dih = images.join("reg-test-input/dih");
    let out = ws.run(&[
        "hash",
        bridge.to_str().unwrap(),
        dih.to_str().unwrap(),
        images
            .join("reg-test-input/pen-and-coaster.png")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = parse_lines(&stdout(&out));
    let by_name: HashMap<&str, &Line> = lines
        .iter()
        .map(|l| (Path::new(&l.path).file_name().unwrap().to_str().unwrap(), l))
        .collect();
    let orig = by_name["aaa-orig.jpg"].hash;
    for line in &lines[..12] {
        let d = line.hash.hamming(&orig);
        assert!(d <= 16, "{}: {d} bits from the original", line.path);
    }
    // The upstream Java test's distances between different pictures.
    let b1 = by_name["bridge-1-original.jpg"].hash;
    assert_eq!(b1.hamming(&by_name["bridge-2-rotate-90.jpg"].hash), 120);
    assert_eq!(b1.hamming(&by_name["pen-and-coaster.png"].hash), 138);

    // Each rotated or mirrored file is close to the matching variant of bridge-1.
    let out = ws.run(&[
        "hash",
        "--dihedral",
        dih.join("bridge-1-original.jpg").to_str().unwrap(),
    ]);
    let variants = parse_lines(&stdout(&out));
    let files = [
        "bridge-1-original.jpg",
        "bridge-2-rotate-90.jpg",
        "bridge-3-rotate-180.jpg",
        "bridge-4-rotate-270.jpg",
        "bridge-5-flipx.jpg",
        "bridge-6-flipy.jpg",
        "bridge-7-flip-plus-1.jpg",
        "bridge-8-flip-minus-1.jpg",
    ];
    for (variant, file) in variants.iter().zip(files) {
        let d = variant.hash.hamming(&by_name[file].hash);
        assert!(d <= 8, "{file}: {d} bits from the derived hash");
    }
}

#[test]
fn prints_one_line_per_image_in_argument_order() {
    let ws = Workspace::new();
    let b = ws.write("b.png", encode(&picture(200, 150, 0.0), ImageFormat::Png));
    let a = ws.write("a.png", encode(&picture(150, 200, 5.0), ImageFormat::Png));
    let out = ws.run(&["hash", "b.png", "a.png", "b.png"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let lines = parse_lines(&stdout(&out));
    let paths: Vec<&str> = lines.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(paths, ["b.png", "a.png", "b.png"]);
    assert_eq!(lines[0], lines[2]);
    assert_ne!(lines[0].hash, lines[1].hash);
    assert!(lines[0].quality >= 50);
    // The library gives the same answer as the command.
    let img = markhound::image::decode_path(&b, &Default::default()).unwrap();
    assert_eq!(markhound::image::pdq_hash(&img).hash, lines[0].hash);
    assert!(a.exists());
}

#[test]
fn folders_are_searched_recursively_in_sorted_order() {
    let ws = Workspace::new();
    let png = encode(&picture(120, 90, 1.0), ImageFormat::Png);
    ws.write("photos/z.png", &png);
    ws.write("photos/b/inner.PNG", &png);
    ws.write(
        "photos/a.bmp",
        encode(&picture(120, 90, 1.0), ImageFormat::Bmp),
    );
    ws.write("photos/notes.txt", "not an image");
    let out = ws.run(&["hash", "photos"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = parse_lines(&stdout(&out));
    let paths: Vec<String> = lines.iter().map(|l| l.path.replace('\\', "/")).collect();
    assert_eq!(
        paths,
        ["photos/a.bmp", "photos/b/inner.PNG", "photos/z.png"]
    );
    // Lossless formats of the same pixels hash identically.
    assert!(lines.windows(2).all(|w| w[0].hash == w[1].hash));
}

#[test]
fn dihedral_prints_eight_lines_starting_with_the_plain_hash() {
    let ws = Workspace::new();
    let img = picture(160, 120, 2.0);
    ws.write("p.png", encode(&img, ImageFormat::Png));
    // The reference's variants, made by moving pixels (its rotations are
    // counter-clockwise, the image crate's clockwise).
    let moved = [
        img.clone(),
        img.rotate270(),
        img.rotate180(),
        img.rotate90(),
        img.flipv(),
        img.fliph(),
        img.rotate90().fliph(),
        img.rotate270().fliph(),
    ];
    let mut names = vec!["p.png".to_string()];
    for (i, m) in moved.iter().enumerate() {
        let name = format!("moved{i}.png");
        ws.write(&name, encode(m, ImageFormat::Png));
        names.push(name);
    }
    let args: Vec<&str> = std::iter::once("hash")
        .chain(names.iter().map(String::as_str))
        .collect();
    let plain = parse_lines(&stdout(&ws.run(&args)));
    let out = ws.run(&["hash", "--dihedral", "p.png"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = parse_lines(&stdout(&out));
    assert_eq!(all.len(), 8);
    assert_eq!(all[0], plain[0]);
    for (k, (variant, file)) in all.iter().zip(&plain[1..]).enumerate() {
        let d = variant.hash.hamming(&file.hash);
        assert!(d <= 16, "variant {k}: {d} bits from hashing {}", file.path);
    }
}

#[test]
fn trim_borders_hashes_a_padded_photo_like_the_photo() {
    let ws = Workspace::new();
    let photo = picture(240, 160, 6.0);
    let mut canvas = RgbImage::from_pixel(400, 400, Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, photo.as_rgb8().unwrap(), 100, 50);
    ws.write("photo.png", encode(&photo, ImageFormat::Png));
    ws.write(
        "padded.png",
        encode(&DynamicImage::ImageRgb8(canvas), ImageFormat::Png),
    );
    let plain = parse_lines(&stdout(&ws.run(&["hash", "photo.png", "padded.png"])));
    assert!(plain[0].hash.hamming(&plain[1].hash) > 40);
    let out = ws.run(&["hash", "--trim-borders", "photo.png", "padded.png"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trimmed = parse_lines(&stdout(&out));
    assert_eq!(trimmed[0].hash, plain[0].hash, "no border: unchanged");
    assert_eq!(trimmed[1].hash, plain[0].hash);
}

#[test]
fn usage_errors_exit_with_2() {
    let ws = Workspace::new();
    assert_eq!(ws.run(&["hash"]).status.code(), Some(2));
    let out = ws.run(&["hash", "--algo", "md5", "x.png"]);
    assert_eq!(out.status.code(), Some(2));
    // `hash` reads no database: its help does not offer --db.
    let help = ws.run(&["hash", "--help"]);
    assert!(help.status.success());
    assert!(!String::from_utf8_lossy(&help.stdout).contains("--db"));
}

/// A decompression bomb: a few tens of kilobytes that inflate to a 16,000 × 16,000
/// picture (256 megapixels).
fn png_bomb() -> Vec<u8> {
    let side = 16_000u32;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fastest);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; (side / 8) as usize];
    for _ in 0..side {
        stream.write_all(&row).unwrap();
    }
    stream.finish().unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn bad_files_are_reported_and_the_others_hashed() {
    let ws = Workspace::new();
    let jpeg = encode(&picture(300, 200, 3.0), ImageFormat::Jpeg);
    ws.write("good1.jpg", &jpeg);
    ws.write("truncated.jpg", &jpeg[..jpeg.len() / 2]);
    let png = encode(&picture(300, 200, 4.0), ImageFormat::Png);
    ws.write("truncated.png", &png[..png.len() / 2]);
    ws.write("huge.png", png_header(30_000, 30_000));
    let bomb = png_bomb();
    assert!(bomb.len() < 200_000, "bomb is {} bytes", bomb.len());
    ws.write("bomb.png", &bomb);
    ws.write("notes.png", "this is text, not a picture\n");
    ws.write("empty.jpg", "");
    ws.write("good2.png", &png);
    let out = ws.run(&[
        "hash",
        "good1.jpg",
        "truncated.jpg",
        "truncated.png",
        "huge.png",
        "bomb.png",
        "notes.png",
        "empty.jpg",
        "missing.png",
        "good2.png",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = parse_lines(&stdout(&out));
    let paths: Vec<&str> = lines.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(paths, ["good1.jpg", "good2.png"]);

    let err = stderr(&out);
    let err_lines: Vec<&str> = err.lines().collect();
    assert_eq!(err_lines.len(), 7, "{err}");
    let expect = [
        ("truncated.jpg", "corrupt or truncated"),
        ("truncated.png", "corrupt or truncated"),
        ("huge.png", "30000 x 30000 pixels, over the limit"),
        ("bomb.png", "16000 x 16000 pixels, over the limit"),
        ("notes.png", "not a supported image"),
        ("empty.jpg", "not a supported image"),
        ("missing.png", "cannot read"),
    ];
    for ((file, reason), line) in expect.iter().zip(&err_lines) {
        assert!(
            line.contains(file) && line.contains(reason),
            "expected {file}: {reason}, got {line}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
}
