//! Finding registered logos, and parts of registered product photos, inside listing
//! photos: the local features of [`super::features`] looked up in one index over all
//! references, then checked geometrically.
//!
//! # How
//!
//! 1. **References.** Each logo is drawn at seven sizes, its longer side from 40 to
//!    320 pixels in steps of √2 ([`LOGO_SIDES`]), because a flat logo has few
//!    corners and a binary descriptor tolerates a change of scale of about ±20 %
//!    only: a logo printed at 8 % of a 640-pixel photo is about 50 pixels wide, one
//!    at 35 % about 220. A logo with transparency is drawn twice, on white and on
//!    black, since the tests of a descriptor straddling its outline flip with the
//!    background's brightness. A product photo is drawn at up to six sizes
//!    ([`PHOTO_SIDES`]), enough for a crop that keeps 60 % of each side, or a copy
//!    placed at half size inside another picture, and at its own size when no
//!    listed size is near it: a crop that was not resized then meets a drawing at
//!    its own scale. Keypoint positions are stored in
//!    the reference's own pixels, so every size votes for the same geometry.
//! 2. **Index.** Multi-index hashing (Norouzi, Punjani and Fleet, 2012): each
//!    256-bit descriptor is cut into 16 chunks of 16 bits, and each chunk keys a
//!    table. A query descriptor probes, in each table, its own chunk and the 16
//!    chunks one bit away. A true correspondence 64 bits away (a quarter of its bits
//!    flipped by blur, JPEG and tilt) has 16 chances to leave a chunk with at most
//!    one flipped bit: at 64 bits each chance is about 1 in 10, so about 4 in 5 true
//!    correspondences are found; an unrelated descriptor (128 bits away on average)
//!    lands in a probed bucket with a chance of 17/65536 per table. The cost per
//!    query descriptor is 272 probes plus the bucket contents: about 4,000 of every
//!    million indexed descriptors (0.4 %), not a scan of the registry.
//! 3. **Matches.** Each listing keypoint keeps, per reference, its closest
//!    descriptor within [`MAX_DISTANCE`] bits.
//! 4. **Geometry.** For each reference with enough matches, RANSAC over pairs of
//!    matches proposes similarities (position, size, turn); a pair whose turn or
//!    size disagrees with its own keypoints' orientation and drawing size is not
//!    tried. The best similarity is refined into an affine map (which also covers
//!    a skewed or slanted print) by least squares on its inliers, twice.
//! 5. **Checks on the warp.** A match is accepted only when the map keeps the
//!    logo's handedness (no mirror), stretches one axis at most
//!    [`MAX_ANISOTROPY`] times the other, puts the reference's box at least
//!    [`MIN_BOX_SIDE`] pixels wide inside the photo, and its inliers are spread
//!    over at least [`MIN_SPREAD`] of the reference's width and height (a cluster
//!    in one corner is a shared letter, not the logo), with at least
//!    [`MIN_INLIERS`] inliers at distinct places of the reference.
//!
//! # Why these thresholds
//!
//! They follow from the geometry, not from an evaluation set. A wrong
//! correspondence lands anywhere in the photo; the chance that it falls within the
//! inlier radius ε of a proposed map's prediction is about πε² / area: for ε of 4
//! to 9 pixels in a 640 × 480 photo, 1/6000 to 1/1200. A reference gathers at most
//! about a hundred wrong matches from a photo's thousand keypoints, so the chance
//! that one proposed map collects six wrong inliers beyond its two is below 10⁻¹²,
//! and a thousand references times a thousand proposals keep the expected number of
//! false matches per photo below 10⁻⁶ under that model. What the model does not
//! cover is structure shared for real: a letter or a circle two logos have in
//! common, repeated text. [`MIN_INLIERS`] is therefore set well above what chance
//! needs (eight), and the spread and warp checks refuse the shapes such shared parts
//! make. [`MAX_DISTANCE`] is a quarter of the bits, ORB's customary bound for a
//! correct correspondence, where unrelated descriptors sit at half.

use std::collections::HashMap;

use image::{DynamicImage, GrayImage, Luma};
use rayon::prelude::*;

use super::features::{detect, distance, grey_within, Descriptor, Keypoint, BORDER};
use super::shape::ShapeIndex;

/// Longer sides, in pixels, a logo is drawn at.
pub const LOGO_SIDES: [u32; 7] = [40, 56, 80, 112, 160, 224, 320];

/// Longer sides, in pixels, a product photo is drawn at (never more than twice its
/// own size): from a thumbnail to a crop of 60 % of a large photo. A photo is also
/// drawn at its own size when none of these is within a tenth of it
/// (`photo_sides`).
pub const PHOTO_SIDES: [u32; 6] = [160, 226, 320, 452, 640, 905];

/// A listing photo is searched with its longer side brought down to this many
/// pixels: a logo at 8 % of the width is then still 50 pixels wide.
pub const QUERY_SIDE: u32 = 640;

