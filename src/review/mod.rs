//! The review queue: findings a reviewer confirms or dismisses, moved through a
//! fixed workflow with an audit log of every change, the takedown notices drafted
//! from confirmed findings, and the API tokens that say who did what.
//!
//! The records live in the one store ([`crate::store`]); the HTTP service lives in
//! [`crate::server`].

mod batch;
mod flood;
mod intake;
mod model;
mod notice;
mod platform;
mod state;
mod statement;
mod token;

pub use batch::{parse_batch, BatchFormat, MAX_BATCH, MAX_BATCH_PHOTOS};
pub use flood::{
    cause_of, group_id, is_flood, FloodGroup, GroupState, Window as FloodWindow, FLOOD_FACTOR,
    FLOOD_MIN_COUNT, FLOOD_SHARE, MIN_HISTORY, MIN_WINDOW, WINDOW as FLOOD_WINDOW,
};
pub use intake::{
    decision_for_notifier, new_notice_id_and_receipt, notice_listing_id, receipt_sha256, url_key,
    with_notices, FindingSource, NoticeItem, NoticeRecord, NoticeRef, NoticeSubmission,
    ARTICLE_16_SCORE, MAX_URLS, NOTIFIER_REDRESS, TRUSTED_FLAGGER_SCORE,
};
pub use model::{
    finding_id, listing_sha256, now, Action, AuditEntry, Claim, ConfirmedListing, FindingRecord,
    SellerSummary, StoredListing,
};
pub use notice::{notice_for, notices_csv};
pub use platform::{
    export as platform_export, item_id, reason as platform_reason, ExportFile, ExportOptions,
    Platform, ALIBABA_BATCH, EBAY_BATCH, EBAY_OTHER_CODE, REASONS,
};
pub use state::{State, UnknownState, ALL_STATES};
pub use statement::{statements_csv, DecisionType, Source, Statement, EEA, LEGAL_GROUND, REDRESS};
pub use token::{token_id, Permission, Role, TokenInfo, TokenRecord, Tokens};

/// What can go wrong in the review queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The database failed.
    #[error("database error")]
    Db(#[from] sled::Error),
    /// A stored record cannot be read.
    #[error("damaged record in {tree} at key {key:?}")]
    Damaged {
        /// The tree.
        tree: &'static str,
        /// The record's key.
        key: String,
        /// Why it cannot be read.
        #[source]
        source: serde_json::Error,
    },
    /// A stored record is not what it should be.
    #[error("damaged record in {tree} at key {key:?}: {reason}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The record's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// There is no such thing.
    #[error("no {0}")]
    NotFound(String),
    /// The caller saw an older version.
    #[error("finding {id} is at version {current}, not {given}; reload it and try again")]
    Stale {
        /// The finding.
        id: String,
        /// Its current version.
        current: u64,
        /// The version the caller named.
        given: u64,
    },
    /// The workflow does not allow this move.
    #[error("finding {id} cannot move from {from} to {to}")]
    NotAllowed {
        /// The finding.
        id: String,
        /// Its state.
        from: State,
        /// The state asked for.
        to: State,
    },
    /// One item of a batch is bad; nothing of the batch was stored.
    #[error("item {index}: {reason}; nothing of the batch was stored")]
    BadItem {
        /// Its 0-based index in the batch.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The request is malformed.
    #[error("{0}")]
    BadInput(String),
    /// A pagination cursor that this service did not hand out.
    #[error("cursor: not a cursor of this service")]
    BadCursor,
    /// A page body could not be compressed for the store.
    #[error("cannot compress the body of {url}")]
    Compress {
        /// The page.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The registry (a mark's feedback bank) failed.
    #[error("cannot update the registry")]
    Registry(#[source] crate::registry::RegistryError),
    /// Another reviewer holds a claim on the finding.
    #[error("finding {id} is claimed by {by} until {until}")]
    Claimed {
        /// The finding.
        id: String,
        /// Who holds the claim.
        by: String,
        /// When it lapses.
        until: String,
    },
    /// A notice was asked for a finding nobody confirmed.
    #[error("finding {id} is {state}; notices are drafted for confirmed findings only")]
    NotConfirmed {
        /// The finding.
        id: String,
        /// Its state.
        state: State,
    },
}
