//! Matching a listing's photos against the registered marks' reference images:
//! local files or URLs (fetched with [`ImageFetcher`], under the address guard),
//! decoded within limits, hashed with all their query variants and looked up in the
//! reference index. Used by `markhound match` and by `scan`.

use std::sync::OnceLock;

use rayon::prelude::*;

use super::{is_url, FetchOptions, ImageFetcher};
use crate::image::{
    decode_bytes, decode_path, query_hashes, recycle, ImageHit, Limits, ReferenceEntry,
    ReferenceIndex,
};
use crate::listing::Listing;
use crate::registry::Mark;
use crate::scoring::{sanitize, Scorer, Signal};

/// Photos of one listing looked at; the rest are skipped with a warning, so that a
/// listing naming thousands of URLs cannot stall the batch.
pub const MAX_PHOTOS: usize = 32;

/// Listing photos and the marks' reference images they are matched against.
pub struct PhotoMatcher {
    index: ReferenceIndex,
    limits: Limits,
    allow_private: bool,
    /// Made on the first URL: most runs look at local files or no photo at all.
    fetcher: OnceLock<Result<ImageFetcher, String>>,
}

impl PhotoMatcher {
    /// Indexes the stored hashes of every reference image of `marks`; photo URLs
    /// to addresses that are not public are fetched only if `allow_private`.
    pub fn new(marks: &[Mark], allow_private: bool) -> PhotoMatcher {
        let entries = marks.iter().enumerate().flat_map(|(mark, m)| {
            m.images.iter().enumerate().flat_map(move |(image, r)| {
                r.hashes()
                    .into_iter()
                    .map(move |hash| ReferenceEntry { mark, image, hash })
            })
        });
        PhotoMatcher {
            index: ReferenceIndex::new(entries),
            limits: Limits::DEFAULT,
            allow_private,
            fetcher: OnceLock::new(),
        }
    }

    /// The `image_match` evidence of the listing's photos (none when no reference
    /// image is indexed). Photos that fail are logged and skipped.
    pub fn signals(&self, scorer: &Scorer, listing: &Listing) -> Vec<(usize, Signal)> {
        if self.index.is_empty() || listing.images.is_empty() {
            return Vec::new();
        }
        if listing.images.len() > MAX_PHOTOS {
            tracing::warn!(
                "listing {}: {} photos, only the first {MAX_PHOTOS} are checked",
                sanitize(&listing.id),
                listing.images.len()
            );
        }
        let hits: Vec<(usize, ImageHit)> = listing
            .images
            .par_iter()
            .take(MAX_PHOTOS)
            .enumerate()
            .flat_map_iter(|(i, source)| {
                let hits = match self.hits(source) {
                    Ok(hits) => hits,
                    Err(reason) => {
                        // Both come from the listing: no control characters on stderr.
                        let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
                        tracing::warn!(
                            "listing {}: photo skipped: {reason}",
                            sanitize(&listing.id)
                        );
                        Vec::new()
                    }
                };
                hits.into_iter().map(move |h| (i, h))
            })
            .collect();
        scorer.image_signals(&hits, listing.images.len().min(MAX_PHOTOS))
    }

    /// The reference images near one photo.
    fn hits(&self, source: &str) -> Result<Vec<ImageHit>, String> {
        let image = if is_url(source) {
            let fetcher = self
                .fetcher
                .get_or_init(|| {
                    let options = FetchOptions {
                        allow_private: self.allow_private,
                        ..FetchOptions::default()
                    };
                    ImageFetcher::new(&options).map_err(|e| error_chain(&e))
                })
                .as_ref()
                .map_err(Clone::clone)?;
            let bytes = fetcher.fetch(source).map_err(|e| error_chain(&e))?;
            decode_bytes(&bytes, &self.limits)
                .map_err(|e| format!("{source}: {}", error_chain(&e)))?
        } else {
            decode_path(std::path::Path::new(source), &self.limits).map_err(|e| error_chain(&e))?
        };
        let hashes = query_hashes(&image);
        recycle(image);
        Ok(self.index.lookup(&hashes))
    }
}

/// An error and its causes, joined by `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