/// Most keypoints taken from a listing photo.
pub const QUERY_KEYPOINTS: usize = 1000;

/// Largest Hamming distance of a correspondence: a quarter of the 256 bits.
pub const MAX_DISTANCE: u32 = 64;

/// Fewest inliers, at distinct places of the reference, for a match.
pub const MIN_INLIERS: usize = 8;

/// Largest ratio between the two axes' scales of the affine map.
pub const MAX_ANISOTROPY: f32 = 2.0;

/// Smallest side of the matched box in the listing photo (search scale), in pixels.
pub const MIN_BOX_SIDE: f32 = 16.0;

/// Smallest share of the reference's width and of its height that the inliers span.
pub const MIN_SPREAD: f32 = 0.25;

/// The bucket cap never goes below this many entries.
const BUCKET_CAP_MIN: usize = 32;

/// Lowe's ratio: the closest entry must be this much closer than the closest at
/// another place of the same reference (0.8, the value Lowe found to drop 90 % of
/// false correspondences and 5 % of true ones).
pub const RATIO: f32 = 0.8;

/// Most correspondences per reference passed to RANSAC, closest first: a logo
/// rarely has more distinct corners, and a photo's 150 closest are plenty.
const MAX_CORRESPONDENCES: usize = 150;

/// RANSAC proposals tried per reference (all pairs when there are fewer).
const PROPOSALS: usize = 600;

/// What a reference image is, as far as the search is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// A logo: drawn at many sizes, on light and dark grounds.
    Logo,
    /// A product photo: found when cropped or placed inside another picture.
    Photo,
}

/// Which reference an index entry belongs to (positions as in the registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegionRef {
    /// Index of the mark.
    pub mark: usize,
    /// Index of the image among the mark's images.
    pub image: usize,
    /// Logo or photo.
    pub kind: RegionKind,
}

/// A reference found inside a listing photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionHit {
    /// The reference found.
    pub reference: RegionRef,
    /// The box around it in the listing photo, in the photo's pixels: left, top,
    /// width, height (clipped to the photo).
    pub bbox: [u32; 4],
    /// Correspondences that agree with the geometry, at distinct places.
    pub inliers: u32,
    /// Width and height of the photo searched, which the box is in.
    pub photo: [u32; 2],
}

/// A reference, its width and height, and its keypoints with their drawing's
/// scale, before indexing.
type Described = (RegionRef, f32, f32, Vec<(Keypoint, f32)>);

/// One indexed reference.
#[derive(Debug)]
struct Reference {
    region: RegionRef,
    width: f32,
    height: f32,
}

/// One indexed keypoint: where it is in its reference's own pixels.
#[derive(Debug, Clone, Copy)]
struct Entry {
    reference: u32,
    x: f32,
    y: f32,
    angle: f32,
    /// Pixels of the drawing per pixel of the reference.
    scale: f32,
}

