//! Title normalisation and matching.
