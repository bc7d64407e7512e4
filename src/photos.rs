//! Matching a listing's photos against the registered marks' reference images,
//! beside [`crate::scoring`]: photos read by a [`PhotoLoader`] the caller gives
//! (files, a polite HTTP fetcher, photos a crawl already fetched, thumbnails kept in
//! the store), decoded within limits, hashed with all their query variants and
//! looked up in the reference index; and photo hashes handed in with the listing
//! (`image_hashes`), looked up as they are. This module does no I/O of its own.
//!
//! A decoded photo is also searched for the registered logos and for parts of the
//! registered product photos (see [`crate::image::logo`]) when the matcher was
//! given a [`LogoIndex`], and read for text (see [`crate::image::ocr`]) when it was
//! given an [`Ocr`]: a mark's name read there is a `photo_text` signal.
//!
//! A photo decoded may also be kept as evidence: a thumbnail of at most
//! [`THUMBNAIL_SIDE`] pixels a side (JPEG) with the SHA-256 of the original bytes.

use std::sync::Arc;

use image::DynamicImage;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::image::ocr::{readings, Ocr, TextLine};
use crate::image::{
    decode_bytes, pdq_hash, query_hashes, recycle, Dihedral, Hash256, ImageHit, Limits, LogoIndex,
    QueryHash, ReferenceEntry, ReferenceIndex, RegionHit, RegionKind, MIN_QUALITY,
};
use crate::listing::{KeptPhoto, Listing, PhotoRecord};
use crate::registry::Mark;
use crate::scoring::{sanitize, PhotoCodeWord, PhotoLine, PhotoSource, Scorer, Signal};

/// Photos of one listing looked at; the rest are skipped with a warning, so that a
/// listing naming thousands of URLs cannot stall the batch. The same bound applies
/// to `image_hashes`.
pub const MAX_PHOTOS: usize = 32;

/// The longest side of a photo thumbnail kept as evidence, in pixels: enough to
/// recognise a product and a logo on a reviewer's screen, about 30-80 KB as JPEG.
pub const THUMBNAIL_SIDE: u32 = 640;

/// JPEG quality of kept thumbnails: photos look as they did, at a fraction of the
/// size of the original.
const THUMBNAIL_QUALITY: u8 = 80;

/// Reads the bytes of one `images` entry of a listing (a path or URL). Loaders do
/// the I/O; errors are one line, naming the source.
pub trait PhotoLoader: Sync {
    /// The encoded photo.
    fn load(&self, source: &str) -> Result<Vec<u8>, String>;
}

/// What to keep of the photos decoded, beyond their evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// Their hashes and turned copies' hashes, to find relistings by photo.
    pub hashes: bool,
    /// Thumbnails, as evidence.
    pub thumbnails: bool,
}

/// What a listing's photos showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoLookup {
    /// The `image_match`, `logo_match`, `photo_part` and `photo_text` evidence for
    /// [`Scorer::score_with`].
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
    /// The photos kept as evidence, when thumbnails are kept.
    pub kept: Vec<KeptPhoto>,
    /// The counterfeit code words read in the photos (with `--photo-text`).
    pub code_words: Vec<PhotoCodeWord>,
}

/// One photo looked at.
struct Looked {
    index: usize,
    hits: Vec<ImageHit>,
    regions: Vec<RegionHit>,
    /// Text read in the photo, with the photo's size.
    lines: Vec<TextLine>,
    size: [u32; 2],
    as_is: Option<Hash256>,
    turned: Vec<Hash256>,
    kept: Option<KeptPhoto>,
}

/// The listing photos' matcher: the reference index of every registered mark.
#[derive(Debug)]
pub struct PhotoMatcher {
    index: ReferenceIndex,
    regions: LogoIndex,
    /// Reads text in each decoded photo when set.
    text: Option<Arc<Ocr>>,
    limits: Limits,
}

impl PhotoMatcher {
    /// Indexes the stored hashes of every reference image of `marks`.
    pub fn new(marks: &[Mark]) -> PhotoMatcher {
        let entries = marks.iter().enumerate().flat_map(|(mark, m)| {
            m.images.iter().enumerate().flat_map(move |(image, r)| {
                r.hashes()
                    .into_iter()
                    .map(move |hash| ReferenceEntry { mark, image, hash })
            })
        });
        PhotoMatcher {
            index: ReferenceIndex::new(entries),
            regions: LogoIndex::new(Vec::new()),
            text: None,
            limits: Limits::DEFAULT,
        }
    }

