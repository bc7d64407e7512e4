//! Issue 13, end to end: a registered logo printed inside a listing photo gives a
//! `logo_match` finding with its box, through `match` and into the stored findings
//! and the HTML report; the search runs with `--logos` only.

use image::{DynamicImage, Rgb, RgbImage};

use crate::util::{
    assert_box_in_report, assert_no_findings, repo_root, run_with_stdin, stderr,
    the_one_finding_signal, Workspace,
};

/// A workspace whose registry holds Zentrix with its product photo and its logo
/// (kind `logo`), and Quvo with its logo.
fn registry() -> Workspace {
    let ws = Workspace::new();
    let images = repo_root().join("trademarks/images");
    for name in ["zentrix-product.png", "zentrix-logo.png", "quvo-logo.png"] {
        std::fs::copy(images.join(name), ws.path().join(name)).unwrap();
    }
    ws.write(
        "marks.toml",
        r#"[[mark]]
id = "zentrix"
name = "Zentrix"
images = ["zentrix-product.png", { path = "zentrix-logo.png", kind = "logo" }]

[[mark]]
id = "quvo"
name = "Quvo"
images = [{ path = "quvo-logo.png", kind = "logo" }]
"#,
    );
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    ws
}

/// A photo of something else (waves and blocks of colour), 900 × 700, with the
/// Zentrix logo printed 210 pixels wide, turned by 12°, its centre at (560, 300).
pub fn listing_photo() -> RgbImage {
    let mut photo = RgbImage::from_fn(900, 700, |x, y| {
        let wave =
            50.0 * (x as f32 / 41.0).sin() + 40.0 * ((y as f32 + x as f32 * 0.3) / 29.0).cos();
        let cell = ((x / 17).wrapping_mul(7919) ^ (y / 13).wrapping_mul(104_729))
            .wrapping_mul(2_654_435_761)
            >> 26;
        let v = (100.0 + wave + cell as f32 * 0.5).clamp(0.0, 255.0) as u8;
        Rgb([v, v / 2 + 40, 255 - v / 3])
    });
    let logo = image::open(repo_root().join("trademarks/images/zentrix-logo.png"))
        .unwrap()
        .to_rgb8();
    let scale = 210.0 / logo.width() as f32;
    let (s, c) = 12f32.to_radians().sin_cos();
    let (cx, cy) = (560.0, 300.0);
    for y in 0..photo.height() {
        for x in 0..photo.width() {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let u = (c * dx + s * dy) / scale + logo.width() as f32 / 2.0;
            let v = (-s * dx + c * dy) / scale + logo.height() as f32 / 2.0;
            if u >= 0.0 && v >= 0.0 && u < logo.width() as f32 && v < logo.height() as f32 {
                photo.put_pixel(x, y, *logo.get_pixel(u as u32, v as u32));
            }
        }
    }
    photo
}

fn save_jpeg(ws: &Workspace, name: &str, photo: &RgbImage) {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&DynamicImage::ImageRgb8(photo.clone()))
        .unwrap();
    ws.write(name, bytes);
}

#[test]
fn issue_13_a_logo_inside_a_listing_photo_is_found_with_its_box() {
    let ws = registry();
    save_jpeg(&ws, "listing.jpg", &listing_photo());
    let listing = serde_json::json!({
        "id": "L1",
        "title": "Running shoes",
        "images": [ws.path().join("listing.jpg")],
    });
    let out = run_with_stdin(
        ws.cmd()
            .args(["match", "--store", "--logos", "--jsonl", "-"]),
        &format!("{listing}\n"),
    );
    let signal = the_one_finding_signal(&out, "zentrix", "logo_match");
    let region = &signal["region"];
    assert_eq!(region["image"], 0);
    assert_eq!(region["reference"], 1);
    assert!(region["inliers"].as_u64().unwrap() >= 8, "{region}");
    assert_eq!(
        (region["width"].as_u64(), region["height"].as_u64()),
        (Some(900), Some(700))
    );
    // The logo turned by 12° covers about 255 × 255 pixels around (560, 300).
    let (x, y, w, h) = ["x", "y", "w", "h"]
        .map(|k| region[k].as_f64().unwrap())
        .into();
    assert!(
        (x + w / 2.0 - 560.0).abs() < 25.0 && (y + h / 2.0 - 300.0).abs() < 25.0,
        "{region}"
    );
    assert!(
        (200.0..320.0).contains(&w) && (200.0..320.0).contains(&h),
        "{region}"
    );
    let detail = signal["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("photo shows logo ")
            && detail.contains("zentrix-logo.png of Zentrix in the box at"),
        "{detail}"
    );

    // Stored, and drawn on the photo in the HTML report.
    assert_box_in_report(&ws, "logo_match", x, y);

    // Switched off, the photo gives nothing.
    let out = ws.run(&["match", "--image", "listing.jpg"]);
    assert_no_findings(&out);
}

#[test]
fn issue_13_a_photo_without_a_registered_logo_gives_no_finding() {
    let ws = registry();
    let mut photo = listing_photo();
    // The same scene with a block of paint where the logo was.
    for y in 150..450 {
        for x in 410..710 {
            photo.put_pixel(x, y, Rgb([90, 120, 60]));
        }
    }
    save_jpeg(&ws, "plain.jpg", &photo);
    let out = ws.run(&["match", "--image", "plain.jpg", "--logos"]);
    assert_no_findings(&out);
}
