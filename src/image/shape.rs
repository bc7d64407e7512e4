//! Finding flat logos inside listing photos by the shape of their outline: oriented
//! edges matched against templates of each logo, then aligned point by point.
//!
//! # Why a second method
//!
//! [`super::logo`]'s corners and binary descriptors need texture inside the logo.
//! Most registered logos are flat: one colour, a transparent ground. Their corners
//! all lie on the outline, and half of each descriptor's tests there compare two
//! points of whatever the logo is printed on, which differ from photo to photo; the
//! logo's colour against the photo's can also be lighter in one place and darker in
//! the next. What a flat logo keeps in every photo is where its outline runs and
//! which way: the direction of the brightness change across it, taken modulo 180°
//! so that a light logo on a dark ground and a dark one on a light ground give the
//! same edges. This is the idea of LINE-2D (Hinterstoisser et al., 2012), made for
//! objects without texture, with two changes: the candidates it finds are aligned
//! afterwards by an affine map fitted to the edges (so a turn, a slant or a size
//! between two templates is measured rather than guessed), and the decision is the
//! share of the outline found at its predicted place, in its predicted direction.
//!
//! # How
//!
//! 1. **Edges.** Sobel gradients on each colour channel; per pixel the channel with
//!    the strongest change (a red logo on a green field of equal brightness still
//!    has an outline), thinned to one pixel along the gradient (non-maximum
//!    suppression), kept above [`MIN_EDGE`]; each edge pixel keeps its direction
//!    modulo 180°.
//! 2. **Templates.** Each logo, trimmed to its visible pixels, is drawn with its
//!    longer side at each of [`SIZES`] and turned by each of [`TURNS`], over white
//!    and over black (the stronger edge of the two counts). From each drawing,
//!    [`FEATURES`] edge pixels spread over the outline, strongest first, make the
//!    template for the coarse search, and up to [`POINTS`] make the point set for
//!    the alignment; both are kept in the logo's own pixels too.
//! 3. **Coarse search.** The listing photo, its longer side at
//!    [`QUERY_SIDE`](super::logo::QUERY_SIDE), and [`LEVELS`] smaller copies (each
//!    √2 smaller) cover logos from about 40 to 270 pixels wide with two template
//!    sizes a level. Each level's edge directions are pooled over cells of
//!    [`STEP`] pixels (each cell holds the directions found within one cell of it),
//!    and a template is scored at every cell: 2 for each of its features whose
//!    direction is in the cell it falls in, 1 when a neighbouring direction (22.5°
//!    away) is. The tolerance of a cell absorbs what lies between two templates: a
//!    turn of up to 6°, a size off by 9 %, a slant of 0.1 move an outline point of a
//!    50-pixel template by 3 pixels or less. Places scoring at least [`COARSE`] of
//!    the maximum are candidates; the best [`SHORTLIST`] per logo are re-scored at
//!    the pixel (every outline point against the edges within a pixel, every
//!    interior point against none, at the best shift of up to half a step), and
//!    the best [`CANDIDATES`] per logo at distinct poses are kept.
//! 4. **Alignment.** From the candidate's pose, each point of the logo's point set
//!    is mapped into the level and paired with the nearest edge pixel whose
//!    direction is within [`ANGLE_TOLERANCE`] of the mapped direction, within a
//!    radius that shrinks from 6 to 2 pixels; an affine map is fitted to the pairs
//!    by least squares after each round (which also covers a slanted print).
//!    A near miss (at least [`CONFIRM`] of the points found, below [`MIN_SCORE`])
//!    is aligned once more one level finer, from the map found scaled by √2, with
//!    radii of 3 and then 2 pixels: at √2 more pixels the outline of a small or
//!    blurred logo separates from the texture around it.
//! 5. **Decision.** The logo is found when at least [`MIN_SCORE`] of its points
//!    have an edge of their direction within 1.5 pixels of where the map puts
//!    them, the map keeps the logo's handedness, stretches one axis at most
//!    [`MAX_ANISOTROPY`](super::logo::MAX_ANISOTROPY) times the other, and its size
//!    is within [`SCALE_DRIFT`] of the template's. Where several logos are found
//!    over the same place, the one with the higher share is kept.
//!
//! # Why these thresholds
//!
//! [`MIN_SCORE`] starts from chance. An edge pixel of the photo's own texture
//! agrees with a point when it lies within 1.5 pixels (nine pixels to choose from)
//! and within ±20° (two ninths of the directions). In busy texture about one pixel
//! in five is an edge after thinning, so a point finds an agreeing edge by chance
//! with probability 1 − (1 − 0.2 · 2/9)⁹ ≈ 0.33; the alignment, which seeks
//! agreement, can push that to about a half. What chance does not cover is real
//! structure: a keyboard's keys are rounded squares, and a logo drawn inside a
//! rounded square finds its frame on every key; its inner parts make about a
//! third of its points, so a frame alone stays below 0.8. The value 0.8 was then
//! checked against the logo evaluation (`examples/eval_logos.rs`), where the
//! closest false alignment scored 0.76: it is not independent of that set, and
//! EVALUATION.md says so. A true logo keeps most of its outline: blur and JPEG
//! move an edge by a pixel at most, and transparency lowers its contrast without
//! moving it. [`MIN_EDGE`] is the
//! gradient of a sharp step of eight grey levels (Sobel's weights sum to four),
//! above JPEG's ringing at quality 45, and reached by a logo at 60 % opacity whose
//! colour differs from the ground by 40 levels even when blurred by 1.5 pixels.
//! [`COARSE`] only decides what is worth aligning: it is low, because the
//! alignment and the decision, not the coarse score, refuse what is not the logo.
//! It was 0.6; traced on missed logos, the true places of large logos over
//! foliage or façades pooled 0.55–0.6 of the maximum (texture in the same cell
//! takes the direction's slot from the outline), so it is 0.55, and
//! [`SHORTLIST`] still bounds the work per logo. [`CONFIRM`] bounds the cost of
//! the second alignment, not the decision: it is above what chance reaches in
//! texture (about a half, above), so a chance alignment is rarely aligned twice,
//! and the finer alignment must still reach [`MIN_SCORE`] with every other check
//! of step 5.

use std::f32::consts::PI;

use image::{imageops, DynamicImage, Rgb, RgbImage, RgbaImage};
use rayon::prelude::*;

use super::logo::{clip, Affine, RegionRef, QUERY_SIDE};

/// Longer side, in pixels, of a logo's templates at each level of the photo.
pub const SIZES: [f32; 2] = [48.0, 57.0];