/// One of the 16 chunk tables, compressed: bucket `k` is
/// `ids[offsets[k]..offsets[k + 1]]`.
#[derive(Debug)]
struct Table {
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// The index of every logo and product photo.
#[derive(Debug)]
pub struct LogoIndex {
    references: Vec<Reference>,
    entries: Vec<Entry>,
    descriptors: Vec<Descriptor>,
    tables: Vec<Table>,
    /// Buckets larger than this are skipped: a chunk eight times as common as the
    /// average (most often all zeros: a patch flatter than
    /// [`TEST_MARGIN`](super::features::TEST_MARGIN)) says nothing, and the 15 other
    /// tables still probe the descriptor. Without the cap such buckets made most of
    /// a photo's search time.
    bucket_cap: usize,
    /// Outline templates of the logos (see [`super::shape`]).
    shapes: ShapeIndex,
}

/// Chunk `t` (0..16) of a descriptor.
#[inline]
fn chunk(d: &Descriptor, t: usize) -> usize {
    ((d[t / 4] >> (16 * (t % 4))) & 0xffff) as usize
}

/// The longer sides a product photo whose longer side is `long` pixels is drawn
/// at: [`PHOTO_SIDES`] up to twice its own size, and its own size too when no
/// listed side is within a tenth of it (and it is not larger than the largest).
/// The most common partial copy is a crop that was not resized: its corners then
/// meet a drawing at exactly their own scale, where the descriptors agree best,
/// instead of one 12 to 25 % off, which for a small photo (a 256-pixel reference, a
/// 150-pixel crop) leaves too few correspondences.
fn photo_sides(long: f32) -> Vec<f32> {
    let mut sides: Vec<f32> = PHOTO_SIDES
        .iter()
        .map(|&s| s as f32)
        .filter(|&s| s <= 2.0 * long)
        .collect();
    let largest = PHOTO_SIDES[PHOTO_SIDES.len() - 1] as f32;
    if long <= largest && sides.iter().all(|s| (s / long - 1.0).abs() > 0.1) {
        sides.push(long);
    }
    sides
}

/// The grey drawings of a reference and their scale (drawing pixels per reference
/// pixel).
fn drawings(kind: RegionKind, image: &DynamicImage) -> Vec<(GrayImage, f32)> {
    let (w, h) = (image.width().max(1), image.height().max(1));
    let long = w.max(h) as f32;
    match kind {
        RegionKind::Photo => {
            let grey = image.to_luma8();
            photo_sides(long)
                .into_iter()
                .map(|side| {
                    let scale = side / long;
                    let (sw, sh) = (
                        ((w as f32 * scale).round() as u32).max(1),
                        ((h as f32 * scale).round() as u32).max(1),
                    );
                    let drawn = image::imageops::resize(
                        &grey,
                        sw,
                        sh,
                        image::imageops::FilterType::Triangle,
                    );
                    (drawn, scale)
                })
                .collect()
        }
        RegionKind::Logo => {
            let rgba = image.to_rgba8();
            let transparent = rgba.pixels().any(|p| p.0[3] < 250);
            let grounds: &[f32] = if transparent { &[255.0, 0.0] } else { &[-1.0] };
            let mut out = Vec::new();
            for &ground in grounds {
                // Composite over the ground (or, opaque, the mean of the border
                // pixels, so the padding continues the logo's own background).
                let grey = GrayImage::from_fn(w, h, |x, y| {
                    let p = rgba.get_pixel(x, y).0;
                    let luma = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                    let a = p[3] as f32 / 255.0;
                    let g = ground.max(0.0);
                    Luma([(luma * a + g * (1.0 - a)).round() as u8])
                });
                let pad = if ground >= 0.0 {
                    ground as u8
                } else {
                    border_mean(&grey)
                };
                for side in LOGO_SIDES {
                    let scale = side as f32 / long;
                    let (sw, sh) = (
                        ((w as f32 * scale).round() as u32).max(1),
                        ((h as f32 * scale).round() as u32).max(1),
                    );
                    let filter = if scale < 1.0 {
                        image::imageops::FilterType::Triangle
                    } else {
                        image::imageops::FilterType::CatmullRom
                    };
                    let drawn = image::imageops::resize(&grey, sw, sh, filter);
                    // Padded so that corners on the outline keep their whole patch.
                    let margin = BORDER + 2;
                    let mut padded =
                        GrayImage::from_pixel(sw + 2 * margin, sh + 2 * margin, Luma([pad]));
                    image::imageops::replace(&mut padded, &drawn, margin.into(), margin.into());
                    out.push((padded, scale));
                }
            }
            out
        }
    }
}

/// Mean grey level of the outermost pixels.
fn border_mean(grey: &GrayImage) -> u8 {
    let (w, h) = grey.dimensions();
    let mut sum = 0u64;
    let mut n = 0u64;
    for (x, y, p) in grey.enumerate_pixels() {
        if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
            sum += p.0[0] as u64;
            n += 1;
        }
    }
    (sum / n.max(1)) as u8
}

/// Keypoints of one reference, in its own pixels.
fn reference_keypoints(kind: RegionKind, image: &DynamicImage) -> Vec<(Keypoint, f32)> {
    let margin = match kind {
        RegionKind::Logo => (BORDER + 2) as f32,
        RegionKind::Photo => 0.0,
    };
    drawings(kind, image)
        .into_iter()
        .flat_map(|(grey, scale)| {
            let area = (grey.width() * grey.height()) as usize;
            let max = match kind {
                RegionKind::Logo => (area / 60).clamp(24, 300),
                RegionKind::Photo => 500,
            };
            detect(&grey, max).into_iter().map(move |mut k| {
                k.x = (k.x - margin) / scale;
                k.y = (k.y - margin) / scale;
                (k, scale)
            })
        })
        .collect()
}

impl LogoIndex {
    /// Indexes `references` (drawn and described in parallel).
    pub fn new(references: Vec<(RegionRef, DynamicImage)>) -> LogoIndex {
        let shapes = ShapeIndex::new(
            references
                .iter()
                .filter(|(r, _)| r.kind == RegionKind::Logo)
                .map(|(r, image)| (*r, image.clone()))
                .collect(),
        );
        let described: Vec<Described> = references
            .into_par_iter()
            .map(|(region, image)| {
                let kps = reference_keypoints(region.kind, &image);
                (region, image.width() as f32, image.height() as f32, kps)
            })
            .collect();
        let mut index = LogoIndex {
            references: Vec::new(),
            entries: Vec::new(),
            descriptors: Vec::new(),
            tables: Vec::new(),
            bucket_cap: 0,
            shapes,
        };
        for (region, width, height, kps) in described {
            let reference = index.references.len() as u32;
            index.references.push(Reference {
                region,
                width,
                height,
            });
            for (k, scale) in kps {
                index.entries.push(Entry {
                    reference,
                    x: k.x,
                    y: k.y,
                    angle: k.angle,
                    scale,
                });
                index.descriptors.push(k.descriptor);
            }
        }
        index.tables = (0..16)
            .map(|t| {
                let mut counts = vec![0u32; 65537];
                for d in &index.descriptors {
                    counts[chunk(d, t) + 1] += 1;
                }
                for k in 1..counts.len() {
                    counts[k] += counts[k - 1];
                }
                let mut fill = counts.clone();
                let mut ids = vec![0u32; index.descriptors.len()];
                for (id, d) in index.descriptors.iter().enumerate() {
                    let c = chunk(d, t);
                    ids[fill[c] as usize] = id as u32;
                    fill[c] += 1;
                }
                Table {
                    offsets: counts,
                    ids,
                }
            })
            .collect();
        index.bucket_cap = (8 * index.descriptors.len() / 65536).max(BUCKET_CAP_MIN);
        index
    }

