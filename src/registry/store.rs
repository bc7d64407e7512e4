//! The registry's storage: marks in one sled tree, keyed by id, next to a version
//! counter that every change bumps in the same atomic write. One import file is one
//! atomic batch, so a crash leaves either the old or the new marks of that file.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::bank::Bank;
use super::export::{self, ExportFormat};
use super::import::{parse_file, Format, ImportError};
use super::model::Mark;
use super::validate::MAX_TERMS;

/// The sled tree holding the registry.
pub use crate::db::trees::REGISTRY as TREE;

/// Key prefix of marks: `mark/ID`, so a prefix scan yields them sorted by id.
const MARK_PREFIX: &[u8] = b"mark/";

/// Key of the registry version, a big-endian u64.
const VERSION_KEY: &[u8] = b"version";

/// Key prefix of feedback banks: `bank/ID` (JSON [`Bank`]), kept apart from the
/// marks so that a reviewer's decision does not change the registry version.
const BANK_PREFIX: &[u8] = b"bank/";

/// Errors of the registry store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The database failed.
    #[error("registry database error")]
    Db(#[from] sled::Error),
    /// A stored mark cannot be decoded (the database was damaged or written by
    /// an incompatible program).
    #[error("stored mark `{id}` cannot be decoded")]
    Corrupt {
        /// The mark's id.
        id: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The stored version counter is not 8 bytes.
    #[error("the stored registry version is damaged ({len} bytes instead of 8)")]
    BadVersion {
        /// Its length.
        len: usize,
    },
    /// A mark could not be encoded for storage.
    #[error("cannot encode mark `{id}`")]
    Encode {
        /// The mark's id.
        id: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// There is no mark with this id.
    #[error("there is no mark `{id}` in the registry")]
    NoMark {
        /// The id asked for.
        id: String,
    },
    /// The import would take the registry past [`MAX_TERMS`] names and aliases.
    #[error(
        "the registry would hold {terms} names and aliases; at most {max} are allowed \
         (remove marks or aliases first)",
        max = MAX_TERMS
    )]
    TooManyTerms {
        /// Names and aliases after the import.
        terms: usize,
    },
    /// The export could not be written.
    #[error("cannot export the registry")]
    Export(#[from] export::ExportError),
}

/// What an import did to the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Marks read from the file.
    pub marks: usize,
    /// Marks that were not in the registry.
    pub added: usize,
    /// Marks that replaced a different stored version.
    pub updated: usize,
    /// Marks identical to the stored ones.
    pub unchanged: usize,
    /// The registry version after the import.
    pub version: u64,
}

/// The trademark registry on a database.
#[derive(Debug, Clone)]
pub struct Registry {
    tree: sled::Tree,
}

impl Registry {
    /// Opens the registry's tree on `db` (see [`crate::db::open`]).
    pub fn open(db: &sled::Db) -> Result<Registry, RegistryError> {
        Ok(Registry {
            tree: db.open_tree(TREE)?,
        })
    }

    /// Imports every mark of one file, all or nothing: upserts by id, and stores
    /// nothing when any record is bad.
    pub fn import_file(&self, path: &Path) -> Result<ImportSummary, ImportError> {
        let marks = parse_file(path)?;
        tracing::debug!(path = %path.display(), marks = marks.len(), "file read and checked");
        let summary = self.upsert(&marks).map_err(|source| ImportError::Store {
            path: path.to_owned(),
            source,
        })?;
        tracing::debug!(path = %path.display(), version = summary.version, "marks stored");
        Ok(summary)
    }

