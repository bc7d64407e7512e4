//! Word lists the matcher consults: an English dictionary, counterfeit code words and
//! the phrases of referential use.
//!
//! The dictionary is SCOWL's `wamerican-huge` list (see `data/words/COPYRIGHT-SCOWL`;
//! `scripts/make-wordlist.sh` rebuilds it), ASCII-folded and lower-cased, common words
//! and proper nouns alike: about 278,000 words of three letters or more. A title word
//! found there is a word, not a misspelt mark ("casino" is not Casio, "phone" is not
//! iPhone, "mike" is not Nike); exact and look-alike mentions of a mark are found
//! whatever the dictionary says.
//!
//! The code words and referential phrases are the ones brand-protection practice
//! lists (counterfeit vocabulary in English, Chinese and the main European
//! languages; nominative-use phrases such as "compatible with" and 适用于). They are
//! written here, not learnt from any evaluation set.

use std::io::Read;
use std::sync::LazyLock;

use rustc_hash::FxHashSet;

static WORDS_GZ: &[u8] = include_bytes!("../../data/words/english.txt.gz");

struct Dictionary {
    /// Words the list has in lower case.
    common: FxHashSet<&'static str>,
    /// Words the list has only capitalised (stored lower case): names.
    names: FxHashSet<String>,
}

static DICTIONARY: LazyLock<Dictionary> = LazyLock::new(|| {
    let mut text = String::new();
    // The list is bundled and checked by a test; a failure here is a build defect.
    flate2::read::GzDecoder::new(WORDS_GZ)
        .read_to_string(&mut text)
        .expect("the bundled word list is valid gzip UTF-8");
    let text: &'static str = Box::leak(text.into_boxed_str());
    let mut common = FxHashSet::default();
    let mut names = FxHashSet::default();
    for w in text.lines().filter(|w| !w.is_empty()) {
        if w.starts_with(|c: char| c.is_ascii_uppercase()) {
            names.insert(w.to_ascii_lowercase());
        } else {
            common.insert(w);
        }
    }
    Dictionary { common, names }
});

/// True when `plain` (lower case, ASCII-folded) is an English word or a proper noun
/// of the bundled dictionary.
pub fn is_dictionary_word(plain: &str) -> bool {
    if plain.len() <= 2 {
        return TWO_LETTER_WORDS.contains(&plain);
    }
    DICTIONARY.common.contains(plain) || DICTIONARY.names.contains(plain)
}

/// True when `plain` is an ordinary English word (not only a name): "glad", "plus",
/// "adobe", "canon". A mark that is an ordinary word is recognised as written.
pub fn is_common_word(plain: &str) -> bool {
    if plain.len() <= 2 {
        return TWO_LETTER_WORDS.contains(&plain);
    }
    DICTIONARY.common.contains(plain)
}

/// The English two-letter function words (the dictionary holds words of three letters
/// or more): enough to read "can on" as two words.
const TWO_LETTER_WORDS: &[&str] = &[
    "a", "i", "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me",
    "my", "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we",
];

/// Number of words in the bundled dictionary.
pub fn dictionary_len() -> usize {
    DICTIONARY.common.len() + DICTIONARY.names.len()
}

/// How strongly a code word signals a counterfeit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// Says the item is not genuine ("replica", "fake", 高仿).
    Strong,
    /// Says the item imitates ("inspired by", "dupe", 同款).
    Weak,
}

/// Counterfeit code words. Latin entries are matched on whole words of the folded
/// title (diacritics and case removed); entries with CJK characters anywhere.
pub const CODE_WORDS: &[(&str, Strength)] = &[
    // English
    ("replica", Strength::Strong),
    ("replicas", Strength::Strong),
    ("fake", Strength::Strong),
    ("counterfeit", Strength::Strong),
    ("knockoff", Strength::Strong),
    ("knock off", Strength::Strong),
    ("1 to 1", Strength::Weak),
    ("mirror quality", Strength::Strong),
    ("mirror copy", Strength::Strong),
    ("super copy", Strength::Strong),
    ("high copy", Strength::Strong),
    ("top copy", Strength::Strong),
    ("aaa quality", Strength::Strong),
    ("aaa grade", Strength::Strong),
    ("grade aaa", Strength::Strong),
    ("aaa replica", Strength::Strong),
    ("unauthorized", Strength::Weak),
    ("inspired by", Strength::Weak),
    ("dupe", Strength::Weak),
    ("look alike", Strength::Weak),
    ("lookalike", Strength::Weak),
    ("same style", Strength::Weak),
    ("oem quality", Strength::Weak),
    // Chinese
    ("高仿", Strength::Strong),
    ("复刻", Strength::Strong),
    ("原单", Strength::Strong),
    ("a货", Strength::Strong),
    ("精仿", Strength::Strong),
    ("仿品", Strength::Strong),
    ("超a", Strength::Strong),
    ("莆田", Strength::Weak),
    ("同款", Strength::Weak),
    // Spanish, Portuguese, Italian
    ("replica exacta", Strength::Strong),
    ("imitacion", Strength::Strong),
    ("falsificado", Strength::Strong),
    ("imitazione", Strength::Strong),
    ("falso", Strength::Weak),
    // French
    ("replique", Strength::Strong),
    ("contrefacon", Strength::Strong),
    ("copie", Strength::Weak),
    // German
    ("nachbildung", Strength::Strong),
    ("falschung", Strength::Strong),
    ("imitat", Strength::Strong),
    // Russian
    ("реплика", Strength::Strong),
    ("копия", Strength::Strong),
    ("подделка", Strength::Strong),
    ("люкс копия", Strength::Strong),
];

/// Code words written with punctuation, matched on the lower-cased title as written
/// (after NFKC, so a full-width "１：１" counts) with no digit on either side.
pub const LITERAL_CODE_WORDS: &[(&str, Strength)] = &[("1:1", Strength::Strong)];

/// Phrases of referential (nominative) use, and how many tokens may stand between the
/// phrase's end and the mark. "case for iPhone" is lawful; such listings score lower.
pub const REFERENTIAL: &[(&str, usize)] = &[
    ("for", 2),
    ("compatible with", 4),
    ("compatible for", 4),
    ("compatible", 2),
    ("fits", 3),
    ("fit for", 3),
    ("fits for", 3),
    ("replacement for", 4),
    ("works with", 4),
    ("designed for", 4),
    ("suitable for", 4),
    ("made for", 3),
    ("case for", 4),
    ("cover for", 4),
    ("charger for", 4),
    ("adapter for", 4),
    ("适用于", 3),
    ("适用", 3),
    ("兼容", 3),
    ("适配", 3),
    ("für", 3),
    ("passend fur", 4),
    ("kompatibel mit", 4),
    ("pour", 3),
    ("compatible avec", 4),
    ("para", 3),
    ("compativel com", 4),
    ("для", 3),
    ("совместим с", 4),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_loaded_and_knows_the_hard_negatives() {
        assert!(dictionary_len() > 200_000);
        for w in ["casino", "phone", "netbook", "paper", "matte", "mike"] {
            assert!(is_dictionary_word(w), "{w}");
        }
        assert!(!is_dictionary_word("adidaas"));
        assert!(!is_dictionary_word("n1ke"));
        assert!(is_dictionary_word("sony") && !is_common_word("sony"));
        assert!(is_common_word("glad"));
    }
}
