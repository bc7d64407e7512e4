//! Listing photos in the review service, end to end: supplied photo hashes matched
//! against the reference images, malformed hashes refused, relisting by photo after
//! a removal, `serve --fetch-images` against a local photo server, and local paths
//! never read by the service.

use serde_json::{json, Value};

use crate::review_api::{listing, Service};
use crate::util::{repo_root, run_with_stdin, serve, stdout, Workspace};

/// The registry of the photo tests: Zentrix with its bundled product photo, and
/// Korvello without a reference image.
const PHOTO_MARKS: &str = r#"
[[mark]]
id = "zentrix"
name = "Zentrix"
images = ["zentrix-product.png"]

[[mark]]
id = "korvello"
name = "Korvello"
"#;

/// The PDQ hash of a bundled image, as `markhound hash` prints it.
fn bundled_hash(ws: &Workspace, name: &str) -> String {
    let path = repo_root().join("trademarks/images").join(name);
    let out = ws.run(&["hash", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).split(',').next().unwrap().to_owned()
}

/// `hex` with the lowest bit of each of its first `bits` digits flipped: a hash
/// `bits` bits away.
fn flip_bits(hex: &str, bits: usize) -> String {
    hex.char_indices()
        .map(|(i, c)| {
            let d = c.to_digit(16).unwrap();
            let d = if i < bits { d ^ 1 } else { d };
            char::from_digit(d, 16).unwrap()
        })
        .collect()
}

/// The finding of `listing` in an ingest answer, if any.
fn finding_of(answer: &Value, listing: &str) -> Option<Value> {
    answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["listing_id"] == listing)
        .cloned()
}

fn image_signal(finding: &Value) -> Value {
    finding["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "image_match")
        .unwrap_or_else(|| panic!("no image_match in {finding}"))
        .clone()
}

#[test]
fn a_neutral_title_with_a_reference_photo_hash_gets_an_image_match() {
    let svc = Service::start_with(PHOTO_MARKS, &["zentrix-product.png"], &[]);
    let reference = bundled_hash(&svc.ws, "zentrix-product.png");
    let other = bundled_hash(&svc.ws, "korvello-product.png");
    let answer = svc.ingest(&json!([
        {"id": "L1", "title": "Running shoes", "image_hashes": [reference]},
        {"id": "L2", "title": "Running shoes", "image_hashes": [other, flip_bits(&reference, 4)]},
        {"id": "L3", "title": "Running shoes", "image_hashes": [other]},
    ]));
    let exact = finding_of(&answer, "L1").expect("a finding for L1");
    assert_eq!(exact["mark_id"], "zentrix");
    let signal = image_signal(&exact);
    assert_eq!(
        signal["photo"],
        json!({"image_hash": 0, "reference": 0, "distance": 0})
    );
    assert!(
        signal["detail"]
            .as_str()
            .unwrap()
            .starts_with("photo hash matches reference "),
        "{signal}"
    );
    assert!(
        signal["detail"]
            .as_str()
            .unwrap()
            .ends_with("zentrix-product.png of Zentrix (distance 0)"),
        "{signal}"
    );
    let near = finding_of(&answer, "L2").expect("a finding for L2");
    assert_eq!(
        image_signal(&near)["photo"],
        json!({"image_hash": 1, "reference": 0, "distance": 4})
    );
    assert!(finding_of(&answer, "L3").is_none(), "{answer}");
    // The hashes are stored with the listing.
    let stored = svc.finding(exact["id"].as_str().unwrap());
    assert_eq!(stored["listing"]["image_hashes"], json!([reference]));
}

#[test]
fn a_malformed_photo_hash_gets_400_naming_its_index_and_field() {
    let svc = Service::start();
    let good = "ab".repeat(32);
    let batch = json!([
        {"id": "L1", "title": "Zentrix running shoes", "image_hashes": [good]},
        {"id": "L2", "title": "Running shoes", "image_hashes": [good, "abc"]},
    ]);
    svc.assert_batch_refused(&batch, 1, "image_hashes[1]");
}

#[test]
fn a_removed_findings_photo_flags_a_relist_from_another_seller() {
    let svc = Service::start();
    let photo = bundled_hash(&svc.ws, "korvello-product.png");
    let unrelated = bundled_hash(&svc.ws, "quvo-product.png");
    let mut first = listing("L1", "Zentrix running shoes", "s1");
    first["image_hashes"] = json!([photo]);
    let answer = svc.ingest(&json!([first]));
    let removed = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    svc.drive(
        &removed,
        &["in_review", "confirmed", "notice_sent", "removed"],
    );

    let mut again = listing("L2", "Zentrix trainers", "s2");
    again["image_hashes"] = json!([unrelated, flip_bits(&photo, 3)]);
    let mut other = listing("L3", "Zentrix trainers", "s3");
    other["image_hashes"] = json!([unrelated]);
    let answer = svc.ingest(&json!([again, other]));
    let relist = finding_of(&answer, "L2").unwrap();
    assert_eq!(relist["relist_of"], removed.as_str(), "{relist}");
    assert_eq!(relist["relist_rule"], "same photo, distance 3");
    let plain = finding_of(&answer, "L3").unwrap();
    assert!(plain.get("relist_of").is_none(), "{plain}");

    let id = relist["id"].as_str().unwrap();
    let history = svc.finding(id)["history"].clone();
    assert_eq!(
        history[0]["note"],
        format!("relisting of removed finding {removed} (same photo, distance 3)")
    );
    // The web UI shows the relisting and its rule.
    let (client, cookie, _) = svc.web_session();
    let page = client
        .get(format!("{}/findings/{id}", svc.base))
        .header("Cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("<span class=\"badge\">relist</span>")
            && page.contains("<span class=\"relist-rule\">same photo, distance 3</span>"),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/findings/{removed}\"")),
        "{page}"
    );
}

