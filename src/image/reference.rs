//! Matching listing photos against the registered marks' reference images.
//!
//! Plain PDQ finds resized, recompressed and lightly edited copies of a photo, but a
//! counterfeit listing often shows the brand's own photo mirrored, rotated, cropped
//! or pasted onto a larger canvas, and each of those moves the hash far away. So
//! both sides hash more than the picture as it is:
//!
//! - each reference image is hashed whole, turned each of the seven other ways
//!   pixel by pixel, at a few centre crops ([`REFERENCE_CROPS`]), by halves (top,
//!   bottom) and without its uniform borders ([`reference_hashes`]);
//! - each listing photo is hashed in its eight rotations and mirror images (one DCT,
//!   see [`PdqHasher::hash_dihedral`](super::PdqHasher::hash_dihedral)), by halves
//!   (a banner or caption pasted over one half leaves the other intact) and, when
//!   it has uniform borders, its content again in all eight ([`query_hashes`]).
//!
//! [`ReferenceIndex`] holds every reference hash of every mark and answers, for the
//! hashes of one listing photo, the closest reference image of each mark within
//! PDQ's match distance. Pure: hashes in, hits out; storage and fetching are the
//! callers' business.

use std::fmt;
use std::str::FromStr;

use image::DynamicImage;

use super::{find_content, pdq_hash, pdq_hash_dihedral, Dihedral, HashIndex, PdqHash, TrimOptions};

/// Hashes at most this many bits apart are the same picture: the threshold the PDQ
/// authors recommend for photos.
pub const MATCH_DISTANCE: u32 = 31;

/// Hashes of lower quality (flat, nearly blank images) are ignored on either side,
/// as the PDQ authors advise: they match too many unrelated pictures.
pub const MIN_QUALITY: u8 = 50;

/// Centre crops of each reference image that are hashed too, in per cent of each
/// side: listings often show the brand's photo cut down to its middle.
pub const REFERENCE_CROPS: [u8; 3] = [90, 80, 70];

/// Which part of a reference image a hash was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// The whole image.
    Full,
    /// The whole image turned (rotated or mirrored) pixel by pixel. The listing
    /// side's dihedral hashes come from one DCT, which is exact on large photos but
    /// drifts by up to 60 bits on small sharp logos; these catch those.
    Turned(Dihedral),
    /// The centre, this many per cent of each side.
    Crop(u8),
    /// The image without its uniform borders.
    Trimmed,
    /// One half of the image.
    Half(Half),
}

/// A half of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Half {
    /// The upper half.
    Top,
    /// The lower half.
    Bottom,
}

impl Half {
    /// Both halves.
    pub const ALL: [Half; 2] = [Half::Top, Half::Bottom];

    /// `top` or `bottom`.
    pub fn name(self) -> &'static str {
        match self {
            Half::Top => "top",
            Half::Bottom => "bottom",
        }
    }

    /// This half of `image`.
    pub fn of(self, image: &DynamicImage) -> DynamicImage {
        let (w, h) = (image.width(), image.height());
        match self {
            Half::Top => image.crop_imm(0, 0, w, h / 2),
            Half::Bottom => image.crop_imm(0, h / 2, w, h - h / 2),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variant::Full => f.write_str("full"),
            Variant::Turned(d) => f.write_str(d.name()),
            Variant::Crop(p) => write!(f, "crop{p}"),
            Variant::Trimmed => f.write_str("trimmed"),
            Variant::Half(half) => f.write_str(half.name()),
        }
    }
}

/// Why a string does not name a [`Variant`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a reference variant (full, trimmed, top, bottom, rot90, rot180, rot270, flipx, flipy, \
     flipp, flipm, or crop followed by a percentage 1..99)"
)]
pub struct ParseVariantError(String);

impl FromStr for Variant {
    type Err = ParseVariantError;

