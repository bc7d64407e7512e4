//! Image fingerprints: decoding listing photos safely and hashing them with PDQ, so
//! that copies of a registered logo or product photo are found even after resizing,
//! recompression, small edits, rotation or mirroring.
//!
//! Text inside photos is read by [`ocr`].
//!
//! Pure: takes bytes or a path and returns hashes or text; no storage, no network.

mod decode;
pub mod features;
mod hash256;
mod index;
pub mod logo;
pub mod ocr;
mod pdq;
mod reference;
mod shape;
mod trim;

pub use decode::{decode_bytes, decode_path, read_file, recycle, ImageError, Limits};
pub use hash256::{Hash256, ParseHashError};
pub use index::{HashIndex, Neighbour};
pub use logo::{LogoIndex, RegionHit, RegionKind, RegionRef};
pub use pdq::{pdq_hash, pdq_hash_dihedral, Dihedral, PdqHash, PdqHasher, MIN_HASHABLE_DIM};
pub use reference::{
    centre_crop, query_hashes, reference_hashes, window, Half, ImageHit, ParseVariantError,
    QueryHash, QueryTransform, ReferenceEntry, ReferenceHash, ReferenceIndex, Variant,
    MATCH_DISTANCE, MIN_QUALITY, REFERENCE_CROPS, TILTS, TILT_CROP, WINDOW_SCALES, WINDOW_STEP,
};
pub use trim::{find_content, trim_borders, Crop, TrimOptions};
