//! Detection quality of the title matcher on real product titles.
//!
//! For each data set (Walmart-Amazon and Amazon-Google product titles with their
//! brand), the distinct brands are split in two by a hash of their name: one half is
//! registered, the other is not. Then:
//!
//! * **exact recall**: titles of registered brands that name their brand as written;
//!   found when the scorer reports a finding for that brand, whatever its score
//!   (referential use lowers a score below the suspect threshold; the mention was
//!   still found);
//! * **mutated recall**, per family: the same titles with the brand mention rewritten
//!   by one evasion, one mutation per title and family. The edit families are
//!   dnstwist's, as dnstwist writes them (digits included: a letter or digit appended,
//!   a key of its QWERTY, QWERTZ or AZERTY tables struck before or after a letter or
//!   in place of it, its glyph tables for homoglyphs, its Latin-to-Cyrillic table for
//!   whole words); then leetspeak, separators, widths, invisible characters,
//!   diacritics and casing;
//! * **false positives**: titles of unregistered brands on which the scorer reports a
//!   finding, at any score, for a mark the title does not name as written (strict:
//!   any finding at all, also for marks the title does name); once more with the data
//!   set's brand handed over as the listing's declared brand;
//! * **across catalogues**: every brand of one data set registered, the titles of the
//!   other data set's brands as negatives;
//! * **each rule's gain and cost**: the same run with one matcher rule switched off;
//! * **findings at or above each score**: recall and false-positive rates by score
//!   threshold, and the threshold the cost rule picks (`MISS_MINUTES`, `PREVALENCE`).
//!
//! Edit families are applied to brands of four characters or more only: by design a
//! mark of two or three characters matches only as an exact token. Every case is
//! also written to `--out` (marks.jsonl, cases.jsonl, misses.txt, false-positives.txt)
//! so another matcher can be run on the same input (`scripts/bench-titles.sh`).
//!
//! Usage: `cargo run --release --example eval_titles -- [--data ../shared/data] [--out eval-out] [--split even|odd]`

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use markhound::listing::Listing;
use markhound::registry::Mark;
use markhound::scoring::{Rates, Scorer};
use markhound::text::brands::KnownBrands;
use markhound::text::census::declarer;
use markhound::text::{BrandCensus, DeclaredBrands, Matcher, NoCensus, Rules};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

pub struct Dataset {
    pub name: &'static str,
    pub files: &'static [&'static str],
    pub brand_column: &'static str,
}

pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "walmart-amazon",
        files: &[
            "magellan-walmart-amazon/tableA.csv",
            "magellan-walmart-amazon/tableB.csv",
        ],
        brand_column: "brand",
    },
    Dataset {
        name: "amazon-google",
        files: &[
            "magellan-amazon-google/tableA.csv",
            "magellan-amazon-google/tableB.csv",
        ],
        brand_column: "manufacturer",
    },
];

/// The mutation families, in report order.
pub const FAMILIES: &[&str] = &[
    "addition",
    "bitsquatting",
    "hyphenation",
    "insertion",
    "omission",
    "plural",
    "repetition",
    "replacement",
    "transposition",
    "vowel-swap",
    "homoglyph",
    "cyrillic",
    "leet",
    "full-width",
    "separators",
    "zero-width",
    "diacritics",
    "case",
];

/// Families that change letters (edits); the others only disguise them.
pub const EDIT_FAMILIES: &[&str] = &[
    "addition",
    "bitsquatting",
    "insertion",
    "omission",
    "plural",
    "repetition",
    "replacement",
    "transposition",
    "vowel-swap",
];

pub struct Row {
    pub title: String,
    pub brand: String,
    /// The table the row comes from (one shop of the catalogue: its seller).
    pub source: String,
}

#[derive(serde::Serialize)]
struct Case {
    id: String,
    title: String,
    /// The mark the title names (registered brand), or null for an unregistered one.
    expect: Option<String>,
    family: String,
    /// For negatives: registered marks the title names as written (not false matches).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    named: Vec<String>,
    /// The brand has five characters or more (letters and digits).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    long: bool,
    /// For negatives: the brand the data set gives (handed over as the listing's
    /// declared brand in the "declared brand given" column only).
    #[serde(skip)]
    brand: Option<String>,
    /// For negatives: registered marks the declared brand names as written ("adobe
    /// systems inc" names Adobe); a finding for them is right when the brand is
    /// given.
    #[serde(skip)]
    named_by_brand: Vec<String>,
}

pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Byte range of the first word-aligned occurrence of `brand` in `title`.
pub fn find_mention(title: &str, brand: &str) -> Option<(usize, usize)> {
    let lt = title.to_lowercase();
    if lt.len() != title.len() {
        return None;
    }
    let b = brand.to_lowercase();
    let mut from = 0;
    while let Some(i) = lt[from..].find(&b) {
        let s = from + i;
        let e = s + b.len();
        let ok_start = s == 0
            || !lt[..s]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let ok_end = e == lt.len() || !lt[e..].chars().next().is_some_and(char::is_alphanumeric);
        if ok_start && ok_end {
            return Some((s, e));
        }
        from = s + 1;
        while !lt.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

/// True when some run of consecutive words of `title`, joined, spells the words of
/// `brand` joined ("punch! software" is named by "punch software", "e frontier" by
/// "efrontier"): such a title names the mark, whatever the data set's brand column.
pub fn names(title: &str, brand: &str) -> bool {
    let b = words(brand).concat();
    let t = words(title);
    (0..t.len()).any(|i| {
        let mut acc = String::new();
        for w in &t[i..] {
            acc.push_str(w);
            if acc == b {
                return true;
            }
            if acc.len() >= b.len() {
                break;
            }
        }
        false
    })
}

/// Whether `brand` is registered: those whose hash's first byte is even (the
/// default), or the other half with `odd` (`--split odd`), to check that no rule
/// depends on which brands happen to be registered.
pub fn registered(brand: &str, odd: bool) -> bool {
    (Sha256::digest(brand.as_bytes())[0] % 2 == 1) == odd
}

pub fn slug(brand: &str) -> String {
    let s: String = brand
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        format!("b{:x}", Sha256::digest(brand.as_bytes())[0])
    } else {
        s
    }
}

/// dnstwist's keyboard tables (PyPI `dnstwist` 20250130, Apache-2.0): for each key,
/// its neighbours on a QWERTY, a QWERTZ and an AZERTY keyboard. Its insertion and
/// replacement fuzzers draw from their union, digits included.
const KEYBOARDS: &[&[(char, &str)]] = &[
    &[
        ('1', "2q"),
        ('2', "3wq1"),
        ('3', "4ew2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7yt5"),
        ('7', "8uy6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('q', "12wa"),
        ('w', "3esaq2"),
        ('e', "4rdsw3"),
        ('r', "5tfde4"),
        ('t', "6ygfr5"),
        ('y', "7uhgt6"),
        ('u', "8ijhy7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0"),
        ('a', "qwsz"),
        ('s', "edxzaw"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "yhbvft"),
        ('h', "ujnbgy"),
        ('j', "ikmnhu"),
        ('k', "olmji"),
        ('l', "kop"),
        ('z', "asx"),
        ('x', "zsdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhjm"),
        ('m', "njk"),
    ],
    &[
        ('1', "2q"),
        ('2', "3wq1"),
        ('3', "4ew2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7zt5"),
        ('7', "8uz6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('q', "12wa"),
        ('w', "3esaq2"),
        ('e', "4rdsw3"),
        ('r', "5tfde4"),
        ('t', "6zgfr5"),
        ('z', "7uhgt6"),
        ('u', "8ijhz7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0"),
        ('a', "qwsy"),
        ('s', "edxyaw"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "zhbvft"),
        ('h', "ujnbgz"),
        ('j', "ikmnhu"),
        ('k', "olmji"),
        ('l', "kop"),
        ('y', "asx"),
        ('x', "ysdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhjm"),
        ('m', "njk"),
    ],
    &[
        ('1', "2a"),
        ('2', "3za1"),
        ('3', "4ez2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7yt5"),
        ('7', "8uy6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('a', "2zq1"),
        ('z', "3esqa2"),
        ('e', "4rdsz3"),
        ('r', "5tfde4"),
        ('t', "6ygfr5"),
        ('y', "7uhgt6"),
        ('u', "8ijhy7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0m"),
        ('q', "zswa"),
        ('s', "edxwqz"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "yhbvft"),
        ('h', "ujnbgy"),
        ('j', "iknhu"),
        ('k', "olji"),
        ('l', "kopm"),
        ('m', "lp"),
        ('w', "sxq"),
        ('x', "wsdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhj"),
    ],
];

/// Keys next to `c` on any of dnstwist's three keyboards.
fn adjacent(c: char) -> Vec<char> {
    let mut out: Vec<char> = KEYBOARDS
        .iter()
        .flat_map(|kb| {
            kb.iter()
                .filter(|(k, _)| *k == c)
                .flat_map(|(_, n)| n.chars())
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// dnstwist's look-alike tables as bundled in `data/glyphs/dnstwist.tsv`: the
/// homoglyph family (Latin letters and their ASCII and Latin-extended look-alikes)
/// and the Latin-to-Cyrillic table.
pub struct Glyphs {
    homoglyph: Vec<(String, String)>,
    cyrillic: Vec<(char, char)>,
}

pub fn glyphs() -> Glyphs {
    let mut g = Glyphs {
        homoglyph: Vec::new(),
        cyrillic: Vec::new(),
    };
    for line in include_str!("../data/glyphs/dnstwist.tsv").lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 || line.starts_with('#') {
            continue;
        }
        match cols[2] {
            "unicode" | "ascii" => g.homoglyph.push((cols[1].to_string(), cols[0].to_string())),
            "cyrillic" => {
                if let (Some(l), Some(c)) = (cols[1].chars().next(), cols[0].chars().next()) {
                    g.cyrillic.push((l, c));
                }
            }
            _ => {}
        }
    }
    g
}

fn pick<T: Copy>(rng: &mut SmallRng, v: &[T]) -> T {
    v[rng.random_range(0..v.len())]
}

/// A random position among `letters` whose character is one of `set`.
fn pick_among(rng: &mut SmallRng, s: &[char], letters: &[usize], set: &str) -> Option<usize> {
    let found: Vec<usize> = letters
        .iter()
        .copied()
        .filter(|&i| set.contains(s[i]))
        .collect();
    (!found.is_empty()).then(|| pick(rng, &found))
}

/// Positions of letters in `s` (mutations touch letters, not spaces).
fn letter_positions(s: &[char]) -> Vec<usize> {
    (0..s.len())
        .filter(|&i| s[i].is_ascii_alphabetic())
        .collect()
}

/// Rewrites a brand mention with one mutation of `family`. `None` when the family
/// does not apply (no vowel to swap, ...).
pub fn mutate(brand: &str, family: &str, rng: &mut SmallRng, glyphs: &Glyphs) -> Option<String> {
    let mut s: Vec<char> = brand.chars().collect();
    let letters = letter_positions(&s);
    if letters.is_empty() {
        return None;
    }
    let interior: Vec<usize> = letters.iter().copied().filter(|&i| i > 0).collect();
    match family {
        "addition" => {
            // dnstwist: a letter or a digit appended.
            let c = pick(rng, b"abcdefghijklmnopqrstuvwxyz0123456789") as char;
            s.push(c);
        }
        "bitsquatting" => {
            let i = pick(rng, &letters);
            let c = s[i] as u8;
            let flips: Vec<u8> = (0..8)
                .map(|b| c ^ (1 << b))
                .filter(|x| x.is_ascii_lowercase() || x.is_ascii_digit())
                .collect();
            if flips.is_empty() {
                return None;
            }
            s[i] = pick(rng, &flips) as char;
        }
        "hyphenation" => {
            if interior.is_empty() {
                return None;
            }
            let i = pick(rng, &interior);
            s.insert(i, '-');
        }
        "insertion" => {
            // dnstwist: a key beside a letter (not the last) struck before or after it.
            let cands: Vec<usize> = letters
                .iter()
                .copied()
                .filter(|&i| i + 1 < s.len())
                .collect();
            if cands.is_empty() {
                return None;
            }
            let i = pick(rng, &cands);
            let adj = adjacent(s[i].to_ascii_lowercase());
            if adj.is_empty() {
                return None;
            }
            let at = if rng.random_bool(0.5) { i } else { i + 1 };
            s.insert(at, pick(rng, &adj));
        }
        "omission" => {
            let i = pick(rng, &letters);
            s.remove(i);
        }
        "plural" => {
            s.push('s');
        }
        "repetition" => {
            let i = pick(rng, &letters);
            s.insert(i, s[i]);
        }
        "replacement" => {
            let i = pick(rng, &letters);
            let adj = adjacent(s[i].to_ascii_lowercase());
            if adj.is_empty() {
                return None;
            }
            s[i] = pick(rng, &adj);
        }
        "transposition" => {
            let pairs: Vec<usize> = (0..s.len().saturating_sub(1))
                .filter(|&i| {
                    s[i].is_ascii_alphanumeric()
                        && s[i + 1].is_ascii_alphanumeric()
                        && s[i] != s[i + 1]
                })
                .collect();
            if pairs.is_empty() {
                return None;
            }
            let i = pick(rng, &pairs);
            s.swap(i, i + 1);
        }
        "vowel-swap" => {
            let i = pick_among(rng, &s, &letters, "aeiou")?;
            let others: Vec<char> = "aeiou".chars().filter(|&v| v != s[i]).collect();
            s[i] = pick(rng, &others);
        }
        "homoglyph" => {
            // dnstwist's glyph tables (ASCII and Latin-extended look-alikes), one
            // letter or pair of letters replaced.
            let lower: String = s.iter().collect::<String>().to_lowercase();
            let lc: Vec<char> = lower.chars().collect();
            let lc = &lc;
            if lc.len() != s.len() {
                return None;
            }
            let cands: Vec<(usize, usize, &str)> = (0..lc.len())
                .flat_map(|i| {
                    glyphs.homoglyph.iter().filter_map(move |(from, to)| {
                        let n = from.chars().count();
                        (i + n <= lc.len() && lc[i..i + n].iter().copied().eq(from.chars()))
                            .then_some((i, n, to.as_str()))
                    })
                })
                .collect();
            if cands.is_empty() {
                return None;
            }
            let (i, n, r) = pick(rng, &cands);
            s.splice(i..i + n, r.chars());
        }
        "cyrillic" => {
            // dnstwist: the whole word in Cyrillic, every letter that has a Cyrillic
            // twin replaced.
            let mut changed = false;
            for &i in &letters {
                let c = s[i].to_ascii_lowercase();
                if let Some((_, r)) = glyphs.cyrillic.iter().find(|(l, _)| *l == c) {
                    s[i] = *r;
                    changed = true;
                }
            }
            if !changed {
                return None;
            }
        }
        "leet" => {
            const L: &[(char, char)] = &[
                ('a', '4'),
                ('e', '3'),
                ('i', '1'),
                ('o', '0'),
                ('s', '5'),
                ('t', '7'),
                ('a', '@'),
                ('s', '$'),
            ];
            let cands: Vec<usize> = letters
                .iter()
                .copied()
                .filter(|&i| L.iter().any(|(c, _)| *c == s[i]))
                .collect();
            if cands.is_empty() {
                return None;
            }
            let mut changed = false;
            for &i in &cands {
                if !changed || rng.random_bool(0.5) {
                    let opts: Vec<char> = L
                        .iter()
                        .filter(|(c, _)| *c == s[i])
                        .map(|(_, r)| *r)
                        .collect();
                    s[i] = pick(rng, &opts);
                    changed = true;
                }
            }
        }
        "full-width" => {
            // Upper case, then each ASCII letter or digit to its full-width form.
            return Some(
                brand
                    .to_uppercase()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                        } else {
                            c
                        }
                    })
                    .collect(),
            );
        }
        "separators" => {
            let sep = pick(rng, &[".", " ", "-", "*"]);
            let joined: Vec<String> = s
                .iter()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_string())
                .collect();
            return Some(joined.join(sep).to_uppercase());
        }
        "zero-width" => {
            if interior.is_empty() {
                return None;
            }
            let i = pick(rng, &interior);
            s.insert(
                i,
                pick(
                    rng,
                    &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{00AD}'],
                ),
            );
        }
        "diacritics" => {
            let i = pick_among(rng, &s, &letters, "aeiouy")?;
            s.insert(
                i + 1,
                pick(rng, &['\u{0301}', '\u{0308}', '\u{0300}', '\u{0302}']),
            );
        }
        "case" => {
            for c in &mut s {
                if rng.random_bool(0.5) {
                    *c = c.to_ascii_uppercase();
                }
            }
        }
        _ => return None,
    }
    let out: String = s.into_iter().collect();
    (out.to_lowercase() != brand.to_lowercase() || family == "case").then_some(out)
}

/// The rows of a data set that name a brand.
pub fn read_rows(data: &Path, ds: &Dataset) -> Vec<Row> {
    read_rows_where(data, ds, true)
}

/// The rows of a data set that name no brand: listings the catalogue's shops hold
/// too, read only into the census of spellings (they are never scored).
pub fn read_unbranded(data: &Path, ds: &Dataset) -> Vec<Row> {
    read_rows_where(data, ds, false)
}

fn read_rows_where(data: &Path, ds: &Dataset, branded: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for f in ds.files {
        let path = data.join(f);
        let mut rdr =
            csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let headers = rdr.headers().expect("header").clone();
        let ti = headers
            .iter()
            .position(|h| h == "title")
            .expect("title column");
        let bi = headers
            .iter()
            .position(|h| h == ds.brand_column)
            .expect("brand column");
        for rec in rdr.records() {
            let rec = rec.expect("csv record");
            let brand = rec.get(bi).unwrap_or("").trim().to_string();
            let title = rec.get(ti).unwrap_or("").trim().to_string();
            if brand.is_empty() != branded && !title.is_empty() {
                rows.push(Row {
                    title,
                    brand,
                    source: format!("{}/{f}", ds.name),
                });
            }
        }
    }
    rows
}

struct Tally {
    hit: usize,
    total: usize,
}

impl Tally {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.hit as f64 / self.total as f64
        }
    }
}