    /// Parses `full`, `trimmed`, `top`, `bottom`, a turn's name (`rot90`, `flipy`, ...) or `cropNN`
    /// (NN in 1..=99).
    fn from_str(s: &str) -> Result<Variant, ParseVariantError> {
        match s {
            "full" => Ok(Variant::Full),
            "trimmed" => Ok(Variant::Trimmed),
            "top" => Ok(Variant::Half(Half::Top)),
            "bottom" => Ok(Variant::Half(Half::Bottom)),
            "orig" => Err(ParseVariantError(s.to_owned())),
            _ if Dihedral::from_name(s).is_some() => Ok(Variant::Turned(
                Dihedral::from_name(s).unwrap_or(Dihedral::Original),
            )),
            _ => s
                .strip_prefix("crop")
                .and_then(|p| p.parse::<u8>().ok())
                .filter(|p| (1..=99).contains(p))
                .map(Variant::Crop)
                .ok_or_else(|| ParseVariantError(s.to_owned())),
        }
    }
}

impl serde::Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Variant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Variant, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One hash of a reference image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceHash {
    /// The part of the image hashed.
    pub variant: Variant,
    /// Its PDQ hash and quality.
    pub pdq: PdqHash,
}

/// The hashes stored for a reference image: the whole image first, then its seven
/// turns, each of [`REFERENCE_CROPS`], its two halves, and the image without its
/// borders when it has any.
pub fn reference_hashes(image: &DynamicImage) -> Vec<ReferenceHash> {
    let mut out = Vec::with_capacity(REFERENCE_CROPS.len() + 9);
    out.push(ReferenceHash {
        variant: Variant::Full,
        pdq: pdq_hash(image),
    });
    for d in &Dihedral::ALL[1..] {
        out.push(ReferenceHash {
            variant: Variant::Turned(*d),
            pdq: pdq_hash(&d.apply(image)),
        });
    }
    for percent in REFERENCE_CROPS {
        let crop = centre_crop(image, percent);
        out.push(ReferenceHash {
            variant: Variant::Crop(percent),
            pdq: pdq_hash(&crop),
        });
    }
    for half in Half::ALL {
        out.push(ReferenceHash {
            variant: Variant::Half(half),
            pdq: pdq_hash(&half.of(image)),
        });
    }
    if let Some(c) = find_content(image, &TrimOptions::default()) {
        let trimmed = image.crop_imm(c.x, c.y, c.width, c.height);
        out.push(ReferenceHash {
            variant: Variant::Trimmed,
            pdq: pdq_hash(&trimmed),
        });
    }
    out
}

/// The centre of `image`, `percent` per cent of each side (at least one pixel).
pub fn centre_crop(image: &DynamicImage, percent: u8) -> DynamicImage {
    let side = |len: u32| ((u64::from(len) * u64::from(percent) / 100) as u32).clamp(1, len.max(1));
    let (w, h) = (side(image.width()), side(image.height()));
    image.crop_imm((image.width() - w) / 2, (image.height() - h) / 2, w, h)
}

/// How a listing photo was turned before its hash matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryTransform {
    /// The rotation or mirror image of the photo.
    pub dihedral: Dihedral,
    /// Whether the photo's uniform borders were removed first.
    pub trimmed: bool,
    /// The half of the photo hashed, if not the whole.
    pub half: Option<Half>,
}

/// One hash of a listing photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryHash {
    /// How the photo was turned.
    pub transform: QueryTransform,
    /// Its PDQ hash and quality.
    pub pdq: PdqHash,
}

/// The hashes of a listing photo to look up: its eight rotations and mirror images,
/// its two halves as they are, and the eight turns of its content when it has
/// uniform borders.
pub fn query_hashes(image: &DynamicImage) -> Vec<QueryHash> {
    let mut out = Vec::with_capacity(18);
    let mut push = |image: &DynamicImage, trimmed: bool| {
        for (dihedral, pdq) in Dihedral::ALL.into_iter().zip(pdq_hash_dihedral(image)) {
            out.push(QueryHash {
                transform: QueryTransform {
                    dihedral,
                    trimmed,
                    half: None,
                },
                pdq,
            });
        }
    };
    push(image, false);
    let content = find_content(image, &TrimOptions::default());
    if let Some(c) = content {
        push(&image.crop_imm(c.x, c.y, c.width, c.height), true);
    }
    for half in Half::ALL {
        out.push(QueryHash {
            transform: QueryTransform {
                dihedral: Dihedral::Original,
                trimmed: false,
                half: Some(half),
            },
            pdq: pdq_hash(&half.of(image)),
        });
    }
    out
}

