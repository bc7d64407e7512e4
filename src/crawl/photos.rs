//! Matching a listing's photos against the registered marks' reference images:
//! photos named by local path or URL (fetched with [`ImageFetcher`], under the
//! address guard), decoded within limits, hashed with all their query variants and
//! looked up in the reference index, and photo hashes handed in with the listing
//! (`image_hashes`), looked up as they are.
//!
//! Two matchers, for two kinds of caller:
//! - [`PhotoMatcher`], for `markhound match` and `scan`, reads local files and
//!   fetches URLs: its input comes from the person running it.
//! - [`RemotePhotos`], for the review service, whose input comes from remote
//!   clients: it looks up supplied hashes and, when built with fetch options,
//!   fetches http(s) URLs. It has no code that reads a file, so a listing naming a
//!   path on the server cannot make it read one.

use std::sync::OnceLock;

use image::DynamicImage;
use rayon::prelude::*;

use super::{is_url, FetchError, FetchOptions, ImageFetcher};
use crate::image::{
    decode_bytes, decode_path, pdq_hash, query_hashes, recycle, Dihedral, Hash256, ImageHit,
    Limits, QueryHash, ReferenceEntry, ReferenceIndex, MIN_QUALITY,
};
use crate::listing::Listing;
use crate::registry::Mark;
use crate::scoring::{sanitize, PhotoSource, Scorer, Signal};

/// Photos of one listing looked at; the rest are skipped with a warning, so that a
/// listing naming thousands of URLs cannot stall the batch. The same bound applies
/// to `image_hashes`.
pub const MAX_PHOTOS: usize = 32;

/// What a listing's photos showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoLookup {
    /// The `image_match` evidence for [`Scorer::score_with`].
    pub signals: Vec<(usize, Signal)>,
    /// The hash of each photo as it is (decoded photos of quality under
    /// [`MIN_QUALITY`] left out) and each supplied hash, without repeats: what
    /// compares one listing's photos with another's.
    pub hashes: Vec<Hash256>,
    /// The seven turned copies (mirrors and quarter turns) of each decoded photo
    /// when hashes are kept, without repeats: a relisted photo may come back
    /// mirrored or turned. Empty for supplied hashes, whose turns cannot be derived
    /// from the hash.
    pub turned: Vec<Hash256>,
}

/// Indexes the stored hashes of every reference image of `marks`.
fn reference_index(marks: &[Mark]) -> ReferenceIndex {
    let entries = marks.iter().enumerate().flat_map(|(mark, m)| {
        m.images.iter().enumerate().flat_map(move |(image, r)| {
            r.hashes()
                .into_iter()
                .map(move |hash| ReferenceEntry { mark, image, hash })
        })
    });
    ReferenceIndex::new(entries)
}

/// Looks up a listing's photos (read by `load`; not looked at when it is `None`)
/// and supplied hashes in `index`. With `keep_hashes` unset and no reference
/// image indexed, nothing is decoded.
fn look_up<L>(
    index: &ReferenceIndex,
    scorer: &Scorer,
    listing: &Listing,
    keep_hashes: bool,
    load: Option<L>,
) -> PhotoLookup
where
    L: Fn(&str) -> Result<DynamicImage, String> + Sync,
{
    let mut out = PhotoLookup::default();
    let useful = keep_hashes || !index.is_empty();
    let images: &[String] = match load {
        Some(_) => &listing.images,
        None => &[],
    };
    if !useful || (images.is_empty() && listing.image_hashes.is_empty()) {
        return out;
    }
    for (what, count) in [
        ("photos", images.len()),
        ("photo hashes", listing.image_hashes.len()),
    ] {
        if count > MAX_PHOTOS {
            tracing::warn!(
                "listing {}: {count} {what}, only the first {MAX_PHOTOS} are checked",
                sanitize(&listing.id),
            );
        }
    }
    #[allow(clippy::type_complexity)] // (photo, hits, as-is hash, turned hashes), once
    let photos: Vec<(usize, Vec<ImageHit>, Option<Hash256>, Vec<Hash256>)> = images
        .par_iter()
        .take(MAX_PHOTOS)
        .enumerate()
        .filter_map(|(i, source)| match load.as_ref().map(|load| load(source)) {
            Some(Ok(image)) => {
                let hashes = query_hashes(&image);
                let as_is = hashes
                    .iter()
                    .find(|q| q.is_as_is() && q.pdq.quality >= MIN_QUALITY)
                    .map(|q| q.pdq.hash);
                // Kept hashes compare photos with photos: the turns are hashed from
                // the turned pixels, as the reference images' are, since the
                // DCT-derived turns drift by tens of bits on small images.
                let turned = match as_is {
                    Some(_) if keep_hashes => Dihedral::ALL[1..]
                        .iter()
                        .map(|d| pdq_hash(&d.apply(&image)))
                        .filter(|p| p.quality >= MIN_QUALITY)
                        .map(|p| p.hash)
                        .collect(),
                    _ => Vec::new(),
                };
                recycle(image);
                Some((i, index.lookup(&hashes), as_is, turned))
            }
            None => None,
            Some(Err(reason)) => {
                // Both come from the listing: no control characters on stderr.
                let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
                tracing::warn!("listing {}: photo skipped: {reason}", sanitize(&listing.id));
                None
            }
        })
        .collect();
    let mut hits: Vec<(PhotoSource, ImageHit)> = Vec::new();
    for (i, photo_hits, as_is, turned) in photos {
        hits.extend(photo_hits.into_iter().map(|h| (PhotoSource::Image(i), h)));
        out.hashes.extend(as_is);
        out.turned.extend(turned);
    }
    for (i, hash) in listing.image_hashes.iter().take(MAX_PHOTOS).enumerate() {
        // PDQ gives an image too small to hash all zeros: it says nothing.
        if *hash == Hash256::ZERO {
            continue;
        }
        let found = index.lookup(&[QueryHash::supplied(*hash)]);
        hits.extend(found.into_iter().map(|h| (PhotoSource::ImageHash(i), h)));
        out.hashes.push(*hash);
    }
    let mut seen = std::collections::HashSet::new();
    out.hashes.retain(|h| seen.insert(*h));
    out.turned.retain(|h| seen.insert(*h));
    out.signals = scorer.photo_signals(
        &hits,
        listing.images.len().min(MAX_PHOTOS),
        listing.image_hashes.len().min(MAX_PHOTOS),
    );
    out
}

