//! Fuzzes the site-profile parser (TOML with CSS selectors, regexes and URLs) with
//! arbitrary text: a bad profile is an error naming the file and field, never a
//! panic, and scraper's "please report this" message never reaches the user.
//!
//! Run with `cargo fuzz run crawl_profile` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use markhound::crawl::profile::Profile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(err) = Profile::parse(text, "fuzz.toml") {
        let message = err.to_string();
        assert!(message.starts_with("fuzz.toml"), "{message}");
        assert!(!message.contains("report this to the developer"), "{message}");
    }
});
