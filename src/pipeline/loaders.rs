//! The photo loaders the pipeline gives the photo matcher: the configured sources
//! of listings handed in (URLs through the photo fetcher, local files only where
//! the person running markhound named them), and the thumbnails the store keeps
//! (for matching stored listings again without fetching anything).

use super::{PhotoSources, PipelineError};
use crate::crawl::{is_url, FetchOptions, ImageFetcher};
use crate::image::{read_file, Limits};
use crate::photos::{error_chain, PhotoLoader};
use crate::review::StoredListing;
use crate::store::Store;

/// The photo sources of a [`Config`](super::Config).
#[derive(Debug)]
pub struct Sources {
    fetcher: Option<ImageFetcher>,
    files: bool,
}

impl Sources {
    /// The sources `photos` names, fetching under `fetch`.
    pub fn new(photos: PhotoSources, fetch: &FetchOptions) -> Result<Sources, PipelineError> {
        let (urls, files) = match photos {
            PhotoSources::HashesOnly => (false, false),
            PhotoSources::Urls => (true, false),
            PhotoSources::UrlsAndFiles => (true, true),
        };
        Ok(Sources {
            fetcher: urls.then(|| ImageFetcher::new(fetch)).transpose()?,
            files,
        })
    }

    /// Whether any photo is read at all.
    pub fn reads_any(&self) -> bool {
        self.fetcher.is_some() || self.files
    }
}

impl PhotoLoader for Sources {
    fn load(&self, source: &str) -> Result<Vec<u8>, String> {
        if is_url(source) {
            match &self.fetcher {
                Some(f) => f.fetch(source).map_err(|e| error_chain(&e)),
                None => Err(format!("{source}: photo fetching is off")),
            }
        } else if self.files {
            read_file(std::path::Path::new(source), &Limits::DEFAULT).map_err(|e| error_chain(&e))
        } else {
            Err(format!(
                "{source}: not an http(s) URL; listings from remote clients never name local files"
            ))
        }
    }
}

/// The thumbnails the store keeps of one listing's photos, by the source that
/// named them.
pub struct KeptThumbnails<'a> {
    store: &'a Store,
    listing: &'a StoredListing,
}

impl<'a> KeptThumbnails<'a> {
    /// The kept photos of `listing`.
    pub fn new(store: &'a Store, listing: &'a StoredListing) -> KeptThumbnails<'a> {
        KeptThumbnails { store, listing }
    }
}

impl PhotoLoader for KeptThumbnails<'_> {
    fn load(&self, source: &str) -> Result<Vec<u8>, String> {
        let record = self
            .listing
            .photos
            .iter()
            .find(|p| p.source == source)
            .ok_or_else(|| format!("{source}: no photo kept"))?;
        self.store
            .photo(&record.sha256)
            .map_err(|e| format!("{source}: {}", error_chain(&e)))?
            .ok_or_else(|| format!("{source}: the kept photo is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_sources_never_read_a_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\n").unwrap();
        let path = path.to_str().unwrap();
        let options = FetchOptions {
            allow_private: true,
            ..FetchOptions::default()
        };
        for sources in [PhotoSources::HashesOnly, PhotoSources::Urls] {
            let s = Sources::new(sources, &options).unwrap();
            for entry in [path.to_owned(), format!("file://{path}")] {
                let err = s.load(&entry).unwrap_err();
                assert!(!err.is_empty(), "{sources:?} {entry}");
            }
        }
        let local = Sources::new(PhotoSources::UrlsAndFiles, &options).unwrap();
        assert_eq!(local.load(path).unwrap(), b"\x89PNG\r\n\x1a\n");
    }
}
