//! Reference images named by an import file: resolved relative to that file, decoded
//! under the image module's limits, fingerprinted with SHA-256 so a later change of
//! the file on disk is noticed, and hashed with PDQ (whole, centre crops, without
//! borders) so that listing photos can be matched against them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::model::{ImageRef, ImageVariant};
use crate::image::{decode_bytes, read_file, reference_hashes, Limits, Variant, MIN_QUALITY};

/// What reading one image file gave.
#[derive(Debug, Clone)]
struct Resolved {
    path: String,
    sha256: String,
    pdq: crate::image::PdqHash,
    variants: Vec<ImageVariant>,
}

/// Resolves and hashes images, reading each distinct file once per import file.
#[derive(Debug)]
pub struct ImageResolver {
    /// `None`: image files are refused (marks sent to the service).
    base: Option<PathBuf>,
    limits: Limits,
    seen: HashMap<PathBuf, Result<Resolved, String>>,
}

impl ImageResolver {
    /// Resolves paths relative to `base`, the folder of the import file.
    pub fn new(base: &Path) -> ImageResolver {
        ImageResolver {
            base: Some(base.to_owned()),
            limits: Limits::DEFAULT,
            seen: HashMap::new(),
        }
    }

    /// Refuses every image path: for marks sent over the network, which must not
    /// make the service read files of its own machine.
    pub fn refusing() -> ImageResolver {
        ImageResolver {
            base: None,
            limits: Limits::DEFAULT,
            seen: HashMap::new(),
        }
    }

    /// Reads and hashes the files at `paths` (relative to the base) in parallel, so
    /// that [`ImageResolver::resolve`] finds them done: decoding and hashing a large
    /// reference photo takes a good part of a second.
    pub fn prefetch<'p>(&mut self, paths: impl IntoIterator<Item = &'p str>) {
        let Some(base) = self.base.clone() else {
            return;
        };
        let mut todo: Vec<PathBuf> = paths
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| base.join(p))
            .filter(|p| !self.seen.contains_key(p))
            .collect();
        todo.sort();
        todo.dedup();
        let limits = self.limits;
        let done: Vec<(PathBuf, Result<Resolved, String>)> = todo
            .into_par_iter()
            .map(|path| {
                let result = read_and_hash(&path, &limits);
                (path, result)
            })
            .collect();
        self.seen.extend(done);
    }

    /// Replaces `image.path` by the canonical absolute path and fills in its SHA-256
    /// and PDQ hashes; when the record already gave a SHA-256, it must match the
    /// file. Hashes given by the record are replaced by those of the file.
    pub fn resolve(&mut self, image: &mut ImageRef) -> Result<(), String> {
        let Some(base) = &self.base else {
            return Err("marks sent to the service cannot name image files \
                        (`markhound registry import` reads them)"
                .into());
        };
        let joined = base.join(image.path.trim());
        let limits = self.limits;
        let resolved = self
            .seen
            .entry(joined)
            .or_insert_with_key(|joined| read_and_hash(joined, &limits))
            .clone()?;
        if let Some(expected) = &image.sha256 {
            if !expected.eq_ignore_ascii_case(&resolved.sha256) {
                return Err(format!(
                    "{} has SHA-256 {}, not the {expected} the record gives \
                     (the file changed since it was exported)",
                    resolved.path, resolved.sha256
                ));
            }
        }
        image.path = resolved.path;
        image.sha256 = Some(resolved.sha256);
        image.pdq = Some(resolved.pdq.hash);
        image.quality = Some(resolved.pdq.quality);
        image.variants = resolved.variants;
        Ok(())
    }
}

