//! Issue 13, wordmarks: a mark's name printed in a listing photo is read by the OCR
//! and matched like a title, giving a `photo_text` finding with the text and its
//! box, with `--photo-text` only.
//!
//! The OCR models are fetched by `scripts/fetch-ocr-models.sh` (from PyPI) into
//! `target/ocr-models`, or the folder `MARKHOUND_OCR_MODELS` names. Without them
//! these tests are skipped with a message, unless MARKHOUND_REQUIRE_OCR_MODELS is
//! set (CI sets it), when they fail.

use std::path::PathBuf;

use image::{imageops, DynamicImage, Rgb, RgbImage};
use markhound::image::ocr::{self, Ocr, OcrConfig};

use crate::util::{
    assert_box_in_report, assert_no_findings, repo_root, run_with_stdin, stderr, stdout,
    the_one_finding_signal, Workspace,
};

/// The models' folder, or `None` (with a message) when the models are not there
/// and MARKHOUND_REQUIRE_OCR_MODELS is unset.
fn models_or_skip() -> Option<PathBuf> {
    let dir = match std::env::var_os(ocr::MODELS_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join(ocr::DEFAULT_MODELS_DIR),
    };
    let present = [ocr::DET_FILE, ocr::REC_FILE, ocr::KEYS_FILE]
        .iter()
        .all(|f| dir.join(f).is_file());
    if !present {
        assert!(
            std::env::var_os("MARKHOUND_REQUIRE_OCR_MODELS").is_none(),
            "MARKHOUND_REQUIRE_OCR_MODELS is set but there are no OCR models in {} \
             (scripts/fetch-ocr-models.sh)",
            dir.display()
        );
        eprintln!(
            "skipped: no OCR models in {} (scripts/fetch-ocr-models.sh)",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// `word` in the 8 × 8 bitmap font, `px` pixels a glyph cell, dark on light,
/// softened by a half-size resampling as print on a photo would be.
fn rendered(word: &str, px: u32) -> RgbImage {
    use font8x8::UnicodeFonts;
    let cell = px * 2;
    let mut img = RgbImage::from_pixel(cell * word.chars().count() as u32, cell, Rgb([235; 3]));
    for (i, ch) in word.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                let (x0, y0) = (i as u32 * cell + col * cell / 8, row as u32 * cell / 8);
                for y in y0..y0 + cell / 8 {
                    for x in x0..x0 + cell / 8 {
                        img.put_pixel(x, y, Rgb([20, 30, 40]));
                    }
                }
            }
        }
    }
    imageops::resize(
        &img,
        img.width() / 2,
        img.height() / 2,
        imageops::FilterType::Triangle,
    )
}

/// A photo of something else (soft waves of colour), 900 × 640, with `word`
/// printed on a light label whose top left corner is at (300, 260).
fn photo_with(word: &str) -> RgbImage {
    let mut photo = RgbImage::from_fn(900, 640, |x, y| {
        let wave =
            40.0 * (x as f32 / 53.0).sin() + 30.0 * ((y as f32 + x as f32 * 0.2) / 37.0).cos();
        let v = (120.0 + wave).clamp(0.0, 255.0) as u8;
        Rgb([v, v / 2 + 50, 200 - v / 3])
    });
    let label = rendered(word, 40);
    imageops::overlay(&mut photo, &label, 300, 260);
    photo
}

#[test]
fn issue_13_the_ocr_reads_a_printed_word_with_its_box() {
    let Some(dir) = models_or_skip() else {
        return;
    };
    let ocr = Ocr::load(&dir, OcrConfig::default()).unwrap();
    let photo = DynamicImage::ImageRgb8(photo_with("ZENTRIX"));
    let lines = ocr.read(&photo).unwrap();
    let line = lines
        .iter()
        .find(|l| l.text.to_uppercase().contains("ZENTRIX"))
        .unwrap_or_else(|| panic!("ZENTRIX not read: {lines:?}"));
    assert!(line.confidence > 0.8, "{line:?}");
    // The label is 280 × 40 pixels at (300, 260).
    let [x, y, w, h] = line.bbox;
    let (cx, cy) = (x + w / 2, y + h / 2);
    assert!(
        (420..=460).contains(&cx) && (270..=290).contains(&cy),
        "{line:?}"
    );
    assert!(
        (240..=380).contains(&w) && (30..=80).contains(&h),
        "{line:?}"
    );
    // A photo without text reads nothing.
    let plain = DynamicImage::ImageRgb8(RgbImage::from_pixel(640, 480, Rgb([90, 140, 60])));
    assert_eq!(ocr.read(&plain).unwrap(), Vec::new());
}

