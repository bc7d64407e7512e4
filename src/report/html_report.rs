//! The HTML report: one self-contained file a rights holder can open and forward.
//!
//! A summary (listings scanned; suspects by mark, by seller with repeat infringers
//! first, by marketplace), then the ranked suspects: the title with the matched part
//! highlighted, the signals and their weights, the price against the mark's floor,
//! the seller and its number of suspects, the listing photo beside the mark's
//! reference image, the link, the evidence (hash, time, status) and a takedown
//! notice draft. Styles are inline and there is no script; a Content-Security-Policy
//! forbids any. Every string that came from a listing is escaped by `maud`.

use std::collections::BTreeMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{draft_notice, Report, ReportData, Suspect};
use crate::scoring::{RegionEvidence, Span, TextEvidence};

/// Writes [`ReportData`] as one HTML page.
#[derive(Debug, Default, Clone, Copy)]
pub struct HtmlReport;

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c7cbd6}main{padding:20px 28px;max-width:1200px}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px;margin-bottom:24px}
.box{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.box h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eceef2;vertical-align:top;font-size:14px}
.suspect{background:#fff;border-radius:8px;padding:16px;margin:0 0 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.suspect h3{margin:0 0 6px;font-size:17px;overflow-wrap:anywhere}.rank{color:#7a8194;margin-right:8px}
.score{display:inline-block;min-width:52px;text-align:center;border-radius:12px;padding:1px 8px;color:#fff;font-weight:600}
.high{background:#c0392b}.mid{background:#d68910}.low{background:#7f8c8d}
mark{background:#ffe08a;padding:0 2px;border-radius:2px}.meta{color:#4a5163;font-size:14px;margin:4px 0 10px}
.photos{display:flex;gap:16px;flex-wrap:wrap;margin:8px 0}.photos figure{margin:0;text-align:center}
.photos img,.photos svg{width:160px;height:160px;object-fit:contain;background:#f0f1f4;border-radius:6px}
.photos figcaption{font-size:12px;color:#7a8194;max-width:160px;overflow-wrap:anywhere}
.neg{color:#1e8449}.pos{color:#922b21}code{font-size:12px;overflow-wrap:anywhere}
details{margin-top:8px}pre{white-space:pre-wrap;background:#f7f7f9;padding:8px;border-radius:6px;font-size:13px}
.repeat{color:#922b21;font-weight:600}
"#;

impl Report for HtmlReport {
    fn extension(&self) -> &'static str {
        "html"
    }

    fn write(&self, data: &ReportData, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render(data).into_string().as_bytes())
    }
}

fn render(data: &ReportData) -> Markup {
    let per_seller = data.suspects_per_seller();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "markhound report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "markhound report" }
                    p {
                        (data.listings_scanned) " listings scanned · "
                        (data.suspects.len()) " suspects with a score of at least " (format!("{:.2}", data.min_score))
                    }
                }
                main {
                    (summary(data, &per_seller))
                    @for (i, s) in data.suspects.iter().enumerate() {
                        (suspect(data, i + 1, s, &per_seller))
                    }
                    @if data.suspects.is_empty() {
                        p { "No suspect listings." }
                    }
                }
            }
        }
    }
}

fn count_by<'a>(items: impl Iterator<Item = &'a str>) -> Vec<(&'a str, usize)> {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

fn summary(data: &ReportData, per_seller: &BTreeMap<&str, usize>) -> Markup {
    let by_mark = count_by(data.suspects.iter().map(|s| s.findings[0].mark.as_str()));
    let mut by_seller: Vec<(&str, usize)> = per_seller.iter().map(|(k, v)| (*k, *v)).collect();
    by_seller.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let by_market = count_by(
        data.suspects
            .iter()
            .map(|s| s.listing.marketplace.as_deref().unwrap_or("(unknown)")),
    );
    html! {
        section.summary {
            div.box {
                h2 { "Suspects by mark" }
                table { @for (k, v) in &by_mark { tr { td { (k) } td { (v) } } } }
            }
            div.box {
                h2 { "Suspects by seller" }
                table {
                    @for (k, v) in by_seller.iter().take(20) {
                        tr {
                            td { (k) @if *v > 1 { " " span.repeat { "repeat" } } }
                            td { (v) }
                        }
                    }
                }
            }
            div.box {
                h2 { "Suspects by marketplace" }
                table { @for (k, v) in &by_market { tr { td { (k) } td { (v) } } } }
            }
        }
    }
}

/// The title with the mentions at `spans` wrapped in `<mark>`, every piece escaped.
/// Spans that do not fall on character boundaries, or overlap an earlier one, are
/// ignored rather than trusted.
pub fn highlighted(title: &str, spans: &[Span]) -> Markup {
    let mut spans: Vec<(usize, usize)> = spans
        .iter()
        .filter(|s| s.start < s.end && title.get(s.start..s.end).is_some())
        .map(|s| (s.start, s.end))
        .collect();
    spans.sort_unstable();
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut at = 0;
    for (s, e) in spans {
        if s < at {
            continue;
        }
        pieces.push((false, &title[at..s]));
        pieces.push((true, &title[s..e]));
        at = e;
    }
    pieces.push((false, &title[at..]));
    html! {
        @for (hit, text) in pieces {
            @if hit { mark { (text) } } @else { (text) }
        }
    }
}

fn score_class(score: f64) -> &'static str {
    if score >= 0.8 {
        "score high"
    } else if score >= 0.5 {
        "score mid"
    } else {
        "score low"
    }
}

/// A picture, embedded when the report carries it. A report loads nothing from
/// elsewhere: a picture that was not kept is named, never linked.
fn picture(data: &ReportData, key: &str, caption: &str) -> Markup {
    html! {
        figure {
            @if let Some(src) = data.embedded.get(key) { img src=(src) alt=(caption); }
            @else { div.missing { "(not kept: " (key) ")" } }
            figcaption { (caption) }
        }
    }
}

/// A listing photo with the box of a logo or photo part drawn on it (SVG over the
/// embedded picture, scaled like the other pictures).
/// A box drawn on a listing photo: x, y, width, height, in the pixels of the
/// photo as decoded, whose size is `photo`.
struct PhotoBox {
    rect: [u32; 4],
    photo: [u32; 2],
}

impl From<&RegionEvidence> for PhotoBox {
    fn from(r: &RegionEvidence) -> PhotoBox {
        PhotoBox {
            rect: [r.x, r.y, r.w, r.h],
            photo: [r.width, r.height],
        }
    }
}

impl From<&TextEvidence> for PhotoBox {
    fn from(t: &TextEvidence) -> PhotoBox {
        PhotoBox {
            rect: [t.x, t.y, t.w, t.h],
            photo: [t.width, t.height],
        }
    }
}

fn boxed(data: &ReportData, key: &str, region: PhotoBox, caption: &str) -> Markup {
    let (w, h) = (region.photo[0].max(1), region.photo[1].max(1));
    let [bx, by, bw, bh] = region.rect;
    let stroke = (w.max(h) / 160).max(2);
    html! {
        figure.boxed {
            @if let Some(src) = data.embedded.get(key) {
                svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"
                    viewBox=(format!("0 0 {w} {h}")) preserveAspectRatio="xMidYMid meet" role="img" {
                    title { (caption) }
                    image href=(src) x="0" y="0" width=(w) height=(h) {}
                    rect x=(bx) y=(by) width=(bw) height=(bh)
                        fill="none" stroke="#e0245e" stroke-width=(stroke) {}
                }
            }
            @else { div.missing { "(not kept: " (key) ")" } }
            figcaption { (caption) }
        }
    }
}

fn suspect(
    data: &ReportData,
    rank: usize,
    s: &Suspect,
    per_seller: &BTreeMap<&str, usize>,
) -> Markup {
    let top = &s.findings[0];
    let l = &s.listing;
    let mark = data.mark(&top.mark_id);
    let seller_count = l
        .seller
        .as_ref()
        .and_then(|x| per_seller.get(x.id.as_str()))
        .copied()
        .unwrap_or(0);
    let reference = mark.and_then(|m| m.images.first()).map(|i| i.path.clone());
    html! {
        article.suspect id=(format!("s{rank}")) {
            h3 {
                span.rank { "#" (rank) }
                span class=(score_class(top.score)) { (format!("{:.3}", top.score)) }
                " "
                (highlighted(&l.title, &top.spans))
            }
            div.meta {
                "Mark: " strong { (top.mark) }
                @if let Some(m) = &l.marketplace { " · Marketplace: " (m) }
                @if let Some(seller) = &l.seller {
                    " · Seller: " (seller.name.as_deref().unwrap_or(&seller.id)) " (" (seller.id) ")"
                    @if seller_count > 1 { " " span.repeat { (seller_count) " suspects" } }
                }
                @if let Some(p) = &l.price {
                    " · Price: " (format!("{:.2}", p.amount)) " " (p.currency)
                    @if let Some(floor) = mark.and_then(|m| m.min_price.as_ref()) {
                        " (floor " (format!("{:.2}", floor.amount)) " " (floor.currency) ")"
                    }
                }
                @if let Some(url) = &l.url {
                    @if url.starts_with("https://") || url.starts_with("http://") {
                        " · " a href=(url) rel="noopener noreferrer nofollow" { "open listing" }
                    }
                }
            }
            div.photos {
                @if let Some(img) = l.images.first() { (picture(data, img, "listing photo")) }
                @if let Some(r) = &reference { (picture(data, r, "reference image")) }
            }
            @for (f, sig, region) in s.findings.iter().flat_map(|f| f.signals.iter().filter_map(move |sig| sig.region.map(|r| (f, sig, r)))) {
                div.photos {
                    @if let Some(img) = l.images.get(region.image) {
                        (boxed(data, img, (&region).into(), &format!("listing photo {}: {}", region.image + 1, sig.kind.as_str())))
                    }
                    @if let Some(r) = data.mark(&f.mark_id).and_then(|m| m.images.get(region.reference)) {
                        (picture(data, &r.path, &format!("reference {} of {}", region.reference + 1, f.mark)))
                    }
                }
            }
            @for (sig, text) in s.findings.iter().flat_map(|f| f.signals.iter().filter_map(|sig| sig.text.as_ref().map(|t| (sig, t)))) {
                div.photos {
                    @if let Some(img) = l.images.get(text.image) {
                        (boxed(data, img, text.into(), &format!("listing photo {}: {} \"{}\"", text.image + 1, sig.kind.as_str(), text.text)))
                    }
                }
            }
            @for f in &s.findings {
                table {
                    tr { th { "signal" } th { "weight" } th { "evidence for " (f.mark) } }
                    @for sig in &f.signals {
                        tr {
                            td { (sig.kind.as_str()) }
                            td class=(if sig.weight < 0.0 { "neg" } else { "pos" }) { (format!("{:+.3}", sig.weight)) }
                            td { (sig.detail) }
                        }
                    }
                }
            }
            @if let Some(e) = &s.evidence {
                p.meta {
                    "Captured " (e.fetched_at) " · HTTP " (e.status) " · SHA-256 " code { (e.sha256) }
                    br; "From " code { (e.final_url) }
                }
            }
            details {
                summary { "Takedown notice draft" }
                pre { (draft_notice(l, top, mark, s.evidence.as_ref()).to_text()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::{Listing, Seller};
    use crate::report::Evidence;
    use crate::scoring::{Finding, Signal, SignalKind, Span};

    fn data(title: &str) -> ReportData {
        let finding = Finding {
            suppressed: None,
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score: 0.9,
            signals: vec![Signal {
                kind: SignalKind::TitleConfusable,
                detail: format!("\"{title}\" ~ Zentrix"),
                weight: 0.8,
                photo: None,
                region: None,
                text: None,
            }],
            spans: vec![Span {
                start: 0,
                end: title.len().min(8),
                text: String::new(),
            }],
        };
        let listing = Listing {
            id: "L1".into(),
            title: title.into(),
            url: Some("javascript:alert(1)".into()),
            seller: Some(Seller {
                id: "<b>s1</b>".into(),
                ..Seller::default()
            }),
            images: vec!["https://img.example/a.jpg".into()],
            ..Listing::default()
        };
        let mut d = ReportData::new(vec![(listing, vec![finding])], 0.5);
        d.suspects[0].evidence = Some(Evidence {
            final_url: "https://shop.example/L1".into(),
            status: 200,
            fetched_at: "2026-11-27T08:00:00Z".into(),
            sha256: "0".repeat(64),
            truncated: false,
            sources: Vec::new(),
            rendered: false,
        });
        d
    }

    fn html_of(d: &ReportData) -> String {
        let mut out = Vec::new();
        HtmlReport.write(d, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scraped_strings_are_escaped() {
        let page = html_of(&data("<script>alert(1)</script> Zentrix"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<b>s1</b>"));
        // A javascript: URL is not linked.
        assert!(!page.contains("href=\"javascript:"));
    }

    #[test]
    fn mention_is_highlighted_and_evidence_shown() {
        let page = html_of(&data("Z3NTRIX shoes"));
        assert!(page.contains("<mark>Z3NTRIX </mark>") || page.contains("<mark>Z3NTRIX</mark>"));
        assert!(page.contains(&"0".repeat(64)));
        assert!(page.contains("Takedown notice draft"));
        assert!(page.contains("Content-Security-Policy"));
    }

    #[test]
    fn bad_spans_do_not_panic() {
        let mut d = data("Zentrix");
        d.suspects[0].findings[0].spans.push(Span {
            start: 5,
            end: 99,
            text: String::new(),
        });
        let _ = html_of(&d);
    }
}
