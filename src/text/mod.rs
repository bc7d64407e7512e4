//! Title normalisation and matching: which marks does a listing's title name, and how?
//!
//! [`normalize`] folds text (Unicode compatibility forms, case, diacritics, TR39
//! confusables, leetspeak, invisible characters) into tokens and keys; [`matcher`]
//! finds registered marks in the folded title, exactly, through aliases and pinyin,
//! as look-alikes or misspelt; [`lexicon`] holds the dictionary and the word lists
//! (counterfeit code words, referential phrases) that tell a mark from a word.

pub mod brands;
pub mod census;
pub mod context;
pub mod fuzzy;
pub mod lexicon;
pub mod matcher;
pub mod nice;
pub mod normalize;

pub use census::{BrandCensus, DeclaredBrands, NoCensus};
pub use matcher::{
    max_edits, ListingContext, MatchKind, Matcher, Rules, Term, TermKind, TitleMatch,
};
pub use normalize::{fold, Folded};
