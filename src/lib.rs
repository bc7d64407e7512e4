//! markhound: an intellectual-property infringement scanner for marketplace listings.
//!
//! Data flows one way: listings come in (crawled, handed over as JSON lines, posted
//! to the API), the [`text`] matcher and the [`photos`] matcher (over [`image`]
//! fingerprints) find the trademarks of the [`registry`] they name or copy,
//! [`scoring`] turns that evidence into ranked findings, the [`store`] keeps every
//! listing and finding under the [`review`] model, and reports, the review queue
//! and notices take them out. [`pipeline`] is that one way, used by every command.
//!
//! The pure parts (`text`, `image`, `photos`, `scoring`, `report`) take data and
//! return data; storage lives in [`db`], [`registry`] and [`store`], network I/O in
//! [`crawl`] and [`server`].

pub mod crawl;
pub mod db;
pub mod demo;
pub mod engine;
pub mod image;
pub mod listing;
pub mod photos;
pub mod pipeline;
pub mod registry;
pub mod report;
pub mod review;
pub mod scoring;
pub mod server;
pub mod store;
pub mod text;

/// An error and its causes, joined by `: `.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
