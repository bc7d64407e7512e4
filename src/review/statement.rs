//! Statements of reasons (EU Digital Services Act, Article 17): every restriction
//! decision (a listing removed) and every reinstatement (after a counter-notice, its
//! own decision) is recorded with what the statement must say: the decision and its
//! territorial scope and duration, the facts relied on, where the information came
//! from, whether detection and decision were automated, the legal ground and its
//! explanation, and the redress open to the seller.
//!
//! [`Statement::submission`] writes one in the submission schema of the
//! Commission's DSA Transparency Database (its field names and values), and
//! [`statements_csv`] the same as CSV, cells escaped against spreadsheet formulas.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{FindingRecord, ReviewError, State, StoredListing};
use crate::report::csv_cell;

/// The EEA, the default territorial scope of a decision (ISO 3166-1 alpha-2, as
/// the Transparency Database lists them).
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The legal ground of every statement markhound records.
pub const LEGAL_GROUND: &str = "Intellectual property infringement: use of a registered trademark \
     without the owner's consent (Regulation (EU) 2017/1001, Article 9; Directive (EU) 2015/2436, \
     Article 10)";

/// The redress open to the seller, stated in every statement.
pub const REDRESS: &str = "The seller may submit a counter-notice through the marketplace's \
     internal complaint-handling system (DSA Article 20), use an out-of-court dispute settlement \
     body (Article 21), or seek judicial redress.";

/// Where the information behind a decision came from (Transparency Database
/// `source_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A notice under DSA Article 16.
    #[serde(rename = "SOURCE_ARTICLE_16")]
    Article16,
    /// A notice from a trusted flagger (Article 22).
    #[serde(rename = "SOURCE_TRUSTED_FLAGGER")]
    TrustedFlagger,
    /// The platform's (here: markhound's) own initiative.
    #[serde(rename = "SOURCE_VOLUNTARY")]
    Voluntary,
}

/// What the decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionType {
    /// The listing was removed.
    Removal,
    /// The listing was put back after a counter-notice.
    Reinstatement,
}

/// One recorded statement of reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Unique and never reused: `markhound-FINDING-VERSION`.
    pub puid: String,
    /// The finding decided on.
    pub finding_id: String,
    /// What the decision did.
    pub decision: DecisionType,
    /// Countries where it applies (ISO 3166-1 alpha-2).
    pub territorial_scope: Vec<String>,
    /// When the restriction ends (`YYYY-MM-DD`), or none: indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// The facts and circumstances relied on.
    pub facts: String,
    /// Where the information came from.
    pub source: Source,
    /// Who notified, for notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Whether the listing was found by automated means.
    pub automated_detection: bool,
    /// Whether the decision was taken by automated means (markhound's decisions
    /// are a reviewer's: never).
    pub automated_decision: bool,
    /// The legal ground.
    pub legal_ground: String,
    /// Why the listing infringes.
    pub explanation: String,
    /// The redress open to the seller.
    pub redress: String,
    /// The listing's URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the listing was received (`YYYY-MM-DD`).
    pub content_date: String,
    /// When the decision was taken (UTC, RFC 3339).
    pub decided_at: String,
    /// Who recorded it.
    pub actor: String,
}