/// Turns, in degrees, a logo's templates are drawn at.
pub const TURNS: [f32; 5] = [-24.0, -12.0, 0.0, 12.0, 24.0];

/// Levels of the photo searched: its longer side at `QUERY_SIDE`, then each √2
/// smaller.
pub const LEVELS: usize = 5;

/// Step, in pixels, of the places a template is scored at in the coarse search.
pub const STEP: usize = 4;

/// How far, in pixels, an outline feature may be from an edge of its direction in
/// the coarse search: the step's half plus what lies between two templates.
pub const SPREAD: usize = 3;

/// Interior features per template in the coarse search: places inside the logo,
/// away from its outline, where a flat logo shows no edge.
pub const INTERIOR: usize = 32;

/// Smallest distance, in pixels of the drawing, from an interior point to the
/// outline.
pub const INTERIOR_MARGIN: usize = 3;

/// Share of a logo's interior points that must show no edge, when it has enough
/// of them.
pub const MIN_FLAT: f32 = 0.5;

/// Edge pixels per template in the coarse search.
pub const FEATURES: usize = 64;

// A template's coarse score, summed in 16 bits, cannot wrap.
const _: () = assert!((FEATURES + INTERIOR) * RESPONSE_MAX as usize <= u16::MAX as usize);

/// Most points per template for the alignment.
pub const POINTS: usize = 160;

/// Fewest points a template needs to say anything: a logo whose outline gives
/// fewer at 48 pixels (a dot, a bar) is left to the corner search.
pub const MIN_POINTS: usize = 40;

/// Smallest Sobel gradient (the strongest channel's) of an edge pixel.
pub const MIN_EDGE: i32 = 32;

/// Share of a template's maximum coarse score that makes a place a candidate.
pub const COARSE: f32 = 0.55;

/// Candidates re-scored at the pixel per logo and photo, the best of the coarse
/// search at distinct places. The coarse score, pooled over cells of [`STEP`]
/// pixels, tells a logo from busy texture poorly: in textured photos (façades,
/// foliage) the true place of a large logo ranked from 12th to about 3,800th
/// among its logo's coarse candidates in the logo evaluation's misses, while the
/// pixel-level score put it first or within the first 20. The shortlist is the price of that: 300 re-scores
/// per logo left the search's time per photo level with 48 in the logo
/// evaluation, 1,000 made it about 40 % slower for a few more logos found
/// (EVALUATION.md gives recall and time for 48, 300 and 1,000).
pub const SHORTLIST: usize = 300;

/// Candidates aligned per logo and photo, the best of the shortlist.
pub const CANDIDATES: usize = 6;

/// Largest difference of direction, in degrees, between a point and its edge.
pub const ANGLE_TOLERANCE: f32 = 20.0;

/// Share of a logo's points found at their place that makes a match.
pub const MIN_SCORE: f32 = 0.8;

/// Share of points found below [`MIN_SCORE`] that has an alignment tried again
/// one level finer (√2 larger), from the map found.
pub const CONFIRM: f32 = 0.65;

/// How far the aligned size may drift from the candidate template's (ratio).
pub const SCALE_DRIFT: f32 = 1.35;

/// Direction bins over 180°.
const BINS: u8 = 8;

/// The response map of interior features (after the eight direction bins).
const FLAT: u8 = BINS;

/// Largest response of one feature.
const RESPONSE_MAX: u8 = 8;

/// No edge.
const NONE: u8 = 255;

/// Edge pixels of an image: direction in degrees modulo 180 (0..180), or [`NONE`].
struct Edges {
    w: usize,
    h: usize,
    angle: Vec<u8>,
    /// Sobel magnitude of the edge pixels (0 elsewhere).
    strength: Vec<u16>,
}

impl Edges {
    /// Edges of the strongest channel over all `images` (all the same size).
    fn of(images: &[&RgbImage]) -> Edges {
        let (w, h) = (images[0].width() as usize, images[0].height() as usize);
        let mut gx = vec![0i32; w * h];
        let mut gy = vec![0i32; w * h];
        let mut mag = vec![0i32; w * h];
        if w >= 3 && h >= 3 {
            for img in images {
                let raw = img.as_raw();
                for c in 0..3 {
                    let at = |x: usize, y: usize| raw[(y * w + x) * 3 + c] as i32;
                    for y in 1..h - 1 {
                        for x in 1..w - 1 {
                            let dx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1)
                                - at(x - 1, y - 1)
                                - 2 * at(x - 1, y)
                                - at(x - 1, y + 1);
                            let dy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1)
                                - at(x - 1, y - 1)
                                - 2 * at(x, y - 1)
                                - at(x + 1, y - 1);
                            let m = dx * dx + dy * dy;
                            let i = y * w + x;
                            if m > mag[i] {
                                mag[i] = m;
                                gx[i] = dx;
                                gy[i] = dy;
                            }
                        }
                    }
                }
            }
        }
        let min = MIN_EDGE * MIN_EDGE;
        let mut angle = vec![NONE; w * h];
        let mut strength = vec![0u16; w * h];
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                let i = y * w + x;
                let m = mag[i];
                if m < min {
                    continue;
                }
                // Thin: a maximum along the gradient's direction (one of four).
                let (dx, dy) = (gx[i], gy[i]);
                let (ax, ay) = (dx.abs(), dy.abs());
                let (ox, oy): (isize, isize) = if 5 * ay <= 2 * ax {
                    (1, 0)
                } else if 5 * ax <= 2 * ay {
                    (0, 1)
                } else if (dx > 0) == (dy > 0) {
                    (1, 1)
                } else {
                    (1, -1)
                };
                let n1 = mag[(i as isize + oy * w as isize + ox) as usize];
                let n2 = mag[(i as isize - oy * w as isize - ox) as usize];
                if m < n1 || m <= n2 {
                    continue;
                }
                let a = (dy as f32).atan2(dx as f32).rem_euclid(PI);
                angle[i] = ((a * 180.0 / PI) as u8).min(179);
                strength[i] = ((m as f32).sqrt() as u32).min(u16::MAX as u32) as u16;
            }
        }
        Edges {
            w,
            h,
            angle,
            strength,
        }
    }

    /// At most `max` edge pixels spread evenly over all of them: strongest first,
    /// each at least a spacing away from those kept, the spacing the smallest (in
    /// steps of 10 %) that keeps no more than `max`. Evenly, because a cap reached
    /// by the strongest alone would leave out the finer inner parts of a logo
    /// (the letter inside a frame), which tell it from any frame.
    fn spread(&self, max: usize) -> Vec<(usize, usize, u8)> {
        let mut all: Vec<(u16, usize)> = self
            .angle
            .iter()
            .enumerate()
            .filter(|&(_, &a)| a != NONE)
            .map(|(i, _)| (self.strength[i], i))
            .collect();
        all.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let at = |i: usize| (i % self.w, i / self.w, self.angle[i]);
        if all.len() <= max {
            return all.iter().map(|&(_, i)| at(i)).collect();
        }
        let mut spacing = (all.len() as f32 / max as f32).max(1.0);
        loop {
            // Kept pixels by grid cell of the spacing's side, for the distance test.
            let side = spacing.ceil().max(1.0) as usize;
            let (gw, gh) = (self.w / side + 1, self.h / side + 1);
            let mut grid: Vec<Vec<(usize, usize)>> = vec![Vec::new(); gw * gh];
            let mut kept: Vec<(usize, usize, u8)> = Vec::new();
            for &(_, i) in &all {
                let (x, y, a) = at(i);
                let (cx, cy) = (x / side, y / side);
                let clear = (cy.saturating_sub(1)..=(cy + 1).min(gh - 1)).all(|ny| {
                    (cx.saturating_sub(1)..=(cx + 1).min(gw - 1)).all(|nx| {
                        grid[ny * gw + nx].iter().all(|&(kx, ky)| {
                            let (dx, dy) = (kx as f32 - x as f32, ky as f32 - y as f32);
                            dx * dx + dy * dy >= spacing * spacing
                        })
                    })
                });
                if clear {
                    grid[cy * gw + cx].push((x, y));
                    kept.push((x, y, a));
                    if kept.len() > max {
                        break;
                    }
                }
            }
            if kept.len() <= max {
                return kept;
            }
            spacing *= 1.1;
        }
    }
}

