//! Local features: corners and binary descriptors, the building blocks for finding a
//! registered logo, or a part of a registered photo, somewhere inside a listing
//! photo (see [`super::logo`]). PDQ compares whole pictures; a logo covering a tenth
//! of a photo, or a photo cropped by a third, changes the whole-picture hash past any
//! threshold, while the corners inside the logo stay where they were relative to
//! each other.
//!
//! The detector is ORB's recipe (Rublee et al., 2011): FAST-9 corners on a grey
//! image, ranked by the Harris response, spread over a grid so that one busy corner
//! of a photo cannot take every keypoint, oriented by the intensity centroid of a
//! disc around each corner, and described by 256 steered binary tests (BRIEF) on
//! 5 × 5 box means read from an integral image. Descriptors are compared by Hamming
//! distance, which a binary index can look up (see [`super::logo`]).
//!
//! Written here rather than taken from a crate, after looking at the pure-Rust
//! candidates: `imageproc` has FAST corners and BRIEF, but its BRIEF is not steered
//! (a logo turned by 20° loses most of its bits) and it brings `nalgebra` and a
//! dozen other crates into the build for two short functions; `akaze` builds a
//! nonlinear scale space in floating point, which costs hundreds of milliseconds on
//! one photo, over this module's whole budget. What is here is about 300 lines with
//! no dependency beyond `image`, and it is deterministic: the test pattern comes from
//! a fixed seed.
//!
//! Pure: takes a decoded image and returns keypoints.

use image::{DynamicImage, GrayImage};

/// Radius of the disc around a keypoint that its orientation and descriptor read.
/// Keypoints are kept this far (plus the box half-width) from the border.
pub const PATCH_RADIUS: i32 = 15;

/// Margin a keypoint keeps from the image border: the descriptor's rotated test
/// points reach [`PATCH_RADIUS`] and their 5 × 5 boxes two pixels more.
pub const BORDER: u32 = PATCH_RADIUS as u32 + 3;

/// Brightness difference (0..255) that makes a circle pixel brighter or darker than
/// the centre in the FAST test. Low, so that logos printed faintly (partly
/// transparent, low contrast) still give corners; the Harris ranking and the cap on
/// keypoints keep the noise out.
pub const FAST_THRESHOLD: i16 = 12;

/// How much darker, summed over a 5 × 5 box, the first point of a binary test must
/// be for the bit to be set: 6 grey levels a pixel. A logo is drawn on a flat
/// ground, where both points of a test outside the logo are equal and give 0; in a
/// listing photo the same two points fall on the photo's own background, whose
/// gentle shading would make such bits random. With the margin, background that
/// varies by less than 6 levels over the patch gives 0 as the flat ground does,
/// while the logo's own edges (tens of levels) still decide their bits.
pub const TEST_MARGIN: u32 = 6 * 25;

/// Side of the grid cells over which keypoints are spread, in pixels.
const CELL: u32 = 24;

/// Number of angle steps of the precomputed steered patterns (12° each): the
/// descriptor tolerates half a step of error, as ORB's does.
const ANGLE_STEPS: usize = 30;

/// A 256-bit binary descriptor.
pub type Descriptor = [u64; 4];

/// Hamming distance between two descriptors.
#[inline]
pub fn distance(a: &Descriptor, b: &Descriptor) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// One oriented corner and its descriptor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    /// Column, in pixels of the image it was found in.
    pub x: f32,
    /// Row.
    pub y: f32,
    /// Orientation in radians (intensity centroid).
    pub angle: f32,
    /// Harris response: higher is a stronger corner.
    pub score: f32,
    /// The steered BRIEF descriptor.
    pub descriptor: Descriptor,
}

/// A grey copy of `image` whose longer side is at most `max_side` (never enlarged),
/// and the factor from its coordinates back to the image's.
pub fn grey_within(image: &DynamicImage, max_side: u32) -> (GrayImage, f32) {
    let long = image.width().max(image.height()).max(1);
    if long <= max_side {
        return (image.to_luma8(), 1.0);
    }
    let factor = long as f32 / max_side as f32;
    let w = ((image.width() as f32 / factor).round() as u32).max(1);
    let h = ((image.height() as f32 / factor).round() as u32).max(1);
    let grey = image.to_luma8();
    let small = image::imageops::resize(&grey, w, h, image::imageops::FilterType::Triangle);
    (small, factor)
}

