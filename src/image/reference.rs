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

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};

use super::{
    find_content, pdq_hash, pdq_hash_dihedral, Dihedral, Hash256, HashIndex, PdqHash, TrimOptions,
};

/// Hashes at most this many bits apart are the same picture: the threshold the PDQ
/// authors recommend for photos.
pub const MATCH_DISTANCE: u32 = 31;

/// Hashes of lower quality (flat, nearly blank images) are ignored on either side,
/// as the PDQ authors advise: they match too many unrelated pictures.
pub const MIN_QUALITY: u8 = 50;

/// Centre crops of each reference image that are hashed too, in per cent of each
/// side: listings often show the brand's photo cut down to its middle.
pub const REFERENCE_CROPS: [u8; 3] = [90, 80, 70];

/// Sizes of the off-centre windows of each reference image that are hashed, in
/// per cent of each side: a listing that cuts a little off some edges of the
/// brand's photo shows one of these windows, anchored anywhere.
pub const WINDOW_SCALES: [u8; 3] = [95, 90, 85];

/// Spacing of the windows' anchors, in tenths of a per cent of the image's side.
/// PDQ moves a median 18 to 22 bits when the frame shifts by 0.5 % of the width
/// (EVALUATION.md, "PDQ and a moving frame") and 36 bits at 1 %, so anchors 1.25 %
/// apart leave any crop of a listed size within about 0.6 % of a stored window.
pub const WINDOW_STEP: u32 = 12;

/// Small rotations of each reference image that are hashed, in tenths of a degree
/// either way: a listing photo turned by a few degrees (to dodge exact matching,
/// or scanned crooked) is within 0.75° of one of them.
pub const TILTS: [i16; 8] = [-60, -45, -30, -15, 15, 30, 45, 60];

/// The centre share of each side, in per cent, that is hashed of a tilted
/// reference and of every listing photo: inside the frame of any picture up to
/// twice as wide as high turned by up to 6°, so whatever fills the corners of a
/// turned photo (white, black, blur) never counts.
pub const TILT_CROP: u8 = 80;

/// Longest side the windows and tilts are cut from: the reference is shrunk to it
/// once, so that the many window hashes cost a small image each. PDQ moves by a
/// median 8 bits when a photo is halved (EVALUATION.md).
const WINDOW_BASE: u32 = 512;

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
    /// A window `percent` per cent of each side, its left edge `x` per cent of
    /// the way from the left margin to the right one (0: flush left, 100: flush
    /// right) and its top edge `y` per cent likewise.
    Window {
        /// Size, per cent of each side.
        percent: u8,
        /// Horizontal anchor, per cent of the free margin.
        x: u8,
        /// Vertical anchor, per cent of the free margin.
        y: u8,
    },
    /// The image turned by this many tenths of a degree (counter-clockwise when
    /// positive), then its centre [`TILT_CROP`] per cent of each side.
    Tilted(i16),
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
            Variant::Window { percent, x, y } => write!(f, "crop{percent}@{x},{y}"),
            Variant::Tilted(t) => {
                let sign = if *t < 0 { '-' } else { '+' };
                write!(
                    f,
                    "tilt{sign}{}.{}",
                    t.unsigned_abs() / 10,
                    t.unsigned_abs() % 10
                )
            }
        }
    }
}

/// Why a string does not name a [`Variant`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a reference variant (full, trimmed, top, bottom, rot90, rot180, rot270, flipx, flipy, \
     flipp, flipm, crop followed by a percentage 1..99 and optionally @x,y with x and y in 0..100, \
     or tilt followed by a signed angle such as +4.5)"
)]
pub struct ParseVariantError(String);

impl FromStr for Variant {
    type Err = ParseVariantError;

    /// Parses `full`, `trimmed`, `top`, `bottom`, a turn's name (`rot90`, `flipy`, ...),
    /// `cropNN` (NN in 1..=99), `cropNN@X,Y` (X and Y in 0..=100) or `tilt±D.D`.
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
            _ => parse_crop(s)
                .or_else(|| parse_tilt(s))
                .ok_or_else(|| ParseVariantError(s.to_owned())),
        }
    }
}