/// The bin of a direction in degrees.
#[inline]
fn bin(angle: u8) -> u8 {
    (angle as u16 * BINS as u16 / 180) as u8
}

/// Difference of two directions modulo 180°, in degrees (0..=90).
#[inline]
fn angle_gap(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(180.0);
    d.min(180.0 - d)
}

/// One point of a logo's outline, in the logo's own pixels.
#[derive(Debug, Clone, Copy)]
struct Point {
    x: f32,
    y: f32,
    /// The outline's tangent there (unit), in the logo's own pixels.
    tx: f32,
    ty: f32,
}

/// One drawing of a logo.
#[derive(Debug)]
struct Template {
    /// Index into `ShapeIndex::logos`.
    logo: u32,
    /// From the logo's pixels to the drawing's.
    map: Affine,
    /// Coarse features: offsets from the drawing's top-left and the response map
    /// they read (a direction bin, or [`FLAT`]).
    features: Vec<Feature>,
    /// Largest offsets in steps.
    cells: (usize, usize),
    /// Points for the alignment.
    points: Vec<Point>,
    /// Interior points (the logo's own pixels) for the decision.
    interior: Vec<[f32; 2]>,
}

/// One coarse feature.
#[derive(Debug, Clone, Copy)]
struct Feature {
    /// Offset in steps.
    qx: u16,
    qy: u16,
    /// The rest, in pixels (`0..STEP`).
    r: u8,
    /// Response map.
    map: u8,
}

impl Feature {
    fn at(x: usize, y: usize, map: u8) -> Feature {
        Feature {
            qx: (x / STEP) as u16,
            qy: (y / STEP) as u16,
            r: ((y % STEP) * STEP + x % STEP) as u8,
            map,
        }
    }
}

/// A registered logo.
#[derive(Debug)]
struct Logo {
    region: RegionRef,
    width: f32,
    height: f32,
}

/// Templates of every registered logo.
#[derive(Debug, Default)]
pub struct ShapeIndex {
    logos: Vec<Logo>,
    templates: Vec<Template>,
}

/// A logo found by its outline.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShapeHit {
    pub region: RegionRef,
    /// The logo's whole picture mapped into the photo: left, top, width, height,
    /// in the photo's pixels.
    pub bbox: [u32; 4],
    /// Points found at their place.
    pub found: u32,
    /// Their share of the logo's points.
    pub score: f32,
}

impl ShapeIndex {
    /// Templates of `logos` (drawn in parallel).
    pub fn new(logos: Vec<(RegionRef, DynamicImage)>) -> ShapeIndex {
        let drawn: Vec<(Logo, Vec<Template>)> = logos
            .into_par_iter()
            .enumerate()
            .map(|(k, (region, image))| {
                let logo = Logo {
                    region,
                    width: image.width() as f32,
                    height: image.height() as f32,
                };
                (logo, templates(k as u32, &image.to_rgba8()))
            })
            .collect();
        let mut index = ShapeIndex::default();
        for (logo, templates) in drawn {
            index.logos.push(logo);
            index.templates.extend(templates);
        }
        index
    }

