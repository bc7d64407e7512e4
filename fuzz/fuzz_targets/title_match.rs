//! Fuzzes title matching and scoring with arbitrary text: folding, the automaton, the
//! short-mark table, the deletion index and the context signals must never panic,
//! and every match must be a slice of the title on character boundaries.
//!
//! Run with `cargo fuzz run title_match` from the repository root.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use markhound::listing::Listing;
use markhound::registry::Mark;
use markhound::scoring::{Rates, Scorer};

/// Marks of every shape the matcher treats differently: short, multi-word, common
/// word, Han alias (and its pinyin), Cyrillic alias, long.
static SCORER: LazyLock<Scorer> = LazyLock::new(|| {
    let mark = |id: &str, name: &str, aliases: &[&str]| Mark {
        id: id.into(),
        name: name.into(),
        aliases: aliases.iter().map(|a| (*a).into()).collect(),
        ..Mark::default()
    };
    Scorer::new(
        vec![
            mark("nike", "Nike", &["耐克", "Найк"]),
            mark("adidas", "Adidas", &["阿迪达斯"]),
            mark("lg", "LG", &[]),
            mark("3m", "3M", &[]),
            mark("pf", "P-F", &[]),
            mark("papermate", "Paper Mate", &[]),
            mark("glad", "Glad", &[]),
            mark("rubbermaid", "Rubbermaid Commercial", &[]),
            mark("thrustmaster", "Thrustmaster", &[]),
        ],
        Rates::default(),
    )
});

fuzz_target!(|data: &[u8]| {
    let Ok(title) = std::str::from_utf8(data) else {
        return;
    };
    let scorer = &*SCORER;
    for m in scorer.matcher().find(title) {
        assert!(m.start <= m.end && m.end <= title.len());
        assert!(title.is_char_boundary(m.start) && title.is_char_boundary(m.end));
    }
    let listing = Listing {
        id: "f".into(),
        title: title.into(),
        ..Listing::default()
    };
    for f in scorer.score(&listing) {
        assert!((0.0..=1.0).contains(&f.score), "{}", f.score);
    }
});