impl Statement {
    /// The statement for the move of `f` to `to` (at `f.version`), or none when
    /// the move is not a decision that takes one (only `removed` and `reinstated`
    /// do).
    pub fn for_decision(
        f: &FindingRecord,
        to: State,
        listing: Option<&StoredListing>,
        actor: &str,
    ) -> Option<Statement> {
        let decision = match to {
            State::Removed => DecisionType::Removal,
            State::Reinstated => DecisionType::Reinstatement,
            _ => return None,
        };
        let seen = f.confirmed.as_ref();
        let l = seen.map(|c| &c.listing).or(listing.map(|l| &l.listing));
        let sha = seen
            .map(|c| c.sha256.as_str())
            .or(listing.map(|l| l.sha256.as_str()))
            .unwrap_or("");
        let title = l.map(|l| l.title.as_str()).unwrap_or("");
        let signals: Vec<String> = f
            .signals
            .iter()
            .map(|s| format!("{} ({:+.2}): {}", s.kind.as_str(), s.weight, s.detail))
            .collect();
        let mut facts = if signals.is_empty() {
            format!(
                "Listing {} titled {:?} (SHA-256 {sha}) was named as infringing the registered \
                 mark {}.",
                f.listing_id, title, f.mark,
            )
        } else {
            format!(
                "Listing {} titled {:?} (SHA-256 {sha}) was matched against the registered mark {} \
                 with score {:.3}; evidence: {}.",
                f.listing_id,
                title,
                f.mark,
                f.score,
                signals.join("; "),
            )
        };
        for n in &f.notices {
            facts.push_str(&format!(" Notice {} from {} named it.", n.id, n.notifier));
        }
        facts.push_str(" A reviewer confirmed the infringement.");
        let explanation = match decision {
            DecisionType::Removal => format!(
                "The listing offers goods under a sign identical or confusingly similar to the \
                 mark {} without the owner's consent; it was removed.",
                f.mark
            ),
            DecisionType::Reinstatement => format!(
                "After a counter-notice the listing was reinstated: the restriction decided \
                 earlier on the ground of the mark {} no longer applies.",
                f.mark
            ),
        };
        let received = listing
            .map(|l| l.received_at.as_str())
            .or(seen.map(|c| c.received_at.as_str()))
            .unwrap_or(f.created_at.as_str());
        // A notice is where the information came from; a trusted flagger's
        // outranks a plain Article 16 notice, which outranks the matcher.
        let source = if f.notices.iter().any(|n| n.source == Source::TrustedFlagger) {
            Source::TrustedFlagger
        } else if f.notices.is_empty() {
            Source::Voluntary
        } else {
            Source::Article16
        };
        let source_identity = (source != Source::Voluntary).then(|| {
            f.notices
                .iter()
                .filter(|n| n.source == source)
                .map(|n| format!("{} (notice {})", n.notifier, n.id))
                .collect::<Vec<_>>()
                .join("; ")
        });
        Some(Statement {
            puid: format!("markhound-{}-{}", f.id, f.version),
            finding_id: f.id.clone(),
            decision,
            territorial_scope: EEA.iter().map(|c| (*c).to_owned()).collect(),
            end_date: None,
            facts,
            source,
            source_identity,
            // A finding only a notice names was not detected by the matcher.
            automated_detection: !f.signals.is_empty(),
            automated_decision: false,
            legal_ground: LEGAL_GROUND.to_owned(),
            explanation,
            redress: REDRESS.to_owned(),
            url: l.and_then(|l| l.url.clone()),
            content_date: date_of(received),
            decided_at: f.updated_at.clone(),
            actor: actor.to_owned(),
        })
    }

    /// The statement in the Transparency Database's submission schema.
    pub fn submission(&self) -> Value {
        let mut v = json!({
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": clip(&self.legal_ground, 500),
            "illegal_content_explanation": clip(&format!("{} {}", self.explanation, self.redress), 2000),
            "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
            "category_specification": ["KEYWORD_TRADEMARK_INFRINGEMENT"],
            "content_type": ["CONTENT_TYPE_PRODUCT"],
            "territorial_scope": self.territorial_scope,
            "content_date": self.content_date,
            "application_date": date_of(&self.decided_at),
            "end_date_visibility_restriction": self.end_date,
            "decision_facts": clip(&self.facts, 5000),
            "source_type": self.source,
            "automated_detection": if self.automated_detection { "Yes" } else { "No" },
            "automated_decision": if self.automated_decision {
                "AUTOMATED_DECISION_FULLY"
            } else {
                "AUTOMATED_DECISION_NOT_AUTOMATED"
            },
            "puid": self.puid,
        });
        match self.decision {
            DecisionType::Removal => {
                v["decision_visibility"] = json!(["DECISION_VISIBILITY_CONTENT_REMOVED"]);
            }
            DecisionType::Reinstatement => {
                v["decision_visibility"] = json!(["DECISION_VISIBILITY_OTHER"]);
                v["decision_visibility_other"] =
                    "Reinstated after a counter-notice (restriction lifted)".into();
            }
        }
        if let Some(id) = &self.source_identity {
            v["source_identity"] = clip(id, 500).into();
        }
        if let Some(url) = &self.url {
            v["url"] = clip(url, 500).into();
        }
        v
    }
}

