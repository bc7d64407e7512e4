//! Finding the marks a title names: exactly, through an alias or its pinyin, as a
//! look-alike, or misspelt.
//!
//! # How
//!
//! Every name and alias of every mark becomes a *term*, folded by
//! [`normalize`](super::normalize) into a key. Han aliases also yield a pinyin term
//! ("耐克" gives "nai ke"), generated with the `pinyin` crate.
//!
//! * **Exact and look-alike mentions**: one Aho-Corasick automaton over all term keys
//!   scans the title's concatenated key once, in time linear in the title and
//!   independent of the registry size. A hit counts when it starts at a token and ends
//!   at a token (a word), so "nike" inside "snikers" does not; a hit that ends inside
//!   a token counts when the rest is digits or a dictionary word ("nike2024",
//!   "nikeshoes"). A hit spanning several tokens is a spaced-out or dotted name
//!   ("N I K E", "N.I.K.E", "Ni-ke", "nai ke") or a multi-word mark, unless the pieces
//!   are all dictionary words joined by spaces where the mark has no word break
//!   ("can on" is not Canon). Han and kana terms match anywhere in CJK text.
//! * **Short marks** (keys of three characters or fewer: "LG", "3M") match only as a
//!   whole token, through a hash map: a two-letter name one edit away from thousands of
//!   tokens would be noise. Written apart letter by letter with punctuation ("J.V.C",
//!   "3-M") they are still the token; glued to a number or another word ("pf15",
//!   "3-m-5") they are part of a model code.
//! * **Misspellings**: a symmetric-deletion index (every way of deleting up to *k*
//!   characters from every term key, hashed to 64 bits). A title span is looked up
//!   through its own deletions, which finds every term within *k* edits in a number of
//!   hash look-ups that depends on the span's length, not on the registry's size. Each
//!   candidate is verified with the Damerau-Levenshtein distance of `strsim`
//!   (insertions, omissions, substitutions and transpositions all cost one edit).
//!
//! # Thresholds
//!
//! [`max_edits`] allows no edit for keys of up to 3 characters, one for 4 to 8 and two
//! from 9 on: one mutation of dnstwist's families (addition, omission, repetition,
//! replacement, transposition, vowel swap, bit flip) is one edit, and the space of
//! strings within one edit of a short name is already crowded. A misspelling is
//! refused when:
//!
//! * the title word is a dictionary word or proper noun (`lexicon`): "casino" is not
//!   Casio, "phone" is not iPhone, "paper matte" is not Paper Mate;
//! * it is the mark with one letter added or removed *in front* ("vantec", "phone"):
//!   names are coined by prefixing (i+Phone, e+Bay), typos and dnstwist's families do
//!   not add letters in front;
//! * it would shorten a four-letter mark to three letters;
//! * the word is itself an exact mention of another registered term;
//! * the word spells a *known other brand* ([`brands`](super::brands): simple-icons'
//!   brand names, the listing's declared brand, names learnt in review), unless the
//!   listing carries counterfeit code words. One edit from a mark lie the names of
//!   many real companies ("Metra" and Metro); nothing in the word tells them from a
//!   disguise, what is known about the word does. Exact and look-alike mentions are
//!   never excused;
//! * **glued brands**: a mark glued to a dictionary word ("digipower" for Digi) is
//!   found as the mark ("nikeshoes"), except when the whole word is a brand the
//!   listing declares or the marketplace's sellers establish
//!   ([`census`](super::census)): DigiPower is a maker of its own, and what says
//!   so is that shops declare it. General lists are not consulted here: they name
//!   marks' own product lines ("Adobe Photoshop"), which glued are still the mark.
//!   A counterfeiter gains little: the mark written as its own word is never
//!   excused;
//! * the mark is one ordinary English word ("Case", "Shell", "Apple") or ordinary
//!   words ending in a product noun of the Nice classification ("Camera Bag"), and
//!   the title word is its plural: that is the word ("jewel cases", "camera bags"),
//!   unless the noun has no plural in English ("softwares" is a mark's name with an
//!   "s": `uncountable`).
//!   As written the mark is still found, and the scorer weighs it by the listing's
//!   goods (`nice`). Misspellings that are no word ("Shwll") still count: refusing
//!   them as well cost 8 to 19 points of recall (Adobe, Canon and Apple are ordinary
//!   words) for 0.2 points of false matches (EVALUATION.md). Nor is the plural of
//!   every mark that is an ordinary noun refused ("cardinals", "empires"): a
//!   plural is a typo as often as a word, and refusing it would lose 1.1 to 2.3
//!   points of recall for a tenth of a point of false matches;
//! * **noun number**: the mark ends in an ordinary plural noun ("TPU Cases",
//!   "Batteries") and the title writes it in the singular ("tpu case"): that names
//!   one of the things, not the mark. Dropping a final "s" is an omission typo too,
//!   but one a buyer reads as the ordinary word.
//!
//! Short names are crowded, so the shorter the mark, the more a misspelling must look
//! like a slip rather than another name ([`verify_fuzzy`]). A *slip* is a letter
//! replaced by its neighbour on a QWERTY keyboard, by another vowel, or by a letter
//! whose code differs in one bit (the bit-flip typos):
//!
//! * up to eight letters, the first letter stays, swaps with the second, or, from five
//!   letters, moves to a neighbouring key or another vowel or is dropped ("qdobe",
//!   "edidas", "dobe"): "Coby" and "Joby", "Xantech" and "Pantech" are different
//!   names;
//! * four-letter marks accept a swap, a doubled letter, a plural, a letter slipped in
//!   beside its neighbouring key, or a vowel or bit-flip replacement, nothing else
//!   ("lumix" is not Lumi, "nano" is not Namo);
//! * digits glued to a mark are a model or a size ("energizer3"), except after a
//!   single ordinary word of fewer than six letters: model names are made of such
//!   words ("plus2", "max3");
//! * in a mark of several words, a word of three letters, too short for an edit of
//!   its own, may take the span's one edit when the other words are as registered
//!   ("bankers boxp");
//! * a letter repeated three times or more counts as one edit ("peeerless");
//! * a key beside the mark's first letter struck in front of it is a slip
//!   ("sadidas", "uiphone": dnstwist's insertion family), which a different letter in
//!   front ("vantec" for Antec) is not;
//! * a word of four letters or more with one digit inside it (not at its end) is
//!   read with the digit as a typo ("adi9das": the number row is next to the letters);
//!   a digit at the end is a model or size ("ipad2"), and two digits make a model
//!   code, which leetspeak folding handles as written.
//!
//! Each of these rules can be switched off ([`Rules`]) so that EVALUATION.md can give
//! its gain in recall and its cost in false matches.
//!
//! These rules come from the typo model (keyboard, vowels, bits) and from what each
//! relaxation cost in false matches on unrelated titles, checked on both halves of the
//! evaluation's brand split (EVALUATION.md), not on the titles' mutations.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind as AcMatchKind};
use pinyin::ToPinyin;
use rustc_hash::FxHashMap;

use super::brands::{brand_key, KnownBrands};
use super::census::{BrandCensus, NoCensus};
use super::fuzzy::{for_each_deletion, DeletionIndex};
use super::lexicon::{is_common_word, is_dictionary_word};
use super::normalize::{self, describe_flags, fold, Folded, Sep, TokenKind};
use crate::registry::Mark;

/// Where a term comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// The registered word mark.
    Name,
    /// An alias as registered.
    Alias,
    /// The pinyin of a Han alias, generated.
    Pinyin,
}

/// How a title span matched a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    /// Written as registered, up to case and spacing at the mark's own word breaks.
    Exact,
    /// The same after folding look-alikes, leetspeak, widths, diacritics, invisible
    /// characters or separators inside a word.
    Confusable,
    /// Within the length-aware edit distance.
    Fuzzy,
}

/// One searchable form of a mark.
#[derive(Debug, Clone)]
pub struct Term {
    /// Index of the mark in the slice the matcher was built from.
    pub mark: usize,
    /// Name, alias or generated pinyin.
    pub kind: TermKind,
    /// The term as registered (or generated).
    pub text: String,
    /// Folded key.
    pub key: String,
    /// Fuzzy key (no look-alike merges), as chars.
    fkey: Vec<char>,
    /// Char offsets in `fkey` where the second, third, ... word starts.
    fword_bounds: Vec<usize>,
    /// Byte offsets in `key` where the term's second, third, ... word starts.
    word_bounds: Vec<usize>,
    words: usize,
    /// Lower case, separators removed: what an exact mention looks like.
    simple: String,
    short: bool,
    cjk: bool,
    /// Every word of the term is an ordinary English word ("Glad", "Camera Bag").
    common: bool,
    /// Its last word is a product noun of the Nice classification ("Camera Bag").
    generic: bool,
    /// The fuzzy key with its last word in the singular, when that word is an
    /// ordinary English plural ("TPU Cases": "tpucase"; [`singular_of`]).
    singular: Option<Vec<char>>,
}

