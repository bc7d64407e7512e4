//! The bundled sample: listings of a fictional marketplace for the fictional marks
//! of `trademarks/`, used by `markhound demo` and the tests.
//!
//! The listings are a realistic mix: counterfeits (misspelt, look-alike letters,
//! full-width and dotted names, Chinese names and pinyin, code words, prices far below
//! the floor), genuine listings by authorised sellers, referential accessories ("case
//! for ..."), and unrelated products. Each id says what the listing is (`fake-`,
//! `genuine-`, `ref-`, `other-`), so a test can check the ranking. [`server`] serves
//! them as a small marketplace that `markhound demo` crawls.

pub mod server;

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::listing::Listing;

/// The bundled sample registry (`trademarks/`: marks.toml and its images), compiled
/// into the binary so that `markhound demo` works from any folder.
static BUNDLED_REGISTRY: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/trademarks");

/// The sample listings, one JSON object per line.
pub const SAMPLE_LISTINGS: &str = include_str!("listings.jsonl");

/// What a sample listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A counterfeit: must rank above everything else.
    Counterfeit,
    /// A genuine listing by an authorised seller.
    Genuine,
    /// An accessory that names a mark to say what it fits.
    Referential,
    /// Unrelated to any mark.
    Unrelated,
}

/// The kind of a sample listing, from its id.
pub fn kind_of(id: &str) -> Option<Kind> {
    match id.split('-').next()? {
        "fake" => Some(Kind::Counterfeit),
        "genuine" => Some(Kind::Genuine),
        "ref" => Some(Kind::Referential),
        "other" => Some(Kind::Unrelated),
        _ => None,
    }
}

/// The parsed sample listings.
pub fn sample_listings() -> Vec<Listing> {
    SAMPLE_LISTINGS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("the bundled sample listings are valid"))
        .collect()
}

/// Writes the bundled sample registry (the `trademarks/` folder markhound was built
/// with) into `dir`, replacing files of the same names, and returns the folder to
/// import (`dir` itself).
pub fn write_bundled_registry(dir: &Path) -> std::io::Result<PathBuf> {
    fn write(d: &Dir<'_>, root: &Path) -> std::io::Result<()> {
        for file in d.files() {
            let path = root.join(file.path());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, file.contents())?;
        }
        for sub in d.dirs() {
            write(sub, root)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    write(&BUNDLED_REGISTRY, dir)?;
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_registry_is_written_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = write_bundled_registry(&dir.path().join("trademarks")).unwrap();
        let marks = std::fs::read(root.join("marks.toml")).unwrap();
        assert_eq!(
            marks,
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("trademarks/marks.toml"))
                .unwrap()
        );
        assert!(root.join("images/brumaq-logo.png").is_file());
    }

    #[test]
    fn every_sample_listing_parses_and_has_a_kind() {
        let listings = sample_listings();
        assert!(listings.len() >= 30);
        for l in &listings {
            assert!(kind_of(&l.id).is_some(), "{}", l.id);
        }
    }
}
