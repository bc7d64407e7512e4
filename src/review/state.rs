//! The review workflow as a state machine: which states a finding can be in and
//! which moves between them a reviewer may make. Kept apart from storage so the
//! rules read in one place and are tested without a database.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a finding stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Just found; nobody has looked at it.
    New,
    /// A reviewer is looking at it.
    InReview,
    /// A reviewer judged it an infringement.
    Confirmed,
    /// A reviewer judged it no infringement.
    Dismissed,
    /// A dismissed finding taken up again.
    Reopened,
    /// A takedown notice went to the marketplace.
    NoticeSent,
    /// The marketplace removed the listing.
    Removed,
    /// The marketplace put the listing back (e.g. after a counter-notice).
    Reinstated,
    /// Held out of the queue with its flood group: one term, alias or reference
    /// image suddenly matched far more listings than before (see
    /// [`crate::store::FloodGroup`]); a reviewer releases or rejects the group.
    Held,
}

/// Every state, in workflow order (`held` last: the index of states keys on the
/// position, so new states go at the end).
pub const ALL_STATES: [State; 9] = [
    State::New,
    State::InReview,
    State::Confirmed,
    State::Dismissed,
    State::Reopened,
    State::NoticeSent,
    State::Removed,
    State::Reinstated,
    State::Held,
];

impl State {
    /// The state's name in JSON and URLs (`in_review`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::InReview => "in_review",
            State::Confirmed => "confirmed",
            State::Dismissed => "dismissed",
            State::Reopened => "reopened",
            State::NoticeSent => "notice_sent",
            State::Removed => "removed",
            State::Reinstated => "reinstated",
            State::Held => "held",
        }
    }

    /// The states a finding may move to from this one.
    pub fn next(self) -> &'static [State] {
        match self {
            State::New => &[State::InReview],
            State::InReview => &[State::Confirmed, State::Dismissed],
            State::Confirmed => &[State::NoticeSent],
            State::Dismissed => &[State::Reopened],
            State::Reopened => &[State::InReview],
            State::NoticeSent => &[State::Removed, State::Reinstated],
            // A removed listing the marketplace puts back after a counter-notice.
            State::Removed => &[State::Reinstated],
            State::Reinstated => &[],
            // A flood group released to the queue, or rejected.
            State::Held => &[State::New, State::Dismissed],
        }
    }

    /// Whether `self → to` is a move of the workflow.
    pub fn can_move_to(self, to: State) -> bool {
        self.next().contains(&to)
    }

    /// Whether the finding still waits for a reviewer's decision (the queue).
    pub fn is_open(self) -> bool {
        matches!(self, State::New | State::InReview | State::Reopened)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a state.
#[derive(Debug, thiserror::Error)]
#[error("unknown state {0:?}; expected one of new, in_review, confirmed, dismissed, reopened, notice_sent, removed, reinstated, held")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<State, UnknownState> {
        ALL_STATES
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_allows_exactly_the_documented_moves() {
        let allowed = [
            ("new", "in_review"),
            ("in_review", "confirmed"),
            ("in_review", "dismissed"),
            ("confirmed", "notice_sent"),
            ("notice_sent", "removed"),
            ("notice_sent", "reinstated"),
            ("removed", "reinstated"),
            ("dismissed", "reopened"),
            ("reopened", "in_review"),
            ("held", "new"),
            ("held", "dismissed"),
        ];
        for from in ALL_STATES {
            for to in ALL_STATES {
                let expected = allowed.contains(&(from.as_str(), to.as_str()));
                assert_eq!(from.can_move_to(to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for st in ALL_STATES {
            assert_eq!(st.as_str().parse::<State>().unwrap(), st);
            assert_eq!(
                serde_json::to_string(&st).unwrap(),
                format!("\"{}\"", st.as_str())
            );
        }
        let err = "done".parse::<State>().unwrap_err();
        assert!(err.to_string().contains("\"done\""));
    }
}
