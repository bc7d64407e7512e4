//! The one way from a listing to a stored finding, used by every command: listings
//! come in (a crawl, `match`, `match --store`, the API), are matched (titles,
//! prices, sellers, photos) and stored as findings under the review model, and
//! reports are written from the store.
//!
//! A [`Pipeline`] is built once from one [`Config`] (exchange rates, what photos are
//! read and how, address policy, what is kept as evidence) and the registry, and
//! shared by whatever feeds it.

mod loaders;
mod report;

use std::collections::HashMap;
use std::sync::Arc;

pub use loaders::{KeptThumbnails, Sources};
pub use report::{report, ReportFilter};

use crate::crawl::{CrawlMatcher, FetchOptions};
use crate::listing::Listing;
use crate::photos::{Keep, PhotoLoader, PhotoMatcher};
use crate::registry::{Mark, Registry, RegistryError};
use crate::review::FindingRecord;
use crate::scoring::{Finding, Rates, Scorer};
use crate::store::{Incoming, Matched, Store, StoreError};

/// Where the photos named by a listing's `images` are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSources {
    /// None: only supplied `image_hashes` are matched.
    HashesOnly,
    /// http(s) URLs, fetched under [`Config::fetch`] (the review service with
    /// `--fetch-images`: its listings come from remote clients, so it reads no
    /// local file).
    Urls,
    /// http(s) URLs and local files (`markhound match`: its input comes from the
    /// person running it).
    UrlsAndFiles,
}

/// How the pipeline runs; built once by each command from its flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Exchange rates for price floors.
    pub rates: Rates,
    /// Which photos are read.
    pub photos: PhotoSources,
    /// Limits and address policy of photo downloads.
    pub fetch: FetchOptions,
    /// Whether photos decoded are kept as evidence (hashes for relisting by photo,
    /// thumbnails for reports and the review UI).
    pub keep_photos: bool,
}

impl Default for Config {
    /// The bundled rates, supplied photo hashes only, default fetch limits, public
    /// addresses only, photos kept.
    fn default() -> Config {
        Config {
            rates: Rates::default(),
            photos: PhotoSources::HashesOnly,
            fetch: FetchOptions::default(),
            keep_photos: true,
        }
    }
}

