//! Signals to ranked findings.
