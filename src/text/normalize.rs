//! Folding a title into tokens and match keys.
//!
//! One pass over the text produces, for each token (a run of letters and digits, or a
//! run of Chinese, Japanese or Korean characters), three forms:
//!
//! * the **plain** form: NFKD compatibility decomposition (full-width and ligatures to
//!   ASCII), combining marks (diacritics) removed, lower case, and every non-ASCII
//!   letter of another script replaced by its Unicode TR39 confusable prototype when
//!   that prototype is ASCII ("ı" becomes "i", "ℂ" "c"). Zero-width and bidi
//!   control characters are dropped. The plain form is what a dictionary is asked.
//!   Letters TR39 leaves alone are looked up in dnstwist's glyph table
//!   (`data/glyphs/dnstwist.tsv`, the look-alikes its homoglyph fuzzer writes: "ɑ",
//!   "ł", "ᴄ", "ƅ"). Cyrillic and Greek letters are judged with their word: a word
//!   written in Cyrillic or Greek letters that all have a Latin twin, or mixing them
//!   with Latin letters, is transliterated whole (TR39's prototypes, then
//!   dnstwist's Latin-to-Cyrillic table and the Greek look-alikes below: "к", "м",
//!   "т", "κ", "η" have no ASCII prototype in TR39 because their shapes differ in
//!   some fonts, yet "сіѕсо" and "ѕамѕunԍ" are read as Latin). A Russian or Greek
//!   word with a letter that has no Latin twin ("мир", "привет") keeps all its
//!   letters. Words are judged on the folded text, as tokens are cut, so that
//!   folding a key again gives the same key.
//! * the **key**: the plain form with leetspeak undone ("N1KE", "@didas", "Adida$")
//!   when the token has at least two letters, and the look-alike pairs that survive
//!   plain folding merged: `l`/`i`/`1`/`|`/`!` to `i`, `0` to `o`, `rn` to `m`, `vv`
//!   to `w`. Marks and titles go through the same folding, so comparing keys is
//!   comparing skeletons.
//! * the **flags**: which evasions the folding undid (full-width, homoglyph, leet,
//!   diacritics, invisible characters), so a finding can say why it matched.
//!
//! Separators between tokens are remembered (whitespace, punctuation, or none at a
//! change of script) so that a spaced-out or dotted name ("N I K E", "N.I.K.E",
//! "Ni-ke") can be put back together by the matcher. Every key byte maps back to a
//! byte of the original text, so a match can be highlighted as written.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The folding undid a full-width or other compatibility form ("ＮＩＫＥ", "ﬁ").
pub const FLAG_COMPAT: u8 = 1;
/// The folding replaced a letter of another script by its Latin look-alike.
pub const FLAG_HOMOGLYPH: u8 = 1 << 1;
/// Digits or symbols stood for letters ("N1KE", "@didas").
pub const FLAG_LEET: u8 = 1 << 2;
/// Diacritics were removed ("Nïke").
pub const FLAG_DIACRITIC: u8 = 1 << 3;
/// Zero-width or bidi control characters were removed.
pub const FLAG_INVISIBLE: u8 = 1 << 4;
/// A letter repeated three times or more was cut to two in the fuzzy key ("Niiike").
pub const FLAG_REPEAT: u8 = 1 << 5;

/// What stands between a token and the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sep {
    /// Nothing: the first token, or a change of script ("耐克nike").
    None,
    /// White space only.
    Space,
    /// Punctuation inside a word: `.`, `-`, `_`, `·`, `/`, `*` and the like, with or
    /// without white space around it.
    Punct,
}

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters, possibly with digits or leet symbols.
    Word,
    /// Digits only (a number, a model number's digits).
    Number,
    /// Chinese, Japanese or Korean characters, matched without word boundaries.
    Cjk,
}

