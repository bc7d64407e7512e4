//! Evidence kept in the store: the raw bodies of crawled pages (zstd-compressed,
//! keyed by their SHA-256) and thumbnails of listing photos (keyed by the SHA-256 of
//! the original), so that reports and the review UI show what was seen after the
//! shop has changed or taken it down.

use super::{Store, StoreError};
use crate::db::trees::BODIES;

/// zstd level for stored bodies: fast, and HTML compresses well at any level.
const ZSTD_LEVEL: i32 = 3;

/// A body compressed for [`BODIES`].
pub(super) fn pack(url: &str, body: &[u8]) -> Result<Vec<u8>, StoreError> {
    zstd::encode_all(body, ZSTD_LEVEL).map_err(|source| StoreError::Compress {
        url: url.to_owned(),
        source,
    })
}

/// A body of [`BODIES`] decompressed.
pub(super) fn unpack(sha256: &str, packed: &[u8]) -> Result<Vec<u8>, StoreError> {
    zstd::decode_all(packed).map_err(|e| StoreError::Corrupt {
        tree: BODIES,
        key: sha256.to_owned(),
        reason: e.to_string(),
    })
}

impl Store {
    /// The thumbnail (JPEG) of the listing photo whose original has this SHA-256.
    pub fn photo(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.photos.get(sha256)?.map(|v| v.to_vec()))
    }
}
