//! Listing photos in `match` and reference images at `registry import`, end to end:
//! a copy of a brand's photo is found with no title, over http too; photos that
//! cannot be used add nothing and never fail the line; a broken reference image
//! fails its import file and stores nothing of it.

use std::path::Path;

use image::{DynamicImage, ImageFormat};

use crate::util::{png_header, repo_root, run_with_stdin, serve, stderr, stdout, Workspace};

/// A workspace whose registry holds Zentrix with its product photo, and Quvo.
fn registry() -> Workspace {
    let ws = Workspace::new();
    let images = repo_root().join("trademarks/images");
    for name in ["zentrix-product.png", "quvo-logo.png"] {
        std::fs::copy(images.join(name), ws.path().join(name)).unwrap();
    }
    ws.write(
        "marks.toml",
        r#"[[mark]]
id = "zentrix"
name = "Zentrix"
images = ["zentrix-product.png"]
authorized_sellers = ["zentrix-official"]

[[mark]]
id = "quvo"
name = "Quvo"
images = ["quvo-logo.png"]
"#,
    );
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    ws
}

fn reference(ws: &Workspace) -> DynamicImage {
    image::open(ws.path().join("zentrix-product.png")).unwrap()
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// The reference mirrored, shrunk and recompressed as JPEG.
fn mirrored_jpeg(ws: &Workspace) -> Vec<u8> {
    let img = reference(ws).fliph();
    let small = img.resize(
        img.width() * 3 / 4,
        img.height() * 3 / 4,
        image::imageops::FilterType::Triangle,
    );
    let mut out = Vec::new();
    let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 50)
        .encode_image(&rgb)
        .unwrap();
    out
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// The kinds of the signals of the finding for `mark_id`, if any.
fn kinds(line: &serde_json::Value, mark_id: &str) -> Option<Vec<String>> {
    line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["mark_id"] == mark_id)
        .map(|f| {
            f["signals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["kind"].as_str().unwrap().to_owned())
                .collect()
        })
}

fn http_ok(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `match --jsonl -` on `input`, allowing photos from 127.0.0.1 when `local`.
fn run_jsonl_with(ws: &Workspace, input: &str, local: bool) -> std::process::Output {
    let mut cmd = ws.cmd();
    cmd.args(["match", "--jsonl", "-"]);
    if local {
        cmd.arg("--allow-private");
    }
    run_with_stdin(&mut cmd, input)
}

fn run_jsonl(ws: &Workspace, input: &str) -> std::process::Output {
    run_jsonl_with(ws, input, true)
}

#[test]
fn a_mirrored_recompressed_copy_is_found_without_a_title() {
    let ws = registry();
    ws.write("listing.jpg", mirrored_jpeg(&ws));
    let out = ws.run(&["match", "--image", "listing.jpg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&stdout(&out));
    assert_eq!(lines.len(), 1);
    let findings = lines[0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["mark_id"], "zentrix");
    assert!(findings[0]["score"].as_f64().unwrap() >= 0.5);
    let signal = &findings[0]["signals"][0];
    assert_eq!(signal["kind"], "image_match");
    let detail = signal["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("photo matches reference ")
            && detail.contains("zentrix-product.png of Zentrix (distance ")
            && detail.contains("mirrored"),
        "{detail}"
    );

    // An authorised seller lowers it, given on the command line...
    let out = ws.run(&[
        "match",
        "--image",
        "listing.jpg",
        "--seller",
        "zentrix-official",
    ]);
    let line = &json_lines(&stdout(&out))[0];
    assert!(
        line["findings"][0]["score"].as_f64().unwrap() < 0.1,
        "{line}"
    );
    // ... or with a title in a JSON line.
    let input = r#"{"id": "L1", "title": "Running shoes", "images": ["listing.jpg"], "seller": {"id": "zentrix-official"}}"#;
    let out = run_jsonl(&ws, &format!("{input}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let line = &json_lines(&stdout(&out))[0];
    let mut k = kinds(line, "zentrix").unwrap();
    k.sort();
    assert_eq!(k, ["authorized_seller", "image_match"]);
    assert!(line["findings"][0]["score"].as_f64().unwrap() < 0.1);
}

#[test]
fn a_photo_served_over_http_matches() {
    let ws = registry();
    let padded = {
        // The reference pasted on a white canvas, served as PNG.
        let r = reference(&ws).to_rgb8();
        let mut canvas =
            image::RgbImage::from_pixel(r.width() + 120, r.height() + 40, image::Rgb([255; 3]));
        image::imageops::overlay(&mut canvas, &r, 60, 20);
        encode(&DynamicImage::ImageRgb8(canvas), ImageFormat::Png)
    };
    let base = serve(vec![
        ("/p/1.jpg", http_ok("image/jpeg", &mirrored_jpeg(&ws))),
        ("/p/2.png", http_ok("image/png", &padded)),
    ]);
    let input = format!(
        "{{\"id\": \"A\", \"title\": \"\", \"images\": [\"{base}/p/1.jpg\"]}}\n\
         {{\"id\": \"B\", \"title\": \"Sports shoes\", \"images\": [\"{base}/missing.jpg\", \"{base}/p/2.png\"]}}\n"
    );
    let out = run_jsonl(&ws, &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&stdout(&out));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "A");
    assert_eq!(kinds(&lines[0], "zentrix").unwrap(), ["image_match"]);
    assert_eq!(lines[1]["id"], "B");
    let detail = lines[1]["findings"][0]["signals"][0]["detail"]
        .as_str()
        .unwrap();
    assert!(detail.starts_with("photo 2 matches"), "{detail}");
    assert!(detail.contains("borders removed"), "{detail}");
    // The missing photo is named in a warning with its listing.
    let err = stderr(&out);
    assert!(
        err.contains("listing B: photo skipped: ")
            && err.contains("missing.jpg: the server answered 404"),
        "{err}"
    );
    // Without --allow-private, photos on 127.0.0.1 are refused: no signal, a warning.
    let out = run_jsonl_with(&ws, &input, false);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&stdout(&out));
    assert_eq!(lines[0]["findings"], serde_json::json!([]));
    assert!(
        stderr(&out).contains("private, loopback or link-local address"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unusable_photos_add_nothing_and_the_lines_still_succeed() {
    let ws = registry();
    let png = std::fs::read(ws.path().join("zentrix-product.png")).unwrap();
    ws.write("cut.png", &png[..png.len() / 2]);
    ws.write("notes.png", "these are not pixels");
    // 40,000 × 40,000 declared in a few bytes: refused before decoding.
    ws.write("huge.png", png_header(40_000, 40_000));
    let base = serve(vec![(
        "/big.jpg",
        // Announces more than the 16 MiB cap: refused without reading the body.
        b"HTTP/1.1 200 OK\r\nContent-Length: 20000000\r\nConnection: close\r\n\r\nxx".to_vec(),
    )]);
    let sources = [
        "cut.png".to_owned(),
        "notes.png".to_owned(),
        "huge.png".to_owned(),
        "absent.png".to_owned(),
        format!("{base}/big.jpg"),
        format!("{base}/gone.jpg"),
    ];
    let input: String = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!("{{\"id\": \"L{i}\", \"title\": \"Zentrix shoes\", \"images\": [\"{s}\"]}}\n")
        })
        .collect::<String>()
        // Terminal escapes in the photo name do not reach stderr.
        + "{\"id\": \"evil\", \"title\": \"\", \"images\": [\"x\\u001b[41m.png\"]}\n";
    let out = run_jsonl(&ws, &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut lines = json_lines(&stdout(&out));
    assert_eq!(lines.pop().unwrap()["findings"], serde_json::json!([]));
    assert_eq!(lines.len(), sources.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["id"], format!("L{i}"));
        assert_eq!(kinds(line, "zentrix").unwrap(), ["title_exact"], "{line}");
    }
    let err = stderr(&out);
    for needle in [
        "cut.png: corrupt or truncated",
        "notes.png: not a supported image",
        "huge.png: the image is 40000 x 40000 pixels",
        "absent.png: cannot read the file",
        "big.jpg: the body is larger than the limit",
        "gone.jpg: the server answered 404",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(
        err.contains("listing evil: photo skipped: x[41m.png"),
        "{err}"
    );
    assert!(!err.contains("\u{1b}[41m"), "{err}");
}

#[test]
fn a_truncated_reference_image_fails_its_file_and_stores_nothing() {
    let ws = Workspace::new();
    let png = std::fs::read(repo_root().join("trademarks/images/quvo-logo.png")).unwrap();
    ws.write("good.png", &png);
    ws.write("cut.png", &png[..png.len() / 3]);
    let file = ws.write(
        "marks.toml",
        "[[mark]]\nid = \"quvo\"\nname = \"Quvo\"\nimages = [\"good.png\"]\n\n\
         [[mark]]\nid = \"zentrix\"\nname = \"Zentrix\"\nimages = [\"good.png\", \"cut.png\"]\n",
    );
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("marks.toml:9: images[1]:") && err.contains("corrupt or truncated"),
        "{err}"
    );
    let listed = ws.run(&["registry", "list", "--json"]);
    let text = stdout(&listed);
    assert!(
        !text.contains("quvo") && !text.contains("zentrix"),
        "{text}"
    );
    assert!(Path::new(&file).is_file());
}

#[test]
fn a_plain_reference_image_warns_but_imports() {
    let ws = Workspace::new();
    let flat = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 200, 200]));
    ws.write(
        "flat.png",
        encode(&DynamicImage::ImageRgb8(flat), ImageFormat::Png),
    );
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"plain\"\nname = \"Plain\"\nimages = [\"flat.png\"]\n",
    );
    let out = ws.run(&["registry", "import", "marks.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("flat.png") && err.contains("quality 0"),
        "{err}"
    );
    // The blank photo is not matched, even against itself.
    let out = ws.run(&["match", "--image", "flat.png"]);
    assert_eq!(
        json_lines(&stdout(&out))[0]["findings"],
        serde_json::json!([])
    );
}

#[test]
fn stored_hashes_survive_export_and_import() {
    let ws = registry();
    let export = |ws: &Workspace, format: &str| {
        let out = ws.run(&["registry", "export", "--format", format]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let jsonl = export(&ws, "jsonl");
    assert!(
        jsonl.contains("\"pdq\":") && jsonl.contains("\"variant\":\"flipy\""),
        "{jsonl}"
    );
    for (name, text) in [
        ("again.jsonl", jsonl.clone()),
        ("again.toml", export(&ws, "toml")),
    ] {
        let other = Workspace::new();
        let file = other.write(name, &text);
        let out = other.run(&["registry", "import", file.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(export(&other, "jsonl"), jsonl, "{name}");
    }
}