/// One token of a folded text.
#[derive(Debug, Clone)]
pub struct Token {
    /// Byte range in the original text.
    pub start: usize,
    /// End of the byte range in the original text.
    pub end: usize,
    /// Byte range of the token's key in [`Folded::key`].
    pub key_start: usize,
    /// End of the key range.
    pub key_end: usize,
    /// Byte range of the fuzzy key in [`Folded::fkey`].
    pub fkey_start: usize,
    /// End of the fuzzy key range.
    pub fkey_end: usize,
    /// Byte range of the plain form in [`Folded::plain`].
    pub plain_start: usize,
    /// End of the plain range.
    pub plain_end: usize,
    /// Letters, number or CJK.
    pub kind: TokenKind,
    /// Evasions undone inside this token (`FLAG_*`).
    pub flags: u8,
    /// The separator before the token.
    pub sep_before: Sep,
    /// Number of characters in the key.
    pub key_chars: usize,
}

/// A text folded into tokens, with its concatenated keys and plain forms.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    /// All token keys, concatenated without separators.
    pub key: String,
    /// Original byte offset for each byte of `key` (and one past the end).
    pub key_origin: Vec<u32>,
    /// All plain forms, concatenated without separators.
    pub plain: String,
    /// All fuzzy keys concatenated: like `key` with leetspeak undone but without the
    /// look-alike merges (`l`/`i`, `rn`/`m`), so that edit distances count real
    /// letters ("siig" stays two edits from "slik").
    pub fkey: String,
    /// The tokens, in text order.
    pub tokens: Vec<Token>,
}

impl Folded {
    /// The plain form of token `i`.
    pub fn plain_of(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.plain[t.plain_start..t.plain_end]
    }

    /// The fuzzy key of token `i`.
    pub fn fkey_of(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.fkey[t.fkey_start..t.fkey_end]
    }

    /// The key of token `i`.
    pub fn key_of(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.key[t.key_start..t.key_end]
    }

    /// The index of the token whose key starts at byte `pos` of [`Folded::key`].
    pub fn token_starting_at(&self, pos: usize) -> Option<usize> {
        self.tokens
            .binary_search_by(|t| t.key_start.cmp(&pos))
            .ok()
            .filter(|&i| self.tokens[i].key_end > self.tokens[i].key_start)
    }

    /// The index of the token whose key contains byte `pos`.
    pub fn token_containing(&self, pos: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|t| t.key_end <= pos);
        (i < self.tokens.len() && self.tokens[i].key_start <= pos).then_some(i)
    }
}

/// The class of one folded character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Cjk,
    /// `@ $ ! |`: a letter when it sits inside a word.
    Leet,
    Space,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    c: char,
    /// The character `c` was folded from (after compatibility decomposition): a
    /// Cyrillic or Greek letter keeps it until its word is judged.
    orig: char,
    class: Class,
    start: u32,
    end: u32,
    flags: u8,
}

/// Folds `text` into tokens. Never fails; any input gives some (possibly empty) result.
pub fn fold(text: &str) -> Folded {
    let units = units(text);
    tokens_from_units(&units, true)
}

/// [`fold`] without merging `rn` into `m` and `vv` into `w`: the key a name has when
/// its letters are written apart ("r n" cannot merge across a space).
pub fn fold_unmerged(text: &str) -> Folded {
    let units = units(text);
    tokens_from_units(&units, false)
}

/// True for characters that render as nothing: zero-width spaces and joiners, bidi
/// controls, soft hyphens, variation selectors, tag characters.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
    ) || ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || ('\u{E0100}'..='\u{E01EF}').contains(&c)
        || (!c.is_ascii() && c.general_category() == GeneralCategory::Format)
}

/// True for Han, Hiragana, Katakana and Hangul characters: scripts written without
/// spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x1100..=0x11FF    // Hangul Jamo
        | 0x3130..=0x318F    // Hangul compatibility Jamo
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F  // CJK Extensions B..F, compatibility supplement
    )
}

fn class_of(c: char) -> Class {
    if c.is_ascii_digit() {
        Class::Digit
    } else if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphabetic() {
        Class::Letter
    } else if matches!(c, '@' | '$' | '!' | '|' | '€') {
        Class::Leet
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Punct
    }
}

