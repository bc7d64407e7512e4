//! Fuzzes the path every listing photo takes: decoding untrusted bytes under limits,
//! then PDQ hashing. Any panic, hang or runaway allocation is a bug.
//!
//! Run with `cargo fuzz run decode_hash` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use markhound::image::{decode_bytes, pdq_hash, pdq_hash_dihedral, Limits};

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
    }
});