/// Finds at most `max` keypoints of `grey`, strongest first, at most a few per grid
/// cell, and describes them.
pub fn detect(grey: &GrayImage, max: usize) -> Vec<Keypoint> {
    let (w, h) = grey.dimensions();
    if w <= 2 * BORDER || h <= 2 * BORDER || max == 0 {
        return Vec::new();
    }
    let corners = fast_corners(grey);
    // Non-maximum suppression over 3 × 3 neighbourhoods of the FAST score, then the
    // Harris response (costlier, better at ranking) of the strongest few.
    let mut response = vec![0u32; (w * h) as usize];
    for &(x, y, score) in &corners {
        response[(y * w + x) as usize] = score;
    }
    let mut strong: Vec<(u32, u32, u32)> = corners
        .into_iter()
        .filter(|&(x, y, r)| {
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (nx, ny) = ((x as i32 + dx) as u32, (y as i32 + dy) as u32);
                    let other = response[(ny * w + nx) as usize];
                    // Ties go to the first in raster order, so plateaus keep one.
                    if other > r || (other == r && (dy, dx) < (0, 0)) {
                        return false;
                    }
                }
            }
            true
        })
        .collect();
    strong.sort_by(|a, b| b.2.cmp(&a.2).then((a.1, a.0).cmp(&(b.1, b.0))));
    strong.truncate(4 * max);
    let mut strong: Vec<(u32, u32, f32)> = strong
        .into_iter()
        .map(|(x, y, _)| (x, y, harris(grey, x, y)))
        .filter(|c| c.2 > 0.0)
        .collect();
    strong.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.1, a.0).cmp(&(b.1, b.0))));
    // At most an even share per cell (at least two), so the keypoints cover the image.
    let (cols, rows) = (w.div_ceil(CELL), h.div_ceil(CELL));
    let per_cell = (max / (cols * rows) as usize).max(2) * 2;
    let mut taken = vec![0usize; (cols * rows) as usize];
    let mut chosen = Vec::with_capacity(max.min(strong.len()));
    for (x, y, r) in strong {
        let cell = ((y / CELL) * cols + x / CELL) as usize;
        if taken[cell] < per_cell {
            taken[cell] += 1;
            chosen.push((x, y, r));
            if chosen.len() == max {
                break;
            }
        }
    }
    let integral = Integral::new(grey);
    let patterns = patterns();
    chosen
        .into_iter()
        .map(|(x, y, score)| {
            let angle = orientation(grey, x, y);
            Keypoint {
                x: x as f32,
                y: y as f32,
                angle,
                score,
                descriptor: describe(&integral, patterns, x, y, angle),
            }
        })
        .collect()
}

/// Offsets of the 16 pixels on the Bresenham circle of radius 3.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// FAST-9: pixels with 9 contiguous circle pixels all brighter or all darker than
/// the centre by [`FAST_THRESHOLD`], inside the border, with their score (the sum
/// of the circle's differences beyond the threshold).
fn fast_corners(grey: &GrayImage) -> Vec<(u32, u32, u32)> {
    let (w, h) = grey.dimensions();
    let px = grey.as_raw();
    let stride = w as i32;
    let offsets: Vec<i32> = CIRCLE.iter().map(|(dx, dy)| dy * stride + dx).collect();
    let mut out = Vec::new();
    for y in BORDER..h - BORDER {
        for x in BORDER..w - BORDER {
            let i = (y * w + x) as i32;
            let c = px[i as usize] as i16;
            let hi = c + FAST_THRESHOLD;
            let lo = c - FAST_THRESHOLD;
            let at = |k: usize| px[(i + offsets[k]) as usize] as i16;
            // Quick rejection: of the four compass pixels, 9 contiguous need at
            // least two adjacent ones on the same side.
            let (n, e, s, wv) = (at(0), at(4), at(8), at(12));
            let bright = [n > hi, e > hi, s > hi, wv > hi];
            let dark = [n < lo, e < lo, s < lo, wv < lo];
            let adjacent = |f: [bool; 4]| (0..4).any(|k| f[k] && f[(k + 1) % 4]);
            if !adjacent(bright) && !adjacent(dark) {
                continue;
            }
            let mut run_b = 0;
            let mut run_d = 0;
            let mut found = false;
            for k in 0..25 {
                let v = at(k % 16);
                if v > hi {
                    run_b += 1;
                    run_d = 0;
                } else if v < lo {
                    run_d += 1;
                    run_b = 0;
                } else {
                    run_b = 0;
                    run_d = 0;
                }
                if run_b >= 9 || run_d >= 9 {
                    found = true;
                    break;
                }
            }
            if found {
                let score = (0..16)
                    .map(|k| ((at(k) - c).abs() - FAST_THRESHOLD).max(0) as u32)
                    .sum();
                out.push((x, y, score));
            }
        }
    }
    out
}

