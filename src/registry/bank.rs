//! Feedback banks: what reviewers taught the matcher about one mark. Dismissing a
//! finding with a reason records what caused it in the mark's negative bank (the
//! term as written, the seller as known-legitimate, the photo hashes); confirming
//! one records the listing's photos in its positive bank, so a relisted counterfeit
//! photo is found even under a clean title. Banks are stored with the registry,
//! exported and imported with their mark, and read by [`crate::pipeline`] on every
//! listing.
//!
//! This module is pure data: what an entry is, and which entry explains a finding.
//! Entries are never deleted: an undo marks the entry undone, so every finding it
//! suppressed can still name it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::image::{Hash256, MATCH_DISTANCE};
use crate::scoring::{Finding, SignalKind};

/// The most entries one bank (negative and positive together) keeps.
pub const MAX_BANK_ENTRIES: usize = 10_000;

/// Why a reviewer dismissed a finding, which decides what is banked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The title names another brand that only looks like the mark: the term as
    /// written is banked.
    OtherBrand,
    /// The seller's goods are not infringing: the seller (as known-legitimate) and
    /// the photos are banked.
    NotInfringing,
    /// The seller is authorised by the rights owner: the seller is banked.
    Authorised,
    /// The title refers to the mark lawfully ("case for ..."): the term is banked,
    /// and suppresses only findings that are referential too.
    Referential,
}

/// Every reason, as the API and the UI offer them.
pub const ALL_REASONS: [Reason; 4] = [
    Reason::OtherBrand,
    Reason::NotInfringing,
    Reason::Authorised,
    Reason::Referential,
];

impl Reason {
    /// The reason's name in JSON and forms (`other_brand`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OtherBrand => "other_brand",
            Reason::NotInfringing => "not_infringing",
            Reason::Authorised => "authorised",
            Reason::Referential => "referential",
        }
    }

    /// A phrase for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Reason::OtherBrand => "another brand",
            Reason::NotInfringing => "not infringing (legitimate seller)",
            Reason::Authorised => "authorised seller",
            Reason::Referential => "referential use",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason name that is not one of [`ALL_REASONS`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not a reason (other_brand, not_infringing, authorised, referential)")]
pub struct UnknownReason(pub String);

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(s: &str) -> Result<Reason, UnknownReason> {
        ALL_REASONS
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A term as written in a title.
    Term,
    /// A seller id.
    Seller,
    /// A photo's PDQ hash (64 hex digits).
    Photo,
}

/// One thing a reviewer's decision taught the matcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankEntry {
    /// Its number within the mark's bank (from 1, never reused).
    pub id: u64,
    /// What it holds.
    pub kind: EntryKind,
    /// The term as written, the seller id or the photo hash.
    pub value: String,
    /// Why it was banked (negative entries; positive ones come from confirmations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The decision it came from: `FINDING@VERSION`, the finding and its version
    /// after the reviewer's move.
    pub decision: String,
    /// Who decided.
    pub actor: String,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Set when the entry was undone: it no longer acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone: Option<Undone>,
}

/// Who undid an entry, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undone {
    /// Who.
    pub actor: String,
    /// When (UTC, RFC 3339).
    pub at: String,
}

impl BankEntry {
    /// Whether the entry still acts.
    pub fn active(&self) -> bool {
        self.undone.is_none()
    }

    fn photo(&self) -> Option<Hash256> {
        (self.kind == EntryKind::Photo)
            .then(|| self.value.parse().ok())
            .flatten()
    }
}

/// One mark's bank: entries that suppress findings (negative) and counterfeit
/// photos that make findings (positive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    /// Entries that suppress findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negative: Vec<BankEntry>,
    /// Counterfeit photos confirmed by a reviewer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive: Vec<BankEntry>,
}

/// Why a finding was suppressed: the mark's negative-bank entry and the decision
/// that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The entry's number in the mark's bank.
    pub entry: u64,
    /// The decision the entry came from (`FINDING@VERSION`).
    pub decision: String,
}

impl fmt::Display for Suppression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "suppressed by bank entry {} (from decision {})",
            self.entry, self.decision
        )
    }
}

