//! Takedown notices for confirmed findings, drafted by [`crate::report::notice`],
//! with the review service's evidence: the SHA-256 of the listing as received and
//! when it was received. Also the CSV batch export that platforms' bulk forms take,
//! grouped by marketplace.

use super::{FindingRecord, ReviewError, State, StoredListing};
use crate::registry::Mark;
use crate::report::{csv_cell, draft_notice, Notice};
use crate::scoring::Finding;

/// States in which a finding stands confirmed as an infringement.
fn is_confirmed(s: State) -> bool {
    matches!(
        s,
        State::Confirmed | State::NoticeSent | State::Removed | State::Reinstated
    )
}

/// The notice for `finding` on `listing`; refused unless a reviewer confirmed it.
pub fn notice_for(
    finding: &FindingRecord,
    listing: &StoredListing,
    mark: Option<&Mark>,
) -> Result<Notice, ReviewError> {
    if !is_confirmed(finding.state) {
        return Err(ReviewError::NotConfirmed {
            id: finding.id.clone(),
            state: finding.state,
        });
    }
    let scored = Finding {
        suppressed: None,
        mark_id: finding.mark_id.clone(),
        mark: finding.mark.clone(),
        score: finding.score,
        signals: finding.signals.clone(),
        spans: finding.spans.clone(),
    };
    // The listing as the reviewer confirmed it, whatever it became afterwards.
    let seen = finding
        .confirmed
        .clone()
        .unwrap_or_else(|| listing.confirmed());
    let mut notice = draft_notice(&seen.listing, &scored, mark, seen.evidence.as_ref());
    if seen.evidence.is_none() {
        notice.evidence_sha256 = Some(seen.sha256);
        notice.captured_at = Some(seen.received_at);
    }
    Ok(notice)
}

/// A CSV of notices, one row per finding, grouped by marketplace (then listing id).
pub fn notices_csv(mut notices: Vec<(String, Notice)>) -> Result<String, ReviewError> {
    notices.sort_by(|(ia, a), (ib, b)| {
        a.marketplace
            .cmp(&b.marketplace)
            .then(a.listing_id.cmp(&b.listing_id))
            .then(ia.cmp(ib))
    });
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ReviewError::BadInput(format!("cannot write the CSV: {e}"));
    w.write_record([
        "marketplace",
        "finding_id",
        "listing_id",
        "listing_url",
        "seller_id",
        "seller_name",
        "mark",
        "rights_owner",
        "registrations",
        "infringement",
        "evidence_sha256",
        "captured_at",
        "reasons",
    ])
    .map_err(csv_error)?;
    for (id, n) in &notices {
        let regs = n
            .registrations
            .iter()
            .map(|r| format!("{} {}", r.office, r.number))
            .collect::<Vec<_>>()
            .join("; ");
        let infringement = serde_json::to_value(n.infringement)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        w.write_record(
            [
                n.marketplace.as_deref().unwrap_or(""),
                id,
                &n.listing_id,
                n.listing_url.as_deref().unwrap_or(""),
                n.seller_id.as_deref().unwrap_or(""),
                n.seller_name.as_deref().unwrap_or(""),
                &n.mark,
                n.rights_owner.as_deref().unwrap_or(""),
                &regs,
                &infringement,
                n.evidence_sha256.as_deref().unwrap_or(""),
                n.captured_at.as_deref().unwrap_or(""),
                &n.reasons.join("; "),
            ]
            .map(csv_cell),
        )
        .map_err(csv_error)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReviewError::BadInput(format!("cannot write the CSV: {e}")))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Listing;
    use crate::scoring::{Signal, SignalKind};

    fn record(state: State) -> FindingRecord {
        FindingRecord {
            id: "f1".into(),
            listing_id: "L1".into(),
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score: 0.8,
            signals: vec![Signal {
                kind: SignalKind::Keyword,
                detail: "counterfeit code word \"replica\"".into(),
                weight: 0.5,
                photo: None,
                region: None,
                text: None,
            }],
            state,
            version: 3,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            seller_id: None,
            marketplace: None,
            spans: Vec::new(),
            suppressed: None,
            relist_of: None,
            relist_rule: None,
            confirmed: None,
            source: Default::default(),
            notices: Vec::new(),
            claim: None,
            flood_group: None,
        }
    }

    fn stored(id: &str, marketplace: &str) -> StoredListing {
        StoredListing {
            listing: Listing {
                id: id.into(),
                title: "Zentrix replica".into(),
                marketplace: Some(marketplace.into()),
                ..Listing::default()
            },
            sha256: "ab".repeat(32),
            received_at: "2026-01-02T03:04:05.000Z".into(),
            finding_ids: vec!["f1".into()],
            photo_hashes: Vec::new(),
            turned_photo_hashes: Vec::new(),
            registry_version: Some(1),
            evidence: None,
            photos: Vec::new(),
        }
    }

    #[test]
    fn notices_carry_the_received_evidence_and_need_a_confirmation() {
        let listing = stored("L1", "shop");
        assert!(matches!(
            notice_for(&record(State::InReview), &listing, None),
            Err(ReviewError::NotConfirmed { .. })
        ));
        let n = notice_for(&record(State::Confirmed), &listing, None).unwrap();
        assert_eq!(n.evidence_sha256.as_deref(), Some(listing.sha256.as_str()));
        assert_eq!(n.captured_at.as_deref(), Some("2026-01-02T03:04:05.000Z"));
        assert_eq!(
            n.reasons,
            vec!["counterfeit code word \"replica\"".to_owned()]
        );
    }

    #[test]
    fn a_notice_keeps_the_listing_that_was_confirmed() {
        let mut f = record(State::Confirmed);
        f.confirmed = Some(stored("L1", "shop").confirmed());
        let mut changed = stored("L1", "shop");
        changed.listing.seller = Some(crate::listing::Seller {
            id: "someone-else".into(),
            ..Default::default()
        });
        changed.sha256 = "cd".repeat(32);
        let n = notice_for(&f, &changed, None).unwrap();
        assert_eq!(n.seller_id, None);
        assert_eq!(n.evidence_sha256, Some("ab".repeat(32)));
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        let f = record(State::Confirmed);
        let mut l = stored("L1", "=cmd|' /C calc'!A0");
        l.listing.seller = Some(crate::listing::Seller {
            id: "@s".into(),
            name: Some("=HYPERLINK(\"http://x\")".into()),
            ..Default::default()
        });
        let csv = notices_csv(vec![("a".into(), notice_for(&f, &l, None).unwrap())]).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let row = r.records().next().unwrap().unwrap();
        assert!(
            row.iter().all(|c| !c.starts_with(['=', '+', '-', '@'])),
            "{row:?}"
        );
        assert_eq!(&row[0], "'=cmd|' /C calc'!A0");
    }

    #[test]
    fn the_csv_groups_rows_by_marketplace() {
        let f = record(State::Confirmed);
        let rows = vec![
            (
                "b".to_owned(),
                notice_for(&f, &stored("L2", "zeta"), None).unwrap(),
            ),
            (
                "a".to_owned(),
                notice_for(&f, &stored("L1", "alpha"), None).unwrap(),
            ),
        ];
        let csv = notices_csv(rows).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("alpha,a,L1"), "{csv}");
        assert!(lines[2].starts_with("zeta,b,L2"), "{csv}");
    }
}
