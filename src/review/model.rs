//! The records the review service stores and answers with: a finding under review,
//! the audit entry of every change, a stored listing and a seller's tally. Their JSON
//! is the FINDING contract of docs/INTERFACES.md (extended with a few fields).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::intake::{FindingSource, NoticeRef};
use super::State;
use crate::image::Hash256;
use crate::listing::{Evidence, Listing, PhotoRecord};
use crate::scoring::{Signal, Span};

/// A finding in the review queue: one listing that may infringe one mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Stable id, derived from the listing id and the mark id.
    pub id: String,
    /// The listing's id.
    pub listing_id: String,
    /// The mark's id.
    pub mark_id: String,
    /// The mark's name.
    pub mark: String,
    /// 0..1, higher is more suspect.
    pub score: f64,
    /// The evidence, strongest first.
    pub signals: Vec<Signal>,
    /// Where the review stands.
    pub state: State,
    /// Bumped by every change; a transition must name the version it saw.
    pub version: u64,
    /// When the finding was first stored (UTC, RFC 3339).
    pub created_at: String,
    /// When it last changed (UTC, RFC 3339).
    pub updated_at: String,
    /// The seller's id, when the listing names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// The marketplace, when the listing names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<String>,
    /// Where the title names the mark.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// A removed finding of the same mark this one looks like a relisting of
    /// (whack-a-mole): same seller, or a photo within PDQ's match distance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relist_of: Option<String>,
    /// Which rule made it a relist: `same seller`, or `same photo, distance D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relist_rule: Option<String>,
    /// The listing as it was when a reviewer confirmed the finding: its notice
    /// cites this, whatever the listing became afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<ConfirmedListing>,
    /// The feedback-bank entry that suppressed the finding (stored dismissed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<crate::registry::Suppression>,
    /// How the finding came to the queue: `matcher`, or `notice` once a notice
    /// (DSA Article 16) named it.
    #[serde(default)]
    pub source: FindingSource,
    /// The notices that name it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<NoticeRef>,
    /// The reviewer who claimed it, while the claim lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// The flood group it was held with (see [`crate::review::FloodGroup`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood_group: Option<String>,
}