/// A listing photo that matches a counterfeit photo of the positive bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositiveHit {
    /// The entry's number.
    pub entry: u64,
    /// The decision it came from.
    pub decision: String,
    /// PDQ distance in bits.
    pub distance: u32,
}

/// The key a term is compared by: compatibility-normalised, lower case, letters and
/// digits only, so "Sonny", "SONNY" and "S-o-n-n-y" are one term.
pub fn term_key(term: &str) -> String {
    term.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// What one new entry is, before it is numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// What it holds.
    pub kind: EntryKind,
    /// The value.
    pub value: String,
}

impl Bank {
    /// Whether the bank has no entry at all.
    pub fn is_empty(&self) -> bool {
        self.negative.is_empty() && self.positive.is_empty()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.negative.len() + self.positive.len()
    }

    fn next_id(&self) -> u64 {
        self.negative
            .iter()
            .chain(&self.positive)
            .map(|e| e.id)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Adds entries (skipping any already active with the same kind, value and
    /// reason) and answers the numbers of those added.
    pub fn add(
        &mut self,
        positive: bool,
        entries: Vec<NewEntry>,
        reason: Option<Reason>,
        decision: &str,
        actor: &str,
        at: &str,
    ) -> Vec<u64> {
        let mut added = Vec::new();
        for e in entries {
            if self.len() >= MAX_BANK_ENTRIES {
                tracing::warn!("a bank is full ({MAX_BANK_ENTRIES} entries); entry not added");
                break;
            }
            let list = if positive {
                &self.positive
            } else {
                &self.negative
            };
            let known = list.iter().any(|old| {
                old.active() && old.kind == e.kind && old.value == e.value && old.reason == reason
            });
            if known {
                continue;
            }
            let id = self.next_id();
            let entry = BankEntry {
                id,
                kind: e.kind,
                value: e.value,
                reason,
                decision: decision.to_owned(),
                actor: actor.to_owned(),
                at: at.to_owned(),
                undone: None,
            };
            if positive {
                self.positive.push(entry);
            } else {
                self.negative.push(entry);
            }
            added.push(id);
        }
        added
    }

    /// The entry numbered `id`, in either list.
    pub fn entry(&self, id: u64) -> Option<&BankEntry> {
        self.negative
            .iter()
            .chain(&self.positive)
            .find(|e| e.id == id)
    }

    /// Marks entry `id` undone; `false` when there is no such active entry.
    pub fn undo(&mut self, id: u64, actor: &str, at: &str) -> bool {
        let entry = self
            .negative
            .iter_mut()
            .chain(self.positive.iter_mut())
            .find(|e| e.id == id && e.active());
        match entry {
            Some(e) => {
                e.undone = Some(Undone {
                    actor: actor.to_owned(),
                    at: at.to_owned(),
                });
                true
            }
            None => false,
        }
    }

    /// The negative entry that explains `finding` of a listing by `seller` with
    /// photos `photos`, if any:
    ///
    /// - a seller entry for the listing's seller explains any finding;
    /// - otherwise every cause of the finding must be explained: each place the
    ///   title names the mark by a term entry (a `referential` one only when the
    ///   finding is referential too), and photo evidence by a photo entry within
    ///   PDQ's match distance of one of the listing's photos. A finding with no
    ///   title mention and no photo evidence is not suppressed.
    pub fn suppression(
        &self,
        finding: &Finding,
        seller: Option<&str>,
        photos: &[Hash256],
    ) -> Option<Suppression> {
        let active = || self.negative.iter().filter(|e| e.active());
        let found = |e: &BankEntry| Suppression {
            entry: e.id,
            decision: e.decision.clone(),
        };
        if let Some(seller) = seller {
            if let Some(e) = active().find(|e| e.kind == EntryKind::Seller && e.value == seller) {
                return Some(found(e));
            }
        }
        let referential = finding
            .signals
            .iter()
            .any(|s| s.kind == SignalKind::ReferentialUse);
        let has_photo = finding
            .signals
            .iter()
            .any(|s| s.kind == SignalKind::ImageMatch);
        if finding.spans.is_empty() && !has_photo {
            return None;
        }
        let mut spans = Vec::with_capacity(finding.spans.len());
        for span in &finding.spans {
            let key = term_key(&span.text);
            let entry = active().find(|e| {
                e.kind == EntryKind::Term
                    && term_key(&e.value) == key
                    && (e.reason != Some(Reason::Referential) || referential)
            });
            match entry {
                Some(e) => spans.push(e),
                None => return None,
            }
        }
        if has_photo {
            let entry = active().find(|e| {
                e.photo()
                    .is_some_and(|h| photos.iter().any(|p| p.hamming(&h) <= MATCH_DISTANCE))
            });
            match entry {
                Some(e) => spans.push(e),
                None => return None,
            }
        }
        // The oldest entry that explains a cause names the suppression.
        spans.into_iter().min_by_key(|e| e.id).map(found)
    }

    /// The closest counterfeit photo of the positive bank within PDQ's match
    /// distance of any of `photos`.
    pub fn positive_hit(&self, photos: &[Hash256]) -> Option<PositiveHit> {
        let mut best: Option<PositiveHit> = None;
        for e in self.positive.iter().filter(|e| e.active()) {
            let Some(h) = e.photo() else { continue };
            for p in photos {
                if *p == Hash256::ZERO {
                    continue;
                }
                let d = p.hamming(&h);
                if d <= MATCH_DISTANCE && best.as_ref().is_none_or(|b| d < b.distance) {
                    best = Some(PositiveHit {
                        entry: e.id,
                        decision: e.decision.clone(),
                        distance: d,
                    });
                }
            }
        }
        best
    }

    /// Checks an imported bank: known kinds with sane values, unique numbers.
    /// Answers the field at fault (`bank.negative[0].value`) and why.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.len() > MAX_BANK_ENTRIES {
            return Err(("bank".into(), format!("at most {MAX_BANK_ENTRIES} entries")));
        }
        let mut ids = std::collections::HashSet::new();
        for (list, entries) in [("negative", &self.negative), ("positive", &self.positive)] {
            for (i, e) in entries.iter().enumerate() {
                let at = format!("bank.{list}[{i}]");
                if e.id == 0 || !ids.insert(e.id) {
                    return Err((
                        format!("{at}.id"),
                        "must be a positive number, unique in the bank".into(),
                    ));
                }
                if e.value.trim().is_empty() || e.value.chars().count() > 200 {
                    return Err((format!("{at}.value"), "1 to 200 characters".into()));
                }
                if e.kind == EntryKind::Photo && e.value.parse::<Hash256>().is_err() {
                    return Err((format!("{at}.value"), "a photo is 64 hex digits".into()));
                }
                if list == "positive" && e.kind != EntryKind::Photo {
                    return Err((
                        format!("{at}.kind"),
                        "the positive bank holds photos only".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Signal, Span};

    fn finding(spans: &[&str], kinds: &[SignalKind]) -> Finding {
        Finding {
            mark_id: "sony".into(),
            mark: "Sony".into(),
            score: 0.5,
            signals: kinds
                .iter()
                .map(|&kind| Signal {
                    kind,
                    detail: String::new(),
                    weight: 0.5,
                    photo: None,
                    region: None,
                    text: None,
                })
                .collect(),
            spans: spans
                .iter()
                .map(|t| Span {
                    start: 0,
                    end: t.len(),
                    text: (*t).into(),
                })
                .collect(),
            suppressed: None,
        }
    }

    fn term(v: &str) -> NewEntry {
        NewEntry {
            kind: EntryKind::Term,
            value: v.into(),
        }
    }

    #[test]
    fn reasons_parse_and_name_themselves() {
        for r in ALL_REASONS {
            assert_eq!(r.as_str().parse::<Reason>().unwrap(), r);
        }
        let err = "spam".parse::<Reason>().unwrap_err();
        assert!(err.to_string().contains("other_brand"), "{err}");
    }

    #[test]
    fn a_banked_term_suppresses_its_spelling_only() {
        let mut bank = Bank::default();
        let ids = bank.add(
            false,
            vec![term("Sonny")],
            Some(Reason::OtherBrand),
            "f@2",
            "r",
            "t",
        );
        assert_eq!(ids, vec![1]);
        let f = finding(&["SONNY"], &[SignalKind::TitleFuzzy]);
        let s = bank.suppression(&f, None, &[]).expect("suppressed");
        assert_eq!(
            s.to_string(),
            "suppressed by bank entry 1 (from decision f@2)"
        );
        // Another spelling, or one more unexplained mention, is not suppressed.
        assert_eq!(bank.suppression(&finding(&["Sonyy"], &[]), None, &[]), None);
        assert_eq!(
            bank.suppression(&finding(&["Sonny", "Sony"], &[]), None, &[]),
            None
        );
        // The same term twice is banked once.
        assert!(bank
            .add(
                false,
                vec![term("Sonny")],
                Some(Reason::OtherBrand),
                "g@2",
                "r",
                "t"
            )
            .is_empty());
        // Undone, it no longer acts, and its number is not reused.
        assert!(bank.undo(1, "r", "t"));
        assert!(!bank.undo(1, "r", "t"), "undone once");
        assert_eq!(bank.suppression(&f, None, &[]), None);
        assert_eq!(
            bank.add(
                false,
                vec![term("Sonny")],
                Some(Reason::OtherBrand),
                "h@2",
                "r",
                "t"
            ),
            vec![2]
        );
    }

    #[test]
    fn referential_terms_need_a_referential_finding() {
        let mut bank = Bank::default();
        bank.add(
            false,
            vec![term("sony")],
            Some(Reason::Referential),
            "f@2",
            "r",
            "t",
        );
        let plain = finding(&["Sony"], &[SignalKind::TitleExact]);
        assert_eq!(bank.suppression(&plain, None, &[]), None);
        let referential = finding(
            &["Sony"],
            &[SignalKind::TitleExact, SignalKind::ReferentialUse],
        );
        assert!(bank.suppression(&referential, None, &[]).is_some());
    }

    #[test]
    fn sellers_and_photos() {
        let mut bank = Bank::default();
        let h = Hash256::from_words([7, 7, 7, 7]);
        let far = Hash256::from_words([!7, !7, !7, !7]);
        bank.add(
            false,
            vec![
                NewEntry {
                    kind: EntryKind::Seller,
                    value: "shop1".into(),
                },
                NewEntry {
                    kind: EntryKind::Photo,
                    value: h.to_hex(),
                },
            ],
            Some(Reason::NotInfringing),
            "f@2",
            "r",
            "t",
        );
        let f = finding(&["Sony"], &[SignalKind::TitleExact]);
        assert_eq!(bank.suppression(&f, Some("shop1"), &[]).unwrap().entry, 1);
        assert_eq!(
            bank.suppression(&f, Some("shop2"), &[h]),
            None,
            "title unexplained"
        );
        let photo_only = finding(&[], &[SignalKind::ImageMatch]);
        assert_eq!(bank.suppression(&photo_only, None, &[h]).unwrap().entry, 2);
        assert_eq!(bank.suppression(&photo_only, None, &[far]), None);

        let mut positive = Bank::default();
        positive.add(
            true,
            vec![NewEntry {
                kind: EntryKind::Photo,
                value: h.to_hex(),
            }],
            None,
            "g@3",
            "r",
            "t",
        );
        let hit = positive.positive_hit(&[far, h]).unwrap();
        assert_eq!(
            (hit.entry, hit.distance, hit.decision.as_str()),
            (1, 0, "g@3")
        );
        assert_eq!(positive.positive_hit(&[far]), None);
        assert!(positive.check().is_ok());
    }

    #[test]
    fn check_names_the_field() {
        let mut bank = Bank::default();
        bank.positive.push(BankEntry {
            id: 1,
            kind: EntryKind::Term,
            value: "x".into(),
            reason: None,
            decision: "d".into(),
            actor: "a".into(),
            at: "t".into(),
            undone: None,
        });
        let (field, _) = bank.check().unwrap_err();
        assert_eq!(field, "bank.positive[0].kind");
    }
}