    /// [`PhotoMatcher::new`] that also searches each decoded photo for the logos
    /// and product-photo parts of `regions` (built from the same `marks`).
    pub fn with_regions(marks: &[Mark], regions: LogoIndex) -> PhotoMatcher {
        PhotoMatcher {
            regions,
            ..PhotoMatcher::new(marks)
        }
    }

    /// Also reads the text in each decoded photo with `ocr` and matches it
    /// against the marks like a title (`photo_text` signals).
    pub fn with_text(self, ocr: Arc<Ocr>) -> PhotoMatcher {
        PhotoMatcher {
            text: Some(ocr),
            ..self
        }
    }

    /// Looks up a listing's photos (read by `loader`; not looked at without one)
    /// and supplied hashes. With nothing to keep and no reference image indexed,
    /// nothing is decoded. Photos that fail are logged and skipped.
    pub fn look_up(
        &self,
        scorer: &Scorer,
        listing: &Listing,
        loader: Option<&dyn PhotoLoader>,
        keep: Keep,
    ) -> PhotoLookup {
        let mut out = PhotoLookup::default();
        let useful = keep.hashes
            || keep.thumbnails
            || !self.index.is_empty()
            || !self.regions.is_empty()
            || self.text.is_some();
        let images: &[String] = match loader {
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
        // A photo named twice is decoded once: a listing repeating one huge photo
        // costs what the photo costs.
        let firsts: Vec<(usize, &String)> = images
            .iter()
            .take(MAX_PHOTOS)
            .enumerate()
            .filter(|(i, source)| !images[..*i].contains(source))
            .collect();
        let looked: Vec<Looked> = firsts
            .into_par_iter()
            .filter_map(|(i, source)| {
                let loader = loader?;
                match self.look_at(i, source, loader, keep) {
                    Ok(l) => Some(l),
                    Err(reason) => {
                        // Both come from the listing: no control characters on stderr.
                        let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
                        tracing::warn!(
                            "listing {}: photo skipped: {reason}",
                            sanitize(&listing.id)
                        );
                        None
                    }
                }
            })
            .collect();
        let mut hits: Vec<(PhotoSource, ImageHit)> = Vec::new();
        let mut regions: Vec<(usize, RegionHit)> = Vec::new();
        let mut lines: Vec<PhotoLine> = Vec::new();
        for l in looked {
            hits.extend(l.hits.into_iter().map(|h| (PhotoSource::Image(l.index), h)));
            regions.extend(l.regions.into_iter().map(|h| (l.index, h)));
            // Each line, then each pair of lines that continue one another read
            // as one (a mark of two words split at a wide space or a line break).
            lines.extend(readings(l.lines).into_iter().map(|line| PhotoLine {
                image: l.index,
                photo: l.size,
                line,
            }));
            out.hashes.extend(l.as_is);
            out.turned.extend(l.turned);
            out.kept.extend(l.kept);
        }
        for (i, hash) in listing.image_hashes.iter().take(MAX_PHOTOS).enumerate() {
            // PDQ gives an image too small to hash all zeros: it says nothing.
            if *hash == Hash256::ZERO {
                continue;
            }
            let found = self.index.lookup(&[QueryHash::supplied(*hash)]);
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
        // A part of a photo PDQ already found whole says nothing more.
        let whole: Vec<usize> = out.signals.iter().map(|(m, _)| *m).collect();
        regions.retain(|(_, h)| {
            h.reference.kind == RegionKind::Logo || !whole.contains(&h.reference.mark)
        });
        out.signals
            .extend(scorer.region_signals(&regions, listing.images.len().min(MAX_PHOTOS)));
        out.signals
            .extend(scorer.text_signals(&lines, listing.images.len().min(MAX_PHOTOS)));
        out.code_words = scorer.photo_code_words(&lines, listing.images.len().min(MAX_PHOTOS));
        out
    }

    /// Loads, decodes, hashes and looks up one photo.
    fn look_at(
        &self,
        index: usize,
        source: &str,
        loader: &dyn PhotoLoader,
        keep: Keep,
    ) -> Result<Looked, String> {
        let bytes = loader.load(source)?;
        let image = decode_bytes(&bytes, &self.limits)
            .map_err(|e| format!("{source}: {}", error_chain(&e)))?;
        let hashes = query_hashes(&image);
        let as_is = hashes
            .iter()
            .find(|q| q.is_as_is() && q.pdq.quality >= MIN_QUALITY)
            .map(|q| q.pdq.hash);
        // Kept hashes compare photos with photos: the turns are hashed from the
        // turned pixels, as the reference images' are, since the DCT-derived turns
        // drift by tens of bits on small images.
        let turned = match as_is {
            Some(_) if keep.hashes => Dihedral::ALL[1..]
                .iter()
                .map(|d| pdq_hash(&d.apply(&image)))
                .filter(|p| p.quality >= MIN_QUALITY)
                .map(|p| p.hash)
                .collect(),
            _ => Vec::new(),
        };
        let kept = keep
            .thumbnails
            .then(|| thumbnail(&image))
            .flatten()
            .map(|thumbnail| KeptPhoto {
                record: PhotoRecord {
                    index,
                    source: source.to_owned(),
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    width: image.width(),
                    height: image.height(),
                },
                thumbnail,
            });
        let hits = self.index.lookup(&hashes);
        let regions = self.regions.search(&image);
        // A photo the OCR fails on still counts for the rest.
        let lines = match &self.text {
            Some(ocr) => ocr.read(&image).unwrap_or_else(|e| {
                tracing::warn!("{}: text not read: {}", sanitize(source), error_chain(&e));
                Vec::new()
            }),
            None => Vec::new(),
        };
        let size = [image.width(), image.height()];
        recycle(image);
        Ok(Looked {
            index,
            hits,
            regions,
            lines,
            size,
            as_is: if keep.hashes { as_is } else { None },
            turned,
            kept,
        })
    }
}

/// A JPEG thumbnail of `image`, at most [`THUMBNAIL_SIDE`] pixels a side (smaller
/// photos keep their size).
pub fn thumbnail(image: &DynamicImage) -> Option<Vec<u8>> {
    let small = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.resize(
            THUMBNAIL_SIDE,
            THUMBNAIL_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        image.clone()
    };
    let rgb = small.to_rgb8();
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY);
    match rgb.write_with_encoder(encoder) {
        Ok(()) => Some(out),
        Err(e) => {
            tracing::warn!("cannot encode a photo thumbnail: {e}");
            None
        }
    }
}

pub use crate::error_chain;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{reference_hashes, PdqHash};
    use crate::registry::{ImageRef, ImageVariant};
    use crate::scoring::{Rates, SignalKind};