impl Term {
    /// `word` (fuzzy-key characters) is one of the term's words.
    fn has_word(&self, word: &[char]) -> bool {
        let mut start = 0;
        for &end in self.fword_bounds.iter().chain([&self.fkey.len()]) {
            if self.fkey[start..end] == *word {
                return true;
            }
            start = end;
        }
        false
    }

    /// One ordinary English word, or ordinary words ending in a product noun
    /// ([`Matcher::is_ordinary_word`]).
    fn ordinary_word(&self) -> bool {
        self.common && (self.words == 1 || self.generic)
    }

    /// Ordinary words ending in a product noun: a generic name ("Case", "Camera Bag").
    fn generic_name(&self) -> bool {
        self.common && self.generic
    }

    /// Its last word is a mass noun ([`uncountable`]).
    fn ends_uncountable(&self) -> bool {
        let start = self.fword_bounds.last().copied().unwrap_or(0);
        let last: String = self.fkey[start..].iter().collect();
        uncountable(&last)
    }
}

/// A mention of a mark found in a title.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleMatch {
    /// Index of the mark in the slice the matcher was built from.
    pub mark: usize,
    /// Index of the term that matched ([`Matcher::term`]).
    pub term: usize,
    /// Exact, look-alike or misspelt.
    pub kind: MatchKind,
    /// Byte range of the mention in the title.
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// Edit distance between the folded mention and the term (0 unless fuzzy).
    pub edits: usize,
    /// 1 - edits / longer length.
    pub similarity: f32,
    /// The evasions the folding undid: "leet", "homoglyph", "separators", ...
    pub evasions: Vec<&'static str>,
    /// Index of the first title token of the mention.
    pub first_token: usize,
    /// Index of the last title token of the mention.
    pub last_token: usize,
    /// The mention ends inside a title word, glued to digits or a dictionary word
    /// ("nike2024", "digipower"): excused like a misspelling when the whole word is
    /// another brand's name (`Rules::glued_brands`).
    pub glued: bool,
}

/// The most edits a term key of `chars` characters tolerates (see the module docs).
pub fn max_edits(chars: usize) -> usize {
    match chars {
        0..=3 => 0,
        4..=8 => 1,
        _ => 2,
    }
}

/// The most title words another brand's name is read across
/// ([`Matcher::excuse_other_brands`]):
/// brand names of more than four words ("House of Doolittle") are rare, and a
/// longer window only costs look-ups.
const BRAND_WINDOW: usize = 4;

/// Title matcher over a fixed set of marks. Cheap to share between threads.
pub struct Matcher {
    terms: Vec<Term>,
    automaton: Option<AhoCorasick>,
    pattern_terms: Vec<Vec<u32>>,
    short: FxHashMap<String, Vec<u32>>,
    by_fkey: FxHashMap<String, Vec<u32>>,
    deletions: DeletionIndex,
    max_key_chars: usize,
    /// The words of multi-word terms (fuzzy keys): a span of several title words is
    /// looked up only when one of its words is one of these.
    multi_words: rustc_hash::FxHashSet<String>,
    /// Brands that are not registered marks: a misspelling that spells one is that
    /// brand ([`brands`](super::brands)).
    known: KnownBrands,
    rules: Rules,
}

/// The matching rules that can be switched off one by one, so that each one's gain
/// in recall and cost in false matches can be measured (EVALUATION.md). Every rule
/// is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A misspelling that spells a known other brand is that brand.
    pub other_brands: bool,
    /// A mark that is an ordinary word is not found in the plural.
    pub ordinary_word_marks: bool,
    /// A key beside the first letter struck in front of it is a typo ("sadobe").
    pub front_slips: bool,
    /// A word with one digit inside is read with the digit as a typo ("so9ny").
    pub typo_digits: bool,
    /// A mark glued to another word ("digipower" for Digi) is excused when the
    /// whole word is a brand the listing or the marketplace declares.
    pub glued_brands: bool,
    /// A mark ending in an ordinary plural noun is not found in the singular
    /// ("tpu case" for TPU Cases).
    pub noun_number: bool,
    /// Digits glued to a mark that is an ordinary word are a model or a size
    /// ("energizer3"), unless the mark is one short ordinary word ("plus2").
    pub glued_digits: bool,
    /// In a mark of several words, a three-letter word takes the span's one edit
    /// when the other words are as registered ("bankers boxp").
    pub short_word_edit: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            other_brands: true,
            ordinary_word_marks: true,
            front_slips: true,
            typo_digits: true,
            glued_brands: true,
            noun_number: true,
            glued_digits: true,
            short_word_edit: true,
        }
    }
}

/// What the listing says besides its title, as far as matching the title needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListingContext<'a> {
    /// The brand the page declares (schema.org `brand`), when it is not itself a
    /// registered mark: a title word spelt as the declared brand names that brand.
    pub declared_brand: Option<&'a str>,
    /// The listing carries counterfeit code words ("replica", 高仿): then no
    /// misspelling is excused as another brand's name.
    pub code_words: bool,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("terms", &self.terms.len())
            .field("deletion_keys", &self.deletions.len())
            .finish()
    }
}

impl Matcher {
    /// Builds the indexes for `marks`, with the bundled list of other brands.
    pub fn new(marks: &[Mark]) -> Matcher {
        Matcher::with_known_brands(marks, KnownBrands::bundled())
    }

    /// Builds the indexes for `marks`; a misspelling of a mark that spells one of
    /// `known` is not reported (a registered mark's own key is never in it).
    pub fn with_known_brands(marks: &[Mark], known: KnownBrands) -> Matcher {
        Matcher::with_rules(marks, known, Rules::default())
    }

    /// [`Matcher::with_known_brands`] with some rules switched off.
    pub fn with_rules(marks: &[Mark], known: KnownBrands, rules: Rules) -> Matcher {
        let mut terms = Vec::new();
        for (i, mark) in marks.iter().enumerate() {
            push_term(&mut terms, i, TermKind::Name, &mark.name);
            for alias in &mark.aliases {
                push_term(&mut terms, i, TermKind::Alias, alias);
                if let Some(py) = pinyin_of(alias) {
                    push_term(&mut terms, i, TermKind::Pinyin, &py);
                }
            }
        }
        // Drop exact duplicates (same mark, same key), keeping the first (the name).
        let mut seen = rustc_hash::FxHashSet::default();
        terms.retain(|t| seen.insert((t.mark, t.key.clone())));

        let mut pattern_ids: FxHashMap<&str, usize> = FxHashMap::default();
        let mut patterns: Vec<&str> = Vec::new();
        let mut pattern_terms: Vec<Vec<u32>> = Vec::new();
        let mut short: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        let mut by_fkey: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut max_key_chars = 0;
        let mut multi_words = rustc_hash::FxHashSet::default();
        for (ti, t) in terms.iter().enumerate() {
            let ti = ti as u32;
            if t.short && t.words == 1 {
                short.entry(t.simple.clone()).or_default().push(ti);
                continue;
            }
            let id = *pattern_ids.entry(t.key.as_str()).or_insert_with(|| {
                patterns.push(t.key.as_str());
                pattern_terms.push(Vec::new());
                patterns.len() - 1
            });
            pattern_terms[id].push(ti);
            if !t.cjk && !t.short {
                by_fkey.entry(t.fkey.iter().collect()).or_default().push(ti);
                if t.words > 1 {
                    let mut bounds = vec![0];
                    bounds.extend(t.fword_bounds.iter().copied());
                    bounds.push(t.fkey.len());
                    for w in bounds.windows(2) {
                        multi_words.insert(t.fkey[w[0]..w[1]].iter().collect::<String>());
                    }
                }
                max_key_chars = max_key_chars.max(t.fkey.len());
                for_each_deletion(&t.fkey, max_edits(t.fkey.len()), |h| pairs.push((h, ti)));
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(AcMatchKind::Standard)
                    .build(&patterns)
                    .expect("term keys are short literal patterns"),
            )
        };
        pairs.sort_unstable();
        pairs.dedup();
        let deletions = DeletionIndex::new(pairs);
        let own: Vec<String> = terms.iter().map(|t| t.fkey.iter().collect()).collect();
        let known = known.without(own.iter().map(String::as_str));
        Matcher {
            known,
            rules,
            terms,
            automaton,
            pattern_terms,
            short,
            by_fkey,
            deletions,
            max_key_chars,
            multi_words,
        }
    }

