//! Flood quarantine in the store (the rule is [`crate::review::is_flood`]): the
//! window of recent listings (in memory: after a restart it fills again before
//! anything is held), each cause's count of findings and the listings stored (in
//! the `review/floods` tree, written in the same transaction as the findings), and
//! the flood groups a reviewer releases or rejects.

use std::collections::HashMap;

use super::findings::{audit_key, state_number};
use super::{to_json, Store, StoreError, Writes};
use crate::db::trees::{FINDINGS, FLOODS};
use crate::review::{
    group_id, is_flood, now, Action, AuditEntry, FindingRecord, FloodGroup, GroupState, State,
    FLOOD_SHARE,
};

const LISTINGS_KEY: &[u8] = b"n";

fn count_key(cause: &str) -> Vec<u8> {
    [b"c\0".as_slice(), cause.as_bytes()].concat()
}

fn group_key(cause: &str) -> Vec<u8> {
    [b"g\0".as_slice(), cause.as_bytes()].concat()
}

fn read_u64(v: Option<sled::IVec>) -> u64 {
    v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes)
}

/// What becomes of a new finding of a cause.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// Held with group `id`; the note says why.
    Hold { id: String, note: String },
    /// Its group was rejected: stored dismissed.
    Reject { id: String, note: String },
}

/// Flood counts and groups changed by a batch, written with it.
#[derive(Debug, Default)]
pub(super) struct FloodWrites {
    counts: HashMap<String, u64>,
    groups: HashMap<String, FloodGroup>,
    listings: Option<u64>,
}

impl FloodWrites {
    /// The key-value pairs of the `review/floods` tree.
    pub(super) fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = self
            .counts
            .iter()
            .map(|(c, n)| (count_key(c), n.to_be_bytes().to_vec()))
            .collect();
        out.extend(self.groups.iter().map(|(c, g)| {
            (
                group_key(c),
                serde_json::to_vec(g).expect("a group serializes"),
            )
        }));
        if let Some(n) = self.listings {
            out.push((LISTINGS_KEY.to_vec(), n.to_be_bytes().to_vec()));
        }
        out
    }
}

impl Store {
    fn flood_group_of(&self, cause: &str, w: &Writes) -> Result<Option<FloodGroup>, StoreError> {
        if let Some(g) = w.flood.groups.get(cause) {
            return Ok(Some(g.clone()));
        }
        let key = group_key(cause);
        self.floods
            .get(&key)?
            .map(|v| Self::decode(FLOODS, &key, &v))
            .transpose()
    }

    /// Counts the listings of a batch, each with the new findings `(cause,
    /// finding id)` it makes, and answers, per cause, whether the batch's new
    /// findings of it are held or dismissed with their group. A cause found
    /// flooding also takes into its group the findings of it that earlier batches
    /// of the window stored and nobody has looked at (still `new`). The caller
    /// holds the write lock.
    pub(super) fn flood_verdicts(
        &self,
        per_listing: Vec<Vec<(String, String)>>,
        w: &mut Writes,
    ) -> Result<HashMap<String, Verdict>, StoreError> {
        let mut window = self.flood_window.lock().unwrap_or_else(|p| p.into_inner());
        let mut listings = match w.flood.listings {
            Some(n) => n,
            None => read_u64(self.floods.get(LISTINGS_KEY)?),
        };
        // This batch's new findings per cause.
        let mut batch: HashMap<String, Vec<String>> = HashMap::new();
        for found in per_listing {
            listings += 1;
            for (c, id) in &found {
                batch.entry(c.clone()).or_default().push(id.clone());
            }
            window.push(found);
        }
        w.flood.listings = Some(listings);
        let mut out = HashMap::new();
        let at = now();
        for (cause, ids) in batch {
            let total = match w.flood.counts.get(&cause) {
                Some(n) => *n,
                None => read_u64(self.floods.get(count_key(&cause))?),
            } + ids.len() as u64;
            w.flood.counts.insert(cause.clone(), total);
            let recent = window.count(&cause);
            let verdict = match self.flood_group_of(&cause, w)? {
                Some(g) if g.state == GroupState::Released => None,
                Some(g) if g.state == GroupState::Rejected => Some(Verdict::Reject {
                    note: format!(
                        "dismissed with flood group {} ({}), rejected by {}",
                        g.id,
                        g.cause,
                        g.decided_by.as_deref().unwrap_or("a reviewer")
                    ),
                    id: g.id,
                }),
                Some(mut g) => {
                    g.findings += ids.len() as u64;
                    let v = Verdict::Hold {
                        id: g.id.clone(),
                        note: format!("held with flood group {} ({})", g.id, g.cause),
                    };
                    w.flood.groups.insert(cause.clone(), g);
                    Some(v)
                }
                None => {
                    // Counts before the window: the window's own findings out.
                    let history = listings.saturating_sub(window.len() as u64);
                    let earlier = total.saturating_sub(recent as u64);
                    if is_flood(recent, window.len(), earlier, history) {
                        let id = group_id(&cause);
                        let reason = format!(
                            "{cause} matched {recent} of the last {} listings ({:.1} %; the \
                             threshold is {:.0} %), against {earlier} of the {history} before",
                            window.len(),
                            100.0 * recent as f64 / window.len() as f64,
                            100.0 * FLOOD_SHARE,
                        );
                        tracing::warn!("flood: holding the new findings of {reason}");
                        let note = format!("held with flood group {id}: {reason}");
                        let earlier_ids: Vec<String> = window
                            .findings_of(&cause)
                            .into_iter()
                            .filter(|f| !ids.contains(f))
                            .collect();
                        let pulled = self.hold_stored(&earlier_ids, &id, &note, &at, w)?;
                        w.flood.groups.insert(
                            cause.clone(),
                            FloodGroup {
                                id: id.clone(),
                                cause: cause.clone(),
                                mark_id: cause.split('/').next().unwrap_or("").to_owned(),
                                state: GroupState::Held,
                                reason,
                                since: at.clone(),
                                findings: ids.len() as u64 + pulled,
                                decided_by: None,
                                decided_at: None,
                            },
                        );
                        Some(Verdict::Hold { id, note })
                    } else {
                        None
                    }
                }
            };
            if let Some(v) = verdict {
                out.insert(cause, v);
            }
        }
        Ok(out)
    }

