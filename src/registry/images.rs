//! Reference images named by an import file: resolved relative to that file, checked
//! to be readable images, and fingerprinted with SHA-256 so a later change of the file
//! on disk is noticed. (Perceptual hashes are the image module's business.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::model::ImageRef;

/// Resolves and hashes images, reading each distinct file once per import file.
#[derive(Debug)]
pub struct ImageResolver {
    base: PathBuf,
    seen: HashMap<PathBuf, Result<(String, String), String>>,
}

impl ImageResolver {
    /// Resolves paths relative to `base`, the folder of the import file.
    pub fn new(base: &Path) -> ImageResolver {
        ImageResolver {
            base: base.to_owned(),
            seen: HashMap::new(),
        }
    }

    /// Replaces `image.path` by the canonical absolute path and fills in its SHA-256;
    /// when the record already gave a SHA-256, it must match the file.
    pub fn resolve(&mut self, image: &mut ImageRef) -> Result<(), String> {
        let joined = self.base.join(image.path.trim());
        let (path, sha256) = self
            .seen
            .entry(joined)
            .or_insert_with_key(|joined| read_and_hash(joined))
            .clone()?;
        if let Some(expected) = &image.sha256 {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(format!(
                    "{path} has SHA-256 {sha256}, not the {expected} the record gives \
                     (the file changed since it was exported)"
                ));
            }
        }
        image.path = path;
        image.sha256 = Some(sha256);
        Ok(())
    }
}

/// Reads the file at `path` and returns its canonical path and SHA-256 (hex).
fn read_and_hash(path: &Path) -> Result<(String, String), String> {
    let shown = path.display();
    let canonical = path
        .canonicalize()
        .map_err(|err| format!("cannot open {shown}: {err}"))?;
    let bytes = std::fs::read(&canonical).map_err(|err| format!("cannot read {shown}: {err}"))?;
    if image::guess_format(&bytes).is_err() {
        return Err(format!("{shown} is not an image in a known format"));
    }
    let canonical = canonical
        .into_os_string()
        .into_string()
        .map_err(|_| format!("the path {shown} is not valid UTF-8"))?;
    Ok((canonical, hex::encode(Sha256::digest(&bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid PNG header is enough for format detection.
    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn resolves_relative_paths_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        std::fs::write(dir.path().join("img/a.png"), PNG_MAGIC).unwrap();
        let mut resolver = ImageResolver::new(dir.path());
        let mut image = ImageRef {
            path: "img/a.png".into(),
            sha256: None,
        };
        resolver.resolve(&mut image).unwrap();
        assert!(Path::new(&image.path).is_absolute());
        assert!(image.path.ends_with("a.png"));
        let expected = hex::encode(Sha256::digest(PNG_MAGIC));
        assert_eq!(image.sha256.as_deref(), Some(expected.as_str()));

        // The resolved form resolves to itself, so exports re-import unchanged.
        let again = image.clone();
        resolver.resolve(&mut image).unwrap();
        assert_eq!(image, again);
    }

    #[test]
    fn rejects_missing_files_non_images_and_wrong_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("a.png"), PNG_MAGIC).unwrap();
        let mut resolver = ImageResolver::new(dir.path());
        let mut resolve = |path: &str, sha256: Option<&str>| {
            resolver.resolve(&mut ImageRef {
                path: path.into(),
                sha256: sha256.map(str::to_owned),
            })
        };
        assert!(resolve("missing.png", None)
            .unwrap_err()
            .contains("cannot open"));
        assert!(resolve("notes.txt", None)
            .unwrap_err()
            .contains("not an image"));
        assert!(resolve("a.png", Some("00"))
            .unwrap_err()
            .contains("SHA-256"));
    }
}
