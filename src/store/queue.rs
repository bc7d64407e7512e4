//! The reviewers' workload: claims on findings (others see a finding taken until
//! the claim lapses) and the queue's figures (counts by state, the oldest open
//! finding's age).
//!
//! A claim is not a change of the finding's content: it bumps no version and
//! writes no audit entry, so a claim never makes another reviewer's view stale.
//! While it holds, only its holder may move the finding; a decision ends it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::findings::state_number;
use super::{to_json, Store, StoreError};
use crate::db::trees::FINDINGS;
use crate::review::{now, Claim, FindingRecord, ALL_STATES};

/// The longest claim a reviewer may take, in minutes.
pub const MAX_CLAIM_MINUTES: u32 = 120;
/// A claim's length when none is asked for: long enough to read a finding and
/// its evidence, short enough that an abandoned claim soon frees the finding.
pub const DEFAULT_CLAIM_MINUTES: u32 = 15;

/// The queue's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStats {
    /// Findings per state, every state named.
    pub counts: BTreeMap<&'static str, u64>,
    /// Findings waiting for a decision (`new`, `in_review`, `reopened`).
    pub open: u64,
    /// Open findings under a claim that still holds.
    pub claimed: u64,
    /// The open finding waiting longest.
    pub oldest_open: Option<OldestOpen>,
}

/// The open finding waiting longest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OldestOpen {
    /// Its id.
    pub id: String,
    /// When it was stored.
    pub created_at: String,
    /// How long it has waited, in seconds.
    pub age_seconds: i64,
}

/// The fields of a finding the figures read.
#[derive(serde::Deserialize)]
struct Waiting {
    id: String,
    created_at: String,
    #[serde(default)]
    claim: Option<Claim>,
}

impl Store {
    /// Claims finding `id` for `actor` for `minutes` (1 to [`MAX_CLAIM_MINUTES`]),
    /// or renews the actor's claim. Refused while another reviewer's claim holds,
    /// and on a finding no longer open.
    pub fn claim(&self, id: &str, actor: &str, minutes: u32) -> Result<FindingRecord, StoreError> {
        if !(1..=MAX_CLAIM_MINUTES).contains(&minutes) {
            return Err(StoreError::BadInput(format!(
                "minutes: from 1 to {MAX_CLAIM_MINUTES}"
            )));
        }
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = self.existing_finding(id)?;
        if !f.state.is_open() {
            return Err(StoreError::BadInput(format!(
                "finding {id} is {}; only open findings are claimed",
                f.state
            )));
        }
        let at = now();
        f.check_claim(actor, &at)?;
        let until = chrono::Utc::now() + chrono::Duration::minutes(i64::from(minutes));
        f.claim = Some(Claim {
            by: actor.to_owned(),
            until: until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        self.findings.insert(id.as_bytes(), to_json(&f))?;
        Ok(f)
    }

    /// Lets `actor`'s claim on `id` go (a lapsed claim anyone may clear).
    pub fn release(&self, id: &str, actor: &str) -> Result<FindingRecord, StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = self.existing_finding(id)?;
        f.check_claim(actor, &now())?;
        if f.claim.take().is_some() {
            self.findings.insert(id.as_bytes(), to_json(&f))?;
        }
        Ok(f)
    }

    /// The queue's figures. Counting reads the state index's keys; the oldest
    /// open finding and the claims read each open finding (a few fields of it).
    pub fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let at = now();
        let mut counts = BTreeMap::new();
        let mut open = 0;
        let mut claimed = 0;
        let mut oldest: Option<Waiting> = None;
        for state in ALL_STATES {
            let mut n = 0u64;
            for entry in self.by_state.scan_prefix([state_number(state)]) {
                let (key, _) = entry?;
                n += 1;
                if !state.is_open() {
                    continue;
                }
                let id = &key[9..];
                let Some(bytes) = self.findings.get(id)? else {
                    continue;
                };
                let w: Waiting = Self::decode(FINDINGS, id, &bytes)?;
                if w.claim.as_ref().is_some_and(|c| c.holds_at(&at)) {
                    claimed += 1;
                }
                if oldest.as_ref().is_none_or(|o| w.created_at < o.created_at) {
                    oldest = Some(w);
                }
            }
            if state.is_open() {
                open += n;
            }
            counts.insert(state.as_str(), n);
        }
        let now = chrono::Utc::now();
        Ok(QueueStats {
            counts,
            open,
            claimed,
            oldest_open: oldest.map(|w| OldestOpen {
                age_seconds: chrono::DateTime::parse_from_rfc3339(&w.created_at)
                    .map_or(0, |t| (now - t.with_timezone(&chrono::Utc)).num_seconds()),
                id: w.id,
                created_at: w.created_at,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Listing;
    use crate::registry::Mark;
    use crate::review::State;
    use crate::scoring::{Rates, Scorer};
    use crate::store::{Incoming, Matched};

    fn one_finding() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("db")).unwrap();
        let scorer = Scorer::new(
            vec![Mark {
                id: "zentrix".into(),
                name: "Zentrix".into(),
                ..Mark::default()
            }],
            Rates::default(),
        );
        let store = Store::open(&db).unwrap();
        let matcher = |l: &Listing| Matched {
            findings: scorer.score(l),
            ..Matched::default()
        };
        let batch = vec![Incoming::handed_in(Listing {
            id: "L1".into(),
            title: "Zentrix replica".into(),
            ..Listing::default()
        })];
        let scored = store.score(batch, 1, matcher).unwrap();
        let id = store.store(scored, matcher, "test").unwrap()[0].id.clone();
        (dir, store, id)
    }

    #[test]
    fn a_lapsed_claim_frees_the_finding() {
        let (_dir, store, id) = one_finding();
        store.claim(&id, "rita", 5).unwrap();
        assert!(matches!(
            store.transition(&id, State::InReview, 1, "bob", ""),
            Err(StoreError::Claimed { .. })
        ));
        // The claim lapses (its end moved into the past, as time would).
        let mut f = store.existing_finding(&id).unwrap();
        f.claim.as_mut().unwrap().until = "2000-01-01T00:00:00.000Z".into();
        store.findings.insert(id.as_bytes(), to_json(&f)).unwrap();
        assert_eq!(store.queue_stats().unwrap().claimed, 0);
        let moved = store
            .transition(&id, State::InReview, 1, "bob", "")
            .unwrap();
        assert_eq!(moved.claim, None);
        // Decided findings are not claimed.
        let done = store
            .transition(&id, State::Dismissed, 2, "bob", "")
            .unwrap();
        assert_eq!(done.state, State::Dismissed);
        assert!(matches!(
            store.claim(&id, "rita", 5),
            Err(StoreError::BadInput(_))
        ));
    }

    #[test]
    fn the_figures_count_every_state_and_find_the_oldest_open_finding() {
        let (_dir, store, id) = one_finding();
        let stats = store.queue_stats().unwrap();
        assert_eq!(stats.counts.len(), ALL_STATES.len());
        assert_eq!(stats.counts["new"], 1);
        assert_eq!(stats.open, 1);
        assert_eq!(stats.oldest_open.unwrap().id, id);
        store
            .transition(&id, crate::review::State::InReview, 1, "r", "")
            .unwrap();
        store
            .transition(&id, crate::review::State::Dismissed, 2, "r", "")
            .unwrap();
        let stats = store.queue_stats().unwrap();
        assert_eq!((stats.open, stats.counts["dismissed"]), (0, 1));
        assert!(stats.oldest_open.is_none());
    }
}