impl FindingRecord {
    /// Refuses `actor` while another reviewer's claim on the finding holds at `now`.
    pub fn check_claim(&self, actor: &str, now: &str) -> Result<(), super::ReviewError> {
        match self
            .claim
            .as_ref()
            .filter(|c| c.holds_at(now) && c.by != actor)
        {
            Some(c) => Err(super::ReviewError::Claimed {
                id: self.id.clone(),
                by: c.by.clone(),
                until: c.until.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// A reviewer's claim on a finding: others see it taken until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The reviewer (the token's name).
    pub by: String,
    /// When the claim lapses (UTC, RFC 3339).
    pub until: String,
}

impl Claim {
    /// Whether the claim still holds at `now` (RFC 3339, as [`now`] writes it).
    pub fn holds_at(&self, now: &str) -> bool {
        self.until.as_str() > now
    }
}

/// The listing a reviewer confirmed, kept with the finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfirmedListing {
    /// The listing as it was.
    pub listing: Listing,
    /// Its SHA-256 (canonical JSON).
    pub sha256: String,
    /// How it was seen, for crawled listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// When it was received.
    pub received_at: String,
}

/// The id of the finding for `listing_id` and `mark_id`: the first 8 bytes of their
/// SHA-256 in hex, so a re-sent listing finds its findings again.
pub fn finding_id(listing_id: &str, mark_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(listing_id.as_bytes());
    h.update([0]);
    h.update(mark_id.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// What happened to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The finding was stored.
    Created,
    /// A changed listing was matched again; score and signals changed.
    Rematched,
    /// A reviewer moved the finding.
    Transition,
    /// A feedback-bank entry made by a decision on the finding was undone; the
    /// state stays.
    Feedback,
    /// A notice (DSA Article 16) named the finding.
    Notice,
    /// markhound held the finding with a flood group.
    Flood,
}

/// One entry of the audit log. Entries are never changed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The finding.
    pub finding_id: String,
    /// The finding's version after the change.
    pub version: u64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who: the name of the token used.
    pub actor: String,
    /// What kind of change.
    pub action: Action,
    /// The state before (none when created).
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// The reviewer's note.
    #[serde(default)]
    pub note: String,
}

/// A listing as stored: what was received (crawled or handed in), its hash and
/// when, what it was matched against, and the evidence of how it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredListing {
    /// The listing.
    pub listing: Listing,
    /// SHA-256 of the listing's canonical JSON, the evidence hash of notices.
    pub sha256: String,
    /// When this version was received (UTC, RFC 3339).
    pub received_at: String,
    /// The findings stored for it.
    pub finding_ids: Vec<String>,
    /// The PDQ hashes of its photos: supplied (`image_hashes`) or computed from
    /// the photos fetched, for finding relistings by photo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_hashes: Vec<Hash256>,
    /// The mirrored and turned copies of the photos fetched (none for supplied
    /// hashes), so that a photo relisted mirrored or turned is still recognised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turned_photo_hashes: Vec<Hash256>,
    /// The registry version it was last matched against (`None`: not matched yet,
    /// e.g. migrated from an older database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_version: Option<u64>,
    /// The page it was extracted from, for crawled listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Its photos kept as evidence (thumbnails in the store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRecord>,
}

impl StoredListing {
    /// Whether the stored copy has content hash `sha256` and was matched against
    /// `registry_version`: then storing the listing again changes nothing.
    pub fn is_current(&self, sha256: &str, registry_version: u64) -> bool {
        self.sha256 == sha256 && self.registry_version == Some(registry_version)
    }

    /// The evidence of this listing as a confirmed finding keeps it.
    pub fn confirmed(&self) -> ConfirmedListing {
        ConfirmedListing {
            listing: self.listing.clone(),
            sha256: self.sha256.clone(),
            evidence: self.evidence.clone(),
            received_at: self.received_at.clone(),
        }
    }
}

/// The SHA-256 (hex) of a listing's canonical JSON.
pub fn listing_sha256(listing: &Listing) -> String {
    // The JSON goes straight into the hash: no buffer is built per listing.
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, listing).expect("a listing always serializes");
    hex::encode(hasher.finalize())
}

/// A seller's findings, counted by state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SellerSummary {
    /// The seller's id.
    pub seller_id: String,
    /// All findings.
    pub findings: u64,
    /// Findings still waiting for review.
    pub open: u64,
    /// Findings judged infringing (confirmed, notice sent, removed, reinstated).
    pub infringing: u64,
    /// Findings dismissed.
    pub dismissed: u64,
    /// Findings whose listing was removed.
    pub removed: u64,
    /// Findings flagged as relistings.
    pub relists: u64,
}

impl SellerSummary {
    /// Counts `f` in.
    pub fn add(&mut self, f: &FindingRecord) {
        self.findings += 1;
        match f.state {
            State::New | State::InReview | State::Reopened => self.open += 1,
            State::Dismissed => self.dismissed += 1,
            // Held with a flood group: neither waiting in the queue nor decided.
            State::Held => {}
            State::Confirmed | State::NoticeSent | State::Reinstated => self.infringing += 1,
            State::Removed => {
                self.infringing += 1;
                self.removed += 1;
            }
        }
        if f.relist_of.is_some() {
            self.relists += 1;
        }
    }
}

/// The current time, UTC, RFC 3339 with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_are_stable_and_distinct() {
        assert_eq!(finding_id("L1", "nike"), finding_id("L1", "nike"));
        assert_ne!(finding_id("L1", "nike"), finding_id("L1", "adidas"));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(finding_id("ab", "c"), finding_id("a", "bc"));
        assert_eq!(finding_id("L1", "nike").len(), 16);
    }

    #[test]
    fn listing_hash_changes_with_content() {
        let a = Listing {
            id: "L1".into(),
            title: "one".into(),
            ..Listing::default()
        };
        let mut b = a.clone();
        assert_eq!(listing_sha256(&a), listing_sha256(&b));
        b.title = "two".into();
        assert_ne!(listing_sha256(&a), listing_sha256(&b));
        // The hash is that of the listing's JSON as written out, so hashes
        // stored before it was computed without a buffer still compare equal.
        let json = serde_json::to_vec(&b).unwrap();
        assert_eq!(listing_sha256(&b), hex::encode(Sha256::digest(json)));
    }
}