    /// The logos found in `photo`, at most one per place.
    pub(super) fn search(&self, photo: &DynamicImage) -> Vec<ShapeHit> {
        if self.templates.is_empty() || photo.width() < 16 || photo.height() < 16 {
            return Vec::new();
        }
        let rgb = photo.to_rgb8();
        let long = photo.width().max(photo.height()) as f32;
        let first = if long > QUERY_SIDE as f32 {
            let f = QUERY_SIDE as f32 / long;
            imageops::resize(
                &rgb,
                ((photo.width() as f32 * f).round() as u32).max(1),
                ((photo.height() as f32 * f).round() as u32).max(1),
                imageops::FilterType::Triangle,
            )
        } else {
            rgb
        };
        let mut images = vec![first];
        for _ in 1..LEVELS {
            let last = &images[images.len() - 1];
            let (w, h) = (
                (last.width() as f32 / std::f32::consts::SQRT_2).round() as u32,
                (last.height() as f32 / std::f32::consts::SQRT_2).round() as u32,
            );
            if w.min(h) < SIZES[0] as u32 {
                break;
            }
            images.push(imageops::resize(last, w, h, imageops::FilterType::Triangle));
        }
        let mut levels: Vec<Level> = images.par_iter().map(Level::new).collect();
        let first = levels[0].long();
        for level in &mut levels {
            level.factor = first / level.long();
        }

        // Coarse: every template at every level.
        let mut candidates: Vec<Candidate> = self
            .templates
            .par_iter()
            .enumerate()
            .flat_map_iter(|(t, template)| {
                levels
                    .iter()
                    .enumerate()
                    .flat_map(move |(l, level)| level.candidates(t as u32, l as u8, template))
            })
            .collect();
        // The best few per logo, at distinct places.
        candidates.sort_unstable_by(|a, b| {
            let (la, lb) = (
                self.templates[a.template as usize].logo,
                self.templates[b.template as usize].logo,
            );
            la.cmp(&lb)
                .then(b.score.cmp(&a.score))
                .then((a.template, a.level, a.cell).cmp(&(b.template, b.level, b.cell)))
        });
        let chosen: Vec<Candidate> = candidates
            .chunk_by(|a, b| {
                self.templates[a.template as usize].logo == self.templates[b.template as usize].logo
            })
            .flat_map(|group| group.iter().take(SHORTLIST).copied())
            .collect();
        // The shortlist re-scored at the pixel, the best few per logo kept.
        let mut fine: Vec<(u32, u16, Candidate)> = chosen
            .par_iter()
            .map(|c| {
                let template = &self.templates[c.template as usize];
                let (score, shifted) = levels[c.level as usize].refine(template, c);
                (template.logo, score, shifted)
            })
            .collect();
        fine.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.cmp(&a.1))
                .then((a.2.template, a.2.level, a.2.cell).cmp(&(b.2.template, b.2.level, b.2.cell)))
        });
        let mut chosen: Vec<Candidate> = Vec::new();
        for group in fine.chunk_by(|a, b| a.0 == b.0) {
            // Distinct poses: another place, or another size at the same place.
            let mut kept: Vec<(f32, f32, f32)> = Vec::new();
            for &(_, _, c) in group {
                let (x, y, size) = self.place(&c, &levels);
                if kept.iter().any(|&(kx, ky, ks)| {
                    (kx - x).hypot(ky - y) < 0.25 * ks.min(size)
                        && (ks / size).max(size / ks) < 1.15
                }) {
                    continue;
                }
                kept.push((x, y, size));
                chosen.push(c);
                if kept.len() == CANDIDATES {
                    break;
                }
            }
        }

        // Alignment and decision.
        let factor = long.max(1.0) / levels[0].long();
        let mut hits: Vec<(ShapeHit, [f32; 4])> = chosen
            .par_iter()
            .filter_map(|c| {
                let template = &self.templates[c.template as usize];
                let logo = &self.logos[template.logo as usize];
                let (level, score, found, map) = match levels[c.level as usize].align(template, c) {
                    Aligned::Found { score, found, map } => (c.level as usize, score, found, map),
                    Aligned::Refused { score, map } if score >= CONFIRM && c.level > 0 => {
                        confirm_finer(&levels, c.level as usize, template, map)?
                    }
                    _ => return None,
                };
                let level = &levels[level];
                let extent = map.extent(logo.width, logo.height, factor * level.factor);
                let bbox = clip(extent, photo.width(), photo.height())?;
                Some((
                    ShapeHit {
                        region: logo.region,
                        bbox,
                        found,
                        score,
                    },
                    extent,
                ))
            })
            .collect();
        // Best first; one logo per place, each logo once.
        hits.sort_by(|a, b| {
            b.0.score
                .total_cmp(&a.0.score)
                .then(b.0.found.cmp(&a.0.found))
                .then((a.0.region.mark, a.0.region.image).cmp(&(b.0.region.mark, b.0.region.image)))
        });
        let mut out: Vec<(ShapeHit, [f32; 4])> = Vec::new();
        for (hit, b) in hits {
            if out
                .iter()
                .any(|(h, k)| h.region == hit.region || overlap(k, &b) > 0.3)
            {
                continue;
            }
            out.push((hit, b));
        }
        out.into_iter().map(|(h, _)| h).collect()
    }

    /// Centre and size, in the first level's pixels, of a candidate.
    fn place(&self, c: &Candidate, levels: &[Level]) -> (f32, f32, f32) {
        let template = &self.templates[c.template as usize];
        let level = &levels[c.level as usize];
        let f = level.factor;
        let (cx, cy) = template.cells;
        let x = (c.cell.0 as f32 + cx as f32 / 2.0) * STEP as f32 * f;
        let y = (c.cell.1 as f32 + cy as f32 / 2.0) * STEP as f32 * f;
        (x, y, (cx.max(cy) * STEP) as f32 * f)
    }
}

/// Intersection over union of two boxes (min x, min y, max x, max y).
fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// A near miss of `template` at `level`, aligned again one level finer from the
/// `map` found: that level, the share and number of points found, and the map,
/// when the logo is found there.
fn confirm_finer(
    levels: &[Level],
    level: usize,
    template: &Template,
    map: Affine,
) -> Option<(usize, f32, u32, Affine)> {
    let (from, to) = (&levels[level], &levels[level - 1]);
    let r = from.factor / to.factor;
    let start = template.map.scale() * r;
    match to.align_from(template, map.scaled(r), start, &[3.0, 2.0, 2.0]) {
        Aligned::Found { score, found, map } => Some((level - 1, score, found, map)),
        _ => None,
    }
}

/// What an alignment gave.
enum Aligned {
    /// The logo: the share and number of its points found, and the map from the
    /// logo's pixels to the level's.
    Found { score: f32, found: u32, map: Affine },
    /// Aligned, but refused by the share of points found or the interior check.
    Refused { score: f32, map: Affine },
    /// No alignment: too few pairs, or a map that does not keep the logo's shape
    /// or size.
    Lost,
}

/// A place worth aligning.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    template: u32,
    level: u8,
    cell: (u16, u16),
    /// Thousandths of the template's best score.
    score: u16,
    /// Shift in pixels from the cell, found by [`Level::refine`].
    shift: (i8, i8),
}