    /// The term with index `i` (from [`TitleMatch::term`]).
    pub fn term(&self, i: usize) -> &Term {
        &self.terms[i]
    }

    /// True when term `i` is one ordinary English word ("Case", "Apple", "Shell") or
    /// ordinary words ending in a product noun of the Nice classification ("Camera
    /// Bag", "Toner Cartridge"): as written it names the thing as often as the mark.
    /// Other phrases of ordinary words ("Copper Finch") are coinages.
    pub fn is_ordinary_word(&self, i: usize) -> bool {
        self.terms[i].ordinary_word()
    }

    /// Number of terms (names, aliases, generated pinyin).
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Every mention of a mark in `title`, in title order. A span matched exactly is
    /// not also reported as a misspelling.
    pub fn find(&self, title: &str) -> Vec<TitleMatch> {
        let folded = fold(title);
        self.find_folded(title, &folded)
    }

    /// [`Matcher::find`] on a title folded already.
    pub fn find_folded(&self, title: &str, f: &Folded) -> Vec<TitleMatch> {
        self.find_in_context(title, f, &ListingContext::default())
    }

    /// [`Matcher::find_folded`] knowing what else the listing says: a misspelling
    /// that spells the declared brand is that brand.
    pub fn find_in_context(
        &self,
        title: &str,
        f: &Folded,
        cx: &ListingContext<'_>,
    ) -> Vec<TitleMatch> {
        let mut out = Vec::new();
        let mut covered = vec![false; f.tokens.len()];
        self.find_exact(title, f, &mut out, &mut covered);
        self.find_short(f, &mut out, &mut covered);
        self.find_fuzzy(f, &covered, &mut out);
        if !cx.code_words {
            self.excuse_other_brands(f, &mut out, cx.declared_brand, &NoCensus);
        }
        out.sort_by_key(|m| (m.start, m.mark, m.kind));
        out.dedup_by(|b, a| a.mark == b.mark && a.start == b.start && a.end == b.end);
        out
    }

    /// Drops the misspellings in `matches` (found in `f`) that spell a known other
    /// brand, the listing's declared brand ([`brands`](super::brands)) or a brand
    /// the marketplace's sellers declare ([`census`](super::census)).
    pub fn excuse_other_brands(
        &self,
        f: &Folded,
        matches: &mut Vec<TitleMatch>,
        declared_brand: Option<&str>,
        census: &dyn BrandCensus,
    ) {
        if !self.rules.other_brands {
            return;
        }
        let declared = declared_brand.map(declared_keys).unwrap_or_default();
        let by_marketplace =
            |key: &str| declared.iter().any(|d| d == key) || census.established(key);
        matches.retain(|m| {
            if m.kind == MatchKind::Fuzzy {
                !self.brand_around(f, m, |key| self.known.contains(key) || by_marketplace(key))
            } else if m.glued && self.rules.glued_brands {
                // Only what the marketplace declares: general lists name a mark's
                // own product lines ("Adobe Photoshop"), which glued are still it.
                !self.brand_around(f, m, by_marketplace)
            } else {
                true
            }
        });
    }