    /// Number of references indexed.
    pub fn len(&self) -> usize {
        self.references.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.references.is_empty()
    }

    /// Number of reference keypoints indexed.
    pub fn keypoints(&self) -> usize {
        self.descriptors.len()
    }

    /// The references found in `photo`, most inliers first.
    pub fn search(&self, photo: &DynamicImage) -> Vec<RegionHit> {
        if self.is_empty() {
            return Vec::new();
        }
        let (grey, factor) = grey_within(photo, QUERY_SIDE);
        let query = detect(&grey, QUERY_KEYPOINTS);
        let mut hits: Vec<RegionHit> = self
            .correspondences(&query)
            .into_iter()
            .filter_map(|(reference, matches)| {
                let r = &self.references[reference as usize];
                let map = self.verify(r, &query, &matches)?;
                let bbox = map.bbox(r, factor, photo.width(), photo.height())?;
                Some(RegionHit {
                    reference: r.region,
                    bbox,
                    inliers: map.inliers as u32,
                    photo: [photo.width(), photo.height()],
                })
            })
            .collect();
        // Flat logos found by their outline, where the corners found nothing.
        for shape in self.shapes.search(photo) {
            if hits.iter().any(|h| h.reference == shape.region) {
                continue;
            }
            hits.push(RegionHit {
                reference: shape.region,
                bbox: shape.bbox,
                inliers: shape.found,
                photo: [photo.width(), photo.height()],
            });
        }
        hits.sort_by(|a, b| {
            b.inliers.cmp(&a.inliers).then(
                (a.reference.mark, a.reference.image).cmp(&(b.reference.mark, b.reference.image)),
            )
        });
        hits
    }

    /// For each reference, the (query keypoint, entry) pairs that pass two tests:
    /// Lowe's ratio test (the closest entry of the reference within
    /// [`MAX_DISTANCE`] is clearly closer, by [`RATIO`], than the closest entry at
    /// another place of the reference: a generic corner that looks like several
    /// places of a logo says nothing), and uniqueness (each place of the
    /// reference keeps the one query keypoint closest to it: texture corners that
    /// all resemble one corner of the logo vote once).
    fn correspondences(&self, query: &[Keypoint]) -> Vec<(u32, Vec<(u32, u32)>)> {
        let mut seen = vec![u32::MAX; self.descriptors.len()];
        let mut by_reference: HashMap<u32, Vec<(u32, u32, u32)>> = HashMap::new();
        let mut found: Vec<(u32, u32, u32)> = Vec::new(); // (reference, distance, entry)
        for (qi, q) in query.iter().enumerate() {
            found.clear();
            for (t, table) in self.tables.iter().enumerate() {
                let key = chunk(&q.descriptor, t);
                for probe in std::iter::once(key).chain((0..16).map(|b| key ^ (1 << b))) {
                    let (from, to) = (
                        table.offsets[probe] as usize,
                        table.offsets[probe + 1] as usize,
                    );
                    if to - from > self.bucket_cap {
                        continue;
                    }
                    for &id in &table.ids[from..to] {
                        if seen[id as usize] == qi as u32 {
                            continue;
                        }
                        seen[id as usize] = qi as u32;
                        let d = distance(&q.descriptor, &self.descriptors[id as usize]);
                        if (d as f32) * RATIO <= MAX_DISTANCE as f32 {
                            found.push((self.entries[id as usize].reference, d, id));
                        }
                    }
                }
            }
            found.sort_unstable();
            for group in found.chunk_by(|a, b| a.0 == b.0) {
                let (reference, d1, id1) = group[0];
                if d1 > MAX_DISTANCE {
                    continue;
                }
                let r = &self.references[reference as usize];
                let near = 0.05 * r.width.hypot(r.height);
                let e1 = self.entries[id1 as usize];
                let second = group[1..].iter().find(|&&(_, _, id)| {
                    let e = self.entries[id as usize];
                    (e.x - e1.x).hypot(e.y - e1.y) > near
                });
                if second.is_some_and(|&(_, d2, _)| d1 as f32 > RATIO * d2 as f32) {
                    continue;
                }
                by_reference
                    .entry(reference)
                    .or_default()
                    .push((qi as u32, id1, d1));
            }
        }
        let mut out: Vec<(u32, Vec<(u32, u32)>)> = by_reference
            .into_iter()
            .filter_map(|(reference, mut m)| {
                let r = &self.references[reference as usize];
                let cell = (0.02 * r.width.hypot(r.height)).max(1.0);
                let place = |id: u32| {
                    let e = self.entries[id as usize];
                    ((e.x / cell) as i32, (e.y / cell) as i32)
                };
                m.sort_unstable_by_key(|&(qi, id, d)| (place(id), d, qi));
                m.dedup_by_key(|&mut (_, id, _)| place(id));
                // The closest ones are enough for the geometry, and bound its cost.
                m.sort_unstable_by_key(|&(qi, id, d)| (d, qi, id));
                m.truncate(MAX_CORRESPONDENCES);
                (m.len() >= MIN_INLIERS).then(|| {
                    (
                        reference,
                        m.into_iter().map(|(qi, id, _)| (qi, id)).collect(),
                    )
                })
            })
            .collect();
        out.sort_by_key(|(r, _)| *r);
        out
    }

