//! Fuzzes the review service's ingest batch parser (a JSON array or JSON lines) with
//! arbitrary bytes: a bad batch is one error naming the item and field, never a
//! panic, and an accepted batch holds only listings within the field limits.
//!
//! Run with `cargo fuzz run ingest_batch` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use markhound::review::{parse_batch, BatchFormat, MAX_BATCH};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = if selector % 2 == 0 {
        BatchFormat::JsonArray
    } else {
        BatchFormat::JsonLines
    };
    match parse_batch(body, format) {
        Ok(listings) => {
            assert!(listings.len() <= MAX_BATCH);
            for listing in &listings {
                assert!(listing.check().is_ok(), "an accepted listing fails its check");
            }
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
});
