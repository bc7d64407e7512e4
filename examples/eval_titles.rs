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
//!   by one evasion (dnstwist's families, leetspeak, look-alike scripts, separators,
//!   widths, invisible characters, diacritics), one mutation per title and family;
//! * **false positives**: titles of unregistered brands on which the scorer reports a
//!   finding, at any score, for a mark the title does not name as written (strict:
//!   any finding at all, also for marks the title does name).
//!
//! Edit families are applied to brands of four characters or more only: by design a
//! mark of two or three characters matches only as an exact token. Every case is
//! also written to `--out` (marks.txt, cases.jsonl) so another matcher can be run on
//! the same input (`scripts/bench-titles.sh`).
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
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

struct Dataset {
    name: &'static str,
    files: &'static [&'static str],
    brand_column: &'static str,
}

const DATASETS: &[Dataset] = &[
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
const FAMILIES: &[&str] = &[
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
const EDIT_FAMILIES: &[&str] = &[
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

struct Row {
    title: String,
    brand: String,
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
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Byte range of the first word-aligned occurrence of `brand` in `title`.
fn find_mention(title: &str, brand: &str) -> Option<(usize, usize)> {
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
fn names(title: &str, brand: &str) -> bool {
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
fn registered(brand: &str, odd: bool) -> bool {
    (Sha256::digest(brand.as_bytes())[0] % 2 == 1) == odd
}

fn slug(brand: &str) -> String {
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

const KEYBOARD: &[&str] = &[
    "1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik", "9ol", "0p",
];
const ROWS: &[&str] = &["qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// Keys next to `c` on a QWERTY keyboard (same row and the diagonal column).
fn adjacent(c: char) -> Vec<char> {
    let mut out = Vec::new();
    for row in ROWS {
        if let Some(i) = row.find(c) {
            let r: Vec<char> = row.chars().collect();
            if i > 0 {
                out.push(r[i - 1]);
            }
            if i + 1 < r.len() {
                out.push(r[i + 1]);
            }
        }
    }
    for col in KEYBOARD {
        if col.contains(c) {
            out.extend(col.chars().filter(|&x| x != c && x.is_ascii_lowercase()));
        }
    }
    out
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
fn mutate(brand: &str, family: &str, rng: &mut SmallRng) -> Option<String> {
    let mut s: Vec<char> = brand.chars().collect();
    let letters = letter_positions(&s);
    if letters.is_empty() {
        return None;
    }
    let interior: Vec<usize> = letters.iter().copied().filter(|&i| i > 0).collect();
    match family {
        "addition" => {
            s.push(rng.random_range(b'a'..=b'z') as char);
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
            let i = pick(rng, &letters);
            let adj = adjacent(s[i].to_ascii_lowercase());
            if adj.is_empty() {
                return None;
            }
            s.insert(i + 1, pick(rng, &adj));
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
            // dnstwist's ASCII and Latin look-alikes.
            const H: &[(char, &str)] = &[
                ('m', "rn"),
                ('w', "vv"),
                ('o', "0"),
                ('l', "I"),
                ('i', "l"),
                ('a', "à"),
                ('e', "é"),
                ('o', "ò"),
                ('u', "ü"),
                ('c', "ç"),
                ('n', "ñ"),
            ];
            let cands: Vec<(usize, &str)> = letters
                .iter()
                .flat_map(|&i| {
                    let c = s[i];
                    H.iter()
                        .filter(move |(h, _)| *h == c)
                        .map(move |(_, r)| (i, *r))
                })
                .collect();
            if cands.is_empty() {
                return None;
            }
            let (i, r) = pick(rng, &cands);
            s.splice(i..=i, r.chars());
        }
        "cyrillic" => {
            const C: &[(char, char)] = &[
                ('a', 'а'),
                ('c', 'с'),
                ('e', 'е'),
                ('o', 'о'),
                ('p', 'р'),
                ('x', 'х'),
                ('y', 'у'),
                ('i', 'і'),
                ('s', 'ѕ'),
                ('j', 'ј'),
                ('h', 'һ'),
            ];
            let mut changed = false;
            for &i in &letters {
                if let Some((_, r)) = C.iter().find(|(c, _)| *c == s[i]) {
                    if !changed || rng.random_bool(0.5) {
                        s[i] = *r;
                        changed = true;
                    }
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

fn read_rows(data: &Path, ds: &Dataset) -> Vec<Row> {
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
            if !brand.is_empty() && !title.is_empty() {
                rows.push(Row { title, brand });
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
    println!("| data set | registered brands | unregistered | exact mentions | exact recall | mutated mentions | mutated recall | mutated recall, marks of 5+ characters | negative titles | false-positive rate | strict FP rate | titles/s (1 thread) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut family_tables = Vec::new();
    for ds in DATASETS {
        let rows = read_rows(&data, ds);
        let brands: BTreeSet<String> = rows.iter().map(|r| r.brand.clone()).collect();
        let reg: Vec<&String> = brands.iter().filter(|b| registered(b, odd)).collect();
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
        let t0 = Instant::now();
        let scorer = Scorer::new(marks.clone(), Rates::default());
        let build = t0.elapsed();

        // Cases.
        let mut cases: Vec<Case> = Vec::new();
        for (n, row) in rows.iter().enumerate() {
            let is_reg = registered(&row.brand, odd);
            if is_reg {
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
                });
                let short = words(&row.brand).concat().chars().count() < 4;
                for fam in FAMILIES {
                    if short && EDIT_FAMILIES.contains(fam) {
                        continue;
                    }
                    let mut rng = SmallRng::seed_from_u64(
                        n as u64 * 1000
                            + FAMILIES.iter().position(|f| f == fam).unwrap_or(0) as u64,
                    );
                    let Some(m) = mutate(&row.title[s..e], fam, &mut rng) else {
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
                    });
                }
            } else {
                let named: Vec<String> = marks
                    .iter()
                    .filter(|m| names(&row.title, &m.name))
                    .map(|m| m.id.clone())
                    .collect();
                cases.push(Case {
                    id: format!("{n}"),
                    title: row.title.clone(),
                    expect: None,
                    family: "negative".into(),
                    named,
                    long: false,
                });
            }
        }

        // Run.
        let t1 = Instant::now();
        let results: Vec<Vec<(String, f64)>> = cases
            .iter()
            .map(|c| {
                let l = Listing {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    ..Listing::default()
                };
                scorer
                    .score(&l)
                    .into_iter()
                    .map(|f| (f.mark_id, f.score))
                    .collect()
            })
            .collect();
        let elapsed = t1.elapsed();

        let mut per_family: BTreeMap<String, Tally> = BTreeMap::new();
        let mut neg = Tally { hit: 0, total: 0 };
        let mut non_dict = Tally { hit: 0, total: 0 };
        let mut neg_strict = Tally { hit: 0, total: 0 };
        let mut fp_examples = Vec::new();
        let mut fp_all = Vec::new();
        let mut miss_examples: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (c, r) in cases.iter().zip(&results) {
            match &c.expect {
                Some(id) => {
                    let t = per_family
                        .entry(c.family.clone())
                        .or_insert(Tally { hit: 0, total: 0 });
                    t.total += 1;
                    let hit = r.iter().any(|(m, _)| m == id);
                    if c.family != "exact" && c.long {
                        non_dict.total += 1;
                        non_dict.hit += usize::from(hit);
                    }
                    if hit {
                        t.hit += 1;
                    } else {
                        let v = miss_examples.entry(c.family.clone()).or_default();
                        if v.len() < 5 {
                            v.push(c.title.clone());
                        }
                    }
                }
                None => {
                    neg.total += 1;
                    neg_strict.total += 1;
                    if !r.is_empty() {
                        neg_strict.hit += 1;
                    }
                    let false_marks: Vec<&String> = r
                        .iter()
                        .map(|(m, _)| m)
                        .filter(|m| !c.named.contains(m))
                        .collect();
                    if !false_marks.is_empty() {
                        neg.hit += 1;
                        fp_all.push(format!("{} -> {:?}", c.title, false_marks));
                        if fp_examples.len() < 15 {
                            fp_examples.push(format!("{} -> {:?}", c.title, false_marks));
                        }
                    }
                }
            }
        }
        let exact = per_family
            .get("exact")
            .map_or((0, 0, f64::NAN), |t| (t.hit, t.total, t.rate()));
        let (mh, mt) = per_family
            .iter()
            .filter(|(f, _)| *f != "exact")
            .fold((0, 0), |(h, t), (_, x)| (h + x.hit, t + x.total));
        println!(
            "| {} | {} | {} | {} | {:.4} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {:.0} |",
            ds.name,
            reg.len(),
            brands.len() - reg.len(),
            exact.1,
            exact.2,
            mt,
            mh as f64 / mt as f64,
            non_dict.rate(),
            neg.total,
            neg.rate(),
            neg_strict.rate(),
            cases.len() as f64 / elapsed.as_secs_f64(),
        );
        let mut ft = format!(
            "\n**{}** (index built in {:.0} ms)\n\n| family | mentions | recall |\n|---|---|---|\n",
            ds.name,
            build.as_secs_f64() * 1000.0
        );
        for fam in std::iter::once(&"exact").chain(FAMILIES.iter()) {
            if let Some(t) = per_family.get(*fam) {
                ft.push_str(&format!("| {fam} | {} | {:.4} |\n", t.total, t.rate()));
            }
        }
        family_tables.push((ft, fp_examples, miss_examples));

        // Write the cases for other matchers.
        let dir = out.join(ds.name);
        fs::create_dir_all(&dir).expect("create output dir");
        let mut f = fs::File::create(dir.join("cases.jsonl")).expect("create cases.jsonl");
        for c in &cases {
            serde_json::to_writer(&mut f, c).expect("write case");
            f.write_all(b"\n").expect("write case");
        }
        let mut m = fs::File::create(dir.join("marks.jsonl")).expect("create marks.jsonl");
        for mark in &marks {
            serde_json::to_writer(&mut m, mark).expect("write mark");
            m.write_all(b"\n").expect("write mark");
        }
        let mut r = fs::File::create(dir.join("markhound-results.jsonl")).expect("create results");
        for (c, found) in cases.iter().zip(&results) {
            let marks: Vec<&String> = found.iter().map(|(m, _)| m).collect();
            serde_json::to_writer(&mut r, &serde_json::json!({"id": c.id, "found": marks}))
                .expect("write result");
            r.write_all(b"\n").expect("write result");
        }
        fs::write(dir.join("false-positives.txt"), fp_all.join("\n") + "\n")
            .expect("write false-positives.txt");
        let mut l = fs::File::create(dir.join("listings.jsonl")).expect("create listings.jsonl");
        for c in &cases {
            serde_json::to_writer(&mut l, &serde_json::json!({"id": c.id, "title": c.title}))
                .expect("write listing");
            l.write_all(b"\n").expect("write listing");
        }
    }
    for (ft, fps, misses) in family_tables {
        println!("{ft}");
        if std::env::var_os("EVAL_VERBOSE").is_some() {
            println!("false positives (sample):");
            for e in fps {
                println!("  {e}");
            }
            println!("misses (sample):");
            for (f, v) in misses {
                for t in v {
                    println!("  [{f}] {t}");
                }
            }
        }
    }
}