/// The bundled Zentrix product photo as an HTTP answer.
fn png_answer() -> Vec<u8> {
    let png = std::fs::read(repo_root().join("trademarks/images/zentrix-product.png")).unwrap();
    png_bytes_answer(png)
}

/// A PNG as an HTTP answer.
fn png_bytes_answer(png: Vec<u8>) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        png.len()
    )
    .into_bytes();
    answer.extend(png);
    answer
}

#[test]
fn a_fetched_photo_relisted_mirrored_is_flagged() {
    let read =
        |name: &str| std::fs::read(repo_root().join("trademarks/images").join(name)).unwrap();
    let photo = read("korvello-product.png");
    let mirrored = {
        let image = image::load_from_memory(&photo).unwrap().fliph();
        let mut png = std::io::Cursor::new(Vec::new());
        image.write_to(&mut png, image::ImageFormat::Png).unwrap();
        png.into_inner()
    };
    let base = serve(vec![
        ("/p/bag.png", png_bytes_answer(photo)),
        ("/p/bag-mirrored.png", png_bytes_answer(mirrored)),
        ("/p/other.png", png_bytes_answer(read("quvo-product.png"))),
    ]);
    let svc = Service::start_with(
        PHOTO_MARKS,
        &["zentrix-product.png"],
        &["--fetch-images", "--allow-private"],
    );
    let mut first = listing("L1", "Zentrix running shoes", "s1");
    first["images"] = json!([format!("{base}/p/bag.png")]);
    let answer = svc.ingest(&json!([first]));
    let removed = finding_of(&answer, "L1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    svc.drive(
        &removed,
        &["in_review", "confirmed", "notice_sent", "removed"],
    );
    let mut again = listing("L2", "Zentrix trainers", "s2");
    again["images"] = json!([format!("{base}/p/bag-mirrored.png")]);
    let mut other = listing("L3", "Zentrix trainers", "s3");
    other["images"] = json!([format!("{base}/p/other.png")]);
    let answer = svc.ingest(&json!([again, other]));
    let relist = finding_of(&answer, "L2").unwrap();
    assert_eq!(relist["relist_of"], removed.as_str(), "{relist}");
    assert!(
        relist["relist_rule"]
            .as_str()
            .unwrap()
            .starts_with("same photo"),
        "{relist}"
    );
    let plain = finding_of(&answer, "L3").unwrap();
    assert!(plain.get("relist_of").is_none(), "{plain}");
}

