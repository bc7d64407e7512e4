//! Fuzzes the registry parsers (TOML, JSON, JSON lines, CSV) with arbitrary text:
//! a bad file is a list of problems naming their lines, never a panic.
//!
//! Run with `cargo fuzz run registry_parse` from the repository root.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use markhound::registry::{parse_str, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = match selector % 4 {
        0 => Format::Toml,
        1 => Format::Json,
        2 => Format::JsonLines,
        _ => Format::Csv,
    };
    // Image paths resolve against a folder that does not exist: they fail cleanly.
    if let Err(problems) = parse_str(text, format, Path::new("/nonexistent-markhound-fuzz")) {
        assert!(!problems.is_empty());
    }
});
