//! Reviewer decisions that teach the matcher: a transition of the review workflow
//! plus what it banks in the mark's feedback bank (see [`crate::registry::Bank`]),
//! and the undo of a bank entry. The pipeline that matched the listings applies the
//! changed bank from the next listing on; other commands read it from the registry.

use super::Pipeline;
use crate::registry::{term_key, EntryKind, NewEntry, Reason, Registry, RegistryError};
use crate::review::{now, FindingRecord, ReviewError, State, Statement};
use crate::scoring::{Finding, Signal, SignalKind, Span};
use crate::store::Store;

/// A reviewer's move of one finding.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// The finding.
    pub finding_id: &'a str,
    /// The state it moves to.
    pub to: State,
    /// The version the reviewer saw.
    pub version: u64,
    /// Why a dismissal was made (only with `to = dismissed`).
    pub reason: Option<Reason>,
    /// The reviewer's note.
    pub note: &'a str,
    /// Who decided.
    pub actor: &'a str,
}

/// What a decision did.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The finding after the move.
    pub finding: FindingRecord,
    /// The decision's id, `FINDING@VERSION`, that bank entries name.
    pub decision: String,
    /// The numbers of the entries it added to the mark's bank.
    pub bank_entries: Vec<u64>,
}

/// What undoing a bank entry did.
#[derive(Debug, Clone)]
pub struct Undo {
    /// The findings the entry had suppressed that were reopened.
    pub reopened: Vec<String>,
}

fn registry_error(e: RegistryError) -> ReviewError {
    match e {
        RegistryError::NoMark { id } => ReviewError::NotFound(format!("mark {id}")),
        e => ReviewError::Registry(e),
    }
}

impl Pipeline {
    /// Moves a finding and records what the move teaches into its mark's bank:
    /// a dismissal with a reason banks what caused the finding (the terms as
    /// written for `other_brand` and `referential`, the seller for `authorised`
    /// and `not_infringing`, and for `not_infringing` also the photos behind photo
    /// evidence); a confirmation banks the listing's photos as counterfeit photos.
    /// The transition is stored first (so a stale version banks nothing); the
    /// audit entry of the move names the reason.
    pub fn decide(
        &self,
        registry: &Registry,
        store: &Store,
        d: &Decision<'_>,
    ) -> Result<Decided, ReviewError> {
        if d.reason.is_some() && d.to != State::Dismissed {
            return Err(ReviewError::BadInput(format!(
                "reason: only a dismissal takes a reason, not a move to {}",
                d.to
            )));
        }
        let note = match d.reason {
            Some(r) if d.note.is_empty() => format!("reason: {r}"),
            Some(r) => format!("reason: {r}; {}", d.note),
            None => d.note.to_owned(),
        };
        let finding = store.transition(d.finding_id, d.to, d.version, d.actor, &note)?;
        let decision = format!("{}@{}", finding.id, finding.version);
        let listing = store.listing(&finding.listing_id)?;
        // A removal, and a reinstatement after a counter-notice, each record their
        // statement of reasons (DSA Article 17).
        if let Some(s) = Statement::for_decision(&finding, d.to, listing.as_ref(), d.actor) {
            store.record_statement(&s)?;
        }
        let photos: Vec<String> = listing
            .as_ref()
            .map(|l| {
                l.photo_hashes
                    .iter()
                    .filter(|h| **h != crate::image::Hash256::ZERO)
                    .map(|h| h.to_hex())
                    .collect()
            })
            .unwrap_or_default();
        let (positive, entries) = match (d.to, d.reason) {
            (State::Confirmed, _) => (true, photo_entries(&photos)),
            (State::Dismissed, Some(reason)) => (
                false,
                self.negative_entries(
                    &finding.mark_id,
                    &finding.spans,
                    &finding.signals,
                    finding.seller_id.as_deref(),
                    reason,
                    &photos,
                ),
            ),
            _ => (false, Vec::new()),
        };
        if entries.is_empty() {
            return Ok(Decided {
                finding,
                decision,
                bank_entries: Vec::new(),
            });
        }
        let at = now();
        let (added, bank) = registry
            .update_bank(&finding.mark_id, |bank| {
                bank.add(positive, entries.clone(), d.reason, &decision, d.actor, &at)
            })
            .map_err(registry_error)?;
        self.set_bank(&finding.mark_id, bank);
        tracing::info!(
            finding = %finding.id,
            mark = %finding.mark_id,
            "decision {decision} added bank entries {added:?}"
        );
        Ok(Decided {
            finding,
            decision,
            bank_entries: added,
        })
    }

