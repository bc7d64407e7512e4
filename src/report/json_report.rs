//! The JSON report: `{"schema_version": 1, "generator": ..., "listings_scanned": N,
//! "min_score": S, "suspects": [{"listing": LISTING, "findings": [FINDING...]}]}`,
//! where LISTING is the `match` input schema and FINDING the `match` output schema.

use serde::Serialize;

use super::{Report, ReportData, Suspect, SCHEMA_VERSION};

/// Writes [`ReportData`] as one pretty-printed JSON document.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonReport;

#[derive(Serialize)]
struct Envelope<'a> {
    schema_version: u32,
    generator: String,
    listings_scanned: usize,
    min_score: f64,
    suspects: &'a [Suspect],
}

impl Report for JsonReport {
    fn extension(&self) -> &'static str {
        "json"
    }

    fn write(&self, data: &ReportData, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let envelope = Envelope {
            schema_version: SCHEMA_VERSION,
            generator: format!("markhound {}", env!("CARGO_PKG_VERSION")),
            listings_scanned: data.listings_scanned,
            min_score: data.min_score,
            suspects: &data.suspects,
        };
        serde_json::to_writer_pretty(&mut *out, &envelope)?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_carries_the_schema_version() {
        let mut out = Vec::new();
        JsonReport
            .write(&crate::report::tests::sample(), &mut out)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["suspects"][0]["listing"]["id"], "b");
        assert_eq!(v["suspects"][0]["findings"][0]["mark_id"], "zentrix");
    }
}
