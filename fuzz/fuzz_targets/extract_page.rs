//! Fuzzes listing extraction with arbitrary pages: JSON-LD, microdata, RDFa,
//! OpenGraph, application state and the document heuristics must never panic, and
//! what they return must hold the listing contract (a title, a finite non-negative
//! price in an upper-case currency code, sources with confidences in 0..=1).
//! The input is also wrapped into each kind of markup, so the fuzzer reaches the
//! readers behind them quickly.
//!
//! Run with `cargo fuzz run extract_page` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use markhound::crawl::extract::extract;
use markhound::crawl::price::parse_price;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let base = Url::parse("https://shop.example.de/item/1?v=2").unwrap();
    let pages = [
        text.to_string(),
        format!("<script type=\"application/ld+json\">{text}</script>"),
        format!("<div itemscope itemtype=\"https://schema.org/Product\">{text}</div>"),
        format!("<h1>Bag</h1><script>window.__INITIAL_STATE__ = {text}</script>"),
        format!("<h1>Bag</h1><button class=\"add-to-cart\">buy</button><span class=\"price\">{text}</span>"),
    ];
    for page in &pages {
        let e = extract(page, &base, None, "fuzz");
        if let Some(l) = &e.listing {
            assert!(!l.title.is_empty());
            if let Some(p) = &l.price {
                assert!(p.amount.is_finite() && p.amount >= 0.0);
                assert!(p.currency.chars().all(|c| c.is_ascii_uppercase()));
            }
        }
        for s in &e.sources {
            assert!((0.0..=1.0).contains(&s.confidence));
        }
    }
    let p = parse_price(&text, None, None);
    assert!(p.amount.is_none_or(|a| a.is_finite() && a >= 0.0));
});