    /// The spellings a title writes, for the census of spellings
    /// ([`census`](super::census)): the title words (fuzzy keys, word breaks
    /// removed) of each misspelling among `matches` (found in `f` with nothing
    /// excused) and, under [`Rules::glued_brands`], of each mark glued to another
    /// word, each with whether `declared_brand` names it. A listing that declares
    /// another brand writes no spelling the census counts: it says the word is not
    /// its brand. The caller leaves out listings with counterfeit code words.
    pub fn spellings(
        &self,
        f: &Folded,
        matches: &[TitleMatch],
        declared_brand: Option<&str>,
    ) -> Vec<(String, bool)> {
        let declared = declared_brand
            .filter(|b| !b.trim().is_empty())
            .map(declared_heads);
        let mut out: Vec<(String, bool)> = Vec::new();
        for m in matches {
            if !(m.kind == MatchKind::Fuzzy || (m.glued && self.rules.glued_brands)) {
                continue;
            }
            let key: String = (m.first_token..=m.last_token)
                .filter_map(|t| f.tokens.get(t).map(|_| f.fkey_of(t)))
                .collect();
            if key.chars().count() < 4 || self.by_fkey.contains_key(&key) {
                continue;
            }
            let declares = match &declared {
                None => false,
                Some(keys) if keys.contains(&key) => true,
                Some(_) => continue,
            };
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, declares));
            }
        }
        out
    }

    /// The rules this matcher applies.
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// True when the misspelt words of `m`, alone or with the title words around
    /// them, spell a brand `is_brand` knows ("altec" in "altec lansing", "palo" in
    /// "palo alto"). Windows of up to [`BRAND_WINDOW`] words; a window that is a
    /// registered term's own key is that mark, whoever declares it.
    fn brand_around(&self, f: &Folded, m: &TitleMatch, is_brand: impl Fn(&str) -> bool) -> bool {
        let n = f.tokens.len();
        let mut key = String::new();
        (m.first_token.saturating_sub(BRAND_WINDOW - 1)..=m.first_token).any(|a| {
            (m.last_token..n.min(a + BRAND_WINDOW)).any(|b| {
                key.clear();
                for t in a..=b {
                    key.push_str(f.fkey_of(t));
                }
                !self.by_fkey.contains_key(&key) && is_brand(&key)
            })
        })
    }

    fn find_exact(&self, title: &str, f: &Folded, out: &mut Vec<TitleMatch>, covered: &mut [bool]) {
        let Some(ac) = &self.automaton else { return };
        for hit in ac.find_overlapping_iter(f.key.as_str()) {
            let (s, e) = (hit.start(), hit.end());
            for &ti in &self.pattern_terms[hit.pattern().as_usize()] {
                let term = &self.terms[ti as usize];
                let Some(m) = self.accept_exact(title, f, term, ti as usize, s, e) else {
                    continue;
                };
                for c in &mut covered[m.first_token..=m.last_token] {
                    *c = true;
                }
                out.push(m);
            }
        }
    }

    fn accept_exact(
        &self,
        title: &str,
        f: &Folded,
        term: &Term,
        ti: usize,
        s: usize,
        e: usize,
    ) -> Option<TitleMatch> {
        let first = f.token_containing(s)?;
        let last = f.token_containing(e - 1)?;
        let start = f.key_origin[s] as usize;
        let end_orig = if e == f.tokens[last].key_end {
            f.tokens[last].end
        } else {
            f.key_origin[e] as usize
        };
        if term.cjk {
            if f.tokens[first..=last]
                .iter()
                .any(|t| t.kind != TokenKind::Cjk)
            {
                return None;
            }
            let flags = f.tokens[first..=last].iter().fold(0, |a, t| a | t.flags);
            return Some(self.exact_match(
                title, term, ti, start, end_orig, flags, false, first, last, false,
            ));
        }
        if f.tokens[first].key_start != s {
            return None;
        }
        if f.tokens[first..=last]
            .iter()
            .any(|t| t.kind == TokenKind::Cjk)
        {
            return None;
        }
        if e != f.tokens[last].key_end {
            // A short mark is a whole token or nothing ("pf15" is a model code).
            if term.short {
                return None;
            }
            // The mention ends inside a word: "nike2024", "nikeshoes".
            let rest = &title[end_orig..f.tokens[last].end];
            let whole = f.plain_of(last);
            // Digits glued to the mark are a model or a size ("nike2024",
            // "energizer3", "western digital1"), except after one short ordinary
            // word: the words model names are made of are short ("plus2",
            // "max3", "ultra4"). A glued word makes a new word of an ordinary
            // one ("boxspring").
            let model_word = term.common
                && (!self.rules.glued_digits || (term.words == 1 && term.fkey.len() < 6));
            let rest_ok = !model_word && rest.bytes().all(|b| b.is_ascii_digit())
                || (!term.common
                    && rest.len() >= 3
                    && is_dictionary_word(&rest.to_lowercase())
                    && !is_dictionary_word(whole));
            if !rest_ok {
                return None;
            }
        }
        // Separators inside the span: at the term's own word breaks they are spacing;
        // elsewhere they split a word ("N.I.K.E", "nai ke"), refused when the pieces
        // read as ordinary words joined by spaces.
        let mut split = false;
        let mut spaced = false;
        for t in &f.tokens[first + 1..=last] {
            let offset = t.key_start - s;
            if !term.word_bounds.contains(&offset) {
                split = true;
                spaced |= t.sep_before == Sep::Space;
            }
        }
        if split && term.short {
            return None;
        }
        // A name written apart ends where a word ends: "core i5" does not spell
        // Corel (read "corei") with "5" after it.
        if split && e != f.tokens[last].key_end {
            return None;
        }
        if spaced {
            let all_words = (first..=last).all(|i| {
                let p = f.plain_of(i);
                p.len() >= 2 && is_dictionary_word(p)
            });
            if all_words {
                return None;
            }
        }
        let flags = f.tokens[first..=last].iter().fold(0, |a, t| a | t.flags);
        let glued = e != f.tokens[last].key_end;
        Some(self.exact_match(
            title, term, ti, start, end_orig, flags, split, first, last, glued,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn exact_match(
        &self,
        title: &str,
        term: &Term,
        ti: usize,
        start: usize,
        end: usize,
        flags: u8,
        split: bool,
        first: usize,
        last: usize,
        glued: bool,
    ) -> TitleMatch {
        let written = simple(&title[start..end]);
        let mut evasions = describe_flags(flags);
        if split {
            evasions.push("separators");
        }
        let kind = if written == term.simple && evasions.is_empty() {
            MatchKind::Exact
        } else {
            MatchKind::Confusable
        };
        TitleMatch {
            mark: term.mark,
            term: ti,
            kind,
            start,
            end,
            edits: 0,
            similarity: 1.0,
            evasions,
            first_token: first,
            last_token: last,
            glued,
        }
    }

    fn find_short(&self, f: &Folded, out: &mut Vec<TitleMatch>, covered: &mut [bool]) {
        if self.short.is_empty() {
            return;
        }
        let joined = |i: usize| f.tokens.get(i).is_some_and(|t| t.sep_before == Sep::Punct);
        // Token `i` follows token `i - 1` with nothing between them, in the same script.
        let glued = |i: usize| {
            i > 0
                && f.tokens.get(i).is_some_and(|t| {
                    t.sep_before == Sep::None
                        && t.kind != TokenKind::Cjk
                        && f.tokens[i - 1].kind != TokenKind::Cjk
                })
        };
        let mut plain = String::with_capacity(8);
        for (i, t) in f.tokens.iter().enumerate() {
            if t.kind == TokenKind::Cjk || t.key_chars > 3 {
                continue;
            }
            // The token alone, or a short mark written apart with punctuation
            // ("J.V.C", "3-M", "jv-c"): up to three pieces joined by punctuation, not
            // joined to anything else ("3-m-5" is a model code).
            plain.clear();
            let mut flags = 0;
            let mut key_chars = 0;
            for last in i..(i + 3).min(f.tokens.len()) {
                let tl = &f.tokens[last];
                if last > i && (tl.sep_before != Sep::Punct || tl.kind == TokenKind::Cjk) {
                    break;
                }
                plain.push_str(f.plain_of(last));
                flags |= tl.flags;
                key_chars += tl.key_chars;
                if key_chars > 3 {
                    break;
                }
                if last > i && (joined(i) || joined(last + 1)) {
                    continue;
                }
                // Glued to a number or a word ("pf15", "3mx") it is part of a model
                // code, not the mark.
                if glued(i) || glued(last + 1) {
                    continue;
                }
                let Some(ids) = self.short.get(plain.as_str()) else {
                    continue;
                };
                for &ti in ids {
                    let term = &self.terms[ti as usize];
                    let mut evasions = describe_flags(flags);
                    if last > i {
                        evasions.push("separators");
                    }
                    covered[i..=last].iter_mut().for_each(|c| *c = true);
                    out.push(TitleMatch {
                        mark: term.mark,
                        term: ti as usize,
                        kind: if evasions.is_empty() {
                            MatchKind::Exact
                        } else {
                            MatchKind::Confusable
                        },
                        start: t.start,
                        end: tl.end,
                        edits: 0,
                        similarity: 1.0,
                        evasions,
                        first_token: i,
                        last_token: last,
                        glued: false,
                    });
                }
            }
        }
    }

    fn find_fuzzy(&self, f: &Folded, covered: &[bool], out: &mut Vec<TitleMatch>) {
        if self.deletions.is_empty() {
            return;
        }
        let mut span: Vec<char> = Vec::with_capacity(32);
        let mut candidates: Vec<u32> = Vec::new();
        for first in 0..f.tokens.len() {
            span.clear();
            #[allow(clippy::needless_range_loop)] // `last` indexes tokens and `covered` alike
            for last in first..(first + 3).min(f.tokens.len()) {
                let t = &f.tokens[last];
                // Leetspeak is recognised as written, not with typos on top: model
                // numbers ("ci10") read as leet too often. A word of four letters or
                // more with one digit in it is read with the digit as a typo (a key
                // of the number row struck with its neighbour: "so9ny", "ad1das").
                let one_digit = self.rules.typo_digits
                    && t.flags & normalize::FLAG_LEET != 0
                    && typo_digit(f.plain_of(last));
                if t.kind != TokenKind::Word
                    || (t.flags & normalize::FLAG_LEET != 0 && !one_digit)
                    || (last > first && t.sep_before == Sep::None)
                {
                    break;
                }
                if one_digit {
                    span.extend(f.plain_of(last).chars());
                } else {
                    span.extend(f.fkey_of(last).chars());
                }
                let len = span.len();
                // A word matched exactly is not misspelt, but may begin a misspelt
                // multi-word mark ("griffin technologys").
                if (covered[last] && last == first) || len < 4 || len > self.max_key_chars + 2 {
                    continue;
                }
                let pieces = last - first + 1;
                // A misspelt multi-word mark keeps at least one word intact.
                if pieces > 1 && !(first..=last).any(|i| self.multi_words.contains(f.fkey_of(i))) {
                    continue;
                }
                // Ordinary words are not misspellings, but the plural of a mark is
                // the mark ("adobes").
                if (first..=last).all(|i| is_dictionary_word(f.plain_of(i))) {
                    if let Some(m) = self.plural(f, first, last, &span) {
                        out.push(m);
                    }
                    continue;
                }
                // Terms within two edits have nine characters or more; a span needs
                // its own two-character deletions only to reach them by two
                // substitutions or deletions, so from nine characters on.
                let depth = if len < 9 { 1 } else { 2 };
                self.deletions.candidates(&span, depth, &mut candidates);
                for &ti in &candidates {
                    let term = &self.terms[ti as usize];
                    if pieces > 1 && term.words != pieces {
                        continue;
                    }
                    if pieces > 1 && !words_close(f, first, last, term, self.rules.short_word_edit)
                    {
                        continue;
                    }
                    // One title word that is one whole word of a multi-word mark
                    // ("pitstop" of PC Pitstop) names part of it, it does not
                    // misspell it: the edits would be the words left out.
                    if pieces == 1 && term.words > 1 && term.has_word(&span) {
                        continue;
                    }
                    // The singular of a mark that ends in an ordinary plural noun
                    // names the thing ("tpu case" is not TPU Cases).
                    if self.rules.noun_number && term.singular.as_deref() == Some(&span[..]) {
                        continue;
                    }
                    if let Some(edits) = verify_fuzzy(&span, term, self.rules.front_slips) {
                        let tf = &f.tokens[first];
                        let tl = &f.tokens[last];
                        let longer = len.max(term.fkey.len()) as f32;
                        let flags = f.tokens[first..=last].iter().fold(0, |a, t| a | t.flags);
                        // Equal fuzzy keys: the title repeats a letter three times or
                        // more ("peeerless"), which the fuzzy key cuts to two; count
                        // the repetition as the one edit it is.
                        let edits = match edits {
                            0 if flags & normalize::FLAG_REPEAT != 0 => 1,
                            0 => continue,
                            e => e,
                        };
                        out.push(TitleMatch {
                            mark: term.mark,
                            term: ti as usize,
                            kind: MatchKind::Fuzzy,
                            start: tf.start,
                            end: tl.end,
                            edits,
                            similarity: 1.0 - edits as f32 / longer,
                            evasions: describe_flags(flags),
                            first_token: first,
                            last_token: last,
                            glued: false,
                        });
                    }
                }
            }
        }
    }
}

impl Matcher {
    /// A span that is a registered term plus a plural ending ("s", "es").
    fn plural(&self, f: &Folded, first: usize, last: usize, span: &[char]) -> Option<TitleMatch> {
        let n = span.len();
        if n < 5 || span[n - 1] != 's' {
            return None;
        }
        let stems = [
            &span[..n - 1],
            if span[n - 2] == 'e' {
                &span[..n - 2]
            } else {
                &[]
            },
        ];
        let (stem_len, ti) = stems.iter().filter(|s| s.len() >= 4).find_map(|stem| {
            let key: String = stem.iter().collect();
            Some((stem.len(), *self.by_fkey.get(&key)?.first()?))
        })?;
        let term = &self.terms[ti as usize];
        // The plural of a mark that is a product noun is the product ("jewel cases",
        // "camera bags"); of other words it is the mark ("adobes"), and so it is
        // when the product noun has no plural in standard English ("individual
        // softwares" is Individual Software).
        if term.generic_name() && self.rules.ordinary_word_marks && !term.ends_uncountable() {
            return None;
        }
        let flags = f.tokens[first..=last].iter().fold(0, |a, t| a | t.flags);
        let edits = n - stem_len;
        Some(TitleMatch {
            mark: term.mark,
            term: ti as usize,
            kind: MatchKind::Fuzzy,
            start: f.tokens[first].start,
            end: f.tokens[last].end,
            edits,
            similarity: 1.0 - edits as f32 / n as f32,
            evasions: describe_flags(flags),
            first_token: first,
            last_token: last,
            glued: false,
        })
    }
}

/// Product nouns that English uses without a plural (mass nouns): every noun in
/// "-ware" and "-wear" (software, hardware, cookware, footwear, eyewear) and the
/// mass nouns among the Nice classification's headings and explanatory notes
/// (furniture, clothing, luggage, cutlery, ...), as grammars list them. Their
/// plural in a title is no product; it is a mark's name with an "s" added.
fn uncountable(word: &str) -> bool {
    const MASS: [&str; 16] = [
        "apparel",
        "bedding",
        "clothing",
        "cutlery",
        "equipment",
        "furniture",
        "hosiery",
        "jewellery",
        "jewelry",
        "lingerie",
        "luggage",
        "machinery",
        "merchandise",
        "millinery",
        "saddlery",
        "stationery",
    ];
    word.ends_with("ware") || word.ends_with("wear") || MASS.contains(&word)
}

/// The keys a declared brand names: the whole name and each of its words of four
/// characters or more ("Metra Electronics" names "metra" and "metraelectronics").
fn declared_keys(brand: &str) -> Vec<String> {
    let f = fold(brand);
    let mut keys: Vec<String> = (0..f.tokens.len())
        .map(|i| f.fkey_of(i).to_string())
        .filter(|k| k.chars().count() >= 4)
        .collect();
    keys.extend(brand_key(brand));
    keys
}

/// The keys a declared brand is written by in titles, for the census: its first
/// word, its first two words, and so on ("Metra Electronics" gives "metra" and
/// "metraelectronics"). A brand's distinctive word leads its name; a later word
/// ("brothers" of "Write Brothers") is no spelling of the brand, and counting it
/// would establish the plural of a mark "Brother" for every listing.
fn declared_heads(brand: &str) -> Vec<String> {
    let f = fold(brand);
    let mut key = String::new();
    let mut keys = Vec::with_capacity(f.tokens.len());
    for i in 0..f.tokens.len() {
        key.push_str(f.fkey_of(i));
        if key.chars().count() >= 4 {
            keys.push(key.clone());
        }
    }
    keys
}

/// For a span of several title words against a multi-word term: each title word is
/// within the edit bound of the term's word in the same place (so "microsoft crm" is
/// not "Microsoft Corp").
///
/// With `short_edit`, a word of three letters, too short to tolerate an edit of its
/// own ("box" of Bankers Box), may take one when every other word is written as
/// registered: the one edit is then the whole span's ("bankers boxp"), as it would
/// be in a one-word mark.
fn words_close(f: &Folded, first: usize, last: usize, term: &Term, short_edit: bool) -> bool {
    let mut bounds = vec![0];
    bounds.extend(term.fword_bounds.iter().copied());
    bounds.push(term.fkey.len());
    let mut edited = 0;
    let mut short_edited = false;
    for (w, i) in (first..=last).enumerate() {
        let a: Vec<char> = f.fkey_of(i).chars().collect();
        let b = &term.fkey[bounds[w]..bounds[w + 1]];
        let short = short_edit && b.len() == 3;
        let edits = osa(&a, b);
        if edits > if short { 1 } else { max_edits(b.len()) } {
            return false;
        }
        if edits > 0 {
            edited += 1;
            short_edited |= short;
        }
    }
    !short_edited || edited == 1
}

/// The edit distance of `span` to `term` when it is an acceptable misspelling.
fn verify_fuzzy(span: &[char], term: &Term, front_slips: bool) -> Option<usize> {
    let tk = &term.fkey[..];
    let k = max_edits(tk.len());
    let (ls, lt) = (span.len(), tk.len());
    if k == 0 || ls.abs_diff(lt) > k {
        return None;
    }
    // A four-letter mark shortened to three letters is too weak.
    if ls < 4 {
        return None;
    }
    // A different letter added in front makes a different coinage ("vantec" is not
    // Antec); a doubled first letter is a typo ("aadobe"), and so is a key beside
    // the first letter struck with it ("sadobe", "1iphone": dnstwist's insertion).
    let front_slip =
        front_slips && ls == lt + 1 && span[1..] == tk[..] && adjacent_keys(span[0], tk[0]);
    if ls == lt + 1 && span[1..] == tk[..] && span[0] != tk[0] && !front_slip {
        return None;
    }
    // Up to eight letters, the first letter stays: names that differ in their first
    // letter are other names as often as typos ("Coby" and "Joby", "Xantech" and
    // "Pantech"), and a disguise keeps the letter buyers see. From five letters, the
    // first letter may swap with the second, slip to a neighbouring key or another
    // vowel ("qdobe", "edidas"), or be dropped with the rest intact ("dobe"). A
    // first letter one bit away ("tivitar") is a bit-flip typo as well, but
    // accepting it found 0.3 points more of the mutated mentions and made every
    // Pantech title Xantech ("p" and "x" differ in one bit; EVALUATION.md).
    if lt <= FIRST_LETTER_MAX && span[0] != tk[0] {
        let swapped = ls > 1 && span[0] == tk[1] && span[1] == tk[0];
        let slipped = ls == lt
            && span[1..] == tk[1..]
            && (adjacent_keys(span[0], tk[0]) || vowels(span[0], tk[0]));
        let dropped = ls + 1 == lt && span[..] == tk[1..];
        if !(swapped || front_slip || (lt >= 5 && (slipped || dropped))) {
            return None;
        }
    }
    if ls == lt && !is_transposition(span, tk) {
        if let Some((a, b)) = single_substitution(span, tk) {
            // A four-letter mark with one letter replaced is one of a hundred
            // neighbours, most of them words, names or abbreviations ("nano" for
            // Namo, "glas" for Glad): only another vowel ("sany") or a flipped bit
            // of the letter's code (the bit-flip typos of the issue tracker's
            // families) keeps it recognisable. A neighbouring key as well doubled
            // the false matches on unrelated titles.
            if lt == 4 && !(vowels(a, b) || one_bit(a, b)) {
                return None;
            }
        } else if lt == 4 {
            return None;
        }
    }
    // A four-letter mark grows by a doubled letter, a plural ending or a letter
    // slipped in beside its neighbouring key ("soiny"): any other fifth letter
    // ("namco" for Namo, "lumix" for Lumi) makes another name as often as a typo.
    // Accepting a letter added at the end ("sonyx") found 0.4 points more of the
    // mutated mentions and made "lumix" (Panasonic's cameras) Lumi in 41 titles
    // of the other half's negatives (EVALUATION.md).
    if lt == 4 && ls == 5 && !is_doubling_or_plural(span, tk) && !is_slipped_insertion(span, tk) {
        return None;
    }
    let edits = osa(span, tk);
    (edits <= k).then_some(edits)
}

/// True when `plain` (a token's plain form) is four letters or more with exactly one
/// digit among them, not at its end (a trailing digit is a model or size: "ipad2").
fn typo_digit(plain: &str) -> bool {
    let b = plain.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    digits == 1 && letters >= 4 && letters + 1 == b.len() && !b[b.len() - 1].is_ascii_digit()
}

/// Up to this length a misspelling keeps the mark's first letter.
const FIRST_LETTER_MAX: usize = 8;

/// The one pair of letters in which `a` and `b` (of equal length) differ, if they
/// differ in exactly one place.
fn single_substitution(a: &[char], b: &[char]) -> Option<(char, char)> {
    let mut diff = a.iter().zip(b).filter(|(x, y)| x != y);
    let (x, y) = diff.next()?;
    diff.next().is_none().then_some((*x, *y))
}

/// Both letters are vowels ("y" counts: it is one in most names that end in it).
fn vowels(a: char, b: char) -> bool {
    let v = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    v(a) && v(b)
}

/// The letters' codes differ in one bit ("qony" for Sony).
fn one_bit(a: char, b: char) -> bool {
    (u32::from(a) ^ u32::from(b)).count_ones() == 1
}

/// Neighbouring keys, letters and digits, on a QWERTY, QWERTZ or AZERTY keyboard:
/// dnstwist's keyboard tables (`data/glyphs/dnstwist.tsv`), from which its insertion
/// and replacement families draw. Symmetric: each table lists a key's neighbours.
static KEYBOARD: std::sync::LazyLock<rustc_hash::FxHashSet<(char, char)>> =
    std::sync::LazyLock::new(|| {
        let mut pairs = rustc_hash::FxHashSet::default();
        for line in include_str!("../../data/glyphs/dnstwist.tsv").lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let [key, near, table] = cols[..] else {
                continue;
            };
            if !matches!(table, "qwerty" | "qwertz" | "azerty") {
                continue;
            }
            let Some(k) = key.chars().next() else {
                continue;
            };
            for n in near.chars() {
                pairs.insert((k, n));
                pairs.insert((n, k));
            }
        }
        pairs
    });

/// True when `a` and `b` are neighbouring keys on one of dnstwist's keyboards.
fn adjacent_keys(a: char, b: char) -> bool {
    KEYBOARD.contains(&(a, b))
}

/// True when `long` is `short` with one letter inserted beside a letter on a
/// neighbouring key (a finger that touched two keys).
fn is_slipped_insertion(long: &[char], short: &[char]) -> bool {
    (0..long.len()).any(|i| {
        long[..i] == short[..i]
            && long[i + 1..] == short[i..]
            && ((i > 0 && adjacent_keys(long[i], long[i - 1]))
                || (i + 1 < long.len() && adjacent_keys(long[i], long[i + 1])))
    })
}

/// True when `a` is `b` with two adjacent letters swapped.
fn is_transposition(a: &[char], b: &[char]) -> bool {
    a.len() == b.len()
        && (0..a.len().saturating_sub(1)).any(|i| {
            a[i] == b[i + 1] && a[i + 1] == b[i] && a[..i] == b[..i] && a[i + 2..] == b[i + 2..]
        })
}

/// True when `long` is `short` with one letter doubled or an "s" appended.
fn is_doubling_or_plural(long: &[char], short: &[char]) -> bool {
    if long.last() == Some(&'s') && long[..long.len() - 1] == short[..] {
        return true;
    }
    (0..short.len()).any(|i| {
        long[..=i] == short[..=i] && long[i + 1] == short[i] && long[i + 2..] == short[i + 1..]
    })
}

/// Damerau-Levenshtein distance over chars: insertions, omissions, substitutions
/// and transpositions of adjacent characters each cost one edit.
fn osa(a: &[char], b: &[char]) -> usize {
    strsim::generic_damerau_levenshtein(a, b)
}

fn push_term(terms: &mut Vec<Term>, mark: usize, kind: TermKind, text: &str) {
    let merged = fold(text);
    let unmerged = normalize::fold_unmerged(text);
    let variant = (unmerged.key != merged.key).then_some(unmerged);
    for f in std::iter::once(merged).chain(variant) {
        if let Some(term) = term_from(&f, mark, kind, text) {
            terms.push(term);
        }
    }
}

/// A term from a folded name. A name whose key merged a look-alike pair ("rn" to "m")
/// also gets a term with the unmerged key, which is what its letters spaced out fold
/// to.
fn term_from(f: &Folded, mark: usize, kind: TermKind, text: &str) -> Option<Term> {
    if f.key.is_empty() {
        return None;
    }
    let cjk = f.tokens.iter().any(|t| t.kind == TokenKind::Cjk);
    let key_chars = f.key.chars().count();
    let word_bounds: Vec<usize> = f.tokens.iter().skip(1).map(|t| t.key_start).collect();
    let fword_bounds: Vec<usize> = f
        .tokens
        .iter()
        .skip(1)
        .map(|t| f.fkey[..t.fkey_start].chars().count())
        .collect();
    let short = !cjk && key_chars <= 3;
    let common = !cjk && (0..f.tokens.len()).all(|i| is_common_word(f.plain_of(i)));
    let generic = common
        && !f.tokens.is_empty()
        && !super::nice::classes_of([f.plain_of(f.tokens.len() - 1)]).is_empty();
    let singular = match f.tokens.len() {
        0 => None,
        n if cjk || f.plain_of(n - 1) != f.fkey_of(n - 1) => None,
        n => singular_of(f.plain_of(n - 1)).map(|one| {
            let mut key: Vec<char> = f.fkey[..f.tokens[n - 1].fkey_start].chars().collect();
            key.extend(one.chars());
            key
        }),
    };
    Some(Term {
        mark,
        kind,
        text: text.to_string(),
        simple: if short { f.plain.clone() } else { simple(text) },
        fkey: f.fkey.chars().collect(),
        fword_bounds,
        key: f.key.clone(),
        words: word_bounds.len() + 1,
        word_bounds,
        short,
        cjk,
        common,
        generic,
        singular,
    })
}

/// The singular of `word` when `word` is an ordinary English plural: "cases" gives
/// "case", "boxes" "box", "batteries" "battery". Both must be lower-case words of
/// the dictionary; the spelling rules "-ies", "-es" and "-s" are tried in that
/// order, and a word ending in "ss" ("glass") is no plural. A word that only looks
/// like one ("news": "new") gives a dictionary word, which is never read as a
/// misspelling anyway.
fn singular_of(word: &str) -> Option<String> {
    if word.len() < 4 || !word.ends_with('s') || word.ends_with("ss") || !is_common_word(word) {
        return None;
    }
    let stem = &word[..word.len() - 1];
    let mut candidates = Vec::with_capacity(3);
    if let Some(y) = word.strip_suffix("ies") {
        candidates.push(format!("{y}y"));
    }
    if let Some(es) = word.strip_suffix("es") {
        candidates.push(es.to_string());
    }
    candidates.push(stem.to_string());
    candidates
        .into_iter()
        .find(|c| c.len() >= 3 && is_common_word(c))
}

/// Lower case with white space, punctuation and invisible characters removed.
fn simple(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() && !normalize::is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The pinyin of a Han alias, syllables separated by spaces, or `None` when the alias
/// is not wholly Han.
fn pinyin_of(alias: &str) -> Option<String> {
    let han: Vec<char> = alias.chars().filter(|c| !c.is_whitespace()).collect();
    if han.is_empty() || !han.iter().all(|&c| normalize::is_cjk(c)) {
        return None;
    }
    let mut syllables = Vec::with_capacity(han.len());
    for c in han {
        syllables.push(c.to_pinyin()?.plain());
    }
    Some(syllables.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(id: &str, name: &str, aliases: &[&str]) -> Mark {
        Mark {
            id: id.into(),
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            ..Mark::default()
        }
    }

    fn registry() -> Vec<Mark> {
        vec![
            mark("nike", "Nike", &["耐克"]),
            mark("adidas", "Adidas", &["阿迪达斯"]),
            mark("casio", "Casio", &[]),
            mark("iphone", "iPhone", &[]),
            mark("nextbook", "Nextbook", &[]),
            mark("antec", "Antec", &[]),
            mark("papermate", "Paper Mate", &[]),
            mark("lg", "LG", &[]),
            mark("3m", "3M", &[]),
            mark("canon", "Canon", &[]),
            mark("samsung", "Samsung", &[]),
            mark("logitech", "Logitech", &[]),
            mark("corel", "Corel", &[]),
            mark("pf", "P-F", &[]),
            mark("jvc", "JVC", &[]),
            mark("peerless", "Peerless", &[]),
        ]
    }

    fn found(title: &str) -> Vec<(String, MatchKind)> {
        let marks = registry();
        let m = Matcher::new(&marks);
        m.find(title)
            .into_iter()
            .map(|x| (marks[x.mark].id.clone(), x.kind))
            .collect()
    }

    fn ids(title: &str) -> Vec<String> {
        let mut v: Vec<String> = found(title).into_iter().map(|x| x.0).collect();
        v.dedup();
        v
    }

    #[test]
    fn exact_mentions() {
        assert_eq!(
            found("Nike Air Max 90"),
            [("nike".into(), MatchKind::Exact)]
        );
        assert_eq!(ids("paper mate pens, 12 pack"), ["papermate"]);
        assert_eq!(ids("LG 55 inch OLED"), ["lg"]);
        assert_eq!(ids("3M tape"), ["3m"]);
    }

    #[test]
    fn look_alikes() {
        for t in [
            "N1KE shoes",
            "ＮＩＫＥ shoes",
            "NІKЕ shoes",
            "N.I.K.E shoes",
            "N I K E shoes",
            "Ni-ke shoes",
            "Ni\u{200B}ke",
            "Nïke",
        ] {
            assert_eq!(found(t), [("nike".into(), MatchKind::Confusable)], "{t}");
        }
        assert_eq!(ids("Sarnsung galaxy"), ["samsung"]);
    }

    #[test]
    fn aliases_and_pinyin() {
        assert_eq!(ids("耐克运动鞋"), ["nike"]);
        assert_eq!(ids("naike yundongxie"), ["nike"]);
        assert_eq!(ids("nai ke shoes"), ["nike"]);
        assert_eq!(ids("阿迪达斯 三叶草"), ["adidas"]);
    }

    #[test]
    fn misspellings() {
        for t in [
            "Adidaas",
            "Addidas",
            "Adiads",
            "Adidsa",
            "Adids",
            "Adidas-s",
            "Logitec mouse",
            "Logitehc",
            "Lgoitech",
            "Nikes",
            // First letters that slip (a neighbouring key, another vowel) or drop.
            "Qdidas",
            "Edidas",
            "didas",
            // Four letters: another vowel, a flipped bit, a slipped extra key.
            "Niku",
            "Nioke",
            "Nikg",
            // A letter repeated three times.
            "peeerless mount",
            "Adiiidas",
            // Any replaced letter from five letters on ("Abidas").
            "Abidas",
        ] {
            assert!(!ids(t).is_empty(), "{t} should match");
        }
        assert_eq!(found("Addidas")[0].1, MatchKind::Fuzzy);
    }

    #[test]
    fn digits_glued_to_a_mark_and_an_edit_in_a_short_word_of_several() {
        let marks = vec![
            mark("energizer", "Energizer", &[]),
            mark("plus", "Plus", &[]),
            mark("bankers-box", "Bankers Box", &[]),
        ];
        let m = Matcher::new(&marks);
        let ids = |t: &str| -> Vec<String> {
            m.find(t)
                .into_iter()
                .map(|x| marks[x.mark].id.clone())
                .collect()
        };
        assert_eq!(ids("energizer3 max alkaline batteries"), ["energizer"]);
        assert_eq!(ids("bankers boxp drawer"), ["bankers-box"]);
        // A short ordinary word glued to digits names a model.
        assert!(ids("vmax2 plus2 series screen").is_empty());
        // Both words edited: the short one does not take an edit then.
        assert!(ids("bankors boxp drawer").is_empty());
    }

    #[test]
    fn hard_negatives_stay_quiet() {
        for t in [
            "casino night",
            "phone case",
            "netbook sleeve",
            "vantec cable",
            "paper matte finish",
            "can on the shelf",
            "mike shoes",
            "LGA 1151 socket",
            "Nikon camera",
            "snikers",
            // Four letters: a consonant replaced, a letter added.
            "Nikr",
            "Nikex",
            "Nirke",
            // Five: the first letter replaced by one neither near nor a vowel.
            "Tanon printer",
            "Banon camera",
            // A spaced-out mention ends where a word ends.
            "intel core i5-2410m",
            // A short mark glued to a model number.
            "privacy filter pf15 .6 w",
        ] {
            assert!(ids(t).is_empty(), "{t} matched {:?}", ids(t));
        }
    }

    #[test]
    fn a_misspelling_that_is_another_known_brand_is_that_brand() {
        let marks = vec![
            mark("kinetix", "Kinetix", &[]),
            mark("altrex", "Altrex", &[]),
        ];
        let known = KnownBrands::empty().with_names(["Kinetex", "Alterex"]);
        let m = Matcher::with_known_brands(&marks, known);
        assert!(m.find("Kinetex 70-1721 wiring harness").is_empty());
        assert!(m.find("alterex task chair").is_empty());
        // Other misspellings, exact mentions and look-alikes still count.
        assert_eq!(m.find("Kinettix harness")[0].kind, MatchKind::Fuzzy);
        assert_eq!(m.find("Altrex ladder")[0].kind, MatchKind::Exact);
        assert_eq!(m.find("Кinetix harness")[0].kind, MatchKind::Confusable);
        // A known brand that is a registered mark is that mark.
        let known = KnownBrands::empty().with_names(["Kinettix", "Kinetix"]);
        let m = Matcher::with_known_brands(&marks, known);
        assert!(m.find("Kinettix harness").is_empty());
        assert_eq!(m.find("Kinetix harness").len(), 1);
    }

    #[test]
    fn a_misspelling_inside_a_longer_known_brand_is_that_brand() {
        let marks = vec![mark("palm", "Palm", &[]), mark("altec", "Antec", &[])];
        let known = KnownBrands::empty().with_names(["Palo Alto Software", "Altec Lansing"]);
        let m = Matcher::with_known_brands(&marks, known);
        // The known name is read across the words around the misspelling, and
        // without the trade word that ends it.
        assert!(m.find("palo alto business plan pro 2007").is_empty());
        assert!(m.find("new altec lansing speaker").is_empty());
        // The same misspelling elsewhere still counts.
        assert_eq!(m.find("palo handheld stylus").len(), 1);
        assert_eq!(m.find("altec fan 120mm").len(), 1);
    }

    #[test]
    fn a_mark_glued_to_a_word_is_the_brand_the_marketplace_declares() {
        use crate::text::census::DeclaredBrands;
        let marks = vec![mark("zentrix", "Zentrix", &[])];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        let title = "ZentrixPower 4-section tripod";
        let f = fold(title);
        let found = m.find(title);
        assert_eq!(found.len(), 1);
        assert!(found[0].glued && found[0].kind == MatchKind::Exact);
        // Declared by the listing: that brand.
        let mut v = found.clone();
        m.excuse_other_brands(&f, &mut v, Some("ZentrixPower Inc."), &NoCensus);
        assert!(v.is_empty());
        // Declared by two sellers of the marketplace: that brand in every listing.
        let mut census = DeclaredBrands::new();
        census.add("Zentrixpower", 1);
        let mut v = found.clone();
        m.excuse_other_brands(&f, &mut v, None, &census);
        assert_eq!(v.len(), 1, "one seller decides for its own listings only");
        census.add("ZENTRIXPOWER", 2);
        m.excuse_other_brands(&f, &mut v, None, &census);
        assert!(v.is_empty());
        // The mark as its own word is the mark, whoever declares what.
        let apart = "Zentrix power adapter";
        let mut v = m.find(apart);
        m.excuse_other_brands(&fold(apart), &mut v, Some("ZentrixPower"), &census);
        assert_eq!(v.len(), 1);
        assert!(!v[0].glued);
        // General lists name marks' own product lines: not consulted for glued words.
        let listed = KnownBrands::empty().with_names(["ZentrixPower"]);
        assert_eq!(
            Matcher::with_known_brands(&marks, listed).find(title).len(),
            1
        );
        // Switched off, the glued mark counts whatever is declared.
        let rules = Rules {
            glued_brands: false,
            ..Rules::default()
        };
        let off = Matcher::with_rules(&marks, KnownBrands::empty(), rules);
        let mut v = off.find(title);
        off.excuse_other_brands(&f, &mut v, Some("ZentrixPower"), &census);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn the_spellings_a_title_writes_are_its_misspelt_and_glued_words() {
        let marks = vec![mark("zentrix", "Zentrix", &[]), mark("metro", "Metro", &[])];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        let title = "ZentrixPower charger for metra dash kit";
        let f = fold(title);
        let found = m.find_in_context(
            title,
            &f,
            &ListingContext {
                declared_brand: None,
                code_words: true,
            },
        );
        assert_eq!(found.len(), 2);
        // No declared brand: both written, neither declared.
        assert_eq!(
            m.spellings(&f, &found, None),
            [
                ("zentrixpower".to_string(), false),
                ("metra".to_string(), false)
            ]
        );
        // A declared brand keeps the spellings it names, declared.
        assert_eq!(
            m.spellings(&f, &found, Some("Metra Electronics")),
            [("metra".to_string(), true)]
        );
        // Only by the words its name starts with: "metra" is no spelling of
        // "Zentrix Metra Audio" (a later word may be a mark's plural, "brothers" of
        // "Write Brothers").
        assert!(m
            .spellings(&f, &found, Some("Zentrix Metra Audio"))
            .is_empty());
        assert_eq!(
            declared_heads("Metra Electronics"),
            ["metra", "metraelectronics"]
        );
        assert!(declared_heads("LG").is_empty() && declared_heads("").is_empty());
        // An exact mention is no spelling.
        let exact = "Metro dash kit";
        assert!(m.spellings(&fold(exact), &m.find(exact), None).is_empty());
    }

    #[test]
    fn one_word_of_a_multi_word_mark_does_not_misspell_it() {
        let marks = vec![mark("pc-pitstop", "PC Pitstop", &[])];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        assert!(m.find("pitstop pro 7.0 upgrade").is_empty());
        // Its misspellings, glued or apart, still count.
        assert_eq!(m.find("pcpitstpo utilities").len(), 1);
        assert_eq!(m.find("pc pitsop utilities").len(), 1);
    }

    #[test]
    fn the_declared_brand_names_the_title_word_spelt_like_it() {
        let marks = vec![mark("kinetix", "Kinetix", &[])];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        let title = "Kinetex 70-1721 wiring harness";
        let f = fold(title);
        let declared = ListingContext {
            declared_brand: Some("Kinetex Electronics"),
            code_words: false,
        };
        assert!(m.find_in_context(title, &f, &declared).is_empty());
        // Code words in the listing: no excuse.
        let suspicious = ListingContext {
            code_words: true,
            ..declared
        };
        assert_eq!(m.find_in_context(title, &f, &suspicious).len(), 1);
        assert_eq!(m.find(title).len(), 1);
    }

    #[test]
    fn marks_that_are_ordinary_words_are_not_inflected() {
        let marks = vec![mark("case", "Case", &[]), mark("shell", "Shell", &[])];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        assert!(m.find("jewel cases, 12 pack").is_empty());
        // The plural of a word that is no product name is found (the scorer keeps it
        // below the suspect threshold without context).
        assert_eq!(m.find("shells and sand").len(), 1);
        // A misspelling that is no word is still the mark's.
        assert_eq!(m.find("Shwll oil").len(), 1);
        let m2 = Matcher::with_known_brands(&[mark("cb", "Camera Bag", &[])], KnownBrands::empty());
        assert!(m2.find("digital camera bags").is_empty());
        let m3 =
            Matcher::with_known_brands(&[mark("cf", "Copper Finch", &[])], KnownBrands::empty());
        assert_eq!(m3.find("copper finches").len(), 1);
        // A product noun with no plural in standard English: the "s" is added to
        // the mark's name.
        let m4 = Matcher::with_known_brands(
            &[mark("is", "Individual Software", &[])],
            KnownBrands::empty(),
        );
        assert_eq!(m4.find("individual softwares typing tutor").len(), 1);
        assert!(uncountable("footwear") && uncountable("furniture") && !uncountable("bag"));
        // As written they are still found (the scorer weighs them).
        assert_eq!(m.find("Case knife")[0].kind, MatchKind::Exact);
        // Switched off, the plural counts again.
        let rules = Rules {
            ordinary_word_marks: false,
            ..Rules::default()
        };
        let m = Matcher::with_rules(&marks, KnownBrands::empty(), rules);
        assert_eq!(m.find("jewel cases").len(), 1);
    }

    #[test]
    fn a_mark_ending_in_a_plural_noun_is_not_found_in_the_singular() {
        let marks = vec![
            mark("tpu", "TPU Cases", &[]),
            mark("zx", "Zentrix Boxes", &[]),
        ];
        let m = Matcher::with_known_brands(&marks, KnownBrands::empty());
        assert!(m.find("ipad 2 red tpu case").is_empty());
        assert!(m.find("zentrix box of 12").is_empty());
        // Other misspellings, and the mark as written, still count.
        assert_eq!(m.find("ipad tpu cqses").len(), 1);
        assert_eq!(m.find("ipad tpu cases")[0].kind, MatchKind::Exact);
        // Switched off, the singular is the omission typo it also is.
        let rules = Rules {
            noun_number: false,
            ..Rules::default()
        };
        let off = Matcher::with_rules(&marks, KnownBrands::empty(), rules);
        assert_eq!(off.find("ipad 2 red tpu case").len(), 1);
    }

    #[test]
    fn singulars_follow_the_spelling_rules_and_the_dictionary() {
        assert_eq!(singular_of("cases").as_deref(), Some("case"));
        assert_eq!(singular_of("boxes").as_deref(), Some("box"));
        assert_eq!(singular_of("batteries").as_deref(), Some("battery"));
        assert_eq!(singular_of("glass"), None);
        assert_eq!(singular_of("bias"), None);
        assert_eq!(singular_of("zentrixes"), None);
        assert_eq!(singular_of("case"), None);
        assert_eq!(singular_of(""), None);
    }

    #[test]
    fn a_key_beside_the_first_letter_struck_in_front_is_a_typo() {
        assert_eq!(ids("sadidas shoes"), ["adidas"]);
        assert_eq!(ids("uiphone case"), ["iphone"]);
        // Not beside it: another coinage.
        assert!(ids("vantec cable").is_empty());
        assert!(ids("padidas").is_empty());
    }

    #[test]
    fn one_digit_inside_a_word_is_a_typo() {
        assert_eq!(ids("adi9das shoes"), ["adidas"]);
        assert_eq!(ids("cas1io watch"), ["casio"]);
        // Two digits, or a digit at the end, make a model code.
        assert!(ids("ad19das").is_empty());
        assert!(typo_digit("so9ny") && !typo_digit("sony9") && !typo_digit("s9n8y"));
    }

    #[test]
    fn short_marks_match_whole_tokens_only() {
        assert!(ids("lgx cable").is_empty());
        assert!(ids("l g monitor").is_empty());
        assert!(ids("lg15 cable").is_empty());
        assert!(ids("3-m-5 part").is_empty());
        // Written apart with punctuation, letter by letter, they are the mark.
        assert_eq!(ids("J.V.C receiver"), ["jvc"]);
        assert_eq!(ids("3-M tape"), ["3m"]);
        assert_eq!(ids("jv-c receiver"), ["jvc"]);
    }

    #[test]
    fn keyboard_neighbours() {
        assert!(adjacent_keys('a', 'q') && adjacent_keys('q', 'a'));
        assert!(adjacent_keys('s', 'e') && adjacent_keys('b', 'h'));
        assert!(adjacent_keys('k', 'l') && adjacent_keys('m', 'k'));
        assert!(!adjacent_keys('a', 'e') && !adjacent_keys('z', 'd'));
        assert!(!adjacent_keys('c', 'j') && !adjacent_keys('a', '9'));
        // The number row, and the AZERTY and QWERTZ neighbours of dnstwist's tables.
        assert!(adjacent_keys('o', '0') && adjacent_keys('a', '1') && adjacent_keys('s', 'q'));
        assert!(adjacent_keys('t', 'z'));
    }

    #[test]
    fn compounds_with_digits_or_words() {
        assert_eq!(ids("nike2024 sneakers"), ["nike"]);
        assert_eq!(ids("nikeshoes"), ["nike"]);
    }

    #[test]
    fn match_offsets_point_at_the_text_as_written() {
        let marks = registry();
        let m = Matcher::new(&marks);
        let title = "Original ＮＩＫＥ shoes";
        let x = &m.find(title)[0];
        assert_eq!(&title[x.start..x.end], "ＮＩＫＥ");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn spaced(name: &str, sep: &str) -> String {
            name.chars().map(String::from).collect::<Vec<_>>().join(sep)
        }

        proptest! {
            /// A mark always matches itself, in any casing, width or spacing.
            #[test]
            fn a_mark_matches_itself(name in "[a-z]{4,12}", case in any::<u64>(), sep in prop::sample::select(vec![" ", ".", "-", "*", "_"])) {
                // Names have no letter three times in a row (the folding cuts such runs).
                prop_assume!(!name.as_bytes().windows(3).any(|w| w[0] == w[1] && w[1] == w[2]));
                let marks = vec![mark("m", &name, &[])];
                let m = Matcher::new(&marks);
                let cased: String = name
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if case >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                    .collect();
                let wide: String = cased.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
                for title in [
                    format!("{cased} shoes"),
                    format!("new {wide} bag"),
                    format!("{} watch", spaced(&cased, sep)),
                    format!("buy {}\u{200B}{}", &cased[..2], &cased[2..]),
                ] {
                    let found = m.find(&title);
                    prop_assert!(found.iter().any(|x| x.mark == 0), "{:?} not found in {:?}", name, title);
                }
            }

            /// Matching never panics, and every match lies on character boundaries of
            /// the title.
            #[test]
            fn matches_are_slices_of_the_title(title in "\\PC{0,80}") {
                let marks = registry();
                let m = Matcher::new(&marks);
                for x in m.find(&title) {
                    prop_assert!(x.start < x.end && x.end <= title.len());
                    prop_assert!(title.is_char_boundary(x.start) && title.is_char_boundary(x.end));
                }
            }
        }
    }
}
