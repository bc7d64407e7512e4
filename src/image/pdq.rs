//! PDQ, Meta's perceptual image hash, computed bit for bit as the reference
//! implementation (facebook/ThreatExchange, `pdq/cpp`) does, so that our hashes can
//! be compared with hashes shared by other platforms and hash-sharing programs.
//!
//! The steps, each in the reference's own float arithmetic: RGB to luma, a two-pass
//! Jarosz tent filter (box filters along rows then columns, twice) with windows of
//! about 1/128 of the image side, decimation to 64 × 64 at the centres of the
//! cells, a DCT keeping coefficients 1..=16 in each direction, and one bit per
//! coefficient: set when it is above the median. The quality score counts strong
//! gradients of the 64 × 64 image.
//!
//! Images of any size are hashed at full resolution. The reference command-line
//! tool first squashes images larger than 512 pixels to 512 × 512, but the hashes
//! published with the reference (and those of the other implementations) are the
//! full-resolution ones, and squashing moves them by up to 14 bits (EVALUATION.md).
//!
//! Written by hand because no maintained crate reproduces the reference bit for bit
//! on top of the `image` crate; the hasher keeps its buffers between images.

use std::cell::RefCell;
use std::sync::LazyLock;

use image::DynamicImage;

use super::Hash256;

/// A PDQ hash and its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PdqHash {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// Quality 0..=100: how much structure the image has. The reference advises
    /// ignoring hashes of quality below 50 (flat or nearly blank images).
    pub quality: u8,
}

