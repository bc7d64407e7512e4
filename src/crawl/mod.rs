//! Fetching from the web. Listings name their photos by URL, and matching a photo
//! against the registered marks' images needs its bytes; this module gets them
//! safely: bounded time, bounded size, bounded redirects, and errors that say which
//! URL failed and why.

mod images;

pub use images::{is_public, is_url, FetchError, FetchOptions, ImageFetcher, PrivateAddress};
