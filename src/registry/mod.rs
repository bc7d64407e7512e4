//! The trademark registry: the mark model, import and export in TOML, JSON, JSON lines
//! and CSV, and the sled store.
//!
//! Import is all or nothing per file: a file is read and checked in full
//! ([`parse_file`], usable without a database) before anything is written, and every
//! bad record is reported as `FILE:LINE: field: reason`. The checked marks are then
//! stored in one atomic batch ([`Registry::import_file`]).

mod bank;
mod currency;
mod export;
mod images;
mod import;
mod model;
mod problem;
mod store;
mod validate;

pub use bank::{
    term_key, Bank, BankEntry, EntryKind, NewEntry, PositiveHit, Reason, Suppression, Undone,
    UnknownReason, ALL_REASONS, MAX_BANK_ENTRIES,
};
pub use currency::{is_iso_4217, ISO_4217};
pub use export::{render as render_export, ExportError, ExportFormat};
pub use import::{parse_file, parse_sent, parse_str, Format, ImportError};
pub use model::{ImageKind, ImageRef, ImageVariant, Mark, Money, Registration};
pub use problem::Problem;
pub use store::{ImportSummary, Registry, RegistryError, TREE};
pub use validate::{
    check_id, MAX_ALIASES, MAX_AUTHORIZED_SELLERS, MAX_ID_LEN, MAX_IMAGES, MAX_TERMS, MAX_TEXT_LEN,
};