    /// RANSAC on similarities, refined to an affine map, then the warp checks.
    fn verify(&self, r: &Reference, query: &[Keypoint], matches: &[(u32, u32)]) -> Option<Affine> {
        let pts: Vec<([f32; 2], [f32; 2], f32, f32)> = matches
            .iter()
            .map(|&(qi, id)| {
                let q = &query[qi as usize];
                let e = &self.entries[id as usize];
                (
                    [e.x, e.y],
                    [q.x, q.y],
                    angle_diff(q.angle, e.angle),
                    e.scale,
                )
            })
            .collect();
        let n = pts.len();
        let diag = r.width.hypot(r.height);
        let mut best: Option<(usize, Affine)> = None;
        let mut rng = 0x2545_f491_4f6c_dd1du64 ^ (n as u64);
        let all_pairs = n * (n - 1) / 2 <= PROPOSALS;
        let tries = if all_pairs {
            n * (n - 1) / 2
        } else {
            PROPOSALS
        };
        let (mut pi, mut pj) = (0usize, 1usize);
        for _ in 0..tries {
            let (i, j) = if all_pairs {
                let pair = (pi, pj);
                pj += 1;
                if pj == n {
                    pi += 1;
                    pj = pi + 1;
                }
                pair
            } else {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let i = (rng % n as u64) as usize;
                let j = ((rng >> 32) % n as u64) as usize;
                if i == j {
                    continue;
                }
                (i, j)
            };
            let (ri, qi, ai, si) = pts[i];
            let (rj, qj, aj, sj) = pts[j];
            let dr = [rj[0] - ri[0], rj[1] - ri[1]];
            let dq = [qj[0] - qi[0], qj[1] - qi[1]];
            let lr = dr[0].hypot(dr[1]);
            if lr < 0.1 * diag || dq[0].hypot(dq[1]) < 4.0 {
                continue;
            }
            let scale = dq[0].hypot(dq[1]) / lr;
            let turn = dq[1].atan2(dq[0]) - dr[1].atan2(dr[0]);
            // The pair's turn and size must agree with its keypoints' own.
            if angle_diff(turn, ai).abs() > 0.6 || angle_diff(turn, aj).abs() > 0.6 {
                continue;
            }
            if !(0.55..=1.8).contains(&(scale / si)) || !(0.55..=1.8).contains(&(scale / sj)) {
                continue;
            }
            let (s, c) = turn.sin_cos();
            let map = Affine {
                m: [
                    [
                        scale * c,
                        -scale * s,
                        qi[0] - scale * (c * ri[0] - s * ri[1]),
                    ],
                    [
                        scale * s,
                        scale * c,
                        qi[1] - scale * (s * ri[0] + c * ri[1]),
                    ],
                ],
                inliers: 0,
            };
            let eps = (0.05 * scale * diag).max(4.0);
            let count = pts.iter().filter(|p| map.error(p.0, p.1) <= eps).count();
            if best.as_ref().is_none_or(|(b, _)| count > *b) {
                best = Some((count, map));
            }
        }
        let (_, mut map) = best?;
        // Refine: least-squares affine on the inliers, twice, with a tighter radius.
        let mut inliers: Vec<usize> = Vec::new();
        for round in 0..3 {
            let scale = map.scale();
            let eps = if round == 0 {
                (0.05 * scale * diag).max(4.0)
            } else {
                (0.03 * scale * diag).max(3.0)
            };
            inliers = (0..n)
                .filter(|&k| map.error(pts[k].0, pts[k].1) <= eps)
                .collect();
            if inliers.len() < 4 {
                return None;
            }
            if round < 2 {
                map = Affine::fit(inliers.iter().map(|&k| (pts[k].0, pts[k].1)))?;
            }
        }
        // Distinct places of the reference (multi-size drawings find one corner
        // several times): a grid of 2 % of the reference's diagonal.
        let cell = (0.02 * diag).max(1.0);
        let mut places: Vec<(i32, i32)> = inliers
            .iter()
            .map(|&k| ((pts[k].0[0] / cell) as i32, (pts[k].0[1] / cell) as i32))
            .collect();
        places.sort_unstable();
        places.dedup();
        map.inliers = places.len();
        if map.inliers < MIN_INLIERS {
            return None;
        }
        let (min_x, max_x, min_y, max_y) = inliers.iter().fold(
            (f32::MAX, f32::MIN, f32::MAX, f32::MIN),
            |(a, b, c, d), &k| {
                let p = pts[k].0;
                (a.min(p[0]), b.max(p[0]), c.min(p[1]), d.max(p[1]))
            },
        );
        if max_x - min_x < MIN_SPREAD * r.width || max_y - min_y < MIN_SPREAD * r.height {
            return None;
        }
        map.plausible(r).then_some(map)
    }
}

