//! Removing uniform borders before hashing. Sellers often paste a product photo or
//! logo onto a white or black canvas of another shape; PDQ sees the whole canvas, so
//! the padded copy lands far from the original. Cropping the uniform margins first
//! brings it back. This is a departure from the reference hash, so it is optional.

use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

/// How alike border pixels must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrimOptions {
    /// Largest difference, in any channel, between a border pixel and the border
    /// colour (JPEG noise near the edges of the content needs some room).
    pub tolerance: u8,
    /// Share of the pixels of a border row or column allowed to exceed the
    /// tolerance (specks, compression artefacts).
    pub outliers: f32,
}

impl Default for TrimOptions {
    fn default() -> TrimOptions {
        TrimOptions {
            tolerance: 24,
            outliers: 0.01,
        }
    }
}

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Smallest side left after trimming; below it the image is kept whole (a uniform
/// image has nothing to trim down to).
const MIN_SIDE: u32 = 16;

/// The part of `image` inside its uniform borders, or `None` when there is no
/// border to remove (or removing it would leave almost nothing).
///
/// Each side's border colour is the colour of that side's first corner pixel; a
/// row or column belongs to the border when its pixels are within
/// [`TrimOptions::tolerance`] of it, but for [`TrimOptions::outliers`] of them.
pub fn find_content(image: &DynamicImage, options: &TrimOptions) -> Option<Crop> {
    let (width, height) = image.dimensions();
    if width < MIN_SIDE || height < MIN_SIDE {
        return None;
    }
    let owned;
    let rgb: &RgbImage = match image.as_rgb8() {
        Some(rgb) => rgb,
        None => {
            owned = image.to_rgb8();
            &owned
        }
    };
    let close = |p: &Rgb<u8>, bg: &Rgb<u8>| {
        p.0.iter()
            .zip(bg.0.iter())
            .all(|(a, b)| a.abs_diff(*b) <= options.tolerance)
    };
    let is_border = |pixels: &mut dyn Iterator<Item = &Rgb<u8>>, len: u32, bg: &Rgb<u8>| {
        let allowed = (len as f32 * options.outliers) as u32;
        let mut misses = 0;
        for p in pixels {
            if !close(p, bg) {
                misses += 1;
                if misses > allowed {
                    return false;
                }
            }
        }
        true
    };
    let row = |y: u32, bg: &Rgb<u8>| {
        let mut it = (0..width).map(|x| rgb.get_pixel(x, y));
        is_border(&mut it, width, bg)
    };
    let col = |x: u32, top: u32, bottom: u32, bg: &Rgb<u8>| {
        let mut it = (top..bottom).map(|y| rgb.get_pixel(x, y));
        is_border(&mut it, bottom - top, bg)
    };

    let top_bg = *rgb.get_pixel(0, 0);
    let top = (0..height).find(|&y| !row(y, &top_bg))?;
    let bottom_bg = *rgb.get_pixel(width - 1, height - 1);
    let bottom = (top..height).rev().find(|&y| !row(y, &bottom_bg))? + 1;
    let left_bg = *rgb.get_pixel(0, height - 1);
    let left = (0..width).find(|&x| !col(x, top, bottom, &left_bg))?;
    let right_bg = *rgb.get_pixel(width - 1, 0);
    let right = (left..width)
        .rev()
        .find(|&x| !col(x, top, bottom, &right_bg))?
        + 1;

    let crop = Crop {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    };
    let unchanged = crop.width == width && crop.height == height;
    if unchanged || crop.width < MIN_SIDE || crop.height < MIN_SIDE {
        return None;
    }
    Some(crop)
}

/// `image` without its uniform borders (see [`find_content`]), or `None` when it
/// has none to remove.
pub fn trim_borders(image: &DynamicImage, options: &TrimOptions) -> Option<DynamicImage> {
    find_content(image, options).map(|c| image.crop_imm(c.x, c.y, c.width, c.height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pdq_hash;

    fn picture(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let (x, y) = (x as f32, y as f32);
            let v = 128.0 + 60.0 * (x / 17.0).sin() + 50.0 * (y / 23.0 + x / 40.0).cos();
            let w = 128.0 + 100.0 * ((x * x + 2.0 * y * y).sqrt() / 30.0).sin();
            Rgb([v as u8, w as u8, (v / 2.0 + w / 2.0) as u8])
        })
    }

    /// `inner` pasted at (`x`, `y`) on a `width` × `height` canvas of `colour`.
    fn padded(inner: &RgbImage, width: u32, height: u32, x: u32, y: u32, colour: u8) -> RgbImage {
        let mut canvas = RgbImage::from_pixel(width, height, Rgb([colour; 3]));
        image::imageops::replace(&mut canvas, inner, i64::from(x), i64::from(y));
        canvas
    }

    #[test]
    fn finds_the_pasted_picture() {
        let inner = picture(200, 120);
        let canvas = padded(&inner, 300, 300, 40, 100, 255);
        let crop = find_content(&DynamicImage::ImageRgb8(canvas), &TrimOptions::default());
        assert_eq!(
            crop,
            Some(Crop {
                x: 40,
                y: 100,
                width: 200,
                height: 120
            })
        );
    }

    #[test]
    fn padding_no_longer_moves_the_hash() {
        let inner = DynamicImage::ImageRgb8(picture(240, 160));
        let canvas = padded(inner.as_rgb8().unwrap(), 400, 400, 80, 120, 0);
        let canvas = DynamicImage::ImageRgb8(canvas);
        let original = pdq_hash(&inner).hash;
        let untrimmed = pdq_hash(&canvas).hash.hamming(&original);
        assert!(
            untrimmed > 60,
            "padding should move the hash, moved {untrimmed}"
        );
        let trimmed = trim_borders(&canvas, &TrimOptions::default()).unwrap();
        assert_eq!(pdq_hash(&trimmed).hash, original);
    }

    #[test]
    fn jpeg_noise_at_the_border_is_tolerated() {
        let canvas = padded(&picture(240, 160), 400, 300, 80, 60, 255);
        let mut jpeg = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(canvas)
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .unwrap();
        let canvas = image::load_from_memory(jpeg.get_ref()).unwrap();
        let crop = find_content(&canvas, &TrimOptions::default()).unwrap();
        let near = |got: u32, want: u32| got.abs_diff(want) <= 2;
        assert!(near(crop.x, 80) && near(crop.y, 60), "{crop:?}");
        assert!(near(crop.width, 240) && near(crop.height, 160), "{crop:?}");
    }

    #[test]
    fn images_without_borders_are_left_alone() {
        let img = DynamicImage::ImageRgb8(picture(100, 80));
        assert_eq!(find_content(&img, &TrimOptions::default()), None);
        let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 80, Rgb([255; 3])));
        assert_eq!(find_content(&flat, &TrimOptions::default()), None);
        let tiny = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, Rgb([255; 3])));
        assert_eq!(find_content(&tiny, &TrimOptions::default()), None);
    }
}