#[test]
fn issue_13_a_wordmark_in_a_listing_photo_is_a_photo_text_finding() {
    let Some(dir) = models_or_skip() else {
        return;
    };
    let ws = Workspace::new();
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"zentrix\"\nname = \"Zentrix\"\n\n[[mark]]\nid = \"quvo\"\nname = \"Quvo\"\n",
    );
    let photo = DynamicImage::ImageRgb8(photo_with("ZENTRIX"));
    photo.save(ws.path().join("listing.png")).unwrap();
    let listing = serde_json::json!({
        "id": "L1",
        "title": "Running shoes",
        "images": [ws.path().join("listing.png")],
    });
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let models = dir.to_str().unwrap();
    let out = run_with_stdin(
        ws.cmd().args([
            "match",
            "--store",
            "--photo-text",
            "--ocr-models",
            models,
            "--jsonl",
            "-",
        ]),
        &format!("{listing}\n"),
    );
    let signal = the_one_finding_signal(&out, "zentrix", "photo_text");
    let text = &signal["text"];
    assert_eq!(text["image"], 0);
    assert_eq!(
        (text["width"].as_u64(), text["height"].as_u64()),
        (Some(900), Some(640))
    );
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .to_uppercase()
            .contains("ZENTRIX"),
        "{text}"
    );
    let detail = signal["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("photo reads \"") && detail.contains("the mark Zentrix"),
        "{detail}"
    );

    // Stored, and the box drawn on the photo in the HTML report.
    assert_box_in_report(
        &ws,
        "photo_text",
        text["x"].as_f64().unwrap(),
        text["y"].as_f64().unwrap(),
    );

    // Switched off, the photo gives nothing.
    let out = ws.run(&[
        "match",
        "--registry",
        "marks.toml",
        "--image",
        "listing.png",
    ]);
    assert_no_findings(&out);
}

#[test]
fn issue_13_photo_text_without_models_is_off_with_one_message() {
    let ws = Workspace::new();
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"zentrix\"\nname = \"Zentrix\"\n",
    );
    let empty = ws.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let out = ws.run(&[
        "match",
        "--registry",
        "marks.toml",
        "--photo-text",
        "--ocr-models",
        empty.to_str().unwrap(),
        "--title",
        "Zentrix trainers",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("--photo-text is off").count(), 1, "{err}");
    assert!(err.contains("scripts/fetch-ocr-models.sh"), "{err}");
    // Titles still match.
    assert!(stdout(&out).contains("Zentrix"), "{}", stdout(&out));
}

#[test]
fn issue_13_a_code_word_printed_in_a_photo_counts_for_the_title_mark() {
    let Some(dir) = models_or_skip() else {
        return;
    };
    let ws = Workspace::new();
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"zentrix\"\nname = \"Zentrix\"\n",
    );
    DynamicImage::ImageRgb8(photo_with("REPLICA"))
        .save(ws.path().join("label.png"))
        .unwrap();
    let run = |photo_text: bool| {
        let mut args = vec!["match", "--registry", "marks.toml", "--image", "label.png"];
        if photo_text {
            args.extend(["--photo-text", "--ocr-models", dir.to_str().unwrap()]);
        }
        args.extend(["--title", "Zentrix trainers"]);
        let out = ws.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        line["findings"][0].clone()
    };
    let with = run(true);
    let keyword = with["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "keyword")
        .unwrap_or_else(|| panic!("no code word in {with}"));
    assert_eq!(
        keyword["detail"], "counterfeit code word \"replica\" read in photo",
        "{with}"
    );
    let without = run(false);
    assert!(
        with["score"].as_f64().unwrap() > without["score"].as_f64().unwrap(),
        "{with} against {without}"
    );
}

#[test]
fn issue_13_a_two_word_mark_set_on_two_lines_is_read_whole() {
    let Some(dir) = models_or_skip() else {
        return;
    };
    let ws = Workspace::new();
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"zentrix-cloud\"\nname = \"Zentrix Cloud\"\n",
    );
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // "ZENTRIX" on the label, "CLOUD" centred under it with a 16-pixel leading.
    let mut photo = photo_with("ZENTRIX");
    imageops::overlay(&mut photo, &rendered("CLOUD", 40), 340, 316);
    DynamicImage::ImageRgb8(photo)
        .save(ws.path().join("listing.png"))
        .unwrap();
    let models = dir.to_str().unwrap();
    let out = ws.run(&[
        "match",
        "--photo-text",
        "--ocr-models",
        models,
        "--image",
        "listing.png",
    ]);
    let signal = the_one_finding_signal(&out, "zentrix-cloud", "photo_text");
    let text = &signal["text"];
    assert_eq!(
        text["text"].as_str().unwrap().to_uppercase(),
        "ZENTRIX CLOUD",
        "{text}"
    );
    // The box holds both lines: from the label's top to below the second line.
    let (y, h) = (text["y"].as_u64().unwrap(), text["h"].as_u64().unwrap());
    assert!(y <= 270 && y + h >= 346, "{text}");
}