/// `YYYY-MM-DD` of an RFC 3339 time (its first ten characters).
fn date_of(at: &str) -> String {
    at.chars().take(10).collect()
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The statements as CSV, one row each, in the Transparency Database's field
/// names; list fields joined with `;`.
pub fn statements_csv(statements: &[Statement]) -> Result<String, ReviewError> {
    const COLUMNS: [&str; 20] = [
        "puid",
        "decision_visibility",
        "decision_visibility_other",
        "decision_ground",
        "illegal_content_legal_ground",
        "illegal_content_explanation",
        "category",
        "category_specification",
        "content_type",
        "territorial_scope",
        "content_date",
        "application_date",
        "end_date_visibility_restriction",
        "decision_facts",
        "source_type",
        "source_identity",
        "automated_detection",
        "automated_decision",
        "url",
        "finding_id",
    ];
    let csv_error = |e: csv::Error| ReviewError::BadInput(format!("cannot write the CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_error)?;
    for s in statements {
        let v = s.submission();
        let row: Vec<String> = COLUMNS
            .iter()
            .map(|c| {
                let text = match (c, &v[*c]) {
                    (&"finding_id", _) => s.finding_id.clone(),
                    (_, Value::String(t)) => t.clone(),
                    (_, Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(";"),
                    _ => String::new(),
                };
                csv_cell(&text)
            })
            .collect();
        w.write_record(&row).map_err(csv_error)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReviewError::BadInput(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ReviewError::BadInput(format!("CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Signal, SignalKind};

    fn finding(title_signal: &str) -> FindingRecord {
        FindingRecord {
            id: "f1".into(),
            listing_id: "L1".into(),
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score: 0.8,
            signals: vec![Signal {
                kind: SignalKind::TitleExact,
                detail: title_signal.into(),
                weight: 0.6,
                photo: None,
                region: None,
                text: None,
            }],
            state: State::Removed,
            version: 6,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-02-03T04:05:06.000Z".into(),
            seller_id: None,
            marketplace: None,
            spans: Vec::new(),
            relist_of: None,
            relist_rule: None,
            confirmed: None,
            suppressed: None,
            source: Default::default(),
            notices: Vec::new(),
            claim: None,
            flood_group: None,
        }
    }

    #[test]
    fn only_removals_and_reinstatements_take_a_statement() {
        let f = finding("x");
        assert!(Statement::for_decision(&f, State::Confirmed, None, "r").is_none());
        let s = Statement::for_decision(&f, State::Removed, None, "r").unwrap();
        let v = s.submission();
        assert_eq!(
            v["decision_visibility"][0],
            "DECISION_VISIBILITY_CONTENT_REMOVED"
        );
        assert_eq!(v["application_date"], "2026-02-03");
        assert_eq!(v["puid"], "markhound-f1-6");
        assert_eq!(v["source_type"], "SOURCE_VOLUNTARY");
        let r = Statement::for_decision(&f, State::Reinstated, None, "r").unwrap();
        assert_eq!(
            r.submission()["decision_visibility"][0],
            "DECISION_VISIBILITY_OTHER"
        );
    }

    #[test]
    fn csv_cells_are_escaped() {
        let mut s = Statement::for_decision(&finding("x"), State::Removed, None, "r").unwrap();
        s.facts = "=HYPERLINK(\"http://x\")".into();
        let csv = statements_csv(&[s]).unwrap();
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        assert!(csv.starts_with("puid,decision_visibility,"), "{csv}");
    }
}
