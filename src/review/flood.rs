//! Flood quarantine: when one term, alias or reference image of a mark suddenly
//! matches far more listings than it ever did (a new alias that is a common word,
//! a reference image of a generic product), its new findings are held out of the
//! queue as one group, which a reviewer releases to the queue or rejects at once,
//! instead of a flood of findings one by one.
//!
//! The cause of a finding is what found it: the mark and its strongest detection
//! signal, with the mention as written (a title) or the reference image (a photo).
//! A cause floods when, over the last [`WINDOW`] listings stored,
//!
//! - it made new findings on at least [`FLOOD_SHARE`] of them and at least
//!   [`FLOOD_MIN_COUNT`] (a share of a handful of listings means nothing), and
//! - that share is at least [`FLOOD_FACTOR`] times its share of the listings
//!   stored before the window, counted with one finding and one listing added so
//!   that a cause never seen has a small rate rather than none, and
//! - at least [`MIN_HISTORY`] listings came before the window: a new store has no
//!   history to compare with, so its first catalogue is never held.
//!
//! Why these numbers: one term of one mark naming one listing in twenty of a
//! general stream is already more than the largest brands' share of general
//! retail (a few per cent); a marketplace's mix moves a brand's share by a factor
//! of two or three from day to day, not ten, so a tenfold rise is a change in
//! what the term matches, not in what is sold. A
//! window of a thousand listings sees a 5 % flood within its first few hundred.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::scoring::{Signal, SignalKind, Span};

/// Listings in the sliding window.
pub const WINDOW: usize = 1_000;
/// Listings the window must hold before a share counts.
pub const MIN_WINDOW: usize = 200;
/// Listings stored before the window before any cause is held.
pub const MIN_HISTORY: u64 = 1_000;
/// The share of the window's listings a cause must reach.
pub const FLOOD_SHARE: f64 = 0.05;
/// The least number of the window's listings a flooding cause matched.
pub const FLOOD_MIN_COUNT: usize = 20;
/// How many times its earlier share the window's share must be.
pub const FLOOD_FACTOR: f64 = 10.0;

/// The cause of a finding of `mark_id` with `signals` (strongest first) and the
/// title mentions `spans`: `MARK/KIND/MENTION` for a title, `MARK/image/N` for
/// reference image N, `MARK/photo_text/TEXT` for text read in a photo,
/// `MARK/brand_declared` for a declared brand. `None` when no
/// detection signal found it (a notice).
pub fn cause_of(mark_id: &str, signals: &[Signal], spans: &[Span]) -> Option<String> {
    let s = signals.iter().find(|s| {
        matches!(
            s.kind,
            SignalKind::TitleExact
                | SignalKind::TitleFuzzy
                | SignalKind::TitleConfusable
                | SignalKind::TitleAlias
                | SignalKind::BrandDeclared
                | SignalKind::ImageMatch
                | SignalKind::LogoMatch
                | SignalKind::PhotoPart
                | SignalKind::PhotoText
        )
    })?;
    Some(match s.kind {
        SignalKind::ImageMatch => format!("{mark_id}/image/{}", s.photo.map_or(0, |p| p.reference)),
        SignalKind::LogoMatch | SignalKind::PhotoPart => format!(
            "{mark_id}/{}/{}",
            s.kind.as_str(),
            s.region.map_or(0, |r| r.reference)
        ),
        SignalKind::PhotoText => format!(
            "{mark_id}/photo_text/{}",
            s.text
                .as_ref()
                .map(|t| t.text.to_lowercase())
                .unwrap_or_default()
        ),
        SignalKind::BrandDeclared => format!("{mark_id}/brand_declared"),
        kind => format!(
            "{mark_id}/{}/{}",
            kind.as_str(),
            spans
                .first()
                .map(|m| m.text.to_lowercase())
                .unwrap_or_default()
        ),
    })
}

/// The id of the flood group of `cause`: 16 hex digits of its SHA-256.
pub fn group_id(cause: &str) -> String {
    hex::encode(&Sha256::digest(cause.as_bytes())[..8])
}

/// Whether a cause that matched `recent` of the window's `window` listings, and
/// `before` findings over the `history` listings stored before the window, floods.
pub fn is_flood(recent: usize, window: usize, before: u64, history: u64) -> bool {
    if window < MIN_WINDOW || history < MIN_HISTORY || recent < FLOOD_MIN_COUNT {
        return false;
    }
    let share = recent as f64 / window as f64;
    let earlier = (before as f64 + 1.0) / (history as f64 + 1.0);
    share >= FLOOD_SHARE && share >= FLOOD_FACTOR * earlier
}