/// `cropNN` or `cropNN@X,Y`.
fn parse_crop(s: &str) -> Option<Variant> {
    let rest = s.strip_prefix("crop")?;
    let (size, anchor) = match rest.split_once('@') {
        Some((size, anchor)) => (size, Some(anchor)),
        None => (rest, None),
    };
    let percent = size.parse::<u8>().ok().filter(|p| (1..=99).contains(p))?;
    let Some(anchor) = anchor else {
        return Some(Variant::Crop(percent));
    };
    let (x, y) = anchor.split_once(',')?;
    let share = |v: &str| v.parse::<u8>().ok().filter(|v| *v <= 100);
    Some(Variant::Window {
        percent,
        x: share(x)?,
        y: share(y)?,
    })
}

/// `tilt+D.D` or `tilt-D.D` (tenths of a degree, at most 90°).
fn parse_tilt(s: &str) -> Option<Variant> {
    let rest = s.strip_prefix("tilt")?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (whole, tenth) = rest.split_once('.')?;
    if tenth.len() != 1 || whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tenths = whole.parse::<i16>().ok()?.checked_mul(10)? + tenth.parse::<i16>().ok()?;
    (tenths <= 900).then_some(Variant::Tilted(sign * tenths))
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
    let base = if image.width().max(image.height()) > WINDOW_BASE {
        image.resize(WINDOW_BASE, WINDOW_BASE, FilterType::Triangle)
    } else {
        image.clone()
    };
    for percent in WINDOW_SCALES {
        let anchors = window_anchors(percent);
        for &y in &anchors {
            for &x in &anchors {
                if (x, y) == (50, 50) && REFERENCE_CROPS.contains(&percent) {
                    continue; // the centre crop, hashed above at full size
                }
                out.push(ReferenceHash {
                    variant: Variant::Window { percent, x, y },
                    pdq: pdq_hash(&window(&base, percent, x, y)),
                });
            }
        }
    }
    let base = base.to_rgb8();
    for tenths in TILTS {
        let turned = DynamicImage::ImageRgb8(tilt(&base, f32::from(tenths) / 10.0));
        out.push(ReferenceHash {
            variant: Variant::Tilted(tenths),
            pdq: pdq_hash(&centre_crop(&turned, TILT_CROP)),
        });
    }
    out
}

/// The anchors of the windows of one size, in per cent of the free margin: from
/// flush left (0) to flush right (100), at most [`WINDOW_STEP`] apart on the image.
fn window_anchors(percent: u8) -> Vec<u8> {
    let margin = u32::from(100 - percent.min(100)) * 10;
    let steps = margin.div_ceil(WINDOW_STEP).max(1);
    (0..=steps).map(|i| (i * 100 / steps) as u8).collect()
}

/// The window of `image` `percent` per cent of each side, anchored `x` and `y` per
/// cent of the way across the free margins (see [`Variant::Window`]).
pub fn window(image: &DynamicImage, percent: u8, x: u8, y: u8) -> DynamicImage {
    let side = |len: u32| ((u64::from(len) * u64::from(percent) / 100) as u32).clamp(1, len.max(1));
    let (w, h) = (side(image.width()), side(image.height()));
    let at = |free: u32, share: u8| (u64::from(free) * u64::from(share.min(100)) / 100) as u32;
    image.crop_imm(at(image.width() - w, x), at(image.height() - h, y), w, h)
}

/// `image` turned by `degrees` about its centre (counter-clockwise when positive),
/// same size, bilinear, the corners filled by repeating the edge pixels. Written
/// here because the crate that has it (imageproc) would bring a linear-algebra
/// stack into the build for one function; the corners are cut off by
/// [`TILT_CROP`] before hashing anyway.
fn tilt(src: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = src.dimensions();
    if w == 0 || h == 0 {
        return src.clone();
    }
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (max_x, max_y) = ((w - 1) as f32, (h - 1) as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        // Inverse rotation (y grows downwards): where this output pixel comes from.
        let sx = (cos * dx - sin * dy + cx - 0.5).clamp(0.0, max_x);
        let sy = (sin * dx + cos * dy + cy - 0.5).clamp(0.0, max_y);
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| src.get_pixel(x, y).0.map(f32::from);
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        Rgb(std::array::from_fn(|i| {
            let v =
                (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy;
            v.round().clamp(0.0, 255.0) as u8
        }))
    })
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
    /// Whether only the centre of the photo ([`TILT_CROP`] per cent of each side)
    /// was hashed, leaving out the corners a turned photo fills.
    pub centre: bool,
}