/// `a - b` wrapped into -π..π.
fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::TAU);
    if d > std::f32::consts::PI {
        d - std::f32::consts::TAU
    } else {
        d
    }
}

/// A map from a reference's pixels to the search image's: `q = M · (x, y, 1)`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Affine {
    pub(super) m: [[f32; 3]; 2],
    pub(super) inliers: usize,
}

impl Affine {
    pub(super) fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let m = &self.m;
        [
            m[0][0] * p[0] + m[0][1] * p[1] + m[0][2],
            m[1][0] * p[0] + m[1][1] * p[1] + m[1][2],
        ]
    }

    fn error(&self, r: [f32; 2], q: [f32; 2]) -> f32 {
        let p = self.apply(r);
        (p[0] - q[0]).hypot(p[1] - q[1])
    }

    pub(super) fn det(&self) -> f32 {
        self.m[0][0] * self.m[1][1] - self.m[0][1] * self.m[1][0]
    }

    /// This map followed by a scaling by `r` (into a picture `r` times larger).
    pub(super) fn scaled(&self, r: f32) -> Affine {
        Affine {
            m: self.m.map(|row| row.map(|v| v * r)),
            ..*self
        }
    }

    /// Geometric mean of the two axes' scales.
    pub(super) fn scale(&self) -> f32 {
        self.det().abs().sqrt()
    }

    /// Singular values of the linear part, larger first.
    pub(super) fn singular_values(&self) -> (f32, f32) {
        let [[a, b, _], [c, d, _]] = self.m;
        let s1 = (a + d).hypot(c - b) / 2.0;
        let s2 = (a - d).hypot(c + b) / 2.0;
        (s1 + s2, (s1 - s2).abs())
    }

    /// Least squares over `(reference, query)` pairs (at least three, not on a line).
    pub(super) fn fit(pairs: impl Iterator<Item = ([f32; 2], [f32; 2])>) -> Option<Affine> {
        // Normal equations, centred for conditioning.
        let pairs: Vec<[f64; 4]> = pairs
            .map(|(r, q)| [r[0] as f64, r[1] as f64, q[0] as f64, q[1] as f64])
            .collect();
        let n = pairs.len() as f64;
        if pairs.len() < 3 {
            return None;
        }
        let mean = |k: usize| pairs.iter().map(|p| p[k]).sum::<f64>() / n;
        let (rx, ry, qx, qy) = (mean(0), mean(1), mean(2), mean(3));
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        let (mut ux, mut uy, mut vx, mut vy) = (0.0, 0.0, 0.0, 0.0);
        for p in &pairs {
            let (x, y) = (p[0] - rx, p[1] - ry);
            let (u, v) = (p[2] - qx, p[3] - qy);
            sxx += x * x;
            sxy += x * y;
            syy += y * y;
            ux += u * x;
            uy += u * y;
            vx += v * x;
            vy += v * y;
        }
        let det = sxx * syy - sxy * sxy;
        if det.abs() < 1e-6 * (sxx * syy).max(1e-12) {
            return None;
        }
        let a = (ux * syy - uy * sxy) / det;
        let b = (uy * sxx - ux * sxy) / det;
        let c = (vx * syy - vy * sxy) / det;
        let d = (vy * sxx - vx * sxy) / det;
        let m = [
            [a as f32, b as f32, (qx - a * rx - b * ry) as f32],
            [c as f32, d as f32, (qy - c * rx - d * ry) as f32],
        ];
        m.iter()
            .flatten()
            .all(|v| v.is_finite())
            .then_some(Affine { m, inliers: 0 })
    }

    /// The warp checks: no mirror, bounded stretch, a box big enough to mean
    /// something.
    fn plausible(&self, r: &Reference) -> bool {
        if !self.keeps_shape() {
            return false;
        }
        let (_, s2) = self.singular_values();
        s2 * r.width.min(r.height).max(1.0) >= MIN_BOX_SIDE
            || s2 * r.width.max(r.height) >= 2.0 * MIN_BOX_SIDE
    }

    /// No mirror, and one axis stretched at most [`MAX_ANISOTROPY`] times the
    /// other.
    pub(super) fn keeps_shape(&self) -> bool {
        if self.det() <= 0.0 {
            return false;
        }
        let (s1, s2) = self.singular_values();
        s2 > 0.0 && s1 / s2 <= MAX_ANISOTROPY
    }

    /// The reference's outline mapped into the photo: its bounding box in the
    /// photo's pixels (`factor` back from the search scale), clipped; `None` when
    /// it falls outside.
    fn bbox(&self, r: &Reference, factor: f32, width: u32, height: u32) -> Option<[u32; 4]> {
        clip(self.extent(r.width, r.height, factor), width, height)
    }

    /// A `width` × `height` picture's outline mapped, then scaled by `factor`:
    /// its bounding box (min x, min y, max x, max y), unclipped.
    pub(super) fn extent(&self, width: f32, height: f32, factor: f32) -> [f32; 4] {
        let corners =
            [[0.0, 0.0], [width, 0.0], [0.0, height], [width, height]].map(|c| self.apply(c));
        let min_x = corners.iter().map(|c| c[0]).fold(f32::MAX, f32::min) * factor;
        let max_x = corners.iter().map(|c| c[0]).fold(f32::MIN, f32::max) * factor;
        let min_y = corners.iter().map(|c| c[1]).fold(f32::MAX, f32::min) * factor;
        let max_y = corners.iter().map(|c| c[1]).fold(f32::MIN, f32::max) * factor;
        [min_x, min_y, max_x, max_y]
    }
}

