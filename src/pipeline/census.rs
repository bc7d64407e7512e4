//! The pipeline's census of declared brands and title spellings
//! ([`crate::text::census`]): counted from
//! every listing the pipeline matches, kept in memory for matching and in the
//! database (when the pipeline has one) so that the next process starts from it.

use std::sync::RwLock;

use crate::listing::Listing;
use crate::text::brands::brand_key;
use crate::text::census::{declarer, BrandCensus, DeclaredBrands};

/// The byte between a declared brand's key and its declarer in the tree's keys.
const DECLARED: u8 = 0x00;
/// The byte between a title spelling and the seller that writes it.
const SPELLING: u8 = 0x01;

/// Declared brands counted so far, and where they are kept.
#[derive(Debug, Default)]
pub(super) struct Census {
    memory: RwLock<DeclaredBrands>,
    tree: Option<sled::Tree>,
}

impl Census {
    /// The census kept in `db` (empty on a new database).
    pub(super) fn open(db: &sled::Db) -> Result<Census, sled::Error> {
        let tree = db.open_tree(crate::db::trees::BRAND_CENSUS)?;
        let mut memory = DeclaredBrands::new();
        for entry in tree.iter() {
            let (key, value) = entry?;
            // KEY SEPARATOR DECLARER: keys are folded text, never a control
            // character. 0x00 after a declared brand, 0x01 after a title spelling
            // (its value 1 when the declarer declares it, else 0).
            let Some(split) = key.len().checked_sub(9).filter(|&i| key[i] <= SPELLING) else {
                continue;
            };
            let Ok(brand) = std::str::from_utf8(&key[..split]) else {
                continue;
            };
            let mut id = [0u8; 8];
            id.copy_from_slice(&key[split + 1..]);
            let id = u64::from_be_bytes(id);
            if key[split] == DECLARED {
                memory.add_key(brand, id);
            } else {
                memory.add_spelling(brand, id, value.first() == Some(&1));
            }
        }
        Ok(Census {
            memory: RwLock::new(memory),
            tree: Some(tree),
        })
    }

    /// Counts the declared brands of `listings`. Each brand key keeps at most
    /// [`ESTABLISHED_DECLARERS`](crate::text::census::ESTABLISHED_DECLARERS) declarers, so a key is written at most that many
    /// times however many listings declare it. A failed write is logged and the
    /// count kept in memory: the census only ever excuses a misspelling, and the
    /// listings themselves are stored by the store, not here.
    pub(super) fn count<'a>(&self, listings: impl IntoIterator<Item = &'a Listing>) {
        let new: Vec<(String, u64)> = {
            let memory = self.memory.read().unwrap_or_else(|p| p.into_inner());
            listings
                .into_iter()
                .filter_map(|l| {
                    let key = brand_key(l.brand.as_deref()?)?;
                    let id = declarer(
                        l.seller.as_ref().map(|s| s.id.as_str()),
                        l.marketplace.as_deref(),
                    );
                    memory.takes(&key, id).then_some((key, id))
                })
                .collect()
        };
        if new.is_empty() {
            return;
        }
        let mut memory = self.memory.write().unwrap_or_else(|p| p.into_inner());
        for (key, id) in new {
            if !memory.add_key(&key, id) {
                continue;
            }
            self.write(&key, DECLARED, id, &[]);
        }
    }

    /// Counts the title spellings of listings (each: the spelling, the listing's
    /// declarer, whether it declares the spelling as its brand), as
    /// [`Census::count`] counts declared brands.
    pub(super) fn count_spellings(&self, spellings: Vec<(String, u64, bool)>) {
        let new: Vec<(String, u64, bool)> = {
            let memory = self.memory.read().unwrap_or_else(|p| p.into_inner());
            spellings
                .into_iter()
                .filter(|(key, id, declares)| memory.takes_spelling(key, *id, *declares))
                .collect()
        };
        if new.is_empty() {
            return;
        }
        let mut memory = self.memory.write().unwrap_or_else(|p| p.into_inner());
        for (key, id, declares) in new {
            if memory.add_spelling(&key, id, declares) {
                self.write(&key, SPELLING, id, &[u8::from(declares)]);
            }
        }
    }

    /// Stores one count: `key`, the separator byte, the declarer's id.
    fn write(&self, key: &str, separator: u8, id: u64, value: &[u8]) {
        let Some(tree) = &self.tree else { return };
        let mut k = Vec::with_capacity(key.len() + 9);
        k.extend_from_slice(key.as_bytes());
        k.push(separator);
        k.extend_from_slice(&id.to_be_bytes());
        if let Err(e) = tree.insert(k, value) {
            tracing::warn!("the brand census could not record {key:?}: {e}");
        }
    }

    /// Runs `f` with the census as counted so far.
    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn BrandCensus) -> T) -> T {
        let memory = self.memory.read().unwrap_or_else(|p| p.into_inner());
        f(&*memory)
    }
}