    /// Reads local files, as `markhound match` does.
    struct Files;

    impl PhotoLoader for Files {
        fn load(&self, source: &str) -> Result<Vec<u8>, String> {
            std::fs::read(source).map_err(|e| format!("{source}: {e}"))
        }
    }

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

        let photos = PhotoMatcher::new(scorer.marks());
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
        let signals = |l: &Listing| {
            photos
                .look_up(&scorer, l, Some(&Files), Keep::default())
                .signals
        };
        let file_signals = signals(&by_file);
        let hash_signals = signals(&by_hash);
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
        assert!(signals(&other).is_empty());
    }

    #[test]
    fn kept_photos_carry_a_thumbnail_and_the_original_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(1280, 960, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        }))
        .save(&path)
        .unwrap();
        let scorer = Scorer::new(Vec::new(), Rates::default());
        let photos = PhotoMatcher::new(&[]);
        let listing = Listing {
            id: "a".into(),
            images: vec![path.to_str().unwrap().into()],
            ..Listing::default()
        };
        let keep = Keep {
            hashes: true,
            thumbnails: true,
        };
        let found = photos.look_up(&scorer, &listing, Some(&Files), keep);
        assert_eq!(found.kept.len(), 1);
        let kept = &found.kept[0];
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(kept.record.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!((kept.record.width, kept.record.height), (1280, 960));
        let thumb = image::load_from_memory(&kept.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (640, 480));
        assert_eq!(found.hashes.len(), 1);
        // Nothing kept unless asked.
        let found = photos.look_up(&scorer, &listing, Some(&Files), Keep::default());
        assert!(found.kept.is_empty() && found.hashes.is_empty());
    }

    #[test]
    fn supplied_hashes_are_kept_once_and_zero_is_ignored() {
        let scorer = Scorer::new(Vec::new(), Rates::default());
        let photos = PhotoMatcher::new(&[]);
        let h = crate::image::pdq_hash(&picture(3)).hash;
        let listing = Listing {
            id: "a".into(),
            image_hashes: vec![h, Hash256::ZERO, h],
            ..Listing::default()
        };
        let keep = Keep {
            hashes: true,
            thumbnails: false,
        };
        let found = photos.look_up(&scorer, &listing, None, keep);
        assert!(found.signals.is_empty());
        assert_eq!(found.hashes, vec![h]);
    }
}