/// Why a pipeline could not be built or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The registry could not be read.
    #[error("cannot read the registry")]
    Registry(#[from] RegistryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The photo fetcher could not be set up.
    #[error("cannot set up photo fetching")]
    Fetch(#[from] crate::crawl::FetchError),
}

/// The matching half of the pipeline: the scorer and the reference-image index,
/// built once from the registry, and the photo sources of its [`Config`].
#[derive(Debug)]
pub struct Pipeline {
    scorer: Scorer,
    photos: PhotoMatcher,
    sources: Sources,
    registry_version: u64,
    keep: Keep,
}

impl Pipeline {
    /// A pipeline over `marks`, the registry at `registry_version`.
    pub fn new(
        marks: Vec<Mark>,
        registry_version: u64,
        config: &Config,
    ) -> Result<Pipeline, PipelineError> {
        let scorer = Scorer::new(marks, config.rates.clone());
        let photos = PhotoMatcher::new(scorer.marks());
        Ok(Pipeline {
            scorer,
            photos,
            sources: Sources::new(config.photos, &config.fetch)?,
            registry_version,
            keep: Keep {
                hashes: config.keep_photos,
                thumbnails: config.keep_photos,
            },
        })
    }

    /// A pipeline over the registry stored in `db`.
    pub fn from_registry(db: &sled::Db, config: &Config) -> Result<Pipeline, PipelineError> {
        let registry = Registry::open(db)?;
        let version = registry.version()?;
        Pipeline::new(registry.marks()?, version, config)
    }

    /// The scorer (and through it the marks).
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    /// The registry version findings are computed against.
    pub fn registry_version(&self) -> u64 {
        self.registry_version
    }

    /// Matches one listing, its photos read from the configured sources when
    /// `read_photos` is set (else supplied hashes only).
    pub fn matched(&self, listing: &Listing, read_photos: bool) -> Matched {
        let loader = read_photos
            .then_some(&self.sources)
            .filter(|s| s.reads_any())
            .map(|s| s as &dyn PhotoLoader);
        self.matched_with(listing, loader)
    }

    /// Matches one listing, its photos read by `loader`.
    pub fn matched_with(&self, listing: &Listing, loader: Option<&dyn PhotoLoader>) -> Matched {
        self.matched_keeping(listing, loader, self.keep)
    }

    fn matched_keeping(
        &self,
        listing: &Listing,
        loader: Option<&dyn PhotoLoader>,
        keep: Keep,
    ) -> Matched {
        let photos = self.photos.look_up(&self.scorer, listing, loader, keep);
        Matched {
            findings: self.scorer.score_with(listing, &photos.signals),
            photos: photos.hashes,
            turned: photos.turned,
            kept: photos.kept,
        }
    }

    /// The findings of one listing, stored nowhere (`markhound match`).
    pub fn findings(&self, listing: &Listing) -> Vec<Finding> {
        let loader = self
            .sources
            .reads_any()
            .then_some(&self.sources as &dyn PhotoLoader);
        let photos = self
            .photos
            .look_up(&self.scorer, listing, loader, Keep::default());
        self.scorer.score_with(listing, &photos.signals)
    }

    /// Matches and stores a batch of listings in one transaction, answering every
    /// finding of the batch's listings. Photos are read while matching, outside
    /// the store's lock; a listing a concurrent writer changed meanwhile is matched
    /// again under the lock with its supplied hashes only.
    pub fn ingest(
        &self,
        store: &Store,
        incoming: Vec<Incoming>,
        actor: &str,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        let scored = store.score(incoming, self.registry_version, |l| self.matched(l, true))?;
        store.store(scored, |l| self.matched(l, false), actor)
    }

    /// Matches again every stored listing not matched against this registry
    /// version (the registry changed, or the database was migrated), its photos
    /// read from the thumbnails kept; returns how many were matched. Reviewer
    /// decisions stay (see [`Store::store`]).
    pub fn rematch_pending(&self, store: &Store, actor: &str) -> Result<usize, StoreError> {
        use rayon::prelude::*;
        let pending = store.pending(self.registry_version)?;
        let count = pending.len();
        // In batches, so that memory stays bounded on a large store.
        for chunk in pending.chunks(1024) {
            let mut matched: HashMap<String, Matched> = chunk
                .par_iter()
                .map(|stored| {
                    // The thumbnails are already kept; only their hashes are new.
                    let kept = KeptThumbnails::new(store, stored);
                    let keep = Keep {
                        thumbnails: false,
                        ..self.keep
                    };
                    let m = self.matched_keeping(&stored.listing, Some(&kept), keep);
                    (stored.listing.id.clone(), m)
                })
                .collect();
            let incoming: Vec<Incoming> = chunk
                .iter()
                .map(|s| Incoming {
                    listing: s.listing.clone(),
                    evidence: s.evidence.clone(),
                    body: None,
                })
                .collect();
            // Each listing takes its own answer, by id; one written meanwhile by
            // another writer is matched again without photos.
            let scored = store.score(incoming, self.registry_version, |l| {
                matched
                    .remove(&l.id)
                    .unwrap_or_else(|| self.matched(l, false))
            })?;
            store.store(scored, |l| self.matched(l, false), actor)?;
        }
        Ok(count)
    }
}

impl CrawlMatcher for Pipeline {
    fn registry_version(&self) -> u64 {
        self.registry_version
    }

    fn matched(&self, listing: &Listing, photos: Option<&dyn PhotoLoader>) -> Matched {
        self.matched_with(listing, photos)
    }
}

/// A pipeline shared with a crawl.
pub fn crawl_matcher(pipeline: Arc<Pipeline>) -> Arc<dyn CrawlMatcher> {
    pipeline
}
