//! Database opening, tree names and schema versions. Every part of markhound stores
//! its data in trees of one sled database; this module opens it, migrates a database
//! written by an older markhound ([`migrate`]) and refuses one written by a newer
//! markhound, whose layout this one cannot know.
//!
//! Every tree is named in [`trees`], in one style (`part/what`).

mod migrate;

use std::path::{Path, PathBuf};

/// The schema version this build writes and reads. Version 1 kept crawled listings
/// and their findings apart from the review queue (trees `store.*`, `crawl.*`);
/// version 2 keeps every listing and finding in the one store ([`trees`]).
pub const SCHEMA_VERSION: u64 = 2;

/// The name of every tree of the database.
pub mod trees {
    /// The registry: marks by id and the registry version.
    pub const REGISTRY: &str = "registry";
    /// Listings by id (JSON `StoredListing`): every listing, crawled or handed in.
    pub const LISTINGS: &str = "review/listings";
    /// Findings by id (JSON `FindingRecord`).
    pub const FINDINGS: &str = "review/findings";
    /// Audit entries, keyed by finding id then version (big-endian u64).
    pub const AUDIT: &str = "review/audit";
    /// The audit log in the order it was written: a sequence number (big-endian
    /// u64) to the [`AUDIT`] key of the entry.
    pub const AUDIT_LOG: &str = "review/audit_log";
    /// Index for score order: inverted score bits, then finding id.
    pub const BY_SCORE: &str = "review/by_score";
    /// Index of findings by seller then mark: `seller \0 mark \0 finding id`.
    pub const BY_SELLER: &str = "review/by_seller";
    /// Index for one state in score order: the state's number, then as [`BY_SCORE`].
    pub const BY_STATE: &str = "review/by_state";
    /// The photo hashes of removed findings, by mark: `mark \0 finding id` to the
    /// removed listing's id and photo hashes (JSON).
    pub const REMOVED_PHOTOS: &str = "review/removed_photos";
    /// Removed findings by seller and mark: `seller \0 mark \0 finding id`, written
    /// with the move to `removed` and dropped with the move to `reinstated`; what
    /// relisting by seller reads.
    pub const REMOVED_BY_SELLER: &str = "review/removed_by_seller";
    /// Statements of reasons (DSA Article 17) by their `puid` (JSON).
    pub const STATEMENTS: &str = "review/statements";
    /// Flood quarantine: each cause's count of findings (`c\0CAUSE`), its flood
    /// group (`g\0CAUSE`, JSON) and the listings stored (`n`).
    pub const FLOODS: &str = "review/floods";
    /// Notices (DSA Article 16) by id (JSON).
    pub const NOTICES: &str = "review/notices";
    /// Listing URLs (as [`crate::review::url_key`] writes them) to the listing id,
    /// for notices that name listings by URL.
    pub const BY_URL: &str = "review/by_url";
    /// The brands sellers declare: `BRAND_KEY 0x00 DECLARER(8 bytes)` to nothing,
    /// at most two declarers a brand (`text::census`).
    pub const BRAND_CENSUS: &str = "review/brand_census";
    /// API tokens by id (JSON), secrets stored hashed.
    pub const TOKENS: &str = "review/tokens";
    /// Signed-in web sessions by the SHA-256 of their cookie.
    pub const SESSIONS: &str = "ui/sessions";
    /// Raw page bodies of crawled listings: SHA-256 to the zstd-compressed body.
    pub const BODIES: &str = "evidence/bodies";
    /// Listing photos kept as evidence: the original's SHA-256 to a thumbnail
    /// (JPEG, at most [`crate::photos::THUMBNAIL_SIDE`] pixels a side).
    pub const PHOTOS: &str = "evidence/photos";
    /// Every URL of the current crawl: canonical URL to its state (JSON).
    pub const CRAWL_URLS: &str = "crawl/urls";
    /// Queued URLs in order: sequence (big-endian u64) to canonical URL.
    pub const CRAWL_QUEUE: &str = "crawl/queue";
    /// Facts about the current crawl (its targets and limits), JSON by key.
    pub const CRAWL_META: &str = "crawl/meta";
}

