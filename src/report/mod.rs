//! Reports: ranked findings written for people and for other tools.
//!
//! Every format implements [`Report`] over the same [`ReportData`]; a format lives in
//! a module of its own. The JSON schema is versioned ([`SCHEMA_VERSION`]) and the CSV
//! has one row per finding.

mod csv_report;
mod html_report;
mod json_report;
pub mod notice;

pub use csv_report::{cell as csv_cell, CsvReport};
pub use html_report::{highlighted, HtmlReport};
pub use json_report::JsonReport;
pub use notice::{draft_notice, Infringement, Notice};

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::listing::Evidence;
use crate::listing::Listing;
use crate::registry::Mark;
use crate::scoring::Finding;

/// Version of the JSON report's schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A listing with its findings.
#[derive(Debug, Clone, Serialize)]
pub struct Suspect {
    /// The listing as seen.
    pub listing: Listing,
    /// Its findings, highest score first.
    pub findings: Vec<Finding>,
    /// What was seen when it was fetched, for crawled listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Suspect {
    /// The highest finding score (0 without findings).
    pub fn top_score(&self) -> f64 {
        self.findings.first().map_or(0.0, |f| f.score)
    }
}

/// What a report is made from.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// How many listings were examined.
    pub listings_scanned: usize,
    /// The lowest score reported.
    pub min_score: f64,
    /// Listings with at least one finding at or above `min_score`, most suspect first.
    pub suspects: Vec<Suspect>,
    /// The registered marks the findings refer to (owners, registrations, floors).
    #[serde(skip)]
    pub marks: Vec<Mark>,
    /// Pictures to embed, by the path or URL that names them, as `data:` URIs, so an
    /// HTML report stands alone.
    #[serde(skip)]
    pub embedded: BTreeMap<String, String>,
}

impl ReportData {
    /// Ranks scored listings: keeps findings at or above `min_score`, drops listings
    /// left without any, sorts by top score (ties by listing id).
    pub fn new(scored: Vec<(Listing, Vec<Finding>)>, min_score: f64) -> ReportData {
        let listings_scanned = scored.len();
        let mut suspects: Vec<Suspect> = scored
            .into_iter()
            .filter_map(|(listing, findings)| {
                let findings: Vec<Finding> = findings
                    .into_iter()
                    .filter(|f| f.score >= min_score)
                    .collect();
                (!findings.is_empty()).then_some(Suspect {
                    listing,
                    findings,
                    evidence: None,
                })
            })
            .collect();
        suspects.sort_by(|a, b| {
            b.top_score()
                .total_cmp(&a.top_score())
                .then_with(|| a.listing.id.cmp(&b.listing.id))
        });
        ReportData {
            listings_scanned,
            min_score,
            suspects,
            marks: Vec::new(),
            embedded: BTreeMap::new(),
        }
    }

    /// The registered mark with this id.
    pub fn mark(&self, id: &str) -> Option<&Mark> {
        self.marks.iter().find(|m| m.id == id)
    }

    /// Number of suspect listings per seller id, for ranking repeat infringers.
    pub fn suspects_per_seller(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for s in &self.suspects {
            if let Some(seller) = &s.listing.seller {
                *counts.entry(seller.id.as_str()).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// The largest picture embedded in a report.
pub const MAX_EMBEDDED_BYTES: usize = 2 << 20;

/// Sets the registered marks of a report and embeds the first reference image of
/// every mark that has a finding (read from the paths the registry stored). A picture
/// that cannot be read is left out; the report links nothing in its place.
pub fn attach_marks(data: &mut ReportData, marks: &[Mark]) {
    let wanted: std::collections::BTreeSet<&str> = data
        .suspects
        .iter()
        .flat_map(|s| s.findings.iter().map(|f| f.mark_id.as_str()))
        .collect();
    data.marks = marks
        .iter()
        .filter(|m| wanted.contains(m.id.as_str()))
        .cloned()
        .collect();
    // Each mark's first image, and the references a logo or photo part was
    // found from.
    let found: Vec<(String, usize)> = data
        .suspects
        .iter()
        .flat_map(|s| &s.findings)
        .flat_map(|f| {
            f.signals
                .iter()
                .filter_map(|s| s.region.map(|r| (f.mark_id.clone(), r.reference)))
        })
        .collect();
    let images: Vec<&crate::registry::ImageRef> = data
        .marks
        .iter()
        .flat_map(|m| {
            m.images
                .iter()
                .enumerate()
                .filter(|(i, _)| *i == 0 || found.iter().any(|(id, r)| *id == m.id && r == i))
        })
        .map(|(_, image)| image)
        .collect();
    let mut embedded = std::mem::take(&mut data.embedded);
    for image in images {
        if embedded.contains_key(&image.path) {
            continue;
        }
        match std::fs::read(&image.path) {
            Ok(bytes) => {
                if let Some(uri) = data_uri(&bytes, MAX_EMBEDDED_BYTES) {
                    embedded.insert(image.path.clone(), uri);
                }
            }
            Err(e) => {
                tracing::warn!(path = %image.path, error = %e, "reference image not embedded")
            }
        }
    }
    data.embedded = embedded;
}

/// A picture file as a `data:` URI, for embedding in a report; `None` when the file
/// cannot be read, is larger than `max_bytes`, or is not a PNG, JPEG, GIF or WebP.
pub fn data_uri(bytes: &[u8], max_bytes: usize) -> Option<String> {
    use base64::Engine;
    if bytes.len() > max_bytes {
        return None;
    }
    let mime = match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => return None,
    };
    Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// One output format.
pub trait Report {
    /// The usual file extension of the format.
    fn extension(&self) -> &'static str;
    /// Writes the report.
    fn write(&self, data: &ReportData, out: &mut dyn std::io::Write) -> std::io::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Signal, SignalKind};

    pub(crate) fn sample() -> ReportData {
        let finding = |score: f64| Finding {
            suppressed: None,
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score,
            signals: vec![Signal {
                kind: SignalKind::TitleExact,
                detail: "\"Zentrix\" is the mark Zentrix".into(),
                weight: 0.6,
                photo: None,
                region: None,
                text: None,
            }],
            spans: vec![],
        };
        let listing = |id: &str, title: &str| Listing {
            id: id.into(),
            title: title.into(),
            ..Listing::default()
        };
        ReportData::new(
            vec![
                (listing("a", "Zentrix, shoes"), vec![finding(0.6)]),
                (listing("b", "Zentrix \"replica\""), vec![finding(0.9)]),
                (listing("c", "plain"), vec![]),
                (listing("d", "low"), vec![finding(0.2)]),
            ],
            0.5,
        )
    }

    #[test]
    fn data_uris_only_for_pictures() {
        assert!(data_uri(b"\x89PNG\r\n", 100)
            .unwrap()
            .starts_with("data:image/png;base64,"));
        assert_eq!(data_uri(b"<svg onload=alert(1)>", 100), None);
        assert_eq!(data_uri(b"\x89PNG\r\n", 2), None);
    }

    #[test]
    fn ranks_and_filters() {
        let d = sample();
        assert_eq!(d.listings_scanned, 4);
        let ids: Vec<_> = d.suspects.iter().map(|s| s.listing.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }
}