/// Folds each character of `text` into zero or more units.
fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(text.len());
    for (start, c) in text.char_indices() {
        let end = (start + c.len_utf8()) as u32;
        let start = start as u32;
        if c.is_ascii() {
            let lc = c.to_ascii_lowercase();
            out.push(Unit {
                c: lc,
                orig: lc,
                class: class_of(lc),
                start,
                end,
                flags: 0,
            });
            continue;
        }
        if is_invisible(c) {
            // An invisible character inside a word leaves the word whole; the flag
            // goes on the unit before it so the token records the evasion.
            if let Some(prev) = out.last_mut() {
                prev.flags |= FLAG_INVISIBLE;
            }
            continue;
        }
        if is_cjk(c) {
            // NFKC maps compatibility ideographs and half-width kana to their usual
            // forms and keeps voiced kana composed; a spacing mark's space is dropped.
            for d in c.nfkc().filter(|d| !d.is_whitespace()) {
                out.push(Unit {
                    c: d,
                    orig: d,
                    class: Class::Cjk,
                    start,
                    end,
                    flags: 0,
                });
            }
            continue;
        }
        fold_non_ascii(c, start, end, &mut out);
    }
    if !text.is_ascii() && out.iter().any(|u| is_foreign_letter(u.c)) {
        out = transliterate_look_alike_words(out);
    }
    out
}

/// The look-alike tables of dnstwist (see `data/glyphs/`): for each glyph, the Latin
/// letters it imitates and whether it is a Cyrillic letter (used only inside a
/// look-alike word) or another Latin-like glyph (used everywhere).
static GLYPHS: std::sync::LazyLock<rustc_hash::FxHashMap<char, (&'static str, bool)>> =
    std::sync::LazyLock::new(|| {
        let mut map = rustc_hash::FxHashMap::default();
        for line in include_str!("../../data/glyphs/dnstwist.tsv").lines() {
            let mut cols = line.split('\t');
            let (Some(g), Some(letters), Some(table)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let mut gc = g.chars();
            let (Some(c), None) = (gc.next(), gc.next()) else {
                continue;
            };
            if c.is_ascii() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
                continue;
            }
            match table {
                "unicode" => {
                    map.entry(c).or_insert((letters, false));
                }
                "cyrillic" => {
                    map.insert(c, (letters, true));
                }
                _ => {}
            }
        }
        for &(c, l) in GREEK_LOOK_ALIKES {
            map.insert(c, (l, true));
        }
        map
    });

/// Small Greek letters whose shape reads as a Latin letter in common fonts (the
/// capitals mostly have TR39 prototypes already). Written here from the Greek
/// alphabet; dnstwist has no Greek table.
const GREEK_LOOK_ALIKES: &[(char, &str)] = &[
    ('α', "a"),
    ('β', "b"),
    ('γ', "y"),
    ('ε', "e"),
    ('η', "n"),
    ('ι', "i"),
    ('κ', "k"),
    ('μ', "u"),
    ('ν', "v"),
    ('ο', "o"),
    ('ρ', "p"),
    ('τ', "t"),
    ('υ', "u"),
    ('χ', "x"),
    ('ω', "w"),
];

/// Cyrillic and Greek blocks: letters transliterated only inside a look-alike word.
fn is_cyrillic_or_greek(c: char) -> bool {
    matches!(c as u32, 0x0370..=0x03FF | 0x0400..=0x052F | 0x1F00..=0x1FFF)
}

/// True when the folded letter `c` (Cyrillic or Greek) has a Latin twin: what
/// [`latin_twin`] finds, or a TR39 ASCII prototype of its capital.
fn has_latin_twin(c: char) -> bool {
    latin_twin(c).is_some()
        || c.to_uppercase()
            .next()
            .is_some_and(|u| ascii_prototype(u).is_some())
}

/// A Cyrillic or Greek letter left as it is by the first folding: one whose
/// look-alike is used only inside a look-alike word.
fn is_foreign_letter(c: char) -> bool {
    !c.is_ascii() && is_cyrillic_or_greek(c) && c.is_alphabetic()
}

/// Writes in Latin letters the words that imitate Latin ones: a word (a token, as
/// [`segments`] cuts the folded units) that holds Cyrillic or Greek letters and
/// either Latin letters too or only Cyrillic and Greek letters that all have a
/// Latin twin.
///
/// The words are judged on the folded units, not on the text, so that the same
/// letters in the same words are judged again when a token's key is folded: the
/// key is a fixed point. A digit or leet symbol inside a word counts as Latin (the
/// key may write it as a letter).
fn transliterate_look_alike_words(units: Vec<Unit>) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    let mut done = 0;
    for seg in segments(&units) {
        let Segment::Word(range) = seg else {
            continue;
        };
        let word = &units[range.clone()];
        let (mut foreign, mut latin, mut untwinned) = (false, false, false);
        for u in word {
            if is_foreign_letter(u.c) {
                foreign = true;
                untwinned |= !has_latin_twin(u.c);
            } else if u.c.is_ascii_alphanumeric() || u.class == Class::Leet {
                latin = true;
            }
        }
        if !(foreign && (latin || !untwinned)) {
            continue;
        }
        out.extend_from_slice(&units[done..range.start]);
        for u in word {
            match latin_twin(u.orig).filter(|_| is_foreign_letter(u.c)) {
                Some(twin) => out.extend(twin.into_iter().map(|p| Unit {
                    c: p,
                    class: class_of(p),
                    flags: u.flags | FLAG_HOMOGLYPH,
                    ..*u
                })),
                None => out.push(*u),
            }
        }
        done = range.end;
    }
    out.extend_from_slice(&units[done..]);
    out
}