#[test]
fn fetch_images_matches_a_served_copy_of_a_reference_photo() {
    let base = serve(vec![("/p/shoe.png", png_answer())]);
    let url = format!("{base}/p/shoe.png");
    let body = json!([{"id": "L1", "title": "Running shoes", "images": [url]}]);

    // Off by default: the photo is not fetched and nothing is found.
    let plain = Service::start_with(PHOTO_MARKS, &["zentrix-product.png"], &[]);
    assert!(plain.ingest(&body)["findings"]
        .as_array()
        .unwrap()
        .is_empty());

    let svc = Service::start_with(
        PHOTO_MARKS,
        &["zentrix-product.png"],
        &["--fetch-images", "--allow-private"],
    );
    let answer = svc.ingest(&body);
    let finding = finding_of(&answer, "L1").expect("a finding for the served photo");
    let signal = image_signal(&finding);
    assert_eq!(signal["photo"]["image"], 0, "{signal}");
    assert_eq!(signal["photo"]["reference"], 0, "{signal}");
    assert!(signal["photo"]["distance"].as_u64().unwrap() <= 31);

    // The finding page shows the listing photo beside the matched reference image.
    let id = finding["id"].as_str().unwrap();
    let (client, cookie, _) = svc.web_session();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", svc.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
    };
    let page = get(&format!("/findings/{id}")).text().unwrap();
    // The photo as kept when it was fetched, served by the service itself (the
    // reviewer's browser asks nothing of the shop), not the shop's URL.
    assert!(!page.contains(&format!("src=\"{url}\"")), "{page}");
    let kept = page
        .split("src=\"/photos/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no kept photo on the page: {page}"));
    let photo = get(&format!("/photos/{kept}"));
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert!(image::load_from_memory(&photo.bytes().unwrap()).is_ok());
    assert!(page.contains("src=\"/marks/zentrix/image?n=0\""), "{page}");
    let image = get("/marks/zentrix/image?n=0");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(get("/marks/zentrix/image?n=1").status(), 404);

    // Without --allow-private the address guard refuses 127.0.0.1.
    let guarded = Service::start_with(PHOTO_MARKS, &["zentrix-product.png"], &["--fetch-images"]);
    assert!(guarded.ingest(&body)["findings"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn the_service_never_reads_a_local_path_named_by_a_listing() {
    let svc = Service::start_with(
        PHOTO_MARKS,
        &["zentrix-product.png"],
        &["--fetch-images", "--allow-private"],
    );
    let path = svc.ws.path().join("zentrix-product.png");
    let images = [
        path.to_str().unwrap().to_owned(),
        format!("file://{}", path.display()),
    ];
    let line = json!({"id": "L1", "title": "Running shoes", "images": images});
    // `match`, run by the machine's owner, reads the file and finds the photo...
    let out = run_with_stdin(
        // The server holds the database: the registry file stands in.
        svc.ws.cmd().args(["match", "--registry", "marks.toml"]),
        &format!("{line}\n"),
    );
    let matched: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(matched["findings"][0]["mark_id"], "zentrix", "{matched}");
    // ...the service, whose clients are remote, reads neither and finds nothing.
    let answer = svc.ingest(&json!([line]));
    assert!(
        answer["findings"].as_array().unwrap().is_empty(),
        "{answer}"
    );
}

#[test]
fn a_reference_image_is_served_only_while_it_is_the_file_imported() {
    let svc = Service::start_with(PHOTO_MARKS, &["zentrix-product.png"], &[]);
    let (c, cookie, _) = svc.web_session();
    let image = || {
        c.get(format!("{}/marks/zentrix/image", svc.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
    };
    let served = image();
    assert_eq!(served.status(), 200);
    let original = std::fs::read(svc.ws.path().join("zentrix-product.png")).unwrap();
    assert_eq!(served.bytes().unwrap().as_ref(), original.as_slice());
    // The file replaced by a link to a private file: not served.
    let secret = svc.ws.write("secret.txt", "the operator's private key");
    let path = svc.ws.path().join("zentrix-product.png");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let refused = image();
    assert_eq!(refused.status(), 404);
    assert!(!refused.text().unwrap().contains("private key"));
    // Another picture in its place: not served either.
    std::fs::remove_file(&path).unwrap();
    std::fs::copy(
        repo_root().join("trademarks/images/korvello-product.png"),
        &path,
    )
    .unwrap();
    assert_eq!(image().status(), 404);
}

#[test]
fn issue_13_the_finding_page_draws_the_logos_box_on_the_kept_photo() {
    let photo = crate::logo_match::listing_photo();
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(photo)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let base = serve(vec![("/p/shoe.png", png_bytes_answer(png.into_inner()))]);
    let svc = Service::start_with(
        r#"
[[mark]]
id = "zentrix"
name = "Zentrix"
images = ["zentrix-product.png", { path = "zentrix-logo.png", kind = "logo" }]
"#,
        &["zentrix-product.png", "zentrix-logo.png"],
        &["--fetch-images", "--allow-private", "--logos"],
    );
    let body =
        json!([{"id": "L1", "title": "Running shoes", "images": [format!("{base}/p/shoe.png")]}]);
    let answer = svc.ingest(&body);
    let finding = finding_of(&answer, "L1").expect("a finding for the logo in the photo");
    let region = finding["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "logo_match")
        .unwrap_or_else(|| panic!("no logo_match in {finding}"))["region"]
        .clone();

    let (client, cookie, _) = svc.web_session();
    let page = client
        .get(format!(
            "{}/findings/{}",
            svc.base,
            finding["id"].as_str().unwrap()
        ))
        .header("Cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    // The kept photo in an SVG frame of the photo's own size, the box where the
    // logo was found, and the reference logo beside it.
    let svg = page
        .split("<svg")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .unwrap_or_else(|| panic!("no boxed photo on the page: {page}"));
    assert!(svg.contains("viewBox=\"0 0 900 700\""), "{svg}");
    assert!(svg.contains("<image href=\"/photos/"), "{svg}");
    let rect = format!(
        "<rect class=\"found\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
        region["x"], region["y"], region["w"], region["h"]
    );
    assert!(svg.contains(&rect), "{rect} not in {svg}");
    assert!(
        page.contains("Listing photo 1: logo_match, ") && page.contains("correspondences"),
        "{page}"
    );
    assert!(page.contains("src=\"/marks/zentrix/image?n=1\""), "{page}");
}