/// One evaluation: a registry, the titles that name its marks, the titles of other
/// brands.
struct Setup<'a> {
    label: String,
    /// Titles of registered brands come from here.
    pos_rows: &'a [Row],
    /// Titles of unregistered brands come from here.
    neg_rows: &'a [Row],
    /// The registered brands, as written in the data.
    registered: BTreeSet<String>,
    /// Distinct brands of the negatives' catalogue not registered.
    unregistered: usize,
    /// The rows of both catalogues that name no brand (census only).
    unbranded: Vec<&'a Row>,
}

/// The figures of one run of the scorer over the cases.
struct Metrics {
    per_family: BTreeMap<String, Tally>,
    mutated: Tally,
    long: Tally,
    neg: Tally,
    strict: Tally,
    fp_all: Vec<String>,
    misses: BTreeMap<String, Vec<String>>,
}

fn metrics(
    cases: &[Case],
    results: &[Vec<(String, f64)>],
    threshold: f64,
    declared: bool,
) -> Metrics {
    let mut m = Metrics {
        per_family: BTreeMap::new(),
        mutated: Tally { hit: 0, total: 0 },
        long: Tally { hit: 0, total: 0 },
        neg: Tally { hit: 0, total: 0 },
        strict: Tally { hit: 0, total: 0 },
        fp_all: Vec::new(),
        misses: BTreeMap::new(),
    };
    for (c, r) in cases.iter().zip(results) {
        let found = r.iter().filter(|(_, s)| *s >= threshold);
        match &c.expect {
            Some(id) => {
                let hit = usize::from(found.clone().any(|(x, _)| x == id));
                let t = m
                    .per_family
                    .entry(c.family.clone())
                    .or_insert(Tally { hit: 0, total: 0 });
                t.total += 1;
                t.hit += hit;
                if c.family != "exact" {
                    m.mutated.total += 1;
                    m.mutated.hit += hit;
                    if c.long {
                        m.long.total += 1;
                        m.long.hit += hit;
                    }
                }
                if hit == 0 {
                    let v = m.misses.entry(c.family.clone()).or_default();
                    if v.len() < 8 {
                        v.push(c.title.clone());
                    }
                }
            }
            None => {
                m.neg.total += 1;
                m.strict.total += 1;
                let all: Vec<&String> = found.map(|(x, _)| x).collect();
                m.strict.hit += usize::from(!all.is_empty());
                let false_marks: Vec<&&String> = all
                    .iter()
                    .filter(|x| {
                        !(c.named.contains(x) || (declared && c.named_by_brand.contains(x)))
                    })
                    .collect();
                if !false_marks.is_empty() {
                    m.neg.hit += 1;
                    m.fp_all.push(format!("{} -> {:?}", c.title, false_marks));
                }
            }
        }
    }
    m
}

