//! Reports: ranked findings written for people and for other tools.
//!
//! Every format implements [`Report`] over the same [`ReportData`]; a format lives in
//! a module of its own. The JSON schema is versioned ([`SCHEMA_VERSION`]) and the CSV
//! has one row per finding.

mod csv_report;
mod json_report;

pub use csv_report::CsvReport;
pub use json_report::JsonReport;

use serde::Serialize;

use crate::listing::Listing;
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
                (!findings.is_empty()).then_some(Suspect { listing, findings })
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
        }
    }
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
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score,
            signals: vec![Signal {
                kind: SignalKind::TitleExact,
                detail: "\"Zentrix\" is the mark Zentrix".into(),
                weight: 0.6,
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
    fn ranks_and_filters() {
        let d = sample();
        assert_eq!(d.listings_scanned, 4);
        let ids: Vec<_> = d.suspects.iter().map(|s| s.listing.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }
}