/// Key, in the default tree, of the schema version (a big-endian u64).
pub const SCHEMA_KEY: &[u8] = b"markhound/schema-version";

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// sled could not open the database (missing permissions, damaged files, or
    /// another markhound process holding it).
    #[error("cannot open the database {}", path.display())]
    Open {
        /// The database path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: sled::Error,
    },
    /// Another process holds the database (sled allows one at a time).
    #[error(
        "the database {} is in use by {holder}; one process opens a database at a \
         time: stop that process, or while `markhound serve` runs use its API (listings, \
         findings, tokens, registry imports), or pass another --db",
        path.display()
    )]
    Locked {
        /// The database path.
        path: PathBuf,
        /// Which process holds it, as far as it can be told ("another process" when
        /// not).
        holder: String,
    },
    /// There is no database at the path given (only commands that write create
    /// one).
    #[error(
        "there is no database at {}; `markhound registry import` (or crawl, scan, demo) \
         creates one, or pass the right --db",
        path.display()
    )]
    Missing {
        /// The database path.
        path: PathBuf,
    },
    /// The database was written by a newer markhound.
    #[error(
        "the database {} has schema version {found}, but this markhound supports \
         version {supported} at most; use a newer markhound",
        path.display()
    )]
    NewerSchema {
        /// The database path.
        path: PathBuf,
        /// The version found.
        found: u64,
        /// [`SCHEMA_VERSION`].
        supported: u64,
    },
    /// An older database could not be migrated; it is left as it was.
    #[error(
        "cannot migrate the database {} from schema version {from} to {}; it is \
         unchanged, and the markhound that wrote it still opens it",
        path.display(), SCHEMA_VERSION
    )]
    Migrate {
        /// The database path.
        path: PathBuf,
        /// The version found.
        from: u64,
        /// What failed.
        #[source]
        source: migrate::MigrateError,
    },
    /// The stored schema version is not a u64.
    #[error(
        "the database {} has a damaged schema version ({len} bytes instead of 8)",
        path.display()
    )]
    BadSchema {
        /// The database path.
        path: PathBuf,
        /// The length of the stored value.
        len: usize,
    },
}

/// Opens the database at `path`, which must exist: for commands that only read
/// (or that make no sense on an empty database), so that a mistyped `--db` is an
/// error instead of a new, empty database.
pub fn open_existing(path: &Path) -> Result<sled::Db, DbError> {
    if !path.exists() {
        return Err(DbError::Missing {
            path: path.to_owned(),
        });
    }
    open(path)
}

/// Opens (or creates) the database at `path`. A fresh database gets the current
/// schema version; one of a newer schema is refused.
pub fn open(path: &Path) -> Result<sled::Db, DbError> {
    let open_error = |source| DbError::Open {
        path: path.to_owned(),
        source,
    };
    let db = match sled::Config::new().path(path).open() {
        Err(sled::Error::Corruption { .. }) if remove_partial_snapshots(path) > 0 => {
            reopen_after_recovery(path).map_err(open_error)?
        }
        Err(sled::Error::Io(err)) if is_lock_error(&err) => {
            return Err(DbError::Locked {
                path: path.to_owned(),
                holder: holder(path),
            })
        }
        result => result.map_err(open_error)?,
    };
    check_schema(&db, path)?;
    write_holder(path);
    Ok(db)
}

/// The file beside sled's own that names the process holding the database, so that
/// a second process can say who holds it (sled's lock error names no one).
const HOLDER_FILE: &str = "markhound.holder";

fn is_lock_error(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::WouldBlock || err.to_string().contains("acquire lock")
}

/// Records this process as the database's holder: its pid and command line. Best
/// effort: the database works without it, and a stale file is recognised by its pid.
fn write_holder(path: &Path) {
    let command: Vec<String> = std::env::args().collect();
    let text = format!("{}\n{}\n", std::process::id(), command.join(" "));
    if let Err(err) = std::fs::write(path.join(HOLDER_FILE), text) {
        tracing::debug!("cannot record the database's holder: {err}");
    }
}