fn fold_non_ascii(c: char, start: u32, end: u32, out: &mut Vec<Unit>) {
    let mut decomposed = false;
    let mut flags = 0;
    let mut buf = [char::default(); 8];
    let mut n = 0;
    for d in c.nfkd() {
        if is_combining_mark(d) {
            flags |= FLAG_DIACRITIC;
            continue;
        }
        if n < buf.len() {
            buf[n] = d;
            n += 1;
        }
    }
    if n == 0 {
        return;
    }
    if n != 1 || buf[0] != c {
        decomposed = true;
    }
    for &d in &buf[..n] {
        if !d.is_ascii() && !is_cjk(d) && d.is_alphabetic() {
            // A Cyrillic or Greek letter is judged with its word
            // ([`transliterate_look_alike_words`]): kept small until then.
            if is_cyrillic_or_greek(d) {
                for l in d.to_lowercase() {
                    out.push(Unit {
                        c: l,
                        orig: d,
                        class: class_of(l),
                        start,
                        end,
                        flags,
                    });
                }
                continue;
            }
            // A letter of another script that imitates a Latin one, wherever it is.
            if let Some(twin) = latin_twin(d) {
                out.extend(twin.into_iter().map(|p| Unit {
                    c: p,
                    orig: d,
                    class: class_of(p),
                    start,
                    end,
                    flags: flags | FLAG_HOMOGLYPH,
                }));
                continue;
            }
        }
        for l in d.to_lowercase() {
            let ascii = l.is_ascii();
            let f = if ascii && decomposed && flags & FLAG_DIACRITIC == 0 {
                flags | FLAG_COMPAT
            } else {
                flags
            };
            out.push(Unit {
                c: l,
                orig: d,
                class: if is_cjk(l) { Class::Cjk } else { class_of(l) },
                start,
                end,
                flags: f,
            });
        }
    }
}

