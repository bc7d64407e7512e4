//! The HTML report as a browser shows it: headless Chromium loads a report whose
//! listing titles are hostile and we assert on the rendered DOM, and keep a
//! screenshot under `target/` for a person to look at.
//!
//! Chromium is installed by `.ci/run`; elsewhere the test is skipped with a message
//! when no Chromium is found (and fails when `CI` is set, so CI cannot skip it).

use std::path::PathBuf;

use markhound::listing::{Listing, Seller};
use markhound::report::{HtmlReport, Report, ReportData};
use markhound::scoring::{Finding, Signal, SignalKind, Span};

use crate::util::headless_chromium;

fn hostile_report() -> ReportData {
    let title = "<script>alert(1)</script> Z3NTRIX shoes <img src=x onerror=alert(2)>";
    let start = title.find("Z3NTRIX").unwrap();
    let finding = Finding {
        suppressed: None,
        mark_id: "zentrix".into(),
        mark: "Zentrix".into(),
        score: 0.95,
        signals: vec![Signal {
            kind: SignalKind::TitleConfusable,
            detail: "\"Z3NTRIX\" ~ Zentrix (leet)".into(),
            weight: 0.8,
            photo: None,
            region: None,
            text: None,
        }],
        spans: vec![Span {
            start,
            end: start + 7,
            text: "Z3NTRIX".into(),
        }],
    };
    let listing = Listing {
        id: "L1".into(),
        title: title.into(),
        url: Some("https://shop.example/L1\"><script>alert(3)</script>".into()),
        seller: Some(Seller {
            id: "s1".into(),
            name: Some("<b onmouseover=alert(4)>Shop</b>".into()),
            url: None,
        }),
        ..Listing::default()
    };
    ReportData::new(vec![(listing, vec![finding])], 0.5)
}

#[test]
fn hostile_titles_render_as_text_in_chromium() {
    let Some(bin) = crate::util::chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let mut file = std::fs::File::create(&page).unwrap();
    HtmlReport.write(&hostile_report(), &mut file).unwrap();
    drop(file);
    let url = format!("file://{}", page.display());

    let out = headless_chromium(&bin, &dir.path().join("profile"), 1280, 1600)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("markhound report"),
        "no report in the DOM: {dom:.500}"
    );
    // The hostile strings are text, not elements.
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom:.2000}"
    );
    assert!(!dom.contains("<script>"), "a script element was created");
    assert!(
        !dom.contains("<img src=\"x\""),
        "an img element was created from the title"
    );
    assert!(
        !dom.contains("<b onmouseover"),
        "markup from the seller name was rendered"
    );
    // The mention is highlighted.
    assert!(dom.contains("<mark>Z3NTRIX</mark>"), "{dom:.2000}");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-hostile.png");
    let status = headless_chromium(&bin, &dir.path().join("profile2"), 1280, 1600)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(status.status.success());
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no screenshot"
    );
}