/// Who holds the database, from [`HOLDER_FILE`]: `process 4242 (markhound serve
/// --bind ...)`, or "another process" when the file is missing or names a process
/// that is gone.
fn holder(path: &Path) -> String {
    let unknown = || "another process".to_owned();
    let Ok(text) = std::fs::read_to_string(path.join(HOLDER_FILE)) else {
        return unknown();
    };
    let mut lines = text.lines();
    let Some(pid) = lines.next().and_then(|p| p.trim().parse::<u32>().ok()) else {
        return unknown();
    };
    // Where /proc exists, a pid that is gone means the file is stale.
    let proc = Path::new("/proc");
    if proc.is_dir() && !proc.join(pid.to_string()).exists() {
        return unknown();
    }
    let command: String = lines
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    format!("process {pid} ({command})")
}

/// Works around a sled 0.34 recovery bug: a process killed while writing a
/// snapshot leaves `snap.*.generating`, which sled then reads as the latest
/// snapshot and reports as corruption forever after. Such a file is by construction
/// incomplete (sled renames it once written and synced) and only caches what the log
/// holds, so removing it is safe. It only runs after sled reported corruption, which
/// means sled got the database's lock, so no other process is writing a snapshot.
/// Returns how many files were removed.
fn remove_partial_snapshots(path: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::warn!(
                        file = %entry.path().display(),
                        "removed a partial snapshot left by an interrupted run"
                    );
                    removed += 1;
                }
                Err(err) => tracing::warn!(
                    file = %entry.path().display(),
                    "cannot remove a partial snapshot: {err}"
                ),
            }
        }
    }
    removed
}

/// Opens again after [`remove_partial_snapshots`]; the failed attempt may hold the
/// lock for a moment after it returned.
fn reopen_after_recovery(path: &Path) -> Result<sled::Db, sled::Error> {
    let mut attempts = 0;
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(err))
                if attempts < 40 && err.to_string().contains("could not acquire lock") =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            result => return result,
        }
    }
}

/// Stamps a fresh database with [`SCHEMA_VERSION`], or checks the stamp of an
/// existing one.
fn check_schema(db: &sled::Db, path: &Path) -> Result<(), DbError> {
    let open_error = |source| DbError::Open {
        path: path.to_owned(),
        source,
    };
    match db.get(SCHEMA_KEY).map_err(open_error)? {
        None => {
            db.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                .map_err(open_error)?;
            db.flush().map_err(open_error)?;
        }
        Some(bytes) => {
            let found = <[u8; 8]>::try_from(bytes.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| DbError::BadSchema {
                    path: path.to_owned(),
                    len: bytes.len(),
                })?;
            if found < SCHEMA_VERSION {
                migrate::run(db, found).map_err(|source| DbError::Migrate {
                    path: path.to_owned(),
                    from: found,
                    source,
                })?;
            }
            if found == SCHEMA_VERSION {
                migrate::drop_leftovers(db).map_err(|source| DbError::Migrate {
                    path: path.to_owned(),
                    from: found,
                    source,
                })?;
            }
            if found > SCHEMA_VERSION {
                return Err(DbError::NewerSchema {
                    path: path.to_owned(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // sled releases its file lock shortly after the last handle drops, so these
    // tests check the schema on one open handle instead of reopening.

    #[test]
    fn fresh_database_gets_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = open(&path).unwrap();
        let stored = db.get(SCHEMA_KEY).unwrap().unwrap();
        assert_eq!(stored.as_ref(), SCHEMA_VERSION.to_be_bytes());
        check_schema(&db, &path).expect("the stamp it wrote is accepted");
    }

    #[test]
    fn partial_snapshots_are_removed_and_the_database_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::create_dir(&path).unwrap();
        // What a kill during sled's snapshot write leaves behind.
        std::fs::write(path.join("snap.0000000000000000.generating"), b"").unwrap();
        assert!(matches!(
            sled::Config::new().path(&path).open(),
            Err(sled::Error::Corruption { .. })
        ));
        let db = open(&path).expect("opens after removing the partial snapshot");
        assert!(db.get(SCHEMA_KEY).unwrap().is_some());
        assert!(!path.join("snap.0000000000000000.generating").exists());
    }

    #[test]
    fn newer_or_damaged_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = open(&path).unwrap();
        db.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        let err = check_schema(&db, &path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, DbError::NewerSchema { found: 3, .. }));
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("version 3") && message.contains("version 2"));

        db.insert(SCHEMA_KEY, &b"x"[..]).unwrap();
        assert!(matches!(
            check_schema(&db, &path),
            Err(DbError::BadSchema { len: 1, .. })
        ));
    }
}