/// Scores every case; negatives carry their declared brand when `declared`.
fn run(
    scorer: &Scorer,
    cases: &[Case],
    declared: bool,
    census: &dyn BrandCensus,
) -> Vec<Vec<(String, f64)>> {
    cases
        .iter()
        .map(|c| {
            let l = Listing {
                id: c.id.clone(),
                title: c.title.clone(),
                brand: if declared { c.brand.clone() } else { None },
                ..Listing::default()
            };
            scorer
                .score_in(&l, &[], census)
                .into_iter()
                .map(|f| (f.mark_id, f.score))
                .collect()
        })
        .collect()
}

/// The rules of the matcher that can be switched off, with their names.
fn rule_variants() -> Vec<(&'static str, Rules)> {
    let on = Rules::default();
    vec![
        (
            "other brands excused (simple-icons, declared brand, census)",
            Rules {
                other_brands: false,
                ..on
            },
        ),
        (
            "plural of a product-noun mark refused",
            Rules {
                ordinary_word_marks: false,
                ..on
            },
        ),
        (
            "key beside the first letter struck in front",
            Rules {
                front_slips: false,
                ..on
            },
        ),
        (
            "one digit inside a word read as a typo",
            Rules {
                typo_digits: false,
                ..on
            },
        ),
        (
            "a mark glued to a declared brand's word excused",
            Rules {
                glued_brands: false,
                ..on
            },
        ),
        (
            "singular of a mark ending in a plural noun refused",
            Rules {
                noun_number: false,
                ..on
            },
        ),
        (
            "digits glued to an ordinary-word mark a model or size",
            Rules {
                glued_digits: false,
                ..on
            },
        ),
        (
            "a three-letter word of a longer mark takes the one edit",
            Rules {
                short_word_edit: false,
                ..on
            },
        ),
    ]
}