/// Listing photos, local or remote, and the marks' reference images they are
/// matched against (`markhound match`, `scan`).
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
        PhotoMatcher {
            index: reference_index(marks),
            limits: Limits::DEFAULT,
            allow_private,
            fetcher: OnceLock::new(),
        }
    }

    /// The `image_match` evidence of the listing's photos and supplied photo hashes
    /// (none when no reference image is indexed). Photos that fail are logged and
    /// skipped.
    pub fn signals(&self, scorer: &Scorer, listing: &Listing) -> Vec<(usize, Signal)> {
        look_up(
            &self.index,
            scorer,
            listing,
            false,
            Some(|source: &str| self.decode(source)),
        )
        .signals
    }

    /// One photo, from a file or a URL.
    fn decode(&self, source: &str) -> Result<DynamicImage, String> {
        if is_url(source) {
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
            fetch_and_decode(fetcher, source, &self.limits)
        } else {
            decode_path(std::path::Path::new(source), &self.limits).map_err(|e| error_chain(&e))
        }
    }
}

/// Photos of listings sent by remote clients (the review service): supplied
/// hashes always, http(s) photo URLs only when built with a fetcher. Never reads a
/// local file: an `images` entry that is not an http(s) URL is skipped.
#[derive(Debug)]
pub struct RemotePhotos {
    index: ReferenceIndex,
    limits: Limits,
    fetcher: Option<ImageFetcher>,
}

impl RemotePhotos {
    /// Indexes the reference images of `marks`; with `fetch`, photo URLs are
    /// fetched under those options (the address guard included).
    pub fn new(marks: &[Mark], fetch: Option<&FetchOptions>) -> Result<RemotePhotos, FetchError> {
        Ok(RemotePhotos {
            index: reference_index(marks),
            limits: Limits::DEFAULT,
            fetcher: fetch.map(ImageFetcher::new).transpose()?,
        })
    }

    /// The evidence and hashes of the listing's supplied photo hashes and, when
    /// `fetch` is set and this matcher fetches, of its photo URLs. Cheap without
    /// fetching: one index look-up per supplied hash.
    pub fn look_up(&self, scorer: &Scorer, listing: &Listing, fetch: bool) -> PhotoLookup {
        let load = self.fetcher.as_ref().filter(|_| fetch).map(|fetcher| {
            move |source: &str| {
                if is_url(source) {
                    fetch_and_decode(fetcher, source, &self.limits)
                } else {
                    Err(format!(
                        "{source}: not an http(s) URL; the service reads no local file"
                    ))
                }
            }
        });
        look_up(&self.index, scorer, listing, true, load)
    }
}

