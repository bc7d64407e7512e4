//! markhound: an intellectual-property infringement scanner for marketplace listings.
//!
//! Data flows one way: listings come in (handed over as JSON lines, or crawled),
//! the [`text`] and [`image`] matchers find the trademarks of the [`registry`] they
//! name or copy, [`scoring`] turns that evidence into ranked findings, and the
//! reports and the review queue take the findings out.
//!
//! The pure parts (`text`, `scoring`, `image`) take data and return data; storage
//! lives in [`registry`] and [`db`].

pub mod crawl;
pub mod db;
pub mod demo;
pub mod image;
pub mod listing;
pub mod registry;
pub mod report;
pub mod review;
pub mod scoring;
pub mod server;
pub mod store;
pub mod text;
