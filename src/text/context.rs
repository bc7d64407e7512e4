//! Context around a mention: counterfeit code words and referential phrases.
//!
//! Both lists live in [`lexicon`](super::lexicon). They are matched with one
//! Aho-Corasick automaton each over the title's plain tokens joined by single
//! spaces, so case, width, diacritics and punctuation do not matter; a Latin phrase
//! must start and end at word boundaries, a CJK phrase may stand anywhere.

use aho_corasick::AhoCorasick;
use unicode_normalization::UnicodeNormalization;

use super::lexicon::{Strength, CODE_WORDS, LITERAL_CODE_WORDS, REFERENTIAL};
use super::normalize::{fold, is_cjk, Folded};

/// A counterfeit code word found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeWord {
    /// The code word as listed.
    pub word: &'static str,
    /// How strongly it signals a counterfeit.
    pub strength: Strength,
}

/// A referential phrase found in a title.
#[derive(Debug, Clone, PartialEq)]
pub struct Referential {
    /// The phrase as listed.
    pub phrase: &'static str,
    /// Index of the title token the phrase ends with.
    pub last_token: usize,
    /// How many tokens after it a mark may start and still be referred to.
    pub window: usize,
}

impl Referential {
    /// True when a mention starting at token `first_token` follows this phrase closely
    /// enough to be the thing referred to.
    pub fn applies_to(&self, first_token: usize) -> bool {
        first_token > self.last_token && first_token - self.last_token <= self.window
    }
}

/// The compiled code-word and referential-phrase lists.
pub struct Context {
    code_words: AhoCorasick,
    code_patterns: Vec<(&'static str, Strength, bool, bool)>,
    referential: AhoCorasick,
    ref_patterns: Vec<(&'static str, usize, bool, bool)>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// The plain tokens of `f` joined by single spaces, with each token's start offset.
fn phrase_text(f: &Folded) -> (String, Vec<usize>) {
    let mut s = String::with_capacity(f.plain.len() + f.tokens.len());
    let mut starts = Vec::with_capacity(f.tokens.len());
    for i in 0..f.tokens.len() {
        if i > 0 {
            s.push(' ');
        }
        starts.push(s.len());
        s.push_str(f.plain_of(i));
    }
    (s, starts)
}

fn folded_phrase(p: &str) -> (String, bool, bool) {
    let (s, _) = phrase_text(&fold(p));
    let first_cjk = s.chars().next().is_some_and(is_cjk);
    let last_cjk = s.chars().last().is_some_and(is_cjk);
    (s, !first_cjk, !last_cjk)
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Context {
    /// Compiles the bundled lists.
    pub fn new() -> Context {
        let mut code_keys = Vec::new();
        let mut code_patterns = Vec::new();
        for &(w, strength) in CODE_WORDS {
            let (k, b0, b1) = folded_phrase(w);
            code_keys.push(k);
            code_patterns.push((w, strength, b0, b1));
        }
        let mut ref_keys = Vec::new();
        let mut ref_patterns = Vec::new();
        for &(p, window) in REFERENTIAL {
            let (k, b0, b1) = folded_phrase(p);
            ref_keys.push(k);
            ref_patterns.push((p, window, b0, b1));
        }
        Context {
            code_words: AhoCorasick::new(&code_keys).expect("code words are literals"),
            code_patterns,
            referential: AhoCorasick::new(&ref_keys).expect("phrases are literals"),
            ref_patterns,
        }
    }

    /// The code words in `text` (a title or a description), each listed once.
    pub fn code_words(&self, text: &str, f: &Folded) -> Vec<CodeWord> {
        let (phrase, _) = phrase_text(f);
        let mut out: Vec<CodeWord> = Vec::new();
        for hit in self.code_words.find_overlapping_iter(&phrase) {
            let (word, strength, b0, b1) = self.code_patterns[hit.pattern().as_usize()];
            if bounded(&phrase, hit.start(), hit.end(), b0, b1)
                && !out.iter().any(|c| c.word == word)
            {
                out.push(CodeWord { word, strength });
            }
        }
        let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
        for &(word, strength) in LITERAL_CODE_WORDS {
            if contains_unflanked(&lowered, word) {
                out.push(CodeWord { word, strength });
            }
        }
        out
    }

    /// The referential phrases of a folded title.
    pub fn referential(&self, f: &Folded) -> Vec<Referential> {
        let (phrase, starts) = phrase_text(f);
        let mut out = Vec::new();
        for hit in self.referential.find_overlapping_iter(&phrase) {
            let (p, window, b0, b1) = self.ref_patterns[hit.pattern().as_usize()];
            if !bounded(&phrase, hit.start(), hit.end(), b0, b1) {
                continue;
            }
            let last_token = starts.partition_point(|&s| s < hit.end()) - 1;
            out.push(Referential {
                phrase: p,
                last_token,
                window,
            });
        }
        out
    }
}

fn bounded(s: &str, start: usize, end: usize, check_start: bool, check_end: bool) -> bool {
    (!check_start || start == 0 || s.as_bytes()[start - 1] == b' ')
        && (!check_end || end == s.len() || s.as_bytes()[end] == b' ')
}

/// True when `needle` occurs in `hay` with no ASCII digit right before or after it.
fn contains_unflanked(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&'static str> {
        let c = Context::new();
        c.code_words(text, &fold(text))
            .into_iter()
            .map(|w| w.word)
            .collect()
    }

    #[test]
    fn code_words_in_several_languages() {
        assert_eq!(words("Zentrix REPLICA shoes"), ["replica"]);
        assert_eq!(words("耐克 高仿 运动鞋"), ["高仿"]);
        assert_eq!(words("A货 bag"), ["a货"]);
        assert_eq!(words("1:1 mirror quality"), ["mirror quality", "1:1"]);
        assert_eq!(words("１：１ watch"), ["1:1"]);
        assert_eq!(words("Réplique montre"), ["replique"]);
    }

    #[test]
    fn code_words_need_word_boundaries() {
        assert!(words("replicator kit").is_empty());
        assert!(words("11:15 alarm clock").is_empty());
        assert!(words("AAA batteries").is_empty());
    }

    #[test]
    fn referential_phrases_point_at_what_follows() {
        let c = Context::new();
        let f = fold("Silicone case for iPhone 15");
        let r = c.referential(&f);
        assert!(r.iter().any(|r| r.phrase == "case for" && r.applies_to(3)));
        let f = fold("适用于耐克 鞋带");
        assert!(!c.referential(&f).is_empty());
    }
}