/// Downloads one photo and decodes it within `limits`.
fn fetch_and_decode(
    fetcher: &ImageFetcher,
    url: &str,
    limits: &Limits,
) -> Result<DynamicImage, String> {
    let bytes = fetcher.fetch(url).map_err(|e| error_chain(&e))?;
    decode_bytes(&bytes, limits).map_err(|e| format!("{url}: {}", error_chain(&e)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{reference_hashes, PdqHash};
    use crate::registry::{ImageRef, ImageVariant};
    use crate::scoring::{Rates, SignalKind};

    /// A mark whose one reference image is `image`, stored at `path`.
    fn mark_with(image: &DynamicImage, path: &str) -> Mark {
        let hashes = reference_hashes(image);
        let whole = hashes[0].pdq;
        Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            images: vec![ImageRef {
                path: path.into(),
                pdq: Some(whole.hash),
                quality: Some(whole.quality),
                variants: hashes[1..]
                    .iter()
                    .map(|h| ImageVariant {
                        variant: h.variant,
                        pdq: h.pdq.hash,
                        quality: h.pdq.quality,
                    })
                    .collect(),
                ..ImageRef::default()
            }],
            ..Mark::default()
        }
    }

    fn picture(seed: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(240, 180, |x, y| {
            let cell = (x / 12).wrapping_mul(7919) ^ (y / 12).wrapping_mul(104_729) ^ seed;
            let v = (cell.wrapping_mul(2_654_435_761) >> 24) as u8;
            image::Rgb([v, v / 2 + (y as u8 / 4), 255 - v])
        }))
    }

    fn flip_bits(hash: Hash256, bits: &[usize]) -> Hash256 {
        let mut hex: Vec<u8> = hash.to_hex().into_bytes();
        for &b in bits {
            // Flip the lowest bit of digit b.
            let d = u8::from_str_radix(std::str::from_utf8(&hex[b..=b]).unwrap(), 16).unwrap();
            hex[b] = format!("{:x}", d ^ 1).as_bytes()[0];
        }
        String::from_utf8(hex).unwrap().parse().unwrap()
    }

    #[test]
    fn a_supplied_hash_matches_like_a_decoded_photo() {
        let reference = picture(1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zentrix-product.png");
        reference.save(&path).unwrap();
        let mark = mark_with(&reference, path.to_str().unwrap());
        let scorer = Scorer::new(vec![mark.clone()], Rates::default());
        let hash: PdqHash = crate::image::pdq_hash(&reference);
        let near = flip_bits(hash.hash, &[0, 5, 9]);
        assert_eq!(near.hamming(&hash.hash), 3);

        let photos = PhotoMatcher::new(scorer.marks(), false);
        let by_file = Listing {
            id: "a".into(),
            images: vec![path.to_str().unwrap().into()],
            ..Listing::default()
        };
        let by_hash = Listing {
            id: "b".into(),
            image_hashes: vec![Hash256::ZERO, near],
            ..Listing::default()
        };
        let file_signals = photos.signals(&scorer, &by_file);
        let hash_signals = photos.signals(&scorer, &by_hash);
        assert_eq!(file_signals.len(), 1);
        assert_eq!(hash_signals.len(), 1);
        let (f, h) = (&file_signals[0].1, &hash_signals[0].1);
        assert_eq!(
            (f.kind, h.kind),
            (SignalKind::ImageMatch, SignalKind::ImageMatch)
        );
        assert_eq!(f.photo.unwrap().image, Some(0));
        let evidence = h.photo.unwrap();
        assert_eq!((evidence.image_hash, evidence.reference), (Some(1), 0));
        assert_eq!(evidence.distance, 3);
        assert!(
            h.detail.starts_with("photo hash 2 matches reference ")
                && h.detail
                    .ends_with("zentrix-product.png of Zentrix (distance 3)"),
            "{}",
            h.detail
        );
        // An unrelated hash matches nothing.
        let other = Listing {
            id: "c".into(),
            image_hashes: vec![crate::image::pdq_hash(&picture(23)).hash],
            ..Listing::default()
        };
        assert!(photos.signals(&scorer, &other).is_empty());
    }

    #[test]
    fn the_remote_matcher_never_reads_a_local_file() {
        let reference = picture(1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zentrix-product.png");
        reference.save(&path).unwrap();
        let scorer = Scorer::new(
            vec![mark_with(&reference, path.to_str().unwrap())],
            Rates::default(),
        );
        let listing = Listing {
            id: "a".into(),
            images: vec![
                path.to_str().unwrap().into(),
                format!("file://{}", path.display()),
            ],
            ..Listing::default()
        };
        // The same listing in `match` finds the photo...
        let local = PhotoMatcher::new(scorer.marks(), false);
        assert_eq!(local.signals(&scorer, &listing).len(), 1);
        // ...the service's matcher, fetching or not, reads neither entry.
        let options = FetchOptions {
            allow_private: true,
            ..FetchOptions::default()
        };
        for remote in [
            RemotePhotos::new(scorer.marks(), None).unwrap(),
            RemotePhotos::new(scorer.marks(), Some(&options)).unwrap(),
        ] {
            for fetch in [false, true] {
                let found = remote.look_up(&scorer, &listing, fetch);
                assert_eq!(found, PhotoLookup::default(), "fetch {fetch}");
            }
        }
    }

    #[test]
    fn supplied_hashes_are_kept_once_and_zero_is_ignored() {
        let scorer = Scorer::new(Vec::new(), Rates::default());
        let remote = RemotePhotos::new(&[], None).unwrap();
        let h = crate::image::pdq_hash(&picture(3)).hash;
        let listing = Listing {
            id: "a".into(),
            image_hashes: vec![h, Hash256::ZERO, h],
            ..Listing::default()
        };
        let found = remote.look_up(&scorer, &listing, false);
        assert!(found.signals.is_empty());
        assert_eq!(found.hashes, vec![h]);
    }
}