/// A reference hash to index, with where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceEntry {
    /// The mark's position in the caller's list of marks.
    pub mark: usize,
    /// The image's position in the mark's list of images.
    pub image: usize,
    /// The hash.
    pub hash: ReferenceHash,
}

/// The closest reference image of one mark for a listing photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHit {
    /// The mark's position in the caller's list of marks.
    pub mark: usize,
    /// The image's position in the mark's list of images.
    pub image: usize,
    /// Bits between the two hashes (at most [`MATCH_DISTANCE`]).
    pub distance: u32,
    /// The part of the reference image that matched.
    pub variant: Variant,
    /// How the listing photo was turned to match.
    pub transform: QueryTransform,
}

impl ImageHit {
    /// The edit the listing photo shows, in words (`mirrored`, `rotated 90°`,
    /// `cropped to 80 %`, `borders removed`), or `None` for a plain copy.
    pub fn edit(&self) -> Option<String> {
        let mut parts = Vec::new();
        let turned = |d: Dihedral| match d {
            Dihedral::Original => None,
            Dihedral::Rotate90 | Dihedral::Rotate270 => Some("rotated 90°"),
            Dihedral::Rotate180 => Some("rotated 180°"),
            Dihedral::FlipX => Some("upside down"),
            Dihedral::FlipY => Some("mirrored"),
            Dihedral::FlipPlus1 | Dihedral::FlipMinus1 => Some("mirrored and rotated"),
        };
        parts.extend(turned(self.transform.dihedral).map(str::to_owned));
        match self.variant {
            Variant::Full => {}
            Variant::Turned(d) => parts.extend(turned(d).map(str::to_owned)),
            Variant::Crop(p) => parts.push(format!("cropped to {p} %")),
            Variant::Trimmed => parts.push("reference without borders".to_owned()),
            Variant::Half(h) => parts.push(format!("{} half of the reference", h.name())),
        }
        if self.transform.trimmed {
            parts.push("borders removed".to_owned());
        }
        if let Some(h) = self.transform.half {
            parts.push(format!("{} half of the photo", h.name()));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Every usable reference hash, indexed for look-ups by listing photos. Build once,
/// share between threads.
#[derive(Debug, Clone)]
pub struct ReferenceIndex {
    entries: Vec<ReferenceEntry>,
    index: HashIndex,
}

impl ReferenceIndex {
    /// Indexes `entries`, leaving out hashes of quality under [`MIN_QUALITY`].
    pub fn new(entries: impl IntoIterator<Item = ReferenceEntry>) -> ReferenceIndex {
        let entries: Vec<ReferenceEntry> = entries
            .into_iter()
            .filter(|e| e.hash.pdq.quality >= MIN_QUALITY)
            .collect();
        let index = HashIndex::new(entries.iter().map(|e| e.hash.pdq.hash).collect());
        ReferenceIndex { entries, index }
    }

    /// Number of reference hashes indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no reference hash is indexed (then no photo needs hashing).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The closest reference image of each mark within [`MATCH_DISTANCE`] of any of
    /// `query` (hashes of quality under [`MIN_QUALITY`] are skipped), ordered by mark.
    /// Ties go to the earlier query hash (the photo as it is before its rotations)
    /// and then to the earlier reference hash (the whole image before its crops).
    pub fn lookup(&self, query: &[QueryHash]) -> Vec<ImageHit> {
        // (mark, distance, query position, entry position) of the best hit per mark.
        let mut best: Vec<(usize, u32, usize, u32)> = Vec::new();
        for (qi, q) in query.iter().enumerate() {
            if q.pdq.quality < MIN_QUALITY {
                continue;
            }
            for n in self.index.within(&q.pdq.hash, MATCH_DISTANCE) {
                let mark = self.entries[n.id as usize].mark;
                let candidate = (mark, n.distance, qi, n.id);
                match best.iter_mut().find(|b| b.0 == mark) {
                    Some(b) if (candidate.1, candidate.2, candidate.3) < (b.1, b.2, b.3) => {
                        *b = candidate;
                    }
                    Some(_) => {}
                    None => best.push(candidate),
                }
            }
        }
        best.sort_unstable();
        best.into_iter()
            .map(|(mark, distance, qi, id)| {
                let entry = &self.entries[id as usize];
                ImageHit {
                    mark,
                    image: entry.image,
                    distance,
                    variant: entry.hash.variant,
                    transform: query[qi].transform,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{imageops, Rgb, RgbImage};

    /// A picture with plenty of structure: blocks of pseudo-random grey levels over
    /// a smooth gradient, different for each seed.
    fn picture(width: u32, height: u32, seed: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            let cell = (x / 12).wrapping_mul(7919) ^ (y / 12).wrapping_mul(104_729) ^ seed;
            let noise = cell.wrapping_mul(2_654_435_761) >> 24;
            let v = (noise as f32 * 0.7 + x as f32 * 0.3) as u8;
            Rgb([v, v / 2 + (y as u8 / 4), 255 - v])
        }))
    }

    fn index_of(images: &[(usize, &DynamicImage)]) -> ReferenceIndex {
        ReferenceIndex::new(images.iter().flat_map(|(mark, img)| {
            reference_hashes(img)
                .into_iter()
                .map(|hash| ReferenceEntry {
                    mark: *mark,
                    image: 0,
                    hash,
                })
        }))
    }

    #[test]
    fn variant_names_round_trip() {
        for v in [
            Variant::Full,
            Variant::Crop(80),
            Variant::Trimmed,
            Variant::Turned(Dihedral::FlipY),
            Variant::Half(Half::Bottom),
        ] {
            assert_eq!(v.to_string().parse::<Variant>(), Ok(v));
        }
        assert!("crop0".parse::<Variant>().is_err());
        assert!("crop100".parse::<Variant>().is_err());
        assert!("half".parse::<Variant>().is_err());
        assert!("orig".parse::<Variant>().is_err());
        assert_eq!("flipm".parse(), Ok(Variant::Turned(Dihedral::FlipMinus1)));
        let json = serde_json::to_string(&Variant::Crop(70)).unwrap();
        assert_eq!(json, "\"crop70\"");
        assert_eq!(
            serde_json::from_str::<Variant>(&json).unwrap(),
            Variant::Crop(70)
        );
    }

    #[test]
    fn reference_hashes_cover_turns_crops_and_trim() {
        let plain = picture(200, 160, 1);
        let kinds: Vec<Variant> = reference_hashes(&plain).iter().map(|h| h.variant).collect();
        let mut expected = vec![Variant::Full];
        expected.extend(Dihedral::ALL[1..].iter().map(|d| Variant::Turned(*d)));
        expected.extend([Variant::Crop(90), Variant::Crop(80), Variant::Crop(70)]);
        expected.extend([Variant::Half(Half::Top), Variant::Half(Half::Bottom)]);
        assert_eq!(kinds, expected);
        let mut canvas = RgbImage::from_pixel(300, 300, Rgb([255, 255, 255]));
        imageops::overlay(&mut canvas, &plain.to_rgb8(), 50, 70);
        let padded = DynamicImage::ImageRgb8(canvas);
        let hashes = reference_hashes(&padded);
        let trimmed = hashes.last().unwrap();
        assert_eq!(trimmed.variant, Variant::Trimmed);
        assert!(trimmed.pdq.hash.hamming(&pdq_hash(&plain).hash) <= 8);
    }

    #[test]
    fn finds_mirrored_cropped_and_padded_copies_of_the_right_mark() {
        let a = picture(240, 180, 1);
        let b = picture(240, 180, 9);
        let index = index_of(&[(0, &a), (1, &b)]);
        let mirrored = a.fliph();
        let hits = index.lookup(&query_hashes(&mirrored));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].mark, 0);
        // The listing's own hash meets the reference turned pixel by pixel.
        assert_eq!(hits[0].variant, Variant::Turned(Dihedral::FlipY));
        assert_eq!(hits[0].edit().as_deref(), Some("mirrored"));
        // Without the turned references, the listing's DCT-derived turn finds it.
        let plain_only = ReferenceIndex::new(
            reference_hashes(&a)
                .into_iter()
                .filter(|h| h.variant == Variant::Full)
                .map(|hash| ReferenceEntry {
                    mark: 0,
                    image: 0,
                    hash,
                }),
        );
        let hits = plain_only.lookup(&query_hashes(&mirrored));
        assert_eq!(hits[0].transform.dihedral, Dihedral::FlipY);
        assert_eq!(hits[0].edit().as_deref(), Some("mirrored"));

        let cropped = centre_crop(&b, 80);
        let hits = index.lookup(&query_hashes(&cropped));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].mark, hits[0].variant), (1, Variant::Crop(80)));
        assert_eq!(hits[0].distance, 0);