/// Harris corner response (k = 0.04) over a 7 × 7 window of Sobel gradients.
fn harris(grey: &GrayImage, x: u32, y: u32) -> f32 {
    let px = |x: i32, y: i32| grey.get_pixel(x as u32, y as u32).0[0] as f32;
    let (mut xx, mut yy, mut xy) = (0f32, 0f32, 0f32);
    for dy in -3..=3 {
        for dx in -3..=3 {
            let (cx, cy) = (x as i32 + dx, y as i32 + dy);
            let gx = (px(cx + 1, cy - 1) + 2.0 * px(cx + 1, cy) + px(cx + 1, cy + 1))
                - (px(cx - 1, cy - 1) + 2.0 * px(cx - 1, cy) + px(cx - 1, cy + 1));
            let gy = (px(cx - 1, cy + 1) + 2.0 * px(cx, cy + 1) + px(cx + 1, cy + 1))
                - (px(cx - 1, cy - 1) + 2.0 * px(cx, cy - 1) + px(cx + 1, cy - 1));
            xx += gx * gx;
            yy += gy * gy;
            xy += gx * gy;
        }
    }
    // Scaled down so that the response stays in a comfortable f32 range.
    let scale = 1.0 / (4.0 * 255.0 * 49.0);
    let (xx, yy, xy) = (xx * scale, yy * scale, xy * scale);
    xx * yy - xy * xy - 0.04 * (xx + yy) * (xx + yy)
}

/// Orientation by the intensity centroid of the disc of radius [`PATCH_RADIUS`].
fn orientation(grey: &GrayImage, x: u32, y: u32) -> f32 {
    let (mut m01, mut m10) = (0f32, 0f32);
    let r = PATCH_RADIUS;
    for dy in -r..=r {
        let span = ((r * r - dy * dy) as f32).sqrt() as i32;
        for dx in -span..=span {
            let v = grey
                .get_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32)
                .0[0] as f32;
            m10 += dx as f32 * v;
            m01 += dy as f32 * v;
        }
    }
    m01.atan2(m10)
}

/// Summed-area table of a grey image, for 5 × 5 box means in constant time.
struct Integral {
    width: usize,
    sums: Vec<u32>,
}

impl Integral {
    fn new(grey: &GrayImage) -> Integral {
        let (w, h) = (grey.width() as usize, grey.height() as usize);
        let mut sums = vec![0u32; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0u32;
            for x in 0..w {
                row += grey.as_raw()[y * w + x] as u32;
                sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
            }
        }
        Integral { width: w + 1, sums }
    }

    /// Sum of the 5 × 5 box centred on (x, y), which lies inside the image.
    #[inline]
    fn box5(&self, x: i32, y: i32) -> u32 {
        let (x0, y0, x1, y1) = (
            (x - 2) as usize,
            (y - 2) as usize,
            (x + 3) as usize,
            (y + 3) as usize,
        );
        let w = self.width;
        self.sums[y1 * w + x1] + self.sums[y0 * w + x0]
            - self.sums[y0 * w + x1]
            - self.sums[y1 * w + x0]
    }
}

/// The 256 test pairs, rotated to each of [`ANGLE_STEPS`] angles.
type Patterns = Vec<[[(i8, i8); 2]; 256]>;

/// The test pattern: 256 pairs of points drawn, from a fixed seed, from an isotropic
/// Gaussian of σ = 31/5 around the keypoint (BRIEF's "G II" sampling), kept within
/// a radius of 13 so that every rotation stays inside the patch.
fn base_pattern() -> [[(f32, f32); 2]; 256] {
    let mut state: u64 = 0x6d61_726b_686f_756e; // "markhoun"
    let mut uniform = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let sigma = 31.0 / 5.0;
    let mut point = move || loop {
        let (u, v) = (uniform(), uniform());
        let radius = (-2.0 * u.ln()).sqrt() * sigma;
        let (dx, dy) = (
            radius * (std::f64::consts::TAU * v).cos(),
            radius * (std::f64::consts::TAU * v).sin(),
        );
        if dx * dx + dy * dy <= 13.0 * 13.0 {
            return (dx as f32, dy as f32);
        }
    };
    let mut pairs = [[(0f32, 0f32); 2]; 256];
    for pair in &mut pairs {
        *pair = [point(), point()];
    }
    pairs
}

