//! What the photo evaluations share: a seeded generator, simple-icons' listing and
//! the real photos their marks are put into.

// Each example reads only some of the listing's fields.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image::{imageops, DynamicImage};

/// splitmix64: small, seeded, the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One entry of simple-icons' `simple-icons.json`.
#[derive(serde::Deserialize)]
pub struct Icon {
    pub title: String,
    pub slug: String,
    pub hex: String,
}

/// The real photos among the PDQ reference images, with their file names.
pub fn photos(data: &Path) -> Vec<(String, DynamicImage)> {
    let root = data.join("pdq-threatexchange/images");
    let mut names: Vec<PathBuf> = [
        "bridge-mods/aaa-orig.jpg",
        "reg-test-input/pen-and-coaster.png",
        "misc-images/c.png",
        "misc-images/wee.jpg",
        "misc-images/small.jpg",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let mut labelme: Vec<PathBuf> = std::fs::read_dir(root.join("reg-test-input/labelme-subset"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    labelme.sort();
    names.extend(labelme);
    names
        .into_iter()
        .filter_map(|p| {
            let img = image::open(&p).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, DynamicImage::ImageRgb8(img.to_rgb8())))
        })
        .collect()
}

/// A listing-sized window of a photo: 60–100 % of one of `photos` a side, flipped
/// half the time, scaled to `side` pixels on its longer side.
pub fn background(photos: &[(String, DynamicImage)], side: u32, rng: &mut Rng) -> DynamicImage {
    let (_, p) = &photos[rng.below(photos.len())];
    let f = rng.range(0.6, 1.0);
    let (w, h) = (
        ((p.width() as f32 * f) as u32).max(8),
        ((p.height() as f32 * f) as u32).max(8),
    );
    let x = rng.below((p.width() - w + 1) as usize) as u32;
    let y = rng.below((p.height() - h + 1) as usize) as u32;
    let mut window = p.crop_imm(x, y, w, h);
    if rng.unit() < 0.5 {
        window = window.fliph();
    }
    let scale = side as f32 / w.max(h) as f32;
    window.resize_exact(
        (w as f32 * scale).round() as u32,
        (h as f32 * scale).round() as u32,
        imageops::FilterType::CatmullRom,
    )
}