    /// Moves the stored findings `ids` still `new` and in no group to `held` with
    /// group `group` (an audit entry `flood` each); answers how many moved.
    fn hold_stored(
        &self,
        ids: &[String],
        group: &str,
        note: &str,
        at: &str,
        w: &mut Writes,
    ) -> Result<u64, StoreError> {
        let mut moved = 0;
        for id in ids {
            let Some(mut f) = self.finding(id)? else {
                continue;
            };
            if f.state != State::New || f.flood_group.is_some() {
                continue;
            }
            f.version += 1;
            f.state = State::Held;
            f.flood_group = Some(group.to_owned());
            f.updated_at = at.to_owned();
            w.reindex(id, Some((f.score, State::New)), (f.score, State::Held));
            w.audit.push((
                audit_key(id, f.version),
                to_json(&AuditEntry {
                    finding_id: id.clone(),
                    version: f.version,
                    at: at.to_owned(),
                    actor: "markhound".to_owned(),
                    action: Action::Flood,
                    from: Some(State::New),
                    to: State::Held,
                    note: note.to_owned(),
                }),
            ));
            w.findings.push((id.as_bytes().to_vec(), to_json(&f)));
            moved += 1;
        }
        Ok(moved)
    }

    /// Every flood group, held ones first, newest first.
    pub fn flood_groups(&self) -> Result<Vec<FloodGroup>, StoreError> {
        let mut out: Vec<FloodGroup> = Vec::new();
        for entry in self.floods.scan_prefix(b"g\0") {
            let (k, v) = entry?;
            out.push(Self::decode(FLOODS, &k, &v)?);
        }
        out.sort_by(|a, b| {
            (a.state != GroupState::Held)
                .cmp(&(b.state != GroupState::Held))
                .then(b.since.cmp(&a.since))
        });
        Ok(out)
    }

    /// Releases (to the queue, as `new`) or rejects (`dismissed`) every finding
    /// held with group `id`, each with its audit entry, and records the decision on
    /// the group, in one transaction. Answers the group and the findings moved.
    pub fn decide_flood_group(
        &self,
        id: &str,
        release: bool,
        actor: &str,
    ) -> Result<(FloodGroup, Vec<String>), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut group = self
            .flood_groups()?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("flood group {id}")))?;
        if group.state != GroupState::Held {
            return Err(StoreError::BadInput(format!(
                "flood group {id} was already {}",
                if group.state == GroupState::Released {
                    "released"
                } else {
                    "rejected"
                }
            )));
        }
        let (to, verb) = if release {
            (State::New, "released")
        } else {
            (State::Dismissed, "rejected")
        };
        let note = format!("flood group {id} ({}) {verb}", group.cause);
        let mut writes = Writes::default();
        let mut moved = Vec::new();
        for entry in self.by_state.scan_prefix([state_number(State::Held)]) {
            let (key, _) = entry?;
            let fid = String::from_utf8_lossy(&key[9..]).into_owned();
            let Some(bytes) = self.findings.get(fid.as_bytes())? else {
                continue;
            };
            let f: FindingRecord = Self::decode(FINDINGS, fid.as_bytes(), &bytes)?;
            if f.flood_group.as_deref() != Some(id) {
                continue;
            }
            let (_, w) = self.plan_transition(&fid, to, f.version, actor, &note)?;
            writes.merge(w);
            moved.push(fid);
        }
        group.state = if release {
            GroupState::Released
        } else {
            GroupState::Rejected
        };
        group.decided_by = Some(actor.to_owned());
        group.decided_at = Some(now());
        writes
            .flood
            .groups
            .insert(group.cause.clone(), group.clone());
        self.apply(&writes)?;
        Ok((group, moved))
    }
}