    /// Imports files and folders (every file of a known extension below a folder, in
    /// sorted order), each file on its own: one bad file does not stop the others. A
    /// failing database (a full disk) stops the import at that file.
    pub fn import_paths(
        &self,
        paths: &[PathBuf],
    ) -> Vec<(PathBuf, Result<ImportSummary, ImportError>)> {
        let mut results = Vec::new();
        for path in paths {
            if !path.is_dir() {
                results.push((path.clone(), self.import_file(path)));
                if stopped(&results) {
                    return results;
                }
                continue;
            }
            let before = results.len();
            let walk = WalkDir::new(path).sort_by_file_name();
            for entry in walk {
                match entry {
                    Ok(entry) => {
                        let file = entry.path();
                        if entry.file_type().is_file() && Format::from_path(file).is_some() {
                            results.push((file.to_owned(), self.import_file(file)));
                            if stopped(&results) {
                                return results;
                            }
                        }
                    }
                    Err(err) => {
                        let at = err.path().unwrap_or(path).to_owned();
                        let source = err
                            .into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("file system loop"));
                        results.push((at.clone(), Err(ImportError::Read { path: at, source })));
                    }
                }
            }
            if results.len() == before {
                let err = ImportError::EmptyFolder { path: path.clone() };
                results.push((path.clone(), Err(err)));
            }
        }
        results
    }

    /// Stores marks already read and checked ([`super::parse_sent`]), as an import
    /// of one file: all or nothing.
    pub fn import_marks(&self, marks: &[Mark]) -> Result<ImportSummary, RegistryError> {
        self.upsert(marks)
    }

    /// Stores validated marks in one atomic batch, bumping the version if anything
    /// changed, then flushes to disk.
    fn upsert(&self, marks: &[Mark]) -> Result<ImportSummary, RegistryError> {
        self.check_terms(marks)?;
        // A mark is stored without its bank; a bank given with it replaces the
        // stored one, a mark given without one keeps it.
        let encoded = marks
            .iter()
            .map(|mark| {
                let bare = Mark {
                    bank: Bank::default(),
                    ..mark.clone()
                };
                let value = serde_json::to_vec(&bare).map_err(|source| RegistryError::Encode {
                    id: mark.id.clone(),
                    source,
                })?;
                Ok((mark_key(&mark.id), value))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        let banks = marks
            .iter()
            .filter(|m| !m.bank.is_empty())
            .map(|m| {
                let value =
                    serde_json::to_vec(&m.bank).map_err(|source| RegistryError::Encode {
                        id: m.id.clone(),
                        source,
                    })?;
                Ok((bank_key(&m.id), value))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        let summary = self
            .tree
            .transaction(|tx| {
                let mut summary = ImportSummary {
                    marks: encoded.len(),
                    ..ImportSummary::default()
                };
                let mut batch = sled::Batch::default();
                let mut banks_changed = false;
                for (key, value) in &banks {
                    if tx.get(key)?.as_deref() != Some(value.as_slice()) {
                        banks_changed = true;
                        batch.insert(key.as_slice(), value.as_slice());
                    }
                }
                for (key, value) in &encoded {
                    match tx.get(key)? {
                        Some(old) if old == value.as_slice() => summary.unchanged += 1,
                        old => {
                            if old.is_some() {
                                summary.updated += 1;
                            } else {
                                summary.added += 1;
                            }
                            batch.insert(key.as_slice(), value.as_slice());
                        }
                    }
                }
                summary.version = decode_version(tx.get(VERSION_KEY)?)
                    .map_err(sled::transaction::ConflictableTransactionError::Abort)?;
                if summary.added + summary.updated > 0 {
                    summary.version += 1;
                    batch.insert(VERSION_KEY, &summary.version.to_be_bytes());
                }
                if summary.added + summary.updated > 0 || banks_changed {
                    tx.apply_batch(&batch)?;
                }
                Ok(summary)
            })
            .map_err(transaction_error)?;
        tracing::debug!("batch applied, flushing");
        self.tree.flush()?;
        Ok(summary)
    }

    /// Refuses an import that would take the registry past [`MAX_TERMS`]: counts the
    /// names and aliases of the stored marks the import does not replace, plus its own.
    fn check_terms(&self, marks: &[Mark]) -> Result<(), RegistryError> {
        let terms_of = |mark: &Mark| 1 + mark.aliases.len();
        let incoming: usize = marks.iter().map(terms_of).sum();
        if incoming > MAX_TERMS {
            return Err(RegistryError::TooManyTerms { terms: incoming });
        }
        let replaced: std::collections::HashSet<&str> =
            marks.iter().map(|m| m.id.as_str()).collect();
        let mut terms = incoming;
        for mark in self.marks()? {
            if !replaced.contains(mark.id.as_str()) {
                terms += terms_of(&mark);
            }
        }
        if terms > MAX_TERMS {
            return Err(RegistryError::TooManyTerms { terms });
        }
        Ok(())
    }

    /// Every mark with its bank, sorted by id.
    pub fn marks(&self) -> Result<Vec<Mark>, RegistryError> {
        self.tree
            .scan_prefix(MARK_PREFIX)
            .map(|entry| {
                let (key, value) = entry?;
                let mut mark = decode_mark(&key[MARK_PREFIX.len()..], &value)?;
                mark.bank = self.bank(&mark.id)?;
                Ok(mark)
            })
            .collect()
    }

    /// The mark with this id and its bank, if any.
    pub fn get(&self, id: &str) -> Result<Option<Mark>, RegistryError> {
        let Some(value) = self.tree.get(mark_key(id))? else {
            return Ok(None);
        };
        let mut mark = decode_mark(id.as_bytes(), &value)?;
        mark.bank = self.bank(id)?;
        Ok(Some(mark))
    }

    /// The feedback bank of mark `id` (empty when nothing was banked).
    pub fn bank(&self, id: &str) -> Result<Bank, RegistryError> {
        match self.tree.get(bank_key(id))? {
            None => Ok(Bank::default()),
            Some(value) => {
                serde_json::from_slice(&value).map_err(|source| RegistryError::Corrupt {
                    id: format!("{id} (its bank)"),
                    source,
                })
            }
        }
    }

    /// Changes the bank of mark `id` with `change` atomically (a concurrent
    /// change is retried), flushes, and answers what `change` answered with the
    /// bank as stored. The registry version stays: banks act from the next
    /// listing on, they do not make every stored listing match again.
    pub fn update_bank<T>(
        &self,
        id: &str,
        change: impl Fn(&mut Bank) -> T,
    ) -> Result<(T, Bank), RegistryError> {
        if self.tree.get(mark_key(id))?.is_none() {
            return Err(RegistryError::NoMark { id: id.to_owned() });
        }
        let key = bank_key(id);
        loop {
            let old = self.tree.get(&key)?;
            let mut bank: Bank = match &old {
                None => Bank::default(),
                Some(v) => serde_json::from_slice(v).map_err(|source| RegistryError::Corrupt {
                    id: format!("{id} (its bank)"),
                    source,
                })?,
            };
            let answer = change(&mut bank);
            let value = serde_json::to_vec(&bank).map_err(|source| RegistryError::Encode {
                id: id.to_owned(),
                source,
            })?;
            if self.tree.compare_and_swap(&key, old, Some(value))?.is_ok() {
                self.tree.flush()?;
                return Ok((answer, bank));
            }
        }
    }

    /// Removes a mark; `false` when there was none with this id.
    pub fn remove(&self, id: &str) -> Result<bool, RegistryError> {
        let key = mark_key(id);
        let removed = self
            .tree
            .transaction(|tx| {
                if tx.remove(key.as_slice())?.is_none() {
                    return Ok(false);
                }
                tx.remove(bank_key(id))?;
                let version = decode_version(tx.get(VERSION_KEY)?)
                    .map_err(sled::transaction::ConflictableTransactionError::Abort)?;
                tx.insert(VERSION_KEY, &(version + 1).to_be_bytes())?;
                Ok(true)
            })
            .map_err(transaction_error)?;
        self.tree.flush()?;
        Ok(removed)
    }

    /// The whole registry in an import format; importing it back changes nothing.
    pub fn export(&self, format: ExportFormat) -> Result<String, RegistryError> {
        Ok(export::render(&self.marks()?, format)?)
    }

    /// The registry version: 0 for a registry never changed, bumped by every import
    /// or removal that alters marks. Findings record the version they were computed
    /// against.
    pub fn version(&self) -> Result<u64, RegistryError> {
        decode_version(self.tree.get(VERSION_KEY)?)
    }
}

/// Whether the last import failed in the database (see
/// [`ImportError::is_storage_failure`]): the files after it are not tried.
fn stopped(results: &[(PathBuf, Result<ImportSummary, ImportError>)]) -> bool {
    results
        .last()
        .is_some_and(|(_, r)| r.as_ref().is_err_and(ImportError::is_storage_failure))
}

fn mark_key(id: &str) -> Vec<u8> {
    [MARK_PREFIX, id.as_bytes()].concat()
}

fn bank_key(id: &str) -> Vec<u8> {
    [BANK_PREFIX, id.as_bytes()].concat()
}

fn decode_mark(id: &[u8], value: &[u8]) -> Result<Mark, RegistryError> {
    serde_json::from_slice(value).map_err(|source| RegistryError::Corrupt {
        id: String::from_utf8_lossy(id).into_owned(),
        source,
    })
}

fn decode_version(value: Option<sled::IVec>) -> Result<u64, RegistryError> {
    match value {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| RegistryError::BadVersion { len: bytes.len() }),
    }
}

fn transaction_error(err: sled::transaction::TransactionError<RegistryError>) -> RegistryError {
    match err {
        sled::transaction::TransactionError::Abort(err) => err,
        sled::transaction::TransactionError::Storage(err) => RegistryError::Db(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::model::Money;

    fn temp_registry() -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        (dir, Registry::open(&db).unwrap())
    }

    fn mark(id: &str, name: &str) -> Mark {
        Mark {
            id: id.into(),
            name: name.into(),
            ..Mark::default()
        }
    }

    #[test]
    fn an_import_past_the_term_cap_is_refused_and_changes_nothing() {
        let (_dir, registry) = temp_registry();
        let aliases = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>();
        let mut big = mark("big", "Big");
        big.aliases = aliases(MAX_TERMS / 2 - 1);
        registry.upsert(&[big.clone()]).unwrap();
        let mut other = mark("other", "Other");
        other.aliases = aliases(MAX_TERMS / 2);
        let err = registry.upsert(&[other.clone()]).unwrap_err();
        assert!(
            matches!(err, RegistryError::TooManyTerms { terms } if terms == MAX_TERMS + 1),
            "{err}"
        );
        assert_eq!(registry.version().unwrap(), 1);
        assert!(registry.get("other").unwrap().is_none());
        // Replacing a mark counts its new terms instead of its old ones.
        big.aliases.clear();
        registry.upsert(&[big, other]).unwrap();
    }

    #[test]
    fn upsert_counts_changes_and_bumps_the_version_only_on_change() {
        let (_dir, registry) = temp_registry();
        assert_eq!(registry.version().unwrap(), 0);
        let first = registry.upsert(&[mark("b", "B"), mark("a", "A")]).unwrap();
        assert_eq!((first.added, first.version), (2, 1));
        let again = registry.upsert(&[mark("b", "B"), mark("a", "A")]).unwrap();
        assert_eq!((again.unchanged, again.version), (2, 1));
        let mut changed = mark("a", "A");
        changed.min_price = Some(Money {
            amount: 1.5,
            currency: "EUR".into(),
        });
        let third = registry.upsert(&[changed.clone()]).unwrap();
        assert_eq!((third.updated, third.version), (1, 2));
        let ids: Vec<String> = registry
            .marks()
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(registry.get("a").unwrap(), Some(changed));
        assert_eq!(registry.get("zzz").unwrap(), None);
    }

    #[test]
    fn remove_bumps_the_version_only_when_something_went() {
        let (_dir, registry) = temp_registry();
        registry.upsert(&[mark("a", "A")]).unwrap();
        assert!(!registry.remove("nope").unwrap());
        assert_eq!(registry.version().unwrap(), 1);
        assert!(registry.remove("a").unwrap());
        assert_eq!(registry.version().unwrap(), 2);
        assert!(registry.marks().unwrap().is_empty());
    }

    #[test]
    fn a_damaged_version_is_an_error_not_a_panic() {
        let (_dir, registry) = temp_registry();
        registry.tree.insert(VERSION_KEY, &[1, 2, 3]).unwrap();
        assert!(matches!(
            registry.version(),
            Err(RegistryError::BadVersion { len: 3 })
        ));
        registry.tree.insert(mark_key("x"), &b"{"[..]).unwrap();
        assert!(matches!(
            registry.marks(),
            Err(RegistryError::Corrupt { .. })
        ));
    }
}