/// Score thresholds of the precision-recall table.
const THRESHOLDS: &[f64] = &[0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8];

/// The cost rule that picks the suspect threshold (EVALUATION.md, "Calibration"):
/// a false alarm costs a reviewer one minute, a missed counterfeit `MISS_MINUTES`
/// minutes, and `PREVALENCE` of the listings that mention a mark are counterfeits.
const MISS_MINUTES: f64 = 30.0;
const PREVALENCE: f64 = 0.05;

struct Report {
    row: String,
    families: String,
    rules: String,
    curve: String,
    fp_all: Vec<String>,
    misses: BTreeMap<String, Vec<String>>,
    marks: Vec<Mark>,
    cases: Vec<Case>,
    results: Vec<Vec<(String, f64)>>,
}

fn evaluate(setup: &Setup<'_>, glyph_tables: &Glyphs, ablate: bool) -> Report {
    let reg: Vec<&String> = setup.registered.iter().collect();
    let mut slugs: BTreeMap<String, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    for b in &reg {
        let mut s = slug(b);
        while !used.insert(s.clone()) {
            s.push('x');
        }
        slugs.insert((*b).clone(), s);
    }
    let marks: Vec<Mark> = reg
        .iter()
        .map(|b| Mark {
            id: slugs[*b].clone(),
            name: (*b).clone(),
            ..Mark::default()
        })
        .collect();
    let registered_lower: BTreeSet<String> = reg.iter().map(|b| b.to_lowercase()).collect();
    let t0 = Instant::now();
    let scorer = Scorer::new(marks.clone(), Rates::default());
    let build = t0.elapsed();

    let mut cases: Vec<Case> = Vec::new();
    for (n, row) in setup.pos_rows.iter().enumerate() {
        if !setup.registered.contains(&row.brand) {
            continue;
        }
        let Some((s, e)) = find_mention(&row.title, &row.brand) else {
            continue;
        };
        let id = slugs[&row.brand].clone();
        cases.push(Case {
            id: format!("{n}"),
            title: row.title.clone(),
            expect: Some(id.clone()),
            family: "exact".into(),
            named: vec![],
            long: false,
            brand: None,
            named_by_brand: vec![],
        });
        let short = words(&row.brand).concat().chars().count() < 4;
        for fam in FAMILIES {
            if short && EDIT_FAMILIES.contains(fam) {
                continue;
            }
            let mut rng = SmallRng::seed_from_u64(
                n as u64 * 1000 + FAMILIES.iter().position(|f| f == fam).unwrap_or(0) as u64,
            );
            let Some(m) = mutate(&row.title[s..e], fam, &mut rng, glyph_tables) else {
                continue;
            };
            let title = format!("{}{}{}", &row.title[..s], m, &row.title[e..]);
            cases.push(Case {
                id: format!("{n}-{fam}"),
                title,
                expect: Some(id.clone()),
                family: (*fam).into(),
                named: vec![],
                long: !short && words(&row.brand).concat().chars().count() >= 5,
                brand: None,
                named_by_brand: vec![],
            });
        }
    }
    for (n, row) in setup.neg_rows.iter().enumerate() {
        if registered_lower.contains(&row.brand.to_lowercase()) {
            continue;
        }
        let named: Vec<String> = marks
            .iter()
            .filter(|m| names(&row.title, &m.name))
            .map(|m| m.id.clone())
            .collect();
        let named_by_brand: Vec<String> = marks
            .iter()
            .filter(|m| names(&row.brand, &m.name))
            .map(|m| m.id.clone())
            .collect();
        cases.push(Case {
            id: format!("n{n}"),
            title: row.title.clone(),
            expect: None,
            family: "negative".into(),
            named,
            long: false,
            brand: Some(row.brand.clone()),
            named_by_brand,
        });
    }

    // The brands the catalogues' shops declare, each table one seller: what a
    // platform's store counts from the listings it holds (`text::census`). The
    // titles scored declare nothing themselves (the "declared brand given" column
    // hands each its own).
    let mut census = DeclaredBrands::new();
    for row in setup.pos_rows.iter().chain(setup.neg_rows) {
        census.add(&row.brand, declarer(Some(&row.source), None));
    }
    // Declared brands only, for the spelling census's own column.
    let declared_only = census.clone();
    // The spellings the catalogue's titles write, each row a listing of its table
    // with its brand declared (`Scorer::spellings`).
    let store = setup.pos_rows.iter().chain(setup.neg_rows);
    for row in store.chain(setup.unbranded.iter().copied()) {
        let listing = Listing {
            title: row.title.clone(),
            brand: Some(row.brand.clone()).filter(|b| !b.is_empty()),
            ..Listing::default()
        };
        let mut mentions = scorer.mentions(&listing.title);
        let id = declarer(Some(&row.source), None);
        for (key, declares) in scorer.spellings(&listing, &mut mentions) {
            census.add_spelling(&key, id, declares);
        }
    }
    let t1 = Instant::now();
    let results = run(&scorer, &cases, false, &census);
    let elapsed = t1.elapsed();
    let m = metrics(&cases, &results, 0.0, false);
    let declared = metrics(&cases, &run(&scorer, &cases, true, &census), 0.0, true);
    let exact = m
        .per_family
        .get("exact")
        .map_or((0, f64::NAN), |t| (t.total, t.rate()));
    let row = format!(
        "| {} | {} | {} | {} | {:.4} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {:.4} | {:.0} |",
        setup.label,
        reg.len(),
        setup.unregistered,
        exact.0,
        exact.1,
        m.mutated.total,
        m.mutated.rate(),
        m.long.rate(),
        m.neg.total,
        m.neg.rate(),
        m.strict.rate(),
        declared.neg.rate(),
        cases.len() as f64 / elapsed.as_secs_f64(),
    );
    let mut families = format!(
        "\n**{}** (index built in {:.0} ms)\n\n| family | mentions | recall |\n|---|---|---|\n",
        setup.label,
        build.as_secs_f64() * 1000.0
    );
    for fam in std::iter::once(&"exact").chain(FAMILIES.iter()) {
        if let Some(t) = m.per_family.get(*fam) {
            families.push_str(&format!("| {fam} | {} | {:.4} |\n", t.total, t.rate()));
        }
    }

    let mut rules = String::new();
    if ablate {
        rules = format!(
            "\n**{}**: each rule switched off alone\n\n| rule | mutated recall without it | gain | false-positive rate without it | cost (FP points) |\n|---|---|---|---|---|\n",
            setup.label
        );
        let variants = rule_variants()
            .into_iter()
            .map(|(name, r)| (name, r, &census as &dyn BrandCensus));
        let censuses = [
            (
                "spellings the shops' titles write (census)",
                Rules::default(),
                &declared_only as &dyn BrandCensus,
            ),
            (
                "brands the shops declare and spell (census)",
                Rules::default(),
                &NoCensus as &dyn BrandCensus,
            ),
        ];
        for (name, r, cx) in variants.chain(censuses) {
            let matcher = Matcher::with_rules(&marks, KnownBrands::bundled(), r);
            let sc = Scorer::with_matcher(marks.clone(), Rates::default(), matcher);
            let off = metrics(&cases, &run(&sc, &cases, false, cx), 0.0, false);
            rules.push_str(&format!(
                "| {name} | {:.4} | {:+.4} | {:.4} | {:+.2} |\n",
                off.mutated.rate(),
                m.mutated.rate() - off.mutated.rate(),
                off.neg.rate(),
                (m.neg.rate() - off.neg.rate()) * 100.0,
            ));
        }
    }

    let mut curve = format!(
        "\n**{}**: findings at or above each score\n\n| threshold | exact recall | mutated recall | false-positive rate | strict FP rate | reviewer minutes per 1,000 listings |\n|---|---|---|---|---|---|\n",
        setup.label
    );
    let mut best = (f64::INFINITY, 0.0);
    for &t in THRESHOLDS {
        let x = metrics(&cases, &results, t, false);
        let exact = x.per_family.get("exact").map_or(f64::NAN, Tally::rate);
        let recall = (x.mutated.hit + x.per_family.get("exact").map_or(0, |t| t.hit)) as f64
            / (x.mutated.total + x.per_family.get("exact").map_or(0, |t| t.total)) as f64;
        let cost = 1000.0
            * ((1.0 - PREVALENCE) * x.strict.rate() * 1.0
                + PREVALENCE * (1.0 - recall) * MISS_MINUTES);
        if cost < best.0 {
            best = (cost, t);
        }
        curve.push_str(&format!(
            "| {t:.2} | {exact:.4} | {:.4} | {:.4} | {:.4} | {cost:.1} |\n",
            x.mutated.rate(),
            x.neg.rate(),
            x.strict.rate(),
        ));
    }
    curve.push_str(&format!(
        "\nLowest cost at threshold {:.2} ({:.1} minutes per 1,000 listings).\n",
        best.1, best.0
    ));
    Report {
        row,
        families,
        rules,
        curve,
        fp_all: m.fp_all,
        misses: m.misses,
        marks,
        cases,
        results,
    }
}

