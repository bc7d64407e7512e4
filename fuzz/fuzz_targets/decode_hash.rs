//! Fuzzes the path every listing photo takes: decoding untrusted bytes under limits,
//! then PDQ hashing, then the search for logos and photo parts inside the photo
//! (local features, descriptor index, geometric checks), then the OCR's
//! post-processing (the photo's grey levels read as a text-probability map and cut
//! into line boxes, as the detector's output would be) and, when the OCR models are
//! there (`MARKHOUND_OCR_MODELS`, or `target/ocr-models` from
//! `scripts/fetch-ocr-models.sh`), the whole read of the photo by the models, the
//! lines joined where one continues another included. Any
//! panic, hang or runaway allocation is a bug.
//!
//! Run with `cargo fuzz run decode_hash` from the repository root.

#![no_main]

use std::sync::OnceLock;

use image::DynamicImage;
use libfuzzer_sys::fuzz_target;
use markhound::image::ocr::{boxes_from_map, models_dir, readings, Ocr, OcrConfig};
use markhound::image::{
    decode_bytes, pdq_hash, pdq_hash_dihedral, Limits, LogoIndex, RegionKind, RegionRef,
};

/// The OCR models, loaded once, or `None` without them.
fn ocr() -> Option<&'static Ocr> {
    static OCR: OnceLock<Option<Ocr>> = OnceLock::new();
    OCR.get_or_init(|| Ocr::load(&models_dir(None), OcrConfig::default()).ok())
        .as_ref()
}

/// The bundled Zentrix logo and product photo, indexed once.
fn index() -> &'static LogoIndex {
    static INDEX: OnceLock<LogoIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let load = |bytes: &[u8]| image::load_from_memory(bytes).expect("bundled image");
        let logo: DynamicImage = load(include_bytes!("../../trademarks/images/zentrix-logo.png"));
        let photo = load(include_bytes!("../../trademarks/images/zentrix-product.png"));
        LogoIndex::new(vec![
            (RegionRef { mark: 0, image: 1, kind: RegionKind::Logo }, logo),
            (RegionRef { mark: 0, image: 0, kind: RegionKind::Photo }, photo),
        ])
    })
}

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run quick; the checks are the same at any size.
    let limits = Limits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        max_alloc: 64 << 20,
    };
    if let Ok(image) = decode_bytes(data, &limits) {
        let hash = pdq_hash(&image);
        assert!(hash.quality <= 100);
        let variants = pdq_hash_dihedral(&image);
        assert_eq!(variants[0].quality, hash.quality);
        for hit in index().search(&image) {
            let [x, y, w, h] = hit.bbox;
            assert!(x + w <= image.width() && y + h <= image.height());
        }
        let grey = image.to_luma8();
        let map: Vec<f32> = grey.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect();
        for b in boxes_from_map(&map, grey.width(), grey.height()) {
            assert!(b.half_long >= b.half_short && b.half_short >= 0.0, "{b:?}");
            assert!((0.0..=1.0).contains(&b.score), "{b:?}");
        }
        if let Some(ocr) = ocr() {
            // The lines as read, and each joined to the one continuing it.
            for line in readings(ocr.read(&image).expect("a decoded photo is read")) {
                let [x, y, w, h] = line.bbox;
                assert!(x + w <= image.width() && y + h <= image.height());
            }
        }
    }
});