fn patterns() -> &'static Patterns {
    static PATTERNS: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        let base = base_pattern();
        (0..ANGLE_STEPS)
            .map(|step| {
                let a = step as f32 * std::f32::consts::TAU / ANGLE_STEPS as f32;
                let (s, c) = a.sin_cos();
                let turn = |(x, y): (f32, f32)| {
                    ((c * x - s * y).round() as i8, (s * x + c * y).round() as i8)
                };
                let mut out = [[(0i8, 0i8); 2]; 256];
                for (o, p) in out.iter_mut().zip(base.iter()) {
                    *o = [turn(p[0]), turn(p[1])];
                }
                out
            })
            .collect()
    })
}

/// The steered BRIEF descriptor of the keypoint at (x, y) with orientation `angle`.
fn describe(integral: &Integral, patterns: &Patterns, x: u32, y: u32, angle: f32) -> Descriptor {
    let turns = angle.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU;
    let step = ((turns * ANGLE_STEPS as f32).round() as usize) % ANGLE_STEPS;
    let mut out = [0u64; 4];
    let (x, y) = (x as i32, y as i32);
    for (bit, [a, b]) in patterns[step].iter().enumerate() {
        let va = integral.box5(x + a.0 as i32, y + a.1 as i32);
        let vb = integral.box5(x + b.0 as i32, y + b.1 as i32);
        if va + TEST_MARGIN < vb {
            out[bit / 64] |= 1 << (bit % 64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of random grey levels: corners everywhere.
    fn blocks(w: u32, h: u32, seed: u32) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let cell = (x / 9).wrapping_mul(7919) ^ (y / 9).wrapping_mul(104_729) ^ seed;
            image::Luma([(cell.wrapping_mul(2_654_435_761) >> 24) as u8])
        })
    }

    #[test]
    fn finds_spread_corners_and_none_on_flat_images() {
        let flat = GrayImage::from_pixel(200, 200, image::Luma([128]));
        assert!(detect(&flat, 500).is_empty());
        let tiny = blocks(30, 30, 1);
        assert!(detect(&tiny, 500).is_empty());
        let kps = detect(&blocks(240, 180, 1), 300);
        assert!(kps.len() > 100 && kps.len() <= 300, "{}", kps.len());
        // Spread over the image: every quarter holds keypoints.
        for (qx, qy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            assert!(kps
                .iter()
                .any(|k| (k.x as u32 / 120, k.y as u32 / 90) == (qx, qy)));
        }
        // Deterministic.
        assert_eq!(kps, detect(&blocks(240, 180, 1), 300));
    }

    #[test]
    fn descriptors_survive_a_turn_and_differ_between_images() {
        let grey = blocks(200, 200, 7);
        let turned = image::imageops::rotate90(&grey);
        let a = detect(&grey, 400);
        let b = detect(&turned, 400);
        // A keypoint at (x, y) is at (h - 1 - y, x) after a quarter turn.
        let mut close = 0;
        let mut compared = 0;
        for k in &a {
            let (tx, ty) = (199.0 - k.y, k.x);
            if let Some(m) = b
                .iter()
                .find(|m| (m.x - tx).abs() < 1.0 && (m.y - ty).abs() < 1.0)
            {
                compared += 1;
                if distance(&k.descriptor, &m.descriptor) <= 64 {
                    close += 1;
                }
            }
        }
        assert!(compared > 50, "{compared}");
        assert!(close * 10 >= compared * 7, "{close} of {compared}");
        // Unrelated images: descriptors about half their bits apart.
        let other = detect(&blocks(200, 200, 99), 400);
        let mean = a
            .iter()
            .zip(&other)
            .map(|(x, y)| distance(&x.descriptor, &y.descriptor) as f64)
            .sum::<f64>()
            / a.len().min(other.len()) as f64;
        assert!(mean > 90.0, "{mean}");
    }
}