/// The templates of one logo.
fn templates(logo: u32, image: &RgbaImage) -> Vec<Template> {
    // Trim to the visible pixels.
    let (w, h) = image.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0u32, 0u32);
    for (x, y, p) in image.enumerate_pixels() {
        if p.0[3] >= 32 {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
        }
    }
    if x1 <= x0 || y1 <= y0 {
        return Vec::new();
    }
    let trimmed = imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
    let (tw, th) = (trimmed.width() as f32, trimmed.height() as f32);
    let long = tw.max(th);
    let mut out = Vec::new();
    for size in SIZES {
        let scale = size / long;
        let (sw, sh) = (
            ((tw * scale).round() as u32).max(1),
            ((th * scale).round() as u32).max(1),
        );
        let filter = if scale < 1.0 {
            imageops::FilterType::Triangle
        } else {
            imageops::FilterType::CatmullRom
        };
        let small = imageops::resize(&trimmed, sw, sh, filter);
        // Actual scales of the drawing along each axis.
        let (kx, ky) = (sw as f32 / tw, sh as f32 / th);
        for turn in TURNS {
            let (s, c) = turn.to_radians().sin_cos();
            // The turned drawing's box, with a margin for the gradient.
            let margin = 3.0;
            let corners = [
                (0.0, 0.0),
                (sw as f32, 0.0),
                (0.0, sh as f32),
                (sw as f32, sh as f32),
            ]
            .map(|(u, v)| (c * u - s * v, s * u + c * v));
            let min_x = corners.iter().map(|p| p.0).fold(f32::MAX, f32::min) - margin;
            let min_y = corners.iter().map(|p| p.1).fold(f32::MAX, f32::min) - margin;
            let max_x = corners.iter().map(|p| p.0).fold(f32::MIN, f32::max) + margin;
            let max_y = corners.iter().map(|p| p.1).fold(f32::MIN, f32::max) + margin;
            let (dw, dh) = ((max_x - min_x).ceil() as u32, (max_y - min_y).ceil() as u32);
            let mut on_white = RgbImage::new(dw, dh);
            let mut on_black = RgbImage::new(dw, dh);
            let mut alpha = vec![0u8; (dw * dh) as usize];
            for y in 0..dh {
                for x in 0..dw {
                    // Inverse turn, into the small drawing's pixels.
                    let (px, py) = (x as f32 + 0.5 + min_x, y as f32 + 0.5 + min_y);
                    let (u, v) = (c * px + s * py - 0.5, -s * px + c * py - 0.5);
                    let p = sample(&small, u, v);
                    let a = p[3] / 255.0;
                    alpha[(y * dw + x) as usize] = p[3].round() as u8;
                    let white = |k: usize| (p[k] * a + 255.0 * (1.0 - a)).round() as u8;
                    let black = |k: usize| (p[k] * a).round() as u8;
                    on_white.put_pixel(x, y, Rgb([white(0), white(1), white(2)]));
                    on_black.put_pixel(x, y, Rgb([black(0), black(1), black(2)]));
                }
            }
            let edges = Edges::of(&[&on_white, &on_black]);
            // From the logo's pixels to the drawing's: trim, scale, turn, offset.
            let (a, b) = (c * kx, -s * ky);
            let (cc, d) = (s * kx, c * ky);
            let map = Affine {
                m: [
                    [a, b, -(a * x0 as f32 + b * y0 as f32) - min_x],
                    [cc, d, -(cc * x0 as f32 + d * y0 as f32) - min_y],
                ],
                inliers: 0,
            };
            let dense = edges.spread(POINTS);
            if dense.len() < MIN_POINTS {
                continue;
            }
            let det = a * d - b * cc;
            let points = dense
                .iter()
                .map(|&(x, y, angle)| {
                    // Drawing -> logo: inverse of the linear part, then the offset.
                    let (qx, qy) = (x as f32 - map.m[0][2], y as f32 - map.m[1][2]);
                    let (lx, ly) = ((d * qx - b * qy) / det, (-cc * qx + a * qy) / det);
                    // Tangent: the normal turned by 90°, mapped back the same way.
                    let n = (angle as f32).to_radians();
                    let (tx, ty) = (-n.sin(), n.cos());
                    let (ux, uy) = ((d * tx - b * ty) / det, (-cc * tx + a * ty) / det);
                    let norm = ux.hypot(uy).max(1e-6);
                    Point {
                        x: lx,
                        y: ly,
                        tx: ux / norm,
                        ty: uy / norm,
                    }
                })
                .collect();
            let mut features: Vec<Feature> = edges
                .spread(FEATURES)
                .into_iter()
                .map(|(x, y, angle)| Feature::at(x, y, bin(angle)))
                .collect();
            // Interior: opaque, and at least INTERIOR_MARGIN from every edge pixel.
            let (w, h) = (dw as usize, dh as usize);
            let mut near = vec![false; w * h];
            let m = INTERIOR_MARGIN as isize;
            for y in 0..h {
                for x in 0..w {
                    if edges.angle[y * w + x] == NONE {
                        continue;
                    }
                    for ny in (y as isize - m).max(0)..=(y as isize + m).min(h as isize - 1) {
                        for nx in (x as isize - m).max(0)..=(x as isize + m).min(w as isize - 1) {
                            near[ny as usize * w + nx as usize] = true;
                        }
                    }
                }
            }
            let inside = Edges {
                w,
                h,
                angle: (0..w * h)
                    .map(|i| if alpha[i] >= 200 && !near[i] { 0 } else { NONE })
                    .collect(),
                strength: vec![1; w * h],
            };
            let interior_px = inside.spread(INTERIOR);
            features.extend(interior_px.iter().map(|&(x, y, _)| Feature::at(x, y, FLAT)));
            let interior = interior_px
                .iter()
                .map(|&(x, y, _)| {
                    let (qx, qy) = (x as f32 - map.m[0][2], y as f32 - map.m[1][2]);
                    [(d * qx - b * qy) / det, (-cc * qx + a * qy) / det]
                })
                .collect();
            let cells = features.iter().fold((0usize, 0usize), |(mx, my), f| {
                (mx.max(f.qx as usize), my.max(f.qy as usize))
            });
            out.push(Template {
                logo,
                map,
                features,
                cells,
                points,
                interior,
            });
        }
    }
    out
}

/// Bilinear sample of an RGBA image; transparent outside.
fn sample(img: &RgbaImage, u: f32, v: f32) -> [f32; 4] {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let (x0, y0) = (u.floor() as i32, v.floor() as i32);
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let mut out = [0f32; 4];
    for (dx, dy, wgt) in [
        (0, 0, (1.0 - fx) * (1.0 - fy)),
        (1, 0, fx * (1.0 - fy)),
        (0, 1, (1.0 - fx) * fy),
        (1, 1, fx * fy),
    ] {
        let (x, y) = (x0 + dx, y0 + dy);
        if x < 0 || y < 0 || x >= w || y >= h || wgt == 0.0 {
            continue;
        }
        let p = img.get_pixel(x as u32, y as u32).0;
        let a = p[3] as f32;
        // Premultiplied, so a transparent neighbour does not darken the edge.
        for k in 0..3 {
            out[k] += wgt * p[k] as f32 * a / 255.0;
        }
        out[3] += wgt * a;
    }
    let alpha = out[3];
    if alpha > 0.0 {
        for v in out.iter_mut().take(3) {
            *v = *v * 255.0 / alpha;
        }
    }
    out
}