/// The last [`WINDOW`] listings stored, each with the new findings it made and
/// their causes, and how many of those listings each cause made findings on.
#[derive(Debug, Default)]
pub struct Window {
    listings: VecDeque<Vec<(String, String)>>,
    counts: HashMap<String, usize>,
}

impl Window {
    /// Adds a listing stored with new findings `(cause, finding id)`, dropping the
    /// oldest listing past [`WINDOW`].
    pub fn push(&mut self, mut found: Vec<(String, String)>) {
        found.sort();
        found.dedup_by(|a, b| a.0 == b.0);
        for (c, _) in &found {
            *self.counts.entry(c.clone()).or_default() += 1;
        }
        self.listings.push_back(found);
        if self.listings.len() > WINDOW {
            for (c, _) in self.listings.pop_front().unwrap_or_default() {
                if let Some(n) = self.counts.get_mut(&c) {
                    *n -= 1;
                    if *n == 0 {
                        self.counts.remove(&c);
                    }
                }
            }
        }
    }

    /// Listings in the window.
    pub fn len(&self) -> usize {
        self.listings.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.listings.is_empty()
    }

    /// The window's listings with a new finding of `cause`.
    pub fn count(&self, cause: &str) -> usize {
        self.counts.get(cause).copied().unwrap_or(0)
    }

    /// The findings of `cause` made in the window.
    pub fn findings_of(&self, cause: &str) -> Vec<String> {
        self.listings
            .iter()
            .flatten()
            .filter(|(c, _)| c == cause)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// What a reviewer decided about a flood group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupState {
    /// Its findings are held out of the queue; new ones join it.
    Held,
    /// Released: its findings went to the queue, and the cause is never held again.
    Released,
    /// Rejected: its findings were dismissed, and new ones are stored dismissed.
    Rejected,
}

/// A flood group: the findings of one cause held together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloodGroup {
    /// [`group_id`] of the cause.
    pub id: String,
    /// The cause.
    pub cause: String,
    /// The mark.
    pub mark_id: String,
    /// Held, released or rejected.
    pub state: GroupState,
    /// Why it was held: the window's share against the earlier share.
    pub reason: String,
    /// When it was held (UTC, RFC 3339).
    pub since: String,
    /// Findings held in it so far.
    pub findings: u64,
    /// Who released or rejected it, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(kind: SignalKind) -> Signal {
        Signal {
            kind,
            detail: String::new(),
            weight: 0.6,
            photo: None,
            region: None,
            text: None,
        }
    }

    #[test]
    fn the_cause_is_the_strongest_detection_with_its_mention() {
        let spans = [Span {
            start: 0,
            end: 5,
            text: "Shoes".into(),
        }];
        let signals = [signal(SignalKind::Keyword), signal(SignalKind::TitleAlias)];
        assert_eq!(
            cause_of("m", &signals, &spans).as_deref(),
            Some("m/title_alias/shoes")
        );
        assert_eq!(cause_of("m", &[signal(SignalKind::Keyword)], &spans), None);
        assert_ne!(
            group_id("m/title_alias/shoes"),
            group_id("m/title_alias/shoe")
        );
    }

    #[test]
    fn a_sudden_share_floods_and_a_steady_one_does_not() {
        // A new alias on 10 % of 500 listings, never seen in 5,000 before.
        assert!(is_flood(50, 500, 0, 5_000));
        // A popular mark on 8 % now and 6 % before: steady.
        assert!(!is_flood(40, 500, 300, 5_000));
        // Too few listings in the window, or too little history.
        assert!(!is_flood(19, 100, 0, 5_000));
        assert!(!is_flood(50, 500, 0, 999));
        // A rare cause, however sudden, below the share.
        assert!(!is_flood(20, 1_000, 0, 5_000));
    }

    #[test]
    fn the_window_forgets_the_oldest_listings() {
        let mut w = Window::default();
        w.push(vec![("a".into(), "f1".into()), ("a".into(), "f2".into())]);
        assert_eq!(w.count("a"), 1);
        assert_eq!(w.findings_of("a"), ["f1"]);
        for _ in 0..WINDOW {
            w.push(Vec::new());
        }
        assert_eq!((w.len(), w.count("a")), (WINDOW, 0));
    }
}
