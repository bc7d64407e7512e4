//! Migrations of databases written by older markhound releases, run by
//! [`open`](super::open) before anything else reads the database.
//!
//! Version 1 → 2: version 1 kept crawled listings in `store.listings` (keyed by
//! marketplace and id) with their findings in `store.findings`, apart from the review
//! queue, and named the crawl's trees with dots. Version 2 keeps one store:
//! - each crawled listing becomes a listing of [`LISTINGS`] (keyed by its id) with
//!   its page evidence; it is marked as not matched yet, so the next `scan` matches
//!   it and its findings enter the review queue as `new`. A listing of the review
//!   queue with the same id is kept as it is (its findings and decisions stay);
//! - the findings of `store.findings` are dropped: they were never reviewed, and
//!   the next `scan` computes them again against the current registry;
//! - the bodies and the crawl frontier are copied under their new names.
//!
//! The migration is safe to interrupt: the new trees are written first, then the
//! schema version is stamped, and only then are the old trees dropped. A migration
//! killed before the stamp starts over at the next open (from the untouched old
//! trees); old trees left by a kill after the stamp are dropped at the next open.

use serde_json::{json, Value};

use super::trees::{BODIES, CRAWL_META, CRAWL_QUEUE, CRAWL_URLS, LISTINGS};
use super::{SCHEMA_KEY, SCHEMA_VERSION};

/// Trees of version 1 that version 2 copies under a new name.
const RENAMED_V1: [(&str, &str); 4] = [
    ("store.bodies", BODIES),
    ("crawl.urls", CRAWL_URLS),
    ("crawl.queue", CRAWL_QUEUE),
    ("crawl.meta", CRAWL_META),
];
/// Crawled listings of version 1.
const LISTINGS_V1: &str = "store.listings";
/// Findings of crawled listings of version 1.
const FINDINGS_V1: &str = "store.findings";

/// Why a migration failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The database failed.
    #[error("database error")]
    Db(#[from] sled::Error),
    /// A record of the old layout cannot be read.
    #[error("damaged record in tree {tree} at key {key:?}: {reason}")]
    Damaged {
        /// The tree.
        tree: &'static str,
        /// The key, lossily decoded.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// There is no migration from this version.
    #[error("no migration from schema version {0}")]
    Unknown(u64),
}

/// Migrates `db` from schema version `from` to [`SCHEMA_VERSION`] and stamps it.
pub fn run(db: &sled::Db, from: u64) -> Result<(), MigrateError> {
    match from {
        1 => v1_to_v2(db)?,
        other => return Err(MigrateError::Unknown(other)),
    }
    db.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
    db.flush()?;
    drop_v1_trees(db)?;
    Ok(())
}

/// Drops the trees of version 1 that a migration interrupted after its stamp left
/// behind; a no-op on a database that has none.
pub fn drop_leftovers(db: &sled::Db) -> Result<(), MigrateError> {
    let names = db.tree_names();
    let v1 = [LISTINGS_V1, FINDINGS_V1]
        .into_iter()
        .chain(RENAMED_V1.iter().map(|(old, _)| *old));
    if v1
        .into_iter()
        .any(|name| names.iter().any(|n| n.as_ref() == name.as_bytes()))
    {
        drop_v1_trees(db)?;
    }
    Ok(())
}

fn drop_v1_trees(db: &sled::Db) -> Result<(), MigrateError> {
    for name in [LISTINGS_V1, FINDINGS_V1]
        .into_iter()
        .chain(RENAMED_V1.iter().map(|(old, _)| *old))
    {
        db.drop_tree(name)?;
    }
    db.flush()?;
    Ok(())
}

fn damaged(tree: &'static str, key: &[u8], reason: impl ToString) -> MigrateError {
    MigrateError::Damaged {
        tree,
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.to_string(),
    }
}

fn v1_to_v2(db: &sled::Db) -> Result<(), MigrateError> {
    // A previous attempt may have been killed half way: start the new trees over.
    // The review queue's listings tree is shared with version 1 and not cleared;
    // the listings a previous attempt added to it are written again, identically.
    for (old, new) in RENAMED_V1 {
        let from = db.open_tree(old)?;
        let to = db.open_tree(new)?;
        to.clear()?;
        let mut batch = sled::Batch::default();
        for entry in from.iter() {
            let (k, v) = entry?;
            batch.insert(k, v);
        }
        to.apply_batch(batch)?;
    }
    let old = db.open_tree(LISTINGS_V1)?;
    let listings = db.open_tree(LISTINGS)?;
    let mut batch = sled::Batch::default();
    let mut migrated_ids = std::collections::HashSet::new();
    for entry in old.iter() {
        let (key, value) = entry?;
        let record: Value =
            serde_json::from_slice(&value).map_err(|e| damaged(LISTINGS_V1, &key, e))?;
        let Some(id) = record.pointer("/listing/id").and_then(Value::as_str) else {
            return Err(damaged(LISTINGS_V1, &key, "no listing id"));
        };
        let evidence = record
            .get("evidence")
            .cloned()
            .ok_or_else(|| damaged(LISTINGS_V1, &key, "no evidence"))?;
        if !migrated_ids.insert(id.to_owned()) {
            tracing::warn!(
                "migration: listing id {id:?} was crawled from two marketplaces; the last one is kept"
            );
        }
        let existing = listings.get(id.as_bytes())?;
        let kept_by_queue = match &existing {
            // A listing the review queue already holds (posted by the API)
            // keeps its findings and decisions.
            Some(v) => serde_json::from_slice::<Value>(v)
                .map(|v| v.get("evidence").is_none())
                .unwrap_or(true),
            None => false,
        };
        if kept_by_queue {
            continue;
        }
        let received_at = evidence.get("fetched_at").cloned().unwrap_or(Value::Null);
        let new = json!({
            "listing": record["listing"],
            // Unknown: the next scan matches the listing and stores its hash.
            "sha256": "",
            "received_at": received_at,
            "finding_ids": [],
            "evidence": evidence,
        });
        batch.insert(
            id.as_bytes(),
            serde_json::to_vec(&new).expect("JSON values serialize"),
        );
    }
    listings.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}
