//! The one way from a listing to a stored finding, used by every command: listings
//! come in (a crawl, `match`, `match --store`, the API), are matched (titles,
//! prices, sellers, photos) and stored as findings under the review model, and
//! reports are written from the store.
//!
//! A [`Pipeline`] is built once from one [`Config`] (exchange rates, what photos are
//! read and how, address policy, what is kept as evidence) and the registry, and
//! shared by whatever feeds it.

mod census;
mod feedback;
mod loaders;
mod report;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use feedback::{Decided, Decision, Undo};
pub use loaders::{KeptThumbnails, Sources};
pub use report::{report, ReportFilter};

use crate::crawl::{CrawlMatcher, FetchOptions};
use crate::image::Hash256;
use crate::listing::Listing;
use crate::photos::{Keep, PhotoLoader, PhotoMatcher};
use crate::registry::{Bank, Mark, Registry, RegistryError};
use crate::review::FindingRecord;
use crate::scoring::{
    image_weight, Finding, Mentions, PhotoCodeWord, Rates, Scorer, Signal, SignalKind,
};
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
    /// Whether decoded photos are searched for the registered logos and for
    /// parts of the registered product photos (local features; see
    /// [`crate::image::logo`]). The reference images are read from their files
    /// when the pipeline is built.
    pub logos: bool,
    /// Reads the text in decoded photos and matches it like a title
    /// (`photo_text`; see [`crate::image::ocr`]) when set: the models, loaded
    /// once by the command and shared by every pipeline it builds.
    pub photo_text: Option<Arc<crate::image::ocr::Ocr>>,
}