/// The Latin letters (or digits) the letter `d` imitates: its TR39 prototype when
/// that is plain ASCII, the capital asked first (Cyrillic "К" imitates "K", while
/// its small "к" has no ASCII prototype); otherwise the entry of the look-alike
/// tables.
fn latin_twin(d: char) -> Option<Vec<char>> {
    let small = d.to_lowercase().next().unwrap_or(d);
    if let Some((proto, m)) = ascii_prototype(d).or_else(|| ascii_prototype(small)) {
        return Some(proto[..m].to_vec());
    }
    GLYPHS
        .get(&small)
        .map(|&(letters, _)| letters.chars().collect())
}

/// The TR39 confusable prototype of `c`, lower-cased, when it is one to four ASCII
/// letters or digits.
fn ascii_prototype(c: char) -> Option<([char; 4], usize)> {
    let mut proto = [char::default(); 4];
    let mut m = 0;
    let mut s = [0u8; 4];
    for p in unicode_security::skeleton(c.encode_utf8(&mut s)) {
        if !p.is_ascii_alphanumeric() || m == proto.len() {
            return None;
        }
        proto[m] = p.to_ascii_lowercase();
        m += 1;
    }
    (m > 0).then_some((proto, m))
}

fn is_wordish(class: Class) -> bool {
    matches!(class, Class::Letter | Class::Digit)
}

/// The letter a digit or symbol stands for inside a word.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '2' => 'z',
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '6' => 'g',
        '7' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

struct Builder {
    folded: Folded,
    merge_pairs: bool,
}

impl Builder {
    fn push_token(&mut self, units: &[Unit], kind: TokenKind, sep_before: Sep) {
        let f = &mut self.folded;
        let key_start = f.key.len();
        let plain_start = f.plain.len();
        let fkey_start = f.fkey.len();
        let letters = units.iter().filter(|u| u.class == Class::Letter).count();
        let use_leet = kind == TokenKind::Word && letters >= 2;
        let mut flags = 0;
        let mut key_chars = 0;
        let mut prev_key: Option<char> = None;
        for u in units {
            flags |= u.flags;
            if u.class != Class::Leet {
                f.plain.push(u.c);
            }
            let mut k = u.c;
            if use_leet && matches!(u.class, Class::Digit | Class::Leet) {
                if let Some(l) = leet(u.c) {
                    k = l;
                    flags |= FLAG_LEET;
                }
            }
            // No name has a letter three times in a row: a longer run is padding
            // ("Niiike", "Zentrixxxx") and is cut to two in the fuzzy key, on marks
            // and titles alike, so that the padding costs one edit at most.
            if ends_with_pair(&f.fkey[fkey_start..], k) {
                flags |= FLAG_REPEAT;
            } else {
                f.fkey.push(k);
            }
            if k == 'l' {
                k = 'i';
            }
            // Merge the two-letter look-alikes: "rn" reads as "m", "vv" as "w".
            let merged = match (prev_key.filter(|_| self.merge_pairs), k) {
                (Some('r'), 'n') => Some('m'),
                (Some('v'), 'v') => Some('w'),
                _ => None,
            };
            if let Some(m) = merged {
                // Both are ASCII: the merged letter takes the first one's byte and
                // origin.
                f.key.pop();
                f.key.push(m);
                prev_key = None;
                continue;
            }
            let before = f.key.len();
            f.key.push(k);
            for _ in before..f.key.len() {
                f.key_origin.push(u.start);
            }
            key_chars += 1;
            prev_key = Some(k);
        }
        let (start, end) = (units[0].start as usize, units[units.len() - 1].end as usize);
        f.tokens.push(Token {
            start,
            end,
            key_start,
            key_end: f.key.len(),
            plain_start,
            plain_end: f.plain.len(),
            fkey_start,
            fkey_end: f.fkey.len(),
            kind,
            flags,
            sep_before,
            key_chars,
        });
    }
}

/// One piece of folded text: a word (letters, digits and the leet symbols inside
/// it), a CJK run, or a separator.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Word(std::ops::Range<usize>),
    Cjk(std::ops::Range<usize>),
    Sep(Sep),
}