        let mut canvas = RgbImage::from_pixel(400, 260, Rgb([0, 0, 0]));
        imageops::overlay(&mut canvas, &b.to_rgb8(), 100, 40);
        let hits = index.lookup(&query_hashes(&DynamicImage::ImageRgb8(canvas)));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].transform.trimmed);
        assert_eq!(hits[0].mark, 1);
    }

    #[test]
    fn a_banner_over_one_half_leaves_the_other_to_match() {
        let a = picture(240, 180, 1);
        let index = index_of(&[(0, &a)]);
        let mut bannered = a.to_rgb8();
        for y in 110..150 {
            for x in 0..240 {
                let v = if (x / 20) % 2 == 0 { 0 } else { 255 };
                bannered.put_pixel(x, y, Rgb([v, v, v]));
            }
        }
        let hits = index.lookup(&query_hashes(&DynamicImage::ImageRgb8(bannered)));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].transform.half, Some(Half::Top));
        assert_eq!(hits[0].variant, Variant::Half(Half::Top));
        assert_eq!(
            hits[0].edit().as_deref(),
            Some("top half of the reference, top half of the photo")
        );
    }

    #[test]
    fn unrelated_and_blank_images_match_nothing() {
        let a = picture(240, 180, 1);
        let blank = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 100, Rgb([200, 200, 200])));
        let index = index_of(&[(0, &a), (1, &blank)]);
        // The blank reference has quality 0 and is not indexed at all.
        assert_eq!(index.len(), 13);
        assert!(index.lookup(&query_hashes(&blank)).is_empty());
        let other = picture(240, 180, 23);
        assert!(index.lookup(&query_hashes(&other)).is_empty());
        assert!(ReferenceIndex::new([]).lookup(&query_hashes(&a)).is_empty());
    }

    #[test]
    fn keeps_the_closest_hit_per_mark() {
        let a = picture(240, 180, 1);
        // Two reference images of mark 3: a blurred copy, then the picture itself.
        let blurred = a.blur(2.0);
        let entries = [(0, &blurred), (1, &a)]
            .into_iter()
            .flat_map(|(image, img)| {
                reference_hashes(img)
                    .into_iter()
                    .map(move |hash| ReferenceEntry {
                        mark: 3,
                        image,
                        hash,
                    })
            });
        let index = ReferenceIndex::new(entries);
        let hits = index.lookup(&query_hashes(&a));
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].mark, hits[0].image, hits[0].distance), (3, 1, 0));
        assert_eq!(hits[0].variant, Variant::Full);
        assert_eq!(hits[0].edit(), None);
    }
}
