//! Database opening and schema versioning. Every part of markhound stores its data
//! in trees of one sled database; this module opens it and refuses a database written
//! by a newer markhound, whose layout this one cannot know.

use std::path::{Path, PathBuf};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

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

/// Opens (or creates) the database at `path`. A fresh database gets the current
/// schema version; one of a newer schema is refused.
pub fn open(path: &Path) -> Result<sled::Db, DbError> {
    let open_error = |source| DbError::Open {
        path: path.to_owned(),
        source,
    };
    let db = sled::Config::new().path(path).open().map_err(open_error)?;
    check_schema(&db, path)?;
    Ok(db)
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
            // Older schemas would be migrated here; version 1 is the first.
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
    fn newer_or_damaged_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = open(&path).unwrap();
        db.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        let err = check_schema(&db, &path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, DbError::NewerSchema { found: 2, .. }));
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("version 2") && message.contains("version 1"));

        db.insert(SCHEMA_KEY, &b"x"[..]).unwrap();
        assert!(matches!(
            check_schema(&db, &path),
            Err(DbError::BadSchema { len: 1, .. })
        ));
    }
}