/// A box (min x, min y, max x, max y) outward to whole pixels, inside a `width` ×
/// `height` photo: left, top, width, height; `None` when it falls outside.
pub(super) fn clip(b: [f32; 4], width: u32, height: u32) -> Option<[u32; 4]> {
    let x0 = b[0].floor().clamp(0.0, width as f32) as u32;
    let x1 = b[2].ceil().clamp(0.0, width as f32) as u32;
    let y0 = b[1].floor().clamp(0.0, height as f32) as u32;
    let y1 = b[3].ceil().clamp(0.0, height as f32) as u32;
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    Some([x0, y0, x1 - x0, y1 - y0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled Zentrix logo (`trademarks/images/zentrix-logo.png`).
    fn logo() -> DynamicImage {
        image::load_from_memory(include_bytes!("../../trademarks/images/zentrix-logo.png")).unwrap()
    }

    /// A textured background photo: smooth waves and blocks of random grey.
    fn photo(seed: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(800, 600, |x, y| {
            let wave = 50.0 * (x as f32 / 37.0).sin()
                + 40.0 * ((y as f32 * 1.3 + x as f32 * 0.2) / 23.0).cos();
            let cell = ((x / 13).wrapping_mul(7919)
                ^ (y / 11).wrapping_mul(104_729)
                ^ seed.wrapping_mul(0x9e37_79b9))
            .wrapping_mul(2_654_435_761)
                >> 26;
            let v = (90.0 + wave + cell as f32 * 0.6).clamp(0.0, 255.0) as u8;
            image::Rgb([v, v.wrapping_add(20), 255 - v / 2])
        }))
    }

    /// `logo` scaled to `width`, turned by `degrees`, pasted with its centre at
    /// (cx, cy).
    fn paste(
        base: &DynamicImage,
        logo: &DynamicImage,
        width: u32,
        degrees: f32,
        cx: f32,
        cy: f32,
    ) -> DynamicImage {
        let mut out = base.to_rgba8();
        let src = logo.to_rgba8();
        let scale = width as f32 / src.width() as f32;
        let (s, c) = degrees.to_radians().sin_cos();
        let (lw, lh) = (src.width() as f32, src.height() as f32);
        for y in 0..out.height() {
            for x in 0..out.width() {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                // Inverse map: photo -> logo.
                let u = (c * dx + s * dy) / scale + lw / 2.0;
                let v = (-s * dx + c * dy) / scale + lh / 2.0;
                if u < 0.0 || v < 0.0 || u >= lw || v >= lh {
                    continue;
                }
                let p = src.get_pixel(u as u32, v as u32).0;
                let a = p[3] as f32 / 255.0;
                let q = out.get_pixel_mut(x, y);
                for (to, from) in q.0.iter_mut().zip(p).take(3) {
                    *to = (from as f32 * a + *to as f32 * (1.0 - a)) as u8;
                }
            }
        }
        DynamicImage::ImageRgba8(out)
    }

    fn index() -> LogoIndex {
        let region = RegionRef {
            mark: 0,
            image: 0,
            kind: RegionKind::Logo,
        };
        LogoIndex::new(vec![(region, logo())])
    }

    #[test]
    fn finds_a_pasted_turned_logo_with_its_box() {
        let index = index();
        assert_eq!(index.len(), 1);
        for (width, degrees, cx, cy) in [
            (160, 0.0, 300.0, 200.0),
            (220, 20.0, 500.0, 380.0),
            (150, -15.0, 200.0, 420.0),
        ] {
            let shot = paste(&photo(1), &logo(), width, degrees, cx, cy);
            let hits = index.search(&shot);
            assert_eq!(hits.len(), 1, "{width} {degrees}: {hits:?}");
            let [x, y, w, h] = hits[0].bbox;
            let (bx, by) = (x as f32 + w as f32 / 2.0, y as f32 + h as f32 / 2.0);
            assert!(
                (bx - cx).abs() < 0.1 * width as f32 && (by - cy).abs() < 0.1 * width as f32,
                "{:?}",
                hits[0]
            );
            // The turned box is at least as wide as the logo and not much wider.
            assert!(
                w as f32 > 0.85 * width as f32 && (w as f32) < 1.5 * width as f32,
                "{:?}",
                hits[0]
            );
            assert!(hits[0].inliers as usize >= MIN_INLIERS);
        }
    }

    #[test]
    fn a_photo_without_the_logo_gives_nothing() {
        let index = index();
        for seed in 0..4 {
            assert!(index.search(&photo(seed)).is_empty());
        }
        // Nor does another brand's logo, or an empty picture.
        let other =
            image::load_from_memory(include_bytes!("../../trademarks/images/velmora-logo.png"))
                .unwrap();
        assert!(index
            .search(&paste(&photo(2), &other, 200, 0.0, 400.0, 300.0))
            .is_empty());
        assert!(index.search(&DynamicImage::new_rgb8(1, 1)).is_empty());
    }

    #[test]
    fn finds_a_cropped_product_photo() {
        let reference = photo(5);
        let region = RegionRef {
            mark: 3,
            image: 1,
            kind: RegionKind::Photo,
        };
        let index = LogoIndex::new(vec![(region, reference.clone())]);
        // 30 % cut off the left and top, 10 % off the right and bottom.
        let crop = reference.crop_imm(240, 180, 480, 360);
        let hits = index.search(&crop);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].reference, region);
        // The whole reference maps beyond the crop: the box covers the crop.
        assert_eq!(hits[0].bbox, [0, 0, 480, 360]);
        assert!(index.search(&photo(9)).is_empty());
    }

    #[test]
    fn a_photo_is_also_drawn_at_its_own_size_when_no_listed_side_is_near() {
        // 256 pixels: 226 and 320 are 12 and 25 % off, so 256 is drawn too.
        assert_eq!(photo_sides(256.0), [160.0, 226.0, 320.0, 452.0, 256.0]);
        // 320 is listed, 300 within a tenth of it: nothing added.
        assert_eq!(photo_sides(320.0), [160.0, 226.0, 320.0, 452.0, 640.0]);
        assert_eq!(photo_sides(300.0), [160.0, 226.0, 320.0, 452.0]);
        // A thumbnail too small for any listed side is still drawn once; a photo
        // larger than the largest side is not drawn at its own size.
        assert_eq!(photo_sides(34.0), [34.0]);
        assert_eq!(
            photo_sides(2000.0),
            [160.0, 226.0, 320.0, 452.0, 640.0, 905.0]
        );
    }

    #[test]
    fn finds_crops_of_a_small_product_photo_that_were_not_resized() {
        // A bundled 256-pixel product photo (a marketplace thumbnail's size) and
        // crops keeping 60 % of each side at the same scale (154 pixels), saved as
        // JPEG: of the listed sides, the nearest drawings of the reference (226
        // and 320) are 12 and 25 % off that scale.
        let reference =
            image::load_from_memory(include_bytes!("../../trademarks/images/brumaq-product.png"))
                .unwrap();
        let region = RegionRef {
            mark: 3,
            image: 1,
            kind: RegionKind::Photo,
        };
        let index = LogoIndex::new(vec![(region, reference.clone())]);
        let mut found = 0;
        for (x, y) in [(0, 0), (102, 0), (0, 102), (102, 102), (51, 51), (20, 80)] {
            let mut jpeg = Vec::new();
            reference
                .crop_imm(x, y, 154, 154)
                .to_rgb8()
                .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                    &mut jpeg, 75,
                ))
                .unwrap();
            let hits = index.search(&image::load_from_memory(&jpeg).unwrap());
            assert!(hits.iter().all(|h| h.reference == region), "{hits:?}");
            found += usize::from(!hits.is_empty());
        }
        // 5 of 6 (2 of 6 when the photo is drawn only at the listed sides).
        assert!(found >= 5, "{found} of 6 crops found");
    }
}
