//! Takedown notices for confirmed findings, drafted by [`crate::report::notice`],
//! with the review service's evidence: the SHA-256 of the listing as received and
//! when it was received. Also the CSV batch export that platforms' bulk forms take,
//! grouped by marketplace.

use super::{FindingRecord, ReviewError, State, StoredListing};
use crate::registry::Mark;
use crate::report::{draft_notice, Notice};
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
        mark_id: finding.mark_id.clone(),
        mark: finding.mark.clone(),
        score: finding.score,
        signals: finding.signals.clone(),
        spans: finding.spans.clone(),
    };
    let mut notice = draft_notice(&listing.listing, &scored, mark, None);
    notice.evidence_sha256 = Some(listing.sha256.clone());
    notice.captured_at = Some(listing.received_at.clone());
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
        w.write_record([
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
        ])
        .map_err(csv_error)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReviewError::BadInput(format!("cannot write the CSV: {e}")))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}
