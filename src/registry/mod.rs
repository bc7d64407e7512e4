//! The trademark registry: the mark model, import and export in TOML, JSON, JSON lines
//! and CSV, and the sled store.

mod model;

pub use model::{ImageRef, Mark, Money, Registration};