impl Default for Config {
    /// The bundled rates, supplied photo hashes only, default fetch limits, public
    /// addresses only, photos kept, no logo or text search.
    fn default() -> Config {
        Config {
            rates: Rates::default(),
            photos: PhotoSources::HashesOnly,
            fetch: FetchOptions::default(),
            keep_photos: true,
            logos: false,
            photo_text: None,
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
    /// Each mark's feedback bank, by the mark's index in the scorer; replaced
    /// when a decision changes one, so the next listing sees it.
    banks: RwLock<Vec<Bank>>,
    /// Mark ids to their index in the scorer.
    mark_index: HashMap<String, usize>,
    /// What it was built with, to build it again when the registry changes.
    config: Config,
    /// The brands the listings it matched declare and the spellings their titles
    /// write ([`crate::text::census`]).
    census: census::Census,
    /// The title mentions of the batch being matched, by listing id, found when
    /// the batch was counted ([`Pipeline::count_brands`]) and taken when each
    /// listing is scored, so that a title is matched once.
    mentions: std::sync::Mutex<rustc_hash::FxHashMap<String, Mentions>>,
}

/// The most title mentions kept between counting a batch and scoring it: a batch
/// of `markhound match` (4,096 listings) and a few concurrent ingests fit; beyond
/// that a title is matched again when scored (slower, same answer).
const KEPT_MENTIONS: usize = 16_384;

/// The logos and product photos of `marks`, read from the files the registry
/// names and indexed for [`PhotoMatcher::with_regions`]. A file that cannot be read,
/// or whose bytes are no longer those imported (SHA-256), is left out with a
/// warning: the rest of the registry still matches.
fn region_index(marks: &[Mark]) -> crate::image::LogoIndex {
    use crate::image::{decode_bytes, read_file, Limits, RegionKind, RegionRef};
    use crate::registry::ImageKind;
    use rayon::prelude::*;
    use sha2::{Digest, Sha256};

    let wanted: Vec<(RegionRef, &str, Option<&str>)> = marks
        .iter()
        .enumerate()
        .flat_map(|(mark, m)| {
            m.images.iter().enumerate().map(move |(image, r)| {
                let kind = match r.kind {
                    ImageKind::Logo => RegionKind::Logo,
                    ImageKind::Photo => RegionKind::Photo,
                };
                (
                    RegionRef { mark, image, kind },
                    r.path.as_str(),
                    r.sha256.as_deref(),
                )
            })
        })
        .collect();
    let limits = Limits::DEFAULT;
    let read: Vec<(RegionRef, image::DynamicImage)> = wanted
        .into_par_iter()
        .filter_map(|(region, path, sha256)| {
            let loaded = read_file(std::path::Path::new(path), &limits)
                .map_err(|e| crate::error_chain(&e))
                .and_then(|bytes| {
                    let actual = hex::encode(Sha256::digest(&bytes));
                    if sha256.is_some_and(|s| !s.eq_ignore_ascii_case(&actual)) {
                        return Err("the file changed since it was imported".to_owned());
                    }
                    decode_bytes(&bytes, &limits).map_err(|e| crate::error_chain(&e))
                });
            match loaded {
                Ok(image) => Some((region, image)),
                Err(reason) => {
                    tracing::warn!(
                        "reference image {path} is not searched for inside photos: {reason}"
                    );
                    None
                }
            }
        })
        .collect();
    crate::image::LogoIndex::new(read)
}

/// The pipeline a long-running process (the review service) matches with: replaced
/// whole when its registry changes, while a listing in flight finishes on the
/// pipeline it started with.
#[derive(Debug, Clone)]
pub struct Current(Arc<RwLock<Arc<Pipeline>>>);

impl Current {
    /// Starts with `pipeline`.
    pub fn new(pipeline: Arc<Pipeline>) -> Current {
        Current(Arc::new(RwLock::new(pipeline)))
    }

    /// The pipeline to match the next listing with.
    pub fn get(&self) -> Arc<Pipeline> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Builds the pipeline again from the registry stored in `db` and puts it in
    /// place; answers the registry version it was built from.
    pub fn rebuild(&self, db: &sled::Db) -> Result<u64, PipelineError> {
        let config = self.get().config.clone();
        let fresh = Pipeline::from_registry(db, &config)?;
        let version = fresh.registry_version;
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(version)
    }
}

impl Pipeline {
    /// A pipeline over `marks`, the registry at `registry_version`.
    pub fn new(
        marks: Vec<Mark>,
        registry_version: u64,
        config: &Config,
    ) -> Result<Pipeline, PipelineError> {
        let banks = marks.iter().map(|m| m.bank.clone()).collect();
        let mark_index = marks
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        let scorer = Scorer::new(marks, config.rates.clone());
        let decoded = config.photos != PhotoSources::HashesOnly;
        let mut photos = if config.logos && decoded {
            PhotoMatcher::with_regions(scorer.marks(), region_index(scorer.marks()))
        } else {
            PhotoMatcher::new(scorer.marks())
        };
        if let Some(ocr) = config.photo_text.as_ref().filter(|_| decoded) {
            photos = photos.with_text(Arc::clone(ocr));
        }
        Ok(Pipeline {
            banks: RwLock::new(banks),
            mark_index,
            scorer,
            photos,
            sources: Sources::new(config.photos, &config.fetch)?,
            registry_version,
            keep: Keep {
                hashes: config.keep_photos,
                thumbnails: config.keep_photos,
            },
            config: config.clone(),
            census: census::Census::default(),
            mentions: Default::default(),
        })
    }

    /// The mark `id` of this pipeline's registry.
    pub fn mark(&self, id: &str) -> Option<&Mark> {
        self.scorer.marks().get(*self.mark_index.get(id)?)
    }

    /// A pipeline over the registry stored in `db`.
    pub fn from_registry(db: &sled::Db, config: &Config) -> Result<Pipeline, PipelineError> {
        let registry = Registry::open(db)?;
        let version = registry.version()?;
        let mut pipeline = Pipeline::new(registry.marks()?, version, config)?;
        pipeline.census = census::Census::open(db).map_err(StoreError::from)?;
        Ok(pipeline)
    }

    /// Counts the brands `listings` declare and the spellings their titles write,
    /// before any of them is scored, so that a batch's listings are read knowing
    /// each other's ([`crate::text::census`]); each title's mentions are kept and
    /// scored from there. Every listing matched is counted anyway.
    pub fn count_brands<'a>(&self, listings: impl IntoIterator<Item = &'a Listing>) {
        use rayon::prelude::*;
        let listings: Vec<&Listing> = listings.into_iter().collect();
        self.census.count(listings.iter().copied());
        // The spellings of the batch's titles, each title matched once: its
        // mentions are kept for scoring.
        let mut found: Vec<(&Listing, Mentions)> = listings
            .par_iter()
            .map(|l| (*l, self.scorer.mentions(&l.title)))
            .collect();
        let mut spellings = Vec::new();
        for (l, m) in &mut found {
            let id = census_declarer(l);
            for (key, declares) in self.scorer.spellings(l, m) {
                spellings.push((key, id, declares));
            }
        }
        self.census.count_spellings(spellings);
        let mut kept = self.mentions.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() + found.len() > KEPT_MENTIONS {
            kept.clear();
        }
        if found.len() <= KEPT_MENTIONS {
            kept.extend(found.into_iter().map(|(l, m)| (l.id.clone(), m)));
        }
    }

    /// The title mentions of `listing`: those kept when its batch was counted, or
    /// found now, and then its spellings counted.
    fn take_mentions(&self, listing: &Listing) -> Mentions {
        let kept = self
            .mentions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&listing.id);
        if let Some(mentions) = kept.filter(|m| m.title() == listing.title) {
            return mentions;
        }
        let mut mentions = self.scorer.mentions(&listing.title);
        let id = census_declarer(listing);
        let spellings: Vec<(String, u64, bool)> = self
            .scorer
            .spellings(listing, &mut mentions)
            .into_iter()
            .map(|(key, declares)| (key, id, declares))
            .collect();
        if !spellings.is_empty() {
            self.census.count_spellings(spellings);
        }
        mentions
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
        let mut photos = self.photos.look_up(&self.scorer, listing, loader, keep);
        let findings = self.score_with_banks(
            listing,
            &mut photos.signals,
            &photos.hashes,
            &photos.code_words,
        );
        Matched {
            findings,
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
        let mut photos = self
            .photos
            .look_up(&self.scorer, listing, loader, Keep::default());
        self.score_with_banks(
            listing,
            &mut photos.signals,
            &photos.hashes,
            &photos.code_words,
        )
    }

    /// Scores a listing with its photo evidence and the marks' feedback banks: a
    /// photo within PDQ's match distance of a confirmed counterfeit photo is
    /// evidence for that mark (whatever the title says), and a finding that a
    /// negative entry explains is marked suppressed.
    fn score_with_banks(
        &self,
        listing: &Listing,
        signals: &mut Vec<(usize, Signal)>,
        hashes: &[Hash256],
        photo_words: &[PhotoCodeWord],
    ) -> Vec<Finding> {
        let banks = self.banks.read().unwrap_or_else(|p| p.into_inner());
        let mut photos: Vec<Hash256> = hashes.to_vec();
        for h in &listing.image_hashes {
            if !photos.contains(h) {
                photos.push(*h);
            }
        }
        if !photos.is_empty() {
            for (mi, bank) in banks.iter().enumerate() {
                if bank.positive.is_empty() {
                    continue;
                }
                let Some(hit) = bank.positive_hit(&photos) else {
                    continue;
                };
                if signals
                    .iter()
                    .any(|(m, s)| *m == mi && s.kind == SignalKind::ImageMatch)
                {
                    continue;
                }
                signals.push((
                    mi,
                    Signal {
                        kind: SignalKind::ImageMatch,
                        detail: format!(
                            "a photo matches the counterfeit photo of bank entry {} (from decision {}), distance {}",
                            hit.entry, hit.decision, hit.distance
                        ),
                        weight: image_weight(hit.distance),
                        photo: None,
                        region: None,
                        text: None,
                    },
                ));
            }
        }
        self.census.count([listing]);
        let mentions = self.take_mentions(listing);
        let mut findings = self.census.read(|census| {
            self.scorer
                .score_mentions_with(listing, mentions, signals, photo_words, census)
        });
        let seller = listing.seller.as_ref().map(|s| s.id.as_str());
        for f in &mut findings {
            let Some(&mi) = self.mark_index.get(&f.mark_id) else {
                continue;
            };
            if let Some(bank) = banks.get(mi).filter(|b| !b.negative.is_empty()) {
                f.suppressed = bank.suppression(f, seller, &photos);
            }
        }
        findings
    }

    /// The feedback bank of mark `mark_id` as this pipeline applies it.
    pub fn bank(&self, mark_id: &str) -> Option<Bank> {
        let mi = *self.mark_index.get(mark_id)?;
        let banks = self.banks.read().unwrap_or_else(|p| p.into_inner());
        banks.get(mi).cloned()
    }

    /// Replaces the bank of mark `mark_id` (after a decision stored it).
    fn set_bank(&self, mark_id: &str, bank: Bank) {
        if let Some(&mi) = self.mark_index.get(mark_id) {
            let mut banks = self.banks.write().unwrap_or_else(|p| p.into_inner());
            if let Some(slot) = banks.get_mut(mi) {
                *slot = bank;
            }
        }
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
        self.count_brands(incoming.iter().map(|i| &i.listing));
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

/// The census's id of the seller of `listing` ([`crate::text::census::declarer`]).
fn census_declarer(listing: &Listing) -> u64 {
    crate::text::census::declarer(
        listing.seller.as_ref().map(|s| s.id.as_str()),
        listing.marketplace.as_deref(),
    )
}

/// A pipeline shared with a crawl.
pub fn crawl_matcher(pipeline: Arc<Pipeline>) -> Arc<dyn CrawlMatcher> {
    pipeline
}