/// The eight rotations and mirror images of a picture, in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dihedral {
    /// The image as it is.
    Original,
    /// Rotated 90° (counter-clockwise, as the reference names it).
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 270°.
    Rotate270,
    /// Mirrored top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Mirrored about the main diagonal (transposed).
    FlipPlus1,
    /// Mirrored about the other diagonal.
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the order of [`pdq_hash_dihedral`]'s result.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The reference's short name (`orig`, `rot90`, ..., `flipp`, `flipm`).
    pub fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rotate90 => "rot90",
            Dihedral::Rotate180 => "rot180",
            Dihedral::Rotate270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipp",
            Dihedral::FlipMinus1 => "flipm",
        }
    }

    /// The variant named `name` (as [`Dihedral::name`] gives it).
    pub fn from_name(name: &str) -> Option<Dihedral> {
        Dihedral::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The picture turned this way, pixel by pixel (rather than from the DCT as
    /// [`pdq_hash_dihedral`] does: the two differ slightly, most on small images,
    /// because PDQ's filter and sampling grid are not exactly symmetric).
    pub fn apply(self, image: &DynamicImage) -> DynamicImage {
        match self {
            Dihedral::Original => image.clone(),
            Dihedral::Rotate90 => image.rotate270(),
            Dihedral::Rotate180 => image.rotate180(),
            Dihedral::Rotate270 => image.rotate90(),
            Dihedral::FlipX => image.flipv(),
            Dihedral::FlipY => image.fliph(),
            Dihedral::FlipPlus1 => image.rotate90().fliph(),
            Dihedral::FlipMinus1 => image.rotate90().flipv(),
        }
    }
}

/// Images with a side shorter than this get the zero hash and quality 0, as in the
/// reference.
pub const MIN_HASHABLE_DIM: usize = 5;

const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

type Block64 = [[f32; 64]; 64];
type Block16 = [[f32; 16]; 16];

/// Computes PDQ hashes, keeping its working buffers from one image to the next.
/// One per thread; [`pdq_hash`] and [`pdq_hash_dihedral`] keep one per thread for
/// you.
#[derive(Debug, Default)]
pub struct PdqHasher {
    /// The filter's passes write here and in `buf2` in turn; the last one here.
    buf1: Vec<f32>,
    /// See `buf1`.
    buf2: Vec<f32>,
    /// Running sums of the column filter, one per column.
    sums: Vec<f32>,
    /// Luma of the few rows being filtered.
    rows: Vec<f32>,
}

/// Buffers above this many floats are released after use, so that one huge image
/// does not pin its memory for the rest of the run.
const KEEP_FLOATS: usize = 8 << 20;

impl PdqHasher {
    /// A hasher with empty buffers.
    pub fn new() -> PdqHasher {
        PdqHasher::default()
    }

    /// The PDQ hash of an image.
    pub fn hash(&mut self, image: &DynamicImage) -> PdqHash {
        match self.dct(image, Mode::Single) {
            None => PdqHash {
                hash: Hash256::ZERO,
                quality: 0,
            },
            Some((dct, quality)) => PdqHash {
                hash: bits(&dct),
                quality,
            },
        }
    }

    /// The PDQ hashes of the image's eight rotations and mirror images (order of
    /// [`Dihedral::ALL`]), from one pass over the pixels: the reference derives them
    /// from the DCT by transposing and flipping signs, and so do we.
    ///
    /// The first hash equals [`PdqHasher::hash`] except for images of exactly
    /// 64 × 64 pixels, which the reference's single-hash path does not filter and
    /// its dihedral path does; both behaviours are kept.
    pub fn hash_dihedral(&mut self, image: &DynamicImage) -> [PdqHash; 8] {
        let Some((dct, quality)) = self.dct(image, Mode::Dihedral) else {
            return [PdqHash {
                hash: Hash256::ZERO,
                quality: 0,
            }; 8];
        };
        Dihedral::ALL.map(|d| PdqHash {
            hash: bits(&transform(&dct, d)),
            quality,
        })
    }

    /// The 16 × 16 DCT and the quality, or `None` for an image too small to hash.
    fn dct(&mut self, image: &DynamicImage, mode: Mode) -> Option<(Block16, u8)> {
        let cols = image.width() as usize;
        let rows = image.height() as usize;
        if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM {
            return None;
        }
        let n = rows * cols;
        let source = LumaSource::new(image);
        let mut block = Box::new([[0f32; 64]; 64]);
        if mode == Mode::Single && rows == 64 && cols == 64 {
            // The reference skips the filter for input already at 64 × 64 (only in
            // its single-hash path).
            for (i, row) in block.iter_mut().enumerate() {
                source.fill(i, row);
            }
        } else {
            self.buf1.resize(n, 0.0);
            self.buf2.resize(n, 0.0);
            self.rows.resize(ROWS_AT_ONCE * cols, 0.0);
            let window_along_rows = jarosz_window(cols, 64);
            let window_along_cols = jarosz_window(rows, 64);
            // First pass: luma a few rows at a time, straight into the row filter,
            // so that the full-size luma image is never stored.
            for (i, out) in self.buf2.chunks_mut(ROWS_AT_ONCE * cols).enumerate() {
                let luma = &mut self.rows[..out.len()];
                source.fill(i * ROWS_AT_ONCE, luma);
                box_along_rows(luma, out, cols, window_along_rows);
            }
            box_along_cols(
                &self.buf2,
                &mut self.buf1,
                &mut self.sums,
                cols,
                window_along_cols,
            );
            for _ in 1..JAROSZ_PASSES {
                box_along_rows(&self.buf1, &mut self.buf2, cols, window_along_rows);
                box_along_cols(
                    &self.buf2,
                    &mut self.buf1,
                    &mut self.sums,
                    cols,
                    window_along_cols,
                );
            }
            decimate(&self.buf1, rows, cols, &mut block);
        }
        if n > KEEP_FLOATS {
            self.buf1 = Vec::new();
            self.buf2 = Vec::new();
        }
        let quality = quality(&block);
        Some((dct64_to_16(&block), quality))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Dihedral,
}

thread_local! {
    static HASHER: RefCell<PdqHasher> = RefCell::new(PdqHasher::new());
}

/// The PDQ hash of an image (using this thread's [`PdqHasher`]).
pub fn pdq_hash(image: &DynamicImage) -> PdqHash {
    HASHER.with(|h| h.borrow_mut().hash(image))
}

/// The PDQ hashes of the image's eight rotations and mirror images, in the order of
/// [`Dihedral::ALL`] (using this thread's [`PdqHasher`]).
pub fn pdq_hash_dihedral(image: &DynamicImage) -> [PdqHash; 8] {
    HASHER.with(|h| h.borrow_mut().hash_dihedral(image))
}

/// The luma contribution of each 8-bit value of each channel: `coefficient × value`,
/// the same single-precision products the reference computes pixel by pixel.
static LUMA_TABLES: LazyLock<[[f32; 256]; 3]> = LazyLock::new(|| {
    let mut t = [[0f32; 256]; 3];
    for v in 0..=255u8 {
        t[0][usize::from(v)] = LUMA_R * f32::from(v);
        t[1][usize::from(v)] = LUMA_G * f32::from(v);
        t[2][usize::from(v)] = LUMA_B * f32::from(v);
    }
    t
});

/// 8-bit pixels to take luma from. Alpha is ignored, as the reference ignores it;
/// images other than 8-bit are first converted to 8-bit RGB.
struct LumaSource<'a> {
    bytes: std::borrow::Cow<'a, [u8]>,
    /// Bytes per pixel: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    channels: usize,
    cols: usize,
}

impl<'a> LumaSource<'a> {
    fn new(image: &'a DynamicImage) -> LumaSource<'a> {
        let cols = image.width() as usize;
        let (bytes, channels) = match image {
            DynamicImage::ImageRgb8(img) => (img.as_raw().into(), 3),
            DynamicImage::ImageRgba8(img) => (img.as_raw().into(), 4),
            DynamicImage::ImageLuma8(img) => (img.as_raw().into(), 1),
            DynamicImage::ImageLumaA8(img) => (img.as_raw().into(), 2),
            other => (other.to_rgb8().into_raw().into(), 3),
        };
        LumaSource {
            bytes,
            channels,
            cols,
        }
    }

    /// Fills `out` with the luma of the rows starting at `first_row`
    /// (`out.len() / cols` of them), as `R·0.299 + G·0.587 + B·0.114` in single
    /// precision; a grey value counts as equal R, G and B.
    fn fill(&self, first_row: usize, out: &mut [f32]) {
        let [tr, tg, tb] = &*LUMA_TABLES;
        let start = first_row * self.cols * self.channels;
        let px = &self.bytes[start..start + out.len() * self.channels];
        let luma =
            |r: u8, g: u8, b: u8| tr[usize::from(r)] + tg[usize::from(g)] + tb[usize::from(b)];
        match self.channels {
            3 => out
                .iter_mut()
                .zip(px.chunks_exact(3))
                .for_each(|(o, p)| *o = luma(p[0], p[1], p[2])),
            4 => out
                .iter_mut()
                .zip(px.chunks_exact(4))
                .for_each(|(o, p)| *o = luma(p[0], p[1], p[2])),
            c => out
                .iter_mut()
                .zip(px.chunks_exact(c))
                .for_each(|(o, p)| *o = luma(p[0], p[0], p[0])),
        }
    }
}

const JAROSZ_PASSES: usize = 2;

/// The box-filter window for shrinking `old` to `new`: half of `old / new`, rounded
/// up, since the two passes together span a full output cell.
fn jarosz_window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

/// The phase lengths of the reference's one-dimensional box filter over `len`
/// values with window `window`: accumulate, grow, slide, shrink.
#[derive(Debug, Clone, Copy)]
struct BoxPhases {
    accumulate: usize,
    grow: usize,
    slide: usize,
    shrink: usize,
}

impl BoxPhases {
    fn new(len: usize, window: usize) -> BoxPhases {
        let half = (window + 2) / 2;
        BoxPhases {
            accumulate: half - 1,
            grow: window - half + 1,
            slide: len.saturating_sub(window),
            shrink: half - 1,
        }
    }
}

/// Rows filtered side by side by [`box_along_rows`].
const ROWS_AT_ONCE: usize = 8;

/// The reference's running-mean box filter along each row (`cols` values per row).
/// Each row's running sum is a chain of dependent additions, so rows are filtered
/// [`ROWS_AT_ONCE`] at a time to keep the processor busy; every row still sees
/// exactly the reference's operations in the reference's order.
fn box_along_rows(input: &[f32], output: &mut [f32], cols: usize, window: usize) {
    let phases = BoxPhases::new(cols, window);
    let mut in_blocks = input.chunks_exact(cols * ROWS_AT_ONCE);
    let mut out_blocks = output.chunks_exact_mut(cols * ROWS_AT_ONCE);
    for (inp, out) in (&mut in_blocks).zip(&mut out_blocks) {
        box_rows_block::<ROWS_AT_ONCE>(inp, out, cols, phases);
    }
    let rest_in = in_blocks.remainder().chunks_exact(cols);
    let rest_out = out_blocks.into_remainder().chunks_exact_mut(cols);
    for (inp, out) in rest_in.zip(rest_out) {
        box_rows_block::<1>(inp, out, cols, phases);
    }
}

/// Filters the `N` rows of `inp` (each `cols` long) into `out`.
#[inline(always)]
fn box_rows_block<const N: usize>(inp: &[f32], out: &mut [f32], cols: usize, p: BoxPhases) {
    let mut in_rows = inp.chunks_exact(cols);
    let src: [&[f32]; N] = std::array::from_fn(|_| in_rows.next().unwrap_or_default());
    let mut out_rows = out.chunks_exact_mut(cols);
    let dst: [&mut [f32]; N] = std::array::from_fn(|_| out_rows.next().unwrap_or_default());
    let mut sum = [0f32; N];
    let mut count = 0usize;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    for _ in 0..p.accumulate {
        for r in 0..N {
            sum[r] += src[r][ri];
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p.grow {
        count += 1;
        let div = count as f32;
        for r in 0..N {
            sum[r] += src[r][ri];
            dst[r][oi] = sum[r] / div;
        }
        ri += 1;
        oi += 1;
    }
    let div = count as f32;
    for _ in 0..p.slide {
        for r in 0..N {
            sum[r] += src[r][ri];
            sum[r] -= src[r][li];
            dst[r][oi] = sum[r] / div;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        let div = count as f32;
        for r in 0..N {
            sum[r] -= src[r][li];
            dst[r][oi] = sum[r] / div;
        }
        li += 1;
        oi += 1;
    }
}

/// The same filter along each column. It runs all columns side by side, one row at
/// a time, so that memory is read in order; each column sees exactly the additions
/// and divisions of the reference, in the same order.
fn box_along_cols(
    input: &[f32],
    output: &mut [f32],
    sums: &mut Vec<f32>,
    cols: usize,
    window: usize,
) {
    let rows = input.len() / cols;
    let phases = BoxPhases::new(rows, window);
    sums.clear();
    sums.resize(cols, 0.0);
    let row = |i: usize| &input[i * cols..(i + 1) * cols];
    let mut count = 0usize;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    for _ in 0..phases.accumulate {
        for (s, &v) in sums.iter_mut().zip(row(ri)) {
            *s += v;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..phases.grow {
        count += 1;
        let div = count as f32;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((s, &v), o) in sums.iter_mut().zip(row(ri)).zip(out) {
            *s += v;
            *o = *s / div;
        }
        ri += 1;
        oi += 1;
    }
    let div = count as f32;
    for _ in 0..phases.slide {
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for (((s, &add), &sub), o) in sums.iter_mut().zip(row(ri)).zip(row(li)).zip(out) {
            *s += add;
            *s -= sub;
            *o = *s / div;
        }
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phases.shrink {
        count -= 1;
        let div = count as f32;
        let out = &mut output[oi * cols..(oi + 1) * cols];
        for ((s, &v), o) in sums.iter_mut().zip(row(li)).zip(out) {
            *s -= v;
            *o = *s / div;
        }
        li += 1;
        oi += 1;
    }
}

/// Samples the filtered image at the centres of a 64 × 64 grid.
fn decimate(input: &[f32], rows: usize, cols: usize, out: &mut Block64) {
    for (outi, out_row) in out.iter_mut().enumerate() {
        let ini = ((outi as f64 + 0.5) * rows as f64 / 64.0) as usize;
        for (outj, o) in out_row.iter_mut().enumerate() {
            let inj = ((outj as f64 + 0.5) * cols as f64 / 64.0) as usize;
            *o = input[ini * cols + inj];
        }
    }
}

/// The reference's quality heuristic: the sum of quantised vertical and horizontal
/// gradients of the 64 × 64 image, scaled to 0..=100.
fn quality(block: &Block64) -> u8 {
    let mut gradient_sum: i32 = 0;
    let step = |u: f32, v: f32| {
        // Truncation toward zero, as the reference's float-to-int conversion does.
        let d = ((u - v) * 100.0 / 255.0) as i32;
        d.abs()
    };
    for (upper, lower) in block.iter().zip(block.iter().skip(1)) {
        for (&u, &v) in upper.iter().zip(lower.iter()) {
            gradient_sum += step(u, v);
        }
    }
    for row in block.iter() {
        for j in 0..63 {
            gradient_sum += step(row[j], row[j + 1]);
        }
    }
    // At most 100, so the conversion cannot truncate.
    (gradient_sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II basis, scaled by sqrt(2/64), computed in the
/// reference's mix of single and double precision.
static DCT_MATRIX: LazyLock<Box<[[f32; 64]; 16]>> = LazyLock::new(|| {
    let scale = (2.0f64 / 64.0).sqrt() as f32;
    let mut m = Box::new([[0f32; 64]; 16]);
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let angle = std::f64::consts::PI / 2.0 / 64.0 * (i + 1) as f64 * (2 * j + 1) as f64;
            *v = (f64::from(scale) * angle.cos()) as f32;
        }
    }
    m
});

/// `D · A · Dᵀ`: the 16 × 16 low-frequency DCT coefficients (without the DC term),
/// summed in the reference's order.
fn dct64_to_16(a: &Block64) -> Block16 {
    let d = &**DCT_MATRIX;
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d.iter()) {
        for (j, t_ij) in t_row.iter_mut().enumerate() {
            let mut sum = 0f32;
            for (k, &dk) in d_row.iter().enumerate() {
                sum += dk * a[k][j];
            }
            *t_ij = sum;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(t.iter()) {
        for (b_ij, d_row) in b_row.iter_mut().zip(d.iter()) {
            let mut sum = 0f32;
            for (&tk, &dk) in t_row.iter().zip(d_row.iter()) {
                sum += tk * dk;
            }
            *b_ij = sum;
        }
    }
    b
}

/// The DCT of a rotated or mirrored image, obtained from the original's by
/// transposing and negating coefficients (odd frequencies change sign under a flip).
fn transform(a: &Block16, d: Dihedral) -> Block16 {
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = a[i][j];
            let (odd_i, odd_j) = (i & 1 == 1, j & 1 == 1);
            match d {
                Dihedral::Original => b[i][j] = v,
                Dihedral::Rotate90 => b[j][i] = if odd_j { v } else { -v },
                Dihedral::Rotate180 => b[i][j] = if odd_i != odd_j { -v } else { v },
                Dihedral::Rotate270 => b[j][i] = if odd_i { v } else { -v },
                Dihedral::FlipX => b[i][j] = if odd_i { v } else { -v },
                Dihedral::FlipY => b[i][j] = if odd_j { v } else { -v },
                Dihedral::FlipPlus1 => b[j][i] = v,
                Dihedral::FlipMinus1 => b[j][i] = if odd_i != odd_j { -v } else { v },
            }
        }
    }
    b
}

/// One bit per coefficient: set when it is above the median. The median is the
/// 128th smallest of the 256 values, the value the reference's Torben selection
/// returns.
fn bits(dct: &Block16) -> Hash256 {
    let mut sorted: [f32; 256] = [0.0; 256];
    for (dst, src) in sorted.chunks_exact_mut(16).zip(dct.iter()) {
        dst.copy_from_slice(src);
    }
    let (_, &mut median, _) = sorted.select_nth_unstable_by(127, f32::total_cmp);
    let mut hash = Hash256::ZERO;
    for (i, row) in dct.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                hash.set_bit(i * 16 + j);
            }
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            let v = ((x * 7 + y * 13) ^ (x * y)) as u8;
            Rgb([v, v.wrapping_mul(3), 255 - v])
        }))
    }

    #[test]
    fn tiny_images_hash_to_zero_with_quality_zero() {
        let h = pdq_hash(&gradient(4, 100));
        assert_eq!(h.hash, Hash256::ZERO);
        assert_eq!(h.quality, 0);
        for d in pdq_hash_dihedral(&gradient(100, 3)) {
            assert_eq!((d.hash, d.quality), (Hash256::ZERO, 0));
        }
    }

    #[test]
    fn flat_images_have_quality_zero() {
        let flat = DynamicImage::ImageLuma8(GrayImage::from_pixel(200, 100, Luma([128])));
        assert_eq!(pdq_hash(&flat).quality, 0);
    }

    #[test]
    fn detailed_images_have_half_the_bits_set() {
        let h = pdq_hash(&gradient(300, 200));
        assert_eq!(h.hash.count_ones(), 128);
        assert!(h.quality > 50, "quality {}", h.quality);
    }

    /// A smooth, asymmetric picture: stable under resampling, unlike `gradient`.
    fn smooth(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            let (x, y) = (x as f32, y as f32);
            let v = 128.0 + 60.0 * (x / 17.0).sin() + 50.0 * (y / 23.0 + x / 40.0).cos();
            let w = 128.0 + 100.0 * ((x * x + 2.0 * y * y).sqrt() / 30.0).sin();
            Rgb([v as u8, w as u8, (v / 2.0 + w / 2.0) as u8])
        }))
    }

    #[test]
    fn dihedral_matches_hashing_the_transformed_image() {
        let img = smooth(240, 160);
        let all = pdq_hash_dihedral(&img);
        assert_eq!(all[0], pdq_hash(&img));
        // Transforming the pixels and hashing again lands close to the derived
        // hash (the filter windows are not exactly symmetric, so not always equal).
        let transformed = [
            img.rotate90(),
            img.rotate180(),
            img.rotate270(),
            img.flipv(),
            img.fliph(),
        ];
        let names = [
            Dihedral::Rotate270,
            Dihedral::Rotate180,
            Dihedral::Rotate90,
            Dihedral::FlipX,
            Dihedral::FlipY,
        ];
        for (t, d) in transformed.iter().zip(names) {
            let idx = Dihedral::ALL.iter().position(|&x| x == d).unwrap();
            let dist = pdq_hash(t).hash.hamming(&all[idx].hash);
            assert!(dist <= 16, "{}: distance {dist}", d.name());
        }
    }

    #[test]
    fn rotating_twice_is_rotating_by_180() {
        let img = gradient(200, 200);
        let dct = PdqHasher::new().dct(&img, Mode::Dihedral).unwrap().0;
        let twice = transform(&transform(&dct, Dihedral::Rotate90), Dihedral::Rotate90);
        assert_eq!(twice, transform(&dct, Dihedral::Rotate180));
        let back = transform(&transform(&dct, Dihedral::FlipPlus1), Dihedral::FlipPlus1);
        assert_eq!(back, dct);
    }

    /// The reference's one-dimensional box filter, transcribed statement by
    /// statement, to check the faster arrangements against.
    fn box1d_reference(input: &[f32], stride: usize, len: usize, window: usize) -> Vec<f32> {
        let half = (window + 2) / 2;
        let mut out = vec![0f32; len];
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0f32;
        let mut count = 0;
        for _ in 0..half - 1 {
            sum += input[ri * stride];
            count += 1;
            ri += 1;
        }
        for _ in 0..window - half + 1 {
            sum += input[ri * stride];
            count += 1;
            out[oi] = sum / count as f32;
            ri += 1;
            oi += 1;
        }
        for _ in 0..len - window {
            sum += input[ri * stride];
            sum -= input[li * stride];
            out[oi] = sum / count as f32;
            li += 1;
            ri += 1;
            oi += 1;
        }
        for _ in 0..half - 1 {
            sum -= input[li * stride];
            count -= 1;
            out[oi] = sum / count as f32;
            li += 1;
            oi += 1;
        }
        out
    }

    #[test]
    fn box_filter_matches_a_direct_mean() {
        // Window 3 over 10 values: each output is the mean of its neighbours within
        // one step (fewer at the ends).
        let input: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let mut out = vec![0.0; 10];
        box_along_rows(&input, &mut out, 10, 3);
        assert_eq!(out[0], 0.5);
        assert_eq!(out[5], 5.0);
        assert_eq!(out[9], 8.5);
        assert_eq!(out, box1d_reference(&input, 1, 10, 3));
    }

    proptest::proptest! {
        #[test]
        fn filters_are_bit_identical_to_the_reference(
            rows in 5usize..40,
            cols in 5usize..40,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut state = seed | 1;
            let input: Vec<f32> = (0..rows * cols)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 25_500) as f32 / 100.0
                })
                .collect();
            let (wr, wc) = (cols.div_ceil(5), rows.div_ceil(5));
            let mut by_rows = vec![0f32; rows * cols];
            box_along_rows(&input, &mut by_rows, cols, wr);
            for r in 0..rows {
                let want = box1d_reference(&input[r * cols..], 1, cols, wr);
                proptest::prop_assert_eq!(&by_rows[r * cols..(r + 1) * cols], &want[..]);
            }
            let mut by_cols = vec![0f32; rows * cols];
            let mut sums = Vec::new();
            box_along_cols(&input, &mut by_cols, &mut sums, cols, wc);
            for c in 0..cols {
                let want = box1d_reference(&input[c..], cols, rows, wc);
                let got: Vec<f32> = (0..rows).map(|r| by_cols[r * cols + c]).collect();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn window_sizes_follow_the_reference() {
        assert_eq!(jarosz_window(1024, 64), 8);
        assert_eq!(jarosz_window(1600, 64), 13);
        assert_eq!(jarosz_window(34, 64), 1);
    }

    #[test]
    fn median_is_the_lower_middle_value() {
        let mut dct = [[0f32; 16]; 16];
        for (k, v) in dct.iter_mut().flatten().enumerate() {
            *v = k as f32;
        }
        let h = bits(&dct);
        assert_eq!(h.count_ones(), 128);
        assert!(!h.bit(127) && h.bit(128));
    }

    #[test]
    fn hasher_reuses_buffers_across_sizes() {
        let mut hasher = PdqHasher::new();
        let big = hasher.hash(&gradient(300, 200));
        let small = hasher.hash(&gradient(50, 40));
        assert_eq!(hasher.hash(&gradient(300, 200)), big);
        assert_eq!(PdqHasher::new().hash(&gradient(50, 40)), small);
    }
}