/// One level of the photo.
struct Level {
    edges: Edges,
    /// Pixels of the first level per pixel of this one.
    factor: f32,
    /// Places across and down (one every [`STEP`] pixels).
    gw: usize,
    gh: usize,
    /// Response maps, linearised (Hinterstoisser et al.): for each map (eight
    /// direction bins, then [`FLAT`]) and each offset within a step (`r`), the
    /// responses at every place, 0 to [`RESPONSE_MAX`]. Bin `b`: how much more
    /// likely than chance an edge of bin `b` is within [`SPREAD`] pixels: 4, plus
    /// 4 when one is there, minus half the number of bins there (a window of
    /// texture holding every direction gives 4 whatever the template wants, a
    /// clean outline of the wanted direction 7 or 8, a flat place 4). [`FLAT`]:
    /// 8 where no edge lies within a pixel, else 0.
    responses: Vec<Vec<u8>>,
    /// Direction bins present within a pixel of each pixel.
    close: Vec<u8>,
}

impl Level {
    fn new(image: &RgbImage) -> Level {
        let edges = Edges::of(&[image]);
        let (w, h) = (edges.w, edges.h);
        let (gw, gh) = (w / STEP, h / STEP);
        let bits: Vec<u8> = edges
            .angle
            .iter()
            .map(|&a| if a == NONE { 0 } else { 1 << bin(a) })
            .collect();
        let spread = |radius: usize| -> Vec<u8> {
            // Separable OR over a square of side 2 * radius + 1.
            let mut across = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    let mut m = 0u8;
                    for nx in x.saturating_sub(radius)..=(x + radius).min(w - 1) {
                        m |= bits[y * w + nx];
                    }
                    across[y * w + x] = m;
                }
            }
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    let mut m = 0u8;
                    for ny in y.saturating_sub(radius)..=(y + radius).min(h - 1) {
                        m |= across[ny * w + x];
                    }
                    out[y * w + x] = m;
                }
            }
            out
        };
        let wide = spread(SPREAD);
        let close = spread(1);
        let mut responses = Vec::with_capacity((BINS as usize + 1) * STEP * STEP);
        for map in 0..=BINS {
            for r in 0..STEP * STEP {
                let (rx, ry) = (r % STEP, r / STEP);
                let mut lin = vec![0u8; gw * gh];
                for gy in 0..gh {
                    for gx in 0..gw {
                        let i = (gy * STEP + ry) * w + gx * STEP + rx;
                        lin[gy * gw + gx] = if map == FLAT {
                            if close[i] == 0 {
                                RESPONSE_MAX
                            } else {
                                0
                            }
                        } else {
                            // Lift over chance: 8 bins present say nothing.
                            let present = wide[i] & (1 << map) != 0;
                            4 + 4 * present as u8 - (wide[i].count_ones() as u8).div_ceil(2)
                        };
                    }
                }
                responses.push(lin);
            }
        }
        Level {
            edges,
            factor: 1.0,
            gw,
            gh,
            responses,
            close,
        }
    }

    /// Longer side of this level.
    fn long(&self) -> f32 {
        self.edges.w.max(self.edges.h) as f32
    }

    /// Places where `template` scores at least [`COARSE`] of its maximum, each a
    /// local maximum.
    fn candidates(&self, t: u32, l: u8, template: &Template) -> Vec<Candidate> {
        let (cx, cy) = template.cells;
        if cx >= self.gw || cy >= self.gh || template.features.is_empty() {
            return Vec::new();
        }
        let (aw, ah) = (self.gw - cx, self.gh - cy);
        let mut acc = vec![0u16; aw * ah];
        for f in &template.features {
            let r = &self.responses[f.map as usize * STEP * STEP + f.r as usize];
            for y in 0..ah {
                let from = (y + f.qy as usize) * self.gw + f.qx as usize;
                let row = &mut acc[y * aw..(y + 1) * aw];
                // At most (FEATURES + INTERIOR) × RESPONSE_MAX = 768: the sum never
                // wraps. Written as a wrapping add so that the loop is vectorised
                // in the dev profile too, where overflow checks would keep it
                // scalar (the tests and evaluations run that profile).
                for (a, &v) in row.iter_mut().zip(&r[from..from + aw]) {
                    *a = a.wrapping_add(u16::from(v));
                }
            }
        }
        let max = RESPONSE_MAX as usize * template.features.len();
        let min = (COARSE * max as f32).ceil() as u16;
        let mut out = Vec::new();
        for y in 0..ah {
            for x in 0..aw {
                let v = acc[y * aw + x];
                if v < min {
                    continue;
                }
                let mut local = true;
                'n: for ny in y.saturating_sub(1)..=(y + 1).min(ah - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(aw - 1) {
                        let o = acc[ny * aw + nx];
                        if o > v || (o == v && (ny, nx) < (y, x)) {
                            local = false;
                            break 'n;
                        }
                    }
                }
                if local {
                    out.push(Candidate {
                        template: t,
                        level: l,
                        cell: (x as u16, y as u16),
                        score: (v as u32 * 1000 / max as u32) as u16,
                        shift: (0, 0),
                    });
                }
            }
        }
        out
    }

    /// Aligns `template` placed at `cell`: the share of its points found, how
    /// many, and the map from the logo's pixels to this level's.
    fn align(&self, template: &Template, c: &Candidate) -> Aligned {
        let mut map = template.map;
        map.m[0][2] += (c.cell.0 as usize * STEP) as f32 + c.shift.0 as f32;
        map.m[1][2] += (c.cell.1 as usize * STEP) as f32 + c.shift.1 as f32;
        let start = map.scale();
        self.align_from(template, map, start, &[6.0, 4.0, 3.0, 2.0, 2.0])
    }

    /// Aligns `template`'s points from `map` (the logo's pixels to this level's),
    /// pairing within each of `radii` in turn, then decides; `start` is the scale
    /// of the template's drawing in this level's pixels, which the aligned map
    /// may drift from by [`SCALE_DRIFT`] at most.
    fn align_from(
        &self,
        template: &Template,
        mut map: Affine,
        start: f32,
        radii: &[f32],
    ) -> Aligned {
        let points = &template.points;
        for &radius in radii {
            let pairs: Vec<([f32; 2], [f32; 2])> = points
                .iter()
                .filter_map(|p| {
                    let (q, a) = predict(&map, p);
                    self.nearest(q, a, radius).map(|e| ([p.x, p.y], e))
                })
                .collect();
            if pairs.len() < points.len() / 3 {
                return Aligned::Lost;
            }
            match Affine::fit(pairs.into_iter()) {
                Some(fitted) => map = fitted,
                None => return Aligned::Lost,
            }
        }
        if !map.keeps_shape() {
            return Aligned::Lost;
        }
        let drift = map.scale() / start;
        if !(1.0 / SCALE_DRIFT..=SCALE_DRIFT).contains(&drift) {
            return Aligned::Lost;
        }
        let found = points
            .iter()
            .filter(|p| {
                let (q, a) = predict(&map, p);
                self.nearest(q, a, 1.5).is_some()
            })
            .count();
        let score = found as f32 / points.len() as f32;
        let interior = &template.interior;
        if interior.len() >= INTERIOR / 2 {
            let flat = interior
                .iter()
                .filter(|p| {
                    let q = map.apply(**p);
                    self.flat(q)
                })
                .count();
            let share = flat as f32 / interior.len() as f32;
            if share < MIN_FLAT {
                return Aligned::Refused { score, map };
            }
        }
        if score >= MIN_SCORE {
            Aligned::Found {
                score,
                found: found as u32,
                map,
            }
        } else {
            Aligned::Refused { score, map }
        }
    }

    /// The candidate's score at the pixel: the share of its points with an edge
    /// of their direction bin or a neighbouring one within a pixel, and of its
    /// interior points with none, at the best shift of up to half a step; in
    /// thousandths, and the candidate with that shift.
    fn refine(&self, template: &Template, c: &Candidate) -> (u16, Candidate) {
        let mut map = template.map;
        map.m[0][2] += (c.cell.0 as usize * STEP) as f32;
        map.m[1][2] += (c.cell.1 as usize * STEP) as f32;
        let points: Vec<(i32, i32, u8)> = template
            .points
            .iter()
            .map(|p| {
                let (q, a) = predict(&map, p);
                let b = ((a as u16 * BINS as u16 / 180) as u8).min(BINS - 1);
                let want =
                    (1u8 << b) | (1u8 << ((b + 1) % BINS)) | (1u8 << ((b + BINS - 1) % BINS));
                (q[0].round() as i32, q[1].round() as i32, want)
            })
            .collect();
        let interior: Vec<(i32, i32)> = template
            .interior
            .iter()
            .map(|p| {
                let q = map.apply(*p);
                (q[0].round() as i32, q[1].round() as i32)
            })
            .collect();
        let total = (points.len() + interior.len()).max(1) as u32;
        let half = (STEP / 2) as i32;
        let side = (2 * half + 1) as usize;
        // Agreeing points for each shift, (dy, dx) in row order.
        let mut counts = vec![0u32; side * side];
        for &(x, y, want) in &points {
            self.tally(x, y, half, &mut counts, |v| v & want != 0);
        }
        for &(x, y) in &interior {
            self.tally(x, y, half, &mut counts, |v| v == 0);
        }
        // The first shift with the most, as a scan of dy then dx would keep it.
        let mut best = (0u32, (0i8, 0i8));
        for (k, &n) in counts.iter().enumerate() {
            if n > best.0 {
                let (dy, dx) = ((k / side) as i32 - half, (k % side) as i32 - half);
                best = (n, (dx as i8, dy as i8));
            }
        }
        let mut shifted = *c;
        shifted.shift = best.1;
        ((best.0 * 1000 / total) as u16, shifted)
    }

    /// Adds to `counts` (one per shift of up to `half` pixels each way, row by
    /// row) whether the pixel at (x, y) shifted passes `hit`; pixels outside the
    /// level pass nothing. The shifts of one point read `close` as a few short
    /// rows: `refine`'s inner loop.
    fn tally(&self, x: i32, y: i32, half: i32, counts: &mut [u32], hit: impl Fn(u8) -> bool) {
        let (w, h) = (self.edges.w as i32, self.edges.h as i32);
        let side = (2 * half + 1) as usize;
        if x >= half && y >= half && x < w - half && y < h - half {
            let (w, x0, y0) = (w as usize, (x - half) as usize, (y - half) as usize);
            for (sy, row) in counts.chunks_exact_mut(side).enumerate() {
                let from = (y0 + sy) * w + x0;
                for (n, &v) in row.iter_mut().zip(&self.close[from..from + side]) {
                    *n += u32::from(hit(v));
                }
            }
            return;
        }
        for (k, n) in counts.iter_mut().enumerate() {
            let sx = x.saturating_add((k % side) as i32 - half);
            let sy = y.saturating_add((k / side) as i32 - half);
            if sx >= 0 && sy >= 0 && sx < w && sy < h && hit(self.close[(sy * w + sx) as usize]) {
                *n += 1;
            }
        }
    }

    /// Whether no edge lies within a pixel of `q`.
    fn flat(&self, q: [f32; 2]) -> bool {
        let (cx, cy) = (q[0].round() as i32, q[1].round() as i32);
        if cx < 0 || cy < 0 || cx >= self.edges.w as i32 || cy >= self.edges.h as i32 {
            return false;
        }
        for y in (cy - 1).max(0)..=(cy + 1).min(self.edges.h as i32 - 1) {
            for x in (cx - 1).max(0)..=(cx + 1).min(self.edges.w as i32 - 1) {
                if self.edges.angle[y as usize * self.edges.w + x as usize] != NONE {
                    return false;
                }
            }
        }
        true
    }

    /// The nearest edge pixel to `q` within `radius` whose direction is within
    /// [`ANGLE_TOLERANCE`] of `angle` (degrees).
    fn nearest(&self, q: [f32; 2], angle: f32, radius: f32) -> Option<[f32; 2]> {
        let r = radius.ceil() as i32;
        let (cx, cy) = (q[0].round() as i32, q[1].round() as i32);
        let mut best: Option<(f32, [f32; 2])> = None;
        for y in (cy - r).max(0)..=(cy + r).min(self.edges.h as i32 - 1) {
            for x in (cx - r).max(0)..=(cx + r).min(self.edges.w as i32 - 1) {
                let a = self.edges.angle[y as usize * self.edges.w + x as usize];
                if a == NONE || angle_gap(a as f32, angle) > ANGLE_TOLERANCE {
                    continue;
                }
                let d = (x as f32 - q[0]).hypot(y as f32 - q[1]);
                if d <= radius && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, [x as f32, y as f32]));
                }
            }
        }
        best.map(|(_, p)| p)
    }
}