/// Cuts folded units into words, CJK runs and separators: the tokens of [`fold`].
fn segments(units: &[Unit]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = units.len();
    while i < n {
        let u = units[i];
        match u.class {
            Class::Space => {
                out.push(Segment::Sep(Sep::Space));
                i += 1;
            }
            Class::Punct => {
                out.push(Segment::Sep(Sep::Punct));
                i += 1;
            }
            Class::Leet if !starts_word(units, i) => {
                out.push(Segment::Sep(Sep::Punct));
                i += 1;
            }
            Class::Cjk => {
                let j = run_end(units, i, |u| u.class == Class::Cjk);
                out.push(Segment::Cjk(i..j));
                i = j;
            }
            _ => {
                // A word: letters, digits, and leet symbols inside it.
                let mut j = i;
                while j < n {
                    let c = units[j].class;
                    if is_wordish(c) || (c == Class::Leet && inside_word(units, i, j)) {
                        j += 1;
                    } else {
                        break;
                    }
                }
                out.push(Segment::Word(i..j));
                i = j;
            }
        }
    }
    out
}

fn tokens_from_units(units: &[Unit], merge_pairs: bool) -> Folded {
    let mut b = Builder {
        folded: Folded {
            key: String::with_capacity(units.len()),
            key_origin: Vec::with_capacity(units.len() + 1),
            plain: String::with_capacity(units.len()),
            fkey: String::with_capacity(units.len()),
            tokens: Vec::new(),
        },
        merge_pairs,
    };
    let mut sep = Sep::None;
    for seg in segments(units) {
        match seg {
            // A punctuation mark outweighs spaces beside it.
            Segment::Sep(Sep::Space) if sep == Sep::None => sep = Sep::Space,
            Segment::Sep(Sep::Punct) => sep = Sep::Punct,
            Segment::Sep(_) => {}
            Segment::Cjk(r) => {
                b.push_token(&units[r], TokenKind::Cjk, sep);
                sep = Sep::None;
            }
            Segment::Word(r) => {
                let kind = if units[r.clone()].iter().any(|u| u.class == Class::Letter) {
                    TokenKind::Word
                } else {
                    TokenKind::Number
                };
                b.push_token(&units[r], kind, sep);
                sep = Sep::None;
            }
        }
    }
    let end = units.last().map_or(0, |u| u.end);
    b.folded.key_origin.push(end);
    b.folded
}

/// True when `key` ends with `c` twice and `c` is a letter: pushing it again would
/// make a run of three.
fn ends_with_pair(key: &str, c: char) -> bool {
    let mut it = key.chars().rev();
    c.is_alphabetic() && it.next() == Some(c) && it.next() == Some(c)
}

fn run_end(units: &[Unit], from: usize, pred: impl Fn(&Unit) -> bool) -> usize {
    let mut j = from;
    while j < units.len() && pred(&units[j]) {
        j += 1;
    }
    j
}

/// A leet symbol starts a word when a letter or digit follows it, possibly after
/// more leet symbols ("@didas", "$@m$ung").
fn starts_word(units: &[Unit], i: usize) -> bool {
    units[i + 1..]
        .iter()
        .find(|u| u.class != Class::Leet)
        .is_some_and(|u| is_wordish(u.class))
}

/// A leet symbol at `j` belongs to the word that began at `start` when a letter or
/// digit follows it, or, for `$` and `@`, when letters precede it ("Adida$").
fn inside_word(units: &[Unit], start: usize, j: usize) -> bool {
    if starts_word(units, j) {
        return true;
    }
    matches!(units[j].c, '$' | '@')
        && j > start
        && units[start..j]
            .iter()
            .filter(|u| u.class == Class::Letter)
            .count()
            >= 2
}