fn write_out(dir: &Path, r: &Report) {
    fs::create_dir_all(dir).expect("create output dir");
    let mut f = fs::File::create(dir.join("cases.jsonl")).expect("create cases.jsonl");
    for c in &r.cases {
        serde_json::to_writer(&mut f, c).expect("write case");
        f.write_all(b"\n").expect("write case");
    }
    let mut m = fs::File::create(dir.join("marks.jsonl")).expect("create marks.jsonl");
    for mark in &r.marks {
        serde_json::to_writer(&mut m, mark).expect("write mark");
        m.write_all(b"\n").expect("write mark");
    }
    let mut out = fs::File::create(dir.join("markhound-results.jsonl")).expect("create results");
    for (c, found) in r.cases.iter().zip(&r.results) {
        let marks: Vec<&String> = found.iter().map(|(m, _)| m).collect();
        serde_json::to_writer(&mut out, &serde_json::json!({"id": c.id, "found": marks}))
            .expect("write result");
        out.write_all(b"\n").expect("write result");
    }
    fs::write(dir.join("false-positives.txt"), r.fp_all.join("\n") + "\n")
        .expect("write false-positives.txt");
    let mut misses = String::new();
    for (fam, v) in &r.misses {
        for t in v {
            misses.push_str(&format!("[{fam}] {t}\n"));
        }
    }
    fs::write(dir.join("misses.txt"), misses).expect("write misses.txt");
    let mut l = fs::File::create(dir.join("listings.jsonl")).expect("create listings.jsonl");
    for c in &r.cases {
        serde_json::to_writer(&mut l, &serde_json::json!({"id": c.id, "title": c.title}))
            .expect("write listing");
        l.write_all(b"\n").expect("write listing");
    }
}