/// Reads, decodes and hashes the file at `path`.
fn read_and_hash(path: &Path, limits: &Limits) -> Result<Resolved, String> {
    let shown = path.display();
    let canonical = path
        .canonicalize()
        .map_err(|err| format!("cannot open {shown}: {err}"))?;
    // Bounded by the image limits, regular files only (never `/dev/zero` or a FIFO).
    let bytes = read_file(&canonical, limits).map_err(|err| crate::error_chain(&err))?;
    if image::guess_format(&bytes).is_err() {
        return Err(format!("{shown} is not an image in a known format"));
    }
    let decoded = decode_bytes(&bytes, limits)
        .map_err(|err| format!("{shown}: {}", crate::error_chain(&err)))?;
    let mut hashes = reference_hashes(&decoded).into_iter();
    let whole = hashes
        .next()
        .expect("reference_hashes starts with the whole image")
        .pdq;
    if whole.quality < MIN_QUALITY {
        tracing::warn!(
            "reference image {shown} has PDQ quality {} (under {MIN_QUALITY}): too plain \
             to be matched against listing photos",
            whole.quality
        );
    }
    let variants = hashes
        .map(|h| {
            debug_assert_ne!(h.variant, Variant::Full);
            ImageVariant {
                variant: h.variant,
                pdq: h.pdq.hash,
                quality: h.pdq.quality,
            }
        })
        .collect();
    let canonical = canonical
        .into_os_string()
        .into_string()
        .map_err(|_| format!("the path {shown} is not valid UTF-8"))?;
    Ok(Resolved {
        path: canonical,
        sha256: hex::encode(Sha256::digest(&bytes)),
        pdq: whole,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

    /// The smallest valid PNG header is enough for format detection, not decoding.
    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn picture() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(120, 90, |x, y| {
            let v = 128.0 + 60.0 * (x as f32 / 7.0).sin() + 50.0 * (y as f32 / 11.0).cos();
            Rgb([v as u8, (x * 2) as u8, (y * 2) as u8])
        }))
    }

    #[test]
    fn resolves_relative_paths_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        let bytes = png(&picture());
        std::fs::write(dir.path().join("img/a.png"), &bytes).unwrap();
        let mut resolver = ImageResolver::new(dir.path());
        let mut image = ImageRef {
            path: "img/a.png".into(),
            ..ImageRef::default()
        };
        resolver.resolve(&mut image).unwrap();
        assert!(Path::new(&image.path).is_absolute());
        assert!(image.path.ends_with("a.png"));
        let expected = hex::encode(Sha256::digest(&bytes));
        assert_eq!(image.sha256.as_deref(), Some(expected.as_str()));
        let whole = crate::image::pdq_hash(&picture());
        assert_eq!(image.pdq, Some(whole.hash));
        assert_eq!(image.quality, Some(whole.quality));
        let variants: Vec<String> = image
            .variants
            .iter()
            .map(|v| v.variant.to_string())
            .collect();
        assert_eq!(
            variants[..12],
            [
                "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm", "crop90",
                "crop80", "crop70", "top", "bottom"
            ]
        );
        let all = crate::image::reference_hashes(&picture());
        assert_eq!(variants.len(), all.len() - 1);
        assert_eq!(image.hashes().len(), all.len());

        // Prefetched files resolve the same.
        let mut prefetched = ImageResolver::new(dir.path());
        prefetched.prefetch(["img/a.png", " img/a.png ", ""]);
        assert_eq!(prefetched.seen.len(), 1);
        let mut other = ImageRef {
            path: "img/a.png".into(),
            ..ImageRef::default()
        };
        prefetched.resolve(&mut other).unwrap();
        assert_eq!(other, image);

        // The resolved form resolves to itself, so exports re-import unchanged.
        let again = image.clone();
        resolver.resolve(&mut image).unwrap();
        assert_eq!(image, again);
    }

    #[test]
    fn rejects_missing_files_non_images_broken_images_and_wrong_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("magic.png"), PNG_MAGIC).unwrap();
        let bytes = png(&picture());
        std::fs::write(dir.path().join("a.png"), &bytes).unwrap();
        std::fs::write(dir.path().join("cut.png"), &bytes[..bytes.len() / 2]).unwrap();
        let mut resolver = ImageResolver::new(dir.path());
        let mut resolve = |path: &str, sha256: Option<&str>| {
            resolver.resolve(&mut ImageRef {
                path: path.into(),
                sha256: sha256.map(str::to_owned),
                ..ImageRef::default()
            })
        };
        assert!(resolve("missing.png", None)
            .unwrap_err()
            .contains("cannot open"));
        assert!(resolve("notes.txt", None)
            .unwrap_err()
            .contains("not an image"));
        let err = resolve("cut.png", None).unwrap_err();
        assert!(
            err.contains("cut.png") && err.contains("corrupt or truncated"),
            "{err}"
        );
        let err = resolve("magic.png", None).unwrap_err();
        assert!(err.contains("magic.png"), "{err}");
        assert!(resolve("a.png", Some("00"))
            .unwrap_err()
            .contains("SHA-256"));
    }

    #[test]
    fn refuses_devices_and_directories_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("folder.png")).unwrap();
        let mut resolver = ImageResolver::new(dir.path());
        let mut resolve = |path: &str| {
            resolver.resolve(&mut ImageRef {
                path: path.into(),
                ..ImageRef::default()
            })
        };
        // `/dev/zero` never ends: it must be refused at once, not read into memory.
        let err = resolve("/dev/zero").unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let err = resolve("folder.png").unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
    }
}