/// Where `map` puts a point, and the direction (degrees modulo 180) of the
/// outline's normal there.
#[inline]
fn predict(map: &Affine, p: &Point) -> ([f32; 2], f32) {
    let q = map.apply([p.x, p.y]);
    let m = &map.m;
    let (tx, ty) = (
        m[0][0] * p.tx + m[0][1] * p.ty,
        m[1][0] * p.tx + m[1][1] * p.ty,
    );
    // The normal is the tangent turned by 90°.
    let a = (tx.atan2(-ty) * 180.0 / PI).rem_euclid(180.0);
    (q, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::RegionKind;

    /// A flat logo: a ring with a bar across it and a square beside it, one
    /// colour on transparency.
    fn flat_logo() -> RgbaImage {
        RgbaImage::from_fn(200, 120, |x, y| {
            let (dx, dy) = (x as f32 - 60.0, y as f32 - 60.0);
            let r = dx.hypot(dy);
            let ring = (35.0..52.0).contains(&r);
            let bar = (55.0..65.0).contains(&(y as f32)) && (20.0..100.0).contains(&(x as f32));
            let square =
                (130..180).contains(&x) && (35..85).contains(&y) && !(145..165).contains(&x);
            if ring || bar || square {
                image::Rgba([200, 30, 40, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        })
    }

    /// Textured ground: waves and blocks of random grey.
    fn ground(seed: u32) -> RgbaImage {
        RgbaImage::from_fn(640, 480, |x, y| {
            let wave =
                40.0 * (x as f32 / 29.0).sin() + 30.0 * ((y as f32 + x as f32 * 0.3) / 17.0).cos();
            let cell = ((x / 9).wrapping_mul(7919)
                ^ (y / 7).wrapping_mul(104_729)
                ^ seed.wrapping_mul(0x9e37_79b9))
            .wrapping_mul(2_654_435_761)
                >> 27;
            let v = (110.0 + wave + cell as f32).clamp(0.0, 255.0) as u8;
            image::Rgba([v, v, v.saturating_add(10), 255])
        })
    }

    /// `logo` scaled by `scale`, turned by `degrees`, at `opacity`, centred at (cx, cy).
    fn paste(
        base: &mut RgbaImage,
        logo: &RgbaImage,
        scale: f32,
        degrees: f32,
        opacity: f32,
        cx: f32,
        cy: f32,
    ) {
        let (s, c) = degrees.to_radians().sin_cos();
        let (lw, lh) = (logo.width() as f32, logo.height() as f32);
        for y in 0..base.height() {
            for x in 0..base.width() {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let u = (c * dx + s * dy) / scale + lw / 2.0;
                let v = (-s * dx + c * dy) / scale + lh / 2.0;
                let p = sample(logo, u, v);
                let a = p[3] / 255.0 * opacity;
                let q = base.get_pixel_mut(x, y);
                for (to, from) in q.0.iter_mut().zip(p).take(3) {
                    *to = (from * a + *to as f32 * (1.0 - a)).round() as u8;
                }
            }
        }
    }

    fn index() -> ShapeIndex {
        let region = RegionRef {
            mark: 7,
            image: 0,
            kind: RegionKind::Logo,
        };
        ShapeIndex::new(vec![(region, DynamicImage::ImageRgba8(flat_logo()))])
    }

    #[test]
    fn finds_a_flat_logo_on_texture_turned_and_faint() {
        let index = index();
        for (scale, degrees, opacity, cx, cy) in [
            (0.6, 0.0, 1.0, 200.0, 150.0),
            (1.0, 18.0, 0.7, 400.0, 300.0),
            (0.45, -20.0, 0.8, 500.0, 120.0),
        ] {
            let mut photo = ground(1);
            paste(&mut photo, &flat_logo(), scale, degrees, opacity, cx, cy);
            let hits = index.search(&DynamicImage::ImageRgba8(photo));
            assert_eq!(hits.len(), 1, "{scale} {degrees}: {hits:?}");
            let [x, y, w, h] = hits[0].bbox;
            let (bx, by) = (x as f32 + w as f32 / 2.0, y as f32 + h as f32 / 2.0);
            assert!(
                (bx - cx).abs() < 15.0 && (by - cy).abs() < 15.0,
                "{:?}",
                hits[0]
            );
            assert!(hits[0].score >= MIN_SCORE);
        }
    }

    #[test]
    fn texture_and_other_shapes_give_nothing() {
        let index = index();
        for seed in 0..3 {
            assert!(index
                .search(&DynamicImage::ImageRgba8(ground(seed)))
                .is_empty());
        }
        // The ring alone (without the bar and the square) is not the logo.
        let ring = RgbaImage::from_fn(120, 120, |x, y| {
            let r = (x as f32 - 60.0).hypot(y as f32 - 60.0);
            if (35.0..52.0).contains(&r) {
                image::Rgba([200, 30, 40, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let mut photo = ground(4);
        paste(&mut photo, &ring, 1.0, 0.0, 1.0, 300.0, 240.0);
        assert!(index.search(&DynamicImage::ImageRgba8(photo)).is_empty());
        assert!(index.search(&DynamicImage::new_rgb8(1, 1)).is_empty());
    }

    #[test]
    fn tally_counts_every_shift_as_a_pixel_by_pixel_scan_does() {
        let level = Level::new(&DynamicImage::ImageRgba8(ground(3)).to_rgb8());
        let (w, h) = (level.edges.w as i32, level.edges.h as i32);
        let half = (STEP / 2) as i32;
        let side = (2 * half + 1) as usize;
        // Inside, at each border and corner, and outside.
        let places = [
            (300, 200),
            (0, 0),
            (1, 5),
            (w - 1, h - 2),
            (w - 2, 100),
            (50, h - 1),
        ];
        let places = places
            .into_iter()
            .chain([(-3, 40), (w + 1, h + 1), (i32::MAX, 0)]);
        for (x, y) in places {
            for want in [1u8, 0b0000_0111, 0b1000_0011, 0xff] {
                let mut counts = vec![0u32; side * side];
                level.tally(x, y, half, &mut counts, |v| v & want != 0);
                for dy in -half..=half {
                    for dx in -half..=half {
                        let (sx, sy) = (x.saturating_add(dx), y.saturating_add(dy));
                        let expected = sx >= 0
                            && sy >= 0
                            && sx < w
                            && sy < h
                            && level.close[(sy * w + sx) as usize] & want != 0;
                        let k = ((dy + half) as usize) * side + (dx + half) as usize;
                        assert_eq!(counts[k], u32::from(expected), "({x}, {y}) + ({dx}, {dy})");
                    }
                }
            }
        }
    }
}
