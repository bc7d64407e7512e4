//! The pipeline's census of declared brands ([`crate::text::census`]): counted from
//! every listing the pipeline matches, kept in memory for matching and in the
//! database (when the pipeline has one) so that the next process starts from it.

use std::sync::RwLock;

use crate::listing::Listing;
use crate::text::brands::brand_key;
use crate::text::census::{declarer, BrandCensus, DeclaredBrands};

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
            let (key, _) = entry?;
            // BRAND_KEY 0x00 DECLARER: brand keys are folded text, never NUL.
            let Some(split) = key.len().checked_sub(9).filter(|&i| key[i] == 0) else {
                continue;
            };
            let Ok(brand) = std::str::from_utf8(&key[..split]) else {
                continue;
            };
            let mut id = [0u8; 8];
            id.copy_from_slice(&key[split + 1..]);
            memory.add_key(brand, u64::from_be_bytes(id));
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
            if let Some(tree) = &self.tree {
                let mut k = Vec::with_capacity(key.len() + 9);
                k.extend_from_slice(key.as_bytes());
                k.push(0);
                k.extend_from_slice(&id.to_be_bytes());
                if let Err(e) = tree.insert(k, &[][..]) {
                    tracing::warn!("the brand census could not record {key:?}: {e}");
                }
            }
        }
    }

    /// Runs `f` with the census as counted so far.
    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn BrandCensus) -> T) -> T {
        let memory = self.memory.read().unwrap_or_else(|p| p.into_inner());
        f(&*memory)
    }
}
