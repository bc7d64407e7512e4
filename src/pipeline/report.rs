//! Reports from the store: every stored listing with its findings in the states
//! asked for, the evidence of how it was seen and its kept photos embedded, so the
//! report stands alone after the shop is gone.

use crate::registry::Mark;
use crate::report::{attach_marks, data_uri, ReportData, MAX_EMBEDDED_BYTES};
use crate::review::{State, ALL_STATES};
use crate::scoring::{Finding, SUSPECT_THRESHOLD};
use crate::store::{Store, StoreError};

/// Which findings a report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFilter {
    /// The lowest score reported.
    pub min_score: f64,
    /// The review states reported.
    pub states: Vec<State>,
}

impl Default for ReportFilter {
    /// Suspects (score at least [`SUSPECT_THRESHOLD`]) in every state but
    /// `dismissed`.
    fn default() -> ReportFilter {
        ReportFilter {
            min_score: SUSPECT_THRESHOLD,
            states: ALL_STATES
                .into_iter()
                .filter(|s| *s != State::Dismissed)
                .collect(),
        }
    }
}

/// The report of what `store` holds, with `marks` (the registry) for owners,
/// registrations and reference images; and how many stored listings were not
/// matched against `registry_version` (a `scan` would match them).
pub fn report(
    store: &Store,
    marks: &[Mark],
    registry_version: u64,
    filter: &ReportFilter,
) -> Result<(ReportData, usize), StoreError> {
    let mut scored = Vec::new();
    let mut evidence = std::collections::HashMap::new();
    let mut photos = Vec::new();
    let mut pending = 0;
    let registered: std::collections::HashSet<&str> = marks.iter().map(|m| m.id.as_str()).collect();
    for stored in store.listings() {
        let stored = stored?;
        if stored.registry_version != Some(registry_version) {
            pending += 1;
        }
        let mut findings = Vec::new();
        for id in &stored.finding_ids {
            let Some(f) = store.finding(id)? else {
                continue;
            };
            // A mark removed from the registry reports nothing.
            if registered.contains(f.mark_id.as_str()) && filter.states.contains(&f.state) {
                findings.push(Finding {
                    suppressed: f.suppressed,
                    mark_id: f.mark_id,
                    mark: f.mark,
                    score: f.score,
                    signals: f.signals,
                    spans: f.spans,
                });
            }
        }
        findings.sort_by(|a, b| b.score.total_cmp(&a.score));
        if findings.iter().any(|f| f.score >= filter.min_score) {
            if let Some(e) = &stored.evidence {
                evidence.insert(stored.listing.id.clone(), e.clone());
            }
            photos.extend(stored.photos.iter().cloned());
        }
        scored.push((stored.listing, findings));
    }
    let mut data = ReportData::new(scored, filter.min_score);
    for suspect in &mut data.suspects {
        suspect.evidence = evidence.remove(&suspect.listing.id);
    }
    for photo in photos {
        if data.embedded.contains_key(&photo.source) {
            continue;
        }
        if let Some(uri) = store
            .photo(&photo.sha256)?
            .and_then(|bytes| data_uri(&bytes, MAX_EMBEDDED_BYTES))
        {
            data.embedded.insert(photo.source, uri);
        }
    }
    attach_marks(&mut data, marks);
    Ok((data, pending))
}