/// The human-readable names of the evasions in `flags`.
pub fn describe_flags(flags: u8) -> Vec<&'static str> {
    let mut out = Vec::new();
    if flags & FLAG_HOMOGLYPH != 0 {
        out.push("homoglyph");
    }
    if flags & FLAG_COMPAT != 0 {
        out.push("full-width");
    }
    if flags & FLAG_LEET != 0 {
        out.push("leet");
    }
    if flags & FLAG_DIACRITIC != 0 {
        out.push("diacritics");
    }
    if flags & FLAG_INVISIBLE != 0 {
        out.push("invisible characters");
    }
    if flags & FLAG_REPEAT != 0 {
        out.push("repeated letters");
    }
    out
}

/// The key of a whole text: every token key concatenated. Idempotent: folding a key
/// gives the same key.
pub fn key_of(text: &str) -> String {
    fold(text).key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        let f = fold(text);
        (0..f.tokens.len())
            .map(|i| f.key_of(i).to_string())
            .collect()
    }

    #[test]
    fn ascii_is_lower_cased_and_split_on_separators() {
        assert_eq!(keys("Nike Air-Max 90"), ["nike", "air", "max", "90"]);
    }

    #[test]
    fn full_width_folds_to_ascii() {
        let f = fold("ＮＩＫＥ");
        assert_eq!(f.key, "nike");
        assert_ne!(f.tokens[0].flags & FLAG_COMPAT, 0);
    }

    #[test]
    fn cyrillic_look_alikes_fold_to_latin() {
        // Cyrillic А and Е among Latin letters.
        let f = fold("Аdidas NІKЕ");
        assert_eq!(key_of("Коrvello ТRЕVАLLIОN"), "korveiiotrevaiiion");
        assert_eq!(keys("Аdidas NІKЕ"), ["adidas", "nike"]);
        assert_ne!(f.tokens[0].flags & FLAG_HOMOGLYPH, 0);
    }

    #[test]
    fn dnstwist_glyphs_fold_to_latin() {
        // Latin-extended and IPA look-alikes without a TR39 prototype or a
        // decomposition.
        assert_eq!(key_of("ɑdidɑs"), "adidas");
        assert_eq!(key_of("Ƅose"), "bose");
        let f = fold("ɑdidɑs");
        assert_ne!(f.tokens[0].flags & FLAG_HOMOGLYPH, 0);
    }

    #[test]
    fn words_in_cyrillic_look_alikes_are_transliterated_whole() {
        // Every letter Cyrillic, each with a Latin twin (к, м, т have no TR39
        // prototype).
        assert_eq!(key_of("ѕамѕunԍ"), "samsung");
        assert_eq!(key_of("коdак"), "kodak");
        assert_eq!(key_of("ηικε"), "nike");
        // A Russian word with letters that have no Latin twin keeps them.
        assert_eq!(key_of("мир"), "мир");
        assert_eq!(key_of("привет"), "привет");
        // Greek capitals imitate Latin capitals.
        assert_eq!(key_of("ΝΙΚΕ"), "nike");
    }

    #[test]
    fn diacritics_are_removed() {
        let f = fold("Nïké");
        assert_eq!(f.key, "nike");
        assert_ne!(f.tokens[0].flags & FLAG_DIACRITIC, 0);
    }

    #[test]
    fn zero_width_and_bidi_controls_vanish_inside_a_word() {
        let f = fold("Ni\u{200B}ke \u{202E}Sony\u{202C}");
        assert_eq!(keys("Ni\u{200B}ke \u{202E}Sony\u{202C}"), ["nike", "sony"]);
        assert_ne!(f.tokens[0].flags & FLAG_INVISIBLE, 0);
    }

    #[test]
    fn leet_is_undone_inside_words_only() {
        assert_eq!(
            keys("N1KE 4d1d45 @didas Adida$"),
            ["nike", "adidas", "adidas", "adidas"]
        );
        assert_eq!(keys("$@m$ung"), ["samsung"]);
        // Numbers stay numbers; a trailing "!" is punctuation.
        assert_eq!(keys("1500 Nike!"), ["1500", "nike"]);
        let f = fold("N1KE");
        assert_ne!(f.tokens[0].flags & FLAG_LEET, 0);
    }

    #[test]
    fn look_alike_pairs_merge_in_the_key() {
        assert_eq!(key_of("Sarnsung"), "samsung");
        assert_eq!(key_of("Vvolf"), "woif");
        assert_eq!(key_of("Casl0"), "casio");
        assert_eq!(fold("Sarnsung Casl0").fkey, "sarnsungcaslo");
    }

    #[test]
    fn runs_of_three_letters_are_cut_to_two() {
        let f = fold("Niiike Zentrixxxx Apple");
        assert_eq!(f.fkey, "niikezentrixxapple");
        assert_ne!(f.tokens[0].flags & FLAG_REPEAT, 0);
        assert_eq!(f.tokens[2].flags & FLAG_REPEAT, 0);
    }

    #[test]
    fn plain_form_keeps_digits_and_letters() {
        let f = fold("N1KE");
        assert_eq!(f.plain_of(0), "n1ke");
    }

    #[test]
    fn cjk_runs_are_tokens_of_their_own() {
        let f = fold("耐克nike运动鞋 高仿");
        let kinds: Vec<_> = f.tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                TokenKind::Cjk,
                TokenKind::Word,
                TokenKind::Cjk,
                TokenKind::Cjk
            ]
        );
        assert_eq!(f.key_of(0), "耐克");
    }

    #[test]
    fn separators_are_recorded() {
        let f = fold("N.I.K.E shoes");
        assert_eq!(f.tokens.len(), 5);
        assert_eq!(f.tokens[1].sep_before, Sep::Punct);
        assert_eq!(f.tokens[4].sep_before, Sep::Space);
    }

    #[test]
    fn key_bytes_map_back_to_the_original() {
        let text = "buy ＮＩＫＥ now";
        let f = fold(text);
        let t = &f.tokens[1];
        assert_eq!(&text[t.start..t.end], "ＮＩＫＥ");
        let o = f.key_origin[t.key_start] as usize;
        assert_eq!(o, t.start);
        assert_eq!(f.key_origin.len(), f.key.len() + 1);
    }

    #[test]
    fn keys_found_by_the_property_tests_are_fixed_points() {
        for text in [
            "!\u{107B7}",
            "\u{B9}l\u{1FD0}",
            "\u{309B}",
            "mmrn",
            "vvvv",
            "\u{1FFA}\u{A9D0}\u{45F}\u{1E2FF}",
            "\u{33C0}0",
            "\u{1E03B}",
            "мир",
            "аџω",
        ] {
            let f = fold(text);
            for i in 0..f.tokens.len() {
                assert_eq!(fold(f.key_of(i)).key, f.key_of(i), "{text:?}");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            " ",
            "\u{0}",
            "\u{FEFF}",
            "@",
            "$$$",
            "́",
            "\u{10FFFF}",
            "ﷺ",
        ] {
            let _ = fold(s);
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Folding a token's key gives the key back: the key is a fixed point.
            #[test]
            fn token_keys_are_fixed_points(text in "\\PC{0,40}") {
                let f = fold(&text);
                for i in 0..f.tokens.len() {
                    let k = f.key_of(i);
                    prop_assert_eq!(fold(k).key, k.to_string(), "token {} of {:?}", i, text);
                }
            }

            /// Folding never panics and the origin map always covers the key.
            #[test]
            fn origins_cover_the_key(text in "\\PC{0,60}") {
                let f = fold(&text);
                prop_assert_eq!(f.key_origin.len(), f.key.len() + 1);
                for &o in &f.key_origin {
                    prop_assert!(o as usize <= text.len());
                    prop_assert!(text.is_char_boundary(o as usize));
                }
            }

            /// Case and width do not change the key.
            #[test]
            fn case_and_width_do_not_change_the_key(word in "[a-zA-Z]{1,12}") {
                let wide: String = word.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
                prop_assert_eq!(key_of(&word.to_uppercase()), key_of(&word.to_lowercase()));
                prop_assert_eq!(key_of(&wide), key_of(&word));
            }
        }
    }
}
