//! Database opening and schema versioning.