/// One hash of a listing photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryHash {
    /// How the photo was turned.
    pub transform: QueryTransform,
    /// Its PDQ hash and quality.
    pub pdq: PdqHash,
}

impl QueryHash {
    /// A hash of a listing photo handed in rather than computed (a platform's
    /// catalogue hash): looked up as the photo as it is, since how it was turned
    /// is unknown (the reference's turned variants still find a mirrored or
    /// rotated copy). Its quality is unknown too and taken as full: senders are
    /// expected to leave out hashes of quality under [`MIN_QUALITY`], as PDQ
    /// advises.
    pub fn supplied(hash: Hash256) -> QueryHash {
        QueryHash {
            transform: QueryTransform {
                dihedral: Dihedral::Original,
                trimmed: false,
                half: None,
                centre: false,
            },
            pdq: PdqHash { hash, quality: 100 },
        }
    }

    /// Whether this is the hash of the whole photo as it is (not turned, trimmed
    /// or cut), the one hash of a photo worth keeping to compare photos.
    pub fn is_as_is(&self) -> bool {
        self.transform
            == QueryTransform {
                dihedral: Dihedral::Original,
                trimmed: false,
                half: None,
                centre: false,
            }
    }
}

/// The hashes of a listing photo to look up: its eight rotations and mirror images,
/// its two halves as they are, its centre (for the tilted references), and the
/// eight turns of its content when it has uniform borders.
pub fn query_hashes(image: &DynamicImage) -> Vec<QueryHash> {
    let mut out = Vec::with_capacity(19);
    let mut push = |image: &DynamicImage, trimmed: bool| {
        for (dihedral, pdq) in Dihedral::ALL.into_iter().zip(pdq_hash_dihedral(image)) {
            out.push(QueryHash {
                transform: QueryTransform {
                    dihedral,
                    trimmed,
                    half: None,
                    centre: false,
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
                centre: false,
            },
            pdq: pdq_hash(&half.of(image)),
        });
    }
    out.push(QueryHash {
        transform: QueryTransform {
            dihedral: Dihedral::Original,
            trimmed: false,
            half: None,
            centre: true,
        },
        pdq: pdq_hash(&centre_crop(image, TILT_CROP)),
    });
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
            Variant::Window { percent, .. } => {
                parts.push(format!("cropped to {percent} % off-centre"))
            }
            Variant::Tilted(t) => parts.push(format!(
                "turned {}.{}°",
                t.unsigned_abs() / 10,
                t.unsigned_abs() % 10
            )),
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
            Variant::Window {
                percent: 90,
                x: 0,
                y: 100,
            },
            Variant::Tilted(-45),
            Variant::Tilted(30),
            Variant::Tilted(5),
        ] {
            assert_eq!(v.to_string().parse::<Variant>(), Ok(v));
        }
        assert!("crop0".parse::<Variant>().is_err());
        assert!("crop100".parse::<Variant>().is_err());
        assert!("half".parse::<Variant>().is_err());
        assert!("orig".parse::<Variant>().is_err());
        for bad in [
            "crop90@",
            "crop90@1",
            "crop90@101,0",
            "crop90@1,2,3",
            "tilt3",
            "tilt+3",
            "tilt+.5",
            "tilt++3.0",
            "tilt+91.0",
            "tilt-3.25",
        ] {
            assert!(bad.parse::<Variant>().is_err(), "{bad}");
        }
        assert_eq!("tilt-4.5".parse(), Ok(Variant::Tilted(-45)));
        assert_eq!(Variant::Tilted(30).to_string(), "tilt+3.0");
        assert_eq!(
            Variant::Window {
                percent: 85,
                x: 7,
                y: 100
            }
            .to_string(),
            "crop85@7,100"
        );
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
        for percent in WINDOW_SCALES {
            let anchors = window_anchors(percent);
            assert_eq!((anchors[0], anchors[anchors.len() - 1]), (0, 100));
            for &y in &anchors {
                for &x in &anchors {
                    if (x, y) != (50, 50) || !REFERENCE_CROPS.contains(&percent) {
                        expected.push(Variant::Window { percent, x, y });
                    }
                }
            }
        }
        expected.extend(TILTS.map(Variant::Tilted));
        assert_eq!(kinds, expected);
        let mut canvas = RgbImage::from_pixel(300, 300, Rgb([255, 255, 255]));
        imageops::overlay(&mut canvas, &plain.to_rgb8(), 50, 70);
        let padded = DynamicImage::ImageRgb8(canvas);
        let hashes = reference_hashes(&padded);
        let trimmed = hashes
            .iter()
            .find(|h| h.variant == Variant::Trimmed)
            .unwrap();
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

    /// `image` turned by `degrees` with its corners filled white, as a listing photo
    /// edited by hand would be.
    fn turned_with_white_corners(image: &DynamicImage, degrees: f32) -> DynamicImage {
        let src = image.to_rgb8();
        let turned = tilt(&src, degrees);
        let (w, h) = src.dimensions();
        let (sin, cos) = degrees.to_radians().sin_cos();
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            let (dx, dy) = (
                x as f32 + 0.5 - w as f32 / 2.0,
                y as f32 + 0.5 - h as f32 / 2.0,
            );
            let (sx, sy) = (cos * dx - sin * dy, sin * dx + cos * dy);
            if sx.abs() > w as f32 / 2.0 || sy.abs() > h as f32 / 2.0 {
                Rgb([255, 255, 255])
            } else {
                *turned.get_pixel(x, y)
            }
        }))
    }

    #[test]
    fn finds_corner_crops_and_small_turns_either_way() {
        // Blurred, like a photo: the sharp blocks of `picture` alone move PDQ far
        // more under a small shift than photos do.
        let a = picture(320, 240, 1).blur(4.0);
        let b = picture(320, 240, 9).blur(4.0);
        let index = index_of(&[(0, &a), (1, &b)]);
        // Cut 8 % off the right and bottom only, and 12 % off the left and top only:
        // windows no centre crop lines up with.
        for cropped in [window(&a, 92, 0, 0), window(&a, 88, 100, 100)] {
            let plain = index.lookup(&query_hashes(&cropped));
            assert_eq!(plain.len(), 1, "{plain:?}");
            assert_eq!(plain[0].mark, 0);
            assert!(
                matches!(plain[0].variant, Variant::Window { .. }),
                "{plain:?}"
            );
        }
        for degrees in [-5.0, -2.0, 4.0] {
            let turned = turned_with_white_corners(&b, degrees);
            let hits = index.lookup(&query_hashes(&turned));
            assert_eq!(hits.len(), 1, "{degrees}°: {hits:?}");
            assert_eq!(hits[0].mark, 1);
            assert!(hits[0].transform.centre, "{hits:?}");
            assert!(hits[0].edit().unwrap().contains("turned"), "{hits:?}");
        }
        // Without the windows and tilts, none of these is found.
        let old = ReferenceIndex::new(
            reference_hashes(&a)
                .into_iter()
                .filter(|h| !matches!(h.variant, Variant::Window { .. } | Variant::Tilted(_)))
                .map(|hash| ReferenceEntry {
                    mark: 0,
                    image: 0,
                    hash,
                }),
        );
        assert!(old
            .lookup(&query_hashes(&window(&a, 88, 100, 100)))
            .is_empty());
        assert!(old
            .lookup(&query_hashes(&turned_with_white_corners(&a, 4.0)))
            .is_empty());
    }

    #[test]
    fn windows_and_tilts_of_one_picture_stay_far_from_another() {
        let a = reference_hashes(&picture(320, 240, 1));
        let b = reference_hashes(&picture(320, 240, 23));
        let closest = a
            .iter()
            .flat_map(|x| b.iter().map(move |y| x.pdq.hash.hamming(&y.pdq.hash)))
            .min()
            .unwrap();
        assert!(closest > MATCH_DISTANCE + 16, "{closest}");
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
        assert_eq!(index.len(), reference_hashes(&a).len());
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
