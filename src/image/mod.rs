//! Image fingerprints.
