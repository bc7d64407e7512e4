//! The CSV report: one row per finding, spreadsheet-friendly. Columns: `rank`,
//! `listing_id`, `title`, `url`, `marketplace`, `seller_id`, `price`, `currency`,
//! `mark_id`, `mark`, `score`, `signals` (`kind:weight` joined by `; `) and `evidence`
//! (the signals' details joined by `; `). Cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`) are prefixed with `'`.

use super::{Report, ReportData};

/// Writes [`ReportData`] as CSV.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvReport;

/// Neutralises spreadsheet formula injection in scraped text: a cell that a
/// spreadsheet would read as a formula is prefixed with `'`. Every CSV markhound
/// writes passes its text through this.
pub fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

impl Report for CsvReport {
    fn extension(&self) -> &'static str {
        "csv"
    }

    fn write(&self, data: &ReportData, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "rank",
            "listing_id",
            "title",
            "url",
            "marketplace",
            "seller_id",
            "price",
            "currency",
            "mark_id",
            "mark",
            "score",
            "signals",
            "evidence",
        ])?;
        let mut rank = 0;
        for s in &data.suspects {
            for f in &s.findings {
                rank += 1;
                let l = &s.listing;
                let signals: Vec<String> = f
                    .signals
                    .iter()
                    .map(|x| {
                        format!(
                            "{}:{:+.3}",
                            serde_json::to_value(x.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default(),
                            x.weight
                        )
                    })
                    .collect();
                let evidence: Vec<&str> = f.signals.iter().map(|x| x.detail.as_str()).collect();
                w.write_record([
                    rank.to_string(),
                    cell(&l.id),
                    cell(&l.title),
                    cell(l.url.as_deref().unwrap_or("")),
                    cell(l.marketplace.as_deref().unwrap_or("")),
                    cell(l.seller.as_ref().map_or("", |s| s.id.as_str())),
                    l.price
                        .as_ref()
                        .map_or(String::new(), |p| p.amount.to_string()),
                    cell(l.price.as_ref().map_or("", |p| p.currency.as_str())),
                    f.mark_id.clone(),
                    f.mark.clone(),
                    format!("{:.3}", f.score),
                    signals.join("; "),
                    cell(&evidence.join("; ")),
                ])?;
            }
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_finding_with_quoting() {
        let mut out = Vec::new();
        CsvReport
            .write(&crate::report::tests::sample(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][1], "b");
        assert_eq!(&rows[0][2], "Zentrix \"replica\"");
        assert_eq!(&rows[0][11], "title_exact:+0.600");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