    /// Records a dismissal with `reason` of `finding` (of a listing by `seller`)
    /// in this pipeline's banks only, storing nothing: what [`Pipeline::decide`]
    /// banks, for a pipeline without a database (a simulated reviewer). Answers
    /// the entries added.
    pub fn learn_dismissal(
        &self,
        finding: &Finding,
        seller: Option<&str>,
        reason: Reason,
        decision: &str,
        actor: &str,
    ) -> Vec<u64> {
        let entries = self.negative_entries(
            &finding.mark_id,
            &finding.spans,
            &finding.signals,
            seller,
            reason,
            &[],
        );
        let Some(mut bank) = self.bank(&finding.mark_id) else {
            return Vec::new();
        };
        if entries.is_empty() {
            return Vec::new();
        }
        let added = bank.add(false, entries, Some(reason), decision, actor, &now());
        self.set_bank(&finding.mark_id, bank);
        added
    }

    /// What a dismissal with `reason` banks for a finding of mark `mark_id`. A
    /// term that is the mark's own name or alias is not banked as another brand:
    /// that would hide every later mention of the mark.
    fn negative_entries(
        &self,
        mark_id: &str,
        spans: &[Span],
        signals: &[Signal],
        seller: Option<&str>,
        reason: Reason,
        photos: &[String],
    ) -> Vec<NewEntry> {
        let own: Vec<String> = self
            .mark_index
            .get(mark_id)
            .and_then(|&mi| self.scorer().marks().get(mi))
            .map(|m| {
                std::iter::once(&m.name)
                    .chain(&m.aliases)
                    .map(|t| term_key(t))
                    .collect()
            })
            .unwrap_or_default();
        let terms = |keep_own: bool| -> Vec<NewEntry> {
            let mut out: Vec<NewEntry> = Vec::new();
            for span in spans {
                let key = term_key(&span.text);
                if key.is_empty() || (!keep_own && own.contains(&key)) {
                    continue;
                }
                if out.iter().any(|e| term_key(&e.value) == key) {
                    continue;
                }
                out.push(NewEntry {
                    kind: EntryKind::Term,
                    value: span.text.clone(),
                });
            }
            out
        };
        let seller = || {
            seller
                .iter()
                .map(|s| NewEntry {
                    kind: EntryKind::Seller,
                    value: (*s).to_owned(),
                })
                .collect::<Vec<_>>()
        };
        match reason {
            Reason::OtherBrand => terms(false),
            Reason::Referential => terms(true),
            Reason::Authorised => seller(),
            Reason::NotInfringing => {
                let mut out = seller();
                let by_photo = signals.iter().any(|s| s.kind == SignalKind::ImageMatch);
                if by_photo {
                    out.extend(photo_entries(photos));
                }
                out
            }
        }
    }

    /// Undoes entry `entry` of mark `mark_id`'s bank: it stops acting at once,
    /// the decision's finding records the undo in its audit log, and findings it
    /// suppressed that are still dismissed are reopened.
    pub fn undo_bank_entry(
        &self,
        registry: &Registry,
        store: &Store,
        mark_id: &str,
        entry: u64,
        actor: &str,
    ) -> Result<Undo, ReviewError> {
        let at = now();
        let (undone, bank) = registry
            .update_bank(mark_id, |bank| {
                let decision = bank.entry(entry).map(|e| e.decision.clone());
                bank.undo(entry, actor, &at).then_some(decision).flatten()
            })
            .map_err(registry_error)?;
        let Some(decision) = undone else {
            return Err(ReviewError::NotFound(format!(
                "active bank entry {entry} of mark {mark_id}"
            )));
        };
        self.set_bank(mark_id, bank);
        let note =
            format!("bank entry {entry} of mark {mark_id} (from decision {decision}) undone");
        if let Some((finding, _)) = decision.split_once('@') {
            if store.finding(finding)?.is_some() {
                store.annotate(finding, actor, &note)?;
            }
        }
        let mut reopened = Vec::new();
        for f in store.all_findings()? {
            let by_it = f.mark_id == mark_id
                && f.state == State::Dismissed
                && f.suppressed.as_ref().is_some_and(|s| s.entry == entry);
            if by_it {
                store.transition(&f.id, State::Reopened, f.version, actor, &note)?;
                reopened.push(f.id);
            }
        }
        tracing::info!("{note}; {} findings reopened", reopened.len());
        Ok(Undo { reopened })
    }
}

fn photo_entries(photos: &[String]) -> Vec<NewEntry> {
    photos
        .iter()
        .map(|h| NewEntry {
            kind: EntryKind::Photo,
            value: h.clone(),
        })
        .collect()
}