const HEADER: &str = "| data set | registered brands | unregistered | exact mentions | exact recall | mutated mentions | mutated recall | mutated recall, marks of 5+ characters | negative titles | false-positive rate | strict FP rate | FP rate, declared brand given | titles/s (1 thread) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut out = PathBuf::from("eval-out");
    let mut odd = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR").into(),
            "--out" => out = args.next().expect("--out DIR").into(),
            "--split" => match args.next().as_deref() {
                Some("even") => {}
                Some("odd") => odd = true,
                _ => panic!("--split even|odd"),
            },
            other => panic!("unknown argument {other}"),
        }
    }
    if !data.join("magellan-walmart-amazon").exists() {
        eprintln!(
            "data folder {} not found: nothing to evaluate",
            data.display()
        );
        std::process::exit(0);
    }
    let glyph_tables = glyphs();
    let all_rows: Vec<Vec<Row>> = DATASETS.iter().map(|ds| read_rows(&data, ds)).collect();
    let unbranded: Vec<Vec<Row>> = DATASETS
        .iter()
        .map(|ds| read_unbranded(&data, ds))
        .collect();
    let brands: Vec<BTreeSet<String>> = all_rows
        .iter()
        .map(|rows| rows.iter().map(|r| r.brand.clone()).collect())
        .collect();

    println!("{HEADER}");
    let mut details = Vec::new();
    for (i, ds) in DATASETS.iter().enumerate() {
        let registered: BTreeSet<String> = brands[i]
            .iter()
            .filter(|b| registered(b, odd))
            .cloned()
            .collect();
        let setup = Setup {
            label: ds.name.to_string(),
            pos_rows: &all_rows[i],
            neg_rows: &all_rows[i],
            unregistered: brands[i].len() - registered.len(),
            registered,
            unbranded: unbranded[i].iter().collect(),
        };
        let r = evaluate(&setup, &glyph_tables, true);
        println!("{}", r.row);
        write_out(&out.join(ds.name), &r);
        details.push(r);
    }

    // Across catalogues: every brand of one catalogue registered, the titles of the
    // other's brands (those not registered) as negatives.
    println!(
        "\nAcross catalogues (all brands of the first registered, negatives from the second):\n"
    );
    println!("{HEADER}");
    for (i, j) in [(0, 1), (1, 0)] {
        let registered = brands[i].clone();
        let lower: BTreeSet<String> = registered.iter().map(|b| b.to_lowercase()).collect();
        let setup = Setup {
            label: format!("{} → {}", DATASETS[i].name, DATASETS[j].name),
            pos_rows: &all_rows[i],
            neg_rows: &all_rows[j],
            unregistered: brands[j]
                .iter()
                .filter(|b| !lower.contains(&b.to_lowercase()))
                .count(),
            registered,
            unbranded: unbranded[i].iter().chain(&unbranded[j]).collect(),
        };
        let r = evaluate(&setup, &glyph_tables, false);
        println!("{}", r.row);
        write_out(
            &out.join(format!("{}-to-{}", DATASETS[i].name, DATASETS[j].name)),
            &r,
        );
        details.push(r);
    }

    for r in &details {
        println!("{}", r.families);
    }
    for r in &details {
        if !r.rules.is_empty() {
            println!("{}", r.rules);
        }
    }
    for r in &details {
        println!("{}", r.curve);
    }
}
