//! Evidence kept in the store: the raw bodies of crawled pages (zstd-compressed,
//! keyed by their SHA-256) and thumbnails of listing photos (keyed by the SHA-256 of
//! the original), so that reports and the review UI show what was seen after the
//! shop has changed or taken it down.

use std::cell::RefCell;

use super::{Store, StoreError};
use crate::db::trees::BODIES;

/// zstd level for stored bodies: fast, and HTML compresses well at any level.
const ZSTD_LEVEL: i32 = 3;

thread_local! {
    /// One compression context per thread, made on first use. A context made per
    /// body (what `zstd::encode_all` does) costs more than compressing a small
    /// page: creating it and clearing its tables, sized for an input of unknown
    /// length, were 9 % of a crawl's CPU time. The one-shot compressor also
    /// tells zstd each body's length, so that small pages get small tables.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
}

/// A body compressed for [`BODIES`] (one zstd frame, as `zstd::decode_all` reads).
pub(super) fn pack(url: &str, body: &[u8]) -> Result<Vec<u8>, StoreError> {
    let err = |source| StoreError::Compress {
        url: url.to_owned(),
        source,
    };
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(err)?),
        };
        compressor.compress(body).map_err(err)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_one_reused_context() {
        let page = b"<html><body><h1>Orvo lamp</h1><p>19,90 EUR</p></body></html>".repeat(50);
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for body in [&b""[..], &page[..], &big[..], &page[..]] {
            let packed = pack("http://shop.example/p", body).unwrap();
            assert_eq!(unpack("k", &packed).unwrap(), body);
        }
        // Bodies stored by earlier versions (streamed frames) still read.
        let old = zstd::encode_all(&page[..], ZSTD_LEVEL).unwrap();
        assert_eq!(unpack("k", &old).unwrap(), page);
        assert!(unpack("k", b"not zstd").is_err());
    }
}
