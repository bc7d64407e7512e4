//! What reviewer feedback buys: a simulated reviewer works through the findings of
//! a stream of real product titles in arrival order, dismissing false ones with
//! reason `other_brand` and confirming true ones, through the pipeline every
//! command uses (its feedback banks). After 50, 200 and 1,000 decisions the banks
//! are frozen and the rest of the stream is scored: its false-positive rate and its
//! recall (exact and mutated mentions), against the same rest scored without any
//! feedback.
//!
//! The stream, the registry and the mutated mentions are those of
//! `examples/eval_titles.rs`: per data set, the brands split by the first byte of
//! the SHA-256 of their name, half registered; the stream is the data set's titles
//! in file order (arrival order), those that name a registered brand as written
//! (true) and those of unregistered brands (negatives); the mutated mentions of a
//! title are its eval_titles mutations, same seeds. A finding is true when its mark
//! is the title's brand. Nothing is learnt from the data beyond what the simulated
//! reviewer's decisions put in the banks.
//!
//! Usage: `cargo run --release --example eval_feedback -- [--data ../shared/data] [--split even|odd]`

#[allow(dead_code)]
#[path = "eval_titles.rs"]
mod titles;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use markhound::listing::Listing;
use markhound::pipeline::{Config, Pipeline};
use markhound::registry::{Mark, Reason};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use rayon::prelude::*;

use titles::{
    find_mention, glyphs, mutate, names, read_rows, registered, slug, words, Glyphs, DATASETS,
    EDIT_FAMILIES, FAMILIES,
};

/// The decision budgets measured.
const BUDGETS: [usize; 3] = [50, 200, 1_000];

/// One title of the stream.
struct Item {
    title: String,
    /// The mark the title names as its own brand (registered brand), or none.
    expect: Option<String>,
    /// For negatives: registered marks the title names as written.
    named: Vec<String>,
    /// For positives: its mutated mentions.
    mutated: Vec<String>,
}

/// What scoring one title found: mark ids of the findings not suppressed.
fn reported(pipeline: &Pipeline, title: &str) -> Vec<String> {
    let listing = Listing {
        id: "t".into(),
        title: title.to_owned(),
        ..Listing::default()
    };
    pipeline
        .findings(&listing)
        .into_iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.mark_id)
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Counts {
    neg: usize,
    fp: usize,
    strict: usize,
    exact: usize,
    exact_hit: usize,
    mutated: usize,
    mutated_hit: usize,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.neg += o.neg;
        self.fp += o.fp;
        self.strict += o.strict;
        self.exact += o.exact;
        self.exact_hit += o.exact_hit;
        self.mutated += o.mutated;
        self.mutated_hit += o.mutated_hit;
    }
}

fn rate(hit: usize, total: usize) -> f64 {
    if total == 0 {
        f64::NAN
    } else {
        hit as f64 / total as f64
    }
}

/// The outcome of one stream item under `pipeline`.
fn outcome(pipeline: &Pipeline, item: &Item) -> Counts {
    let found = reported(pipeline, &item.title);
    let mut c = Counts::default();
    match &item.expect {
        Some(id) => {
            c.exact = 1;
            c.exact_hit = usize::from(found.contains(id));
            for m in &item.mutated {
                c.mutated += 1;
                c.mutated_hit += usize::from(reported(pipeline, m).contains(id));
            }
        }
        None => {
            c.neg = 1;
            c.strict = usize::from(!found.is_empty());
            c.fp = usize::from(found.iter().any(|m| !item.named.contains(m)));
        }
    }
    c
}

fn stream(rows: &[titles::Row], odd: bool, glyph_tables: &Glyphs) -> (Vec<Mark>, Vec<Item>) {
    let brands: BTreeSet<&String> = rows.iter().map(|r| &r.brand).collect();
    let reg: Vec<&String> = brands.into_iter().filter(|b| registered(b, odd)).collect();
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
    let mut items = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        if let Some(id) = slugs.get(&row.brand) {
            let Some((s, e)) = find_mention(&row.title, &row.brand) else {
                continue;
            };
            let short = words(&row.brand).concat().chars().count() < 4;
            let mut mutated = Vec::new();
            for (fi, fam) in FAMILIES.iter().enumerate() {
                if *fam == "exact" || (short && EDIT_FAMILIES.contains(fam)) {
                    continue;
                }
                let mut rng = SmallRng::seed_from_u64(n as u64 * 1000 + fi as u64);
                if let Some(m) = mutate(&row.title[s..e], fam, &mut rng, glyph_tables) {
                    mutated.push(format!("{}{}{}", &row.title[..s], m, &row.title[e..]));
                }
            }
            items.push(Item {
                title: row.title.clone(),
                expect: Some(id.clone()),
                named: Vec::new(),
                mutated,
            });
        } else if !registered_lower.contains(&row.brand.to_lowercase()) {
            let named = marks
                .iter()
                .filter(|m| names(&row.title, &m.name))
                .map(|m| m.id.clone())
                .collect();
            items.push(Item {
                title: row.title.clone(),
                expect: None,
                named,
                mutated: Vec::new(),
            });
        }
    }
    (marks, items)
}

/// Reviews the stream in order until `budget` decisions are made; answers where
/// the rest starts, the dismissals made and the bank entries they added.
fn review(pipeline: &Pipeline, items: &[Item], budget: usize) -> Option<(usize, usize, usize)> {
    let mut decisions = 0;
    let mut dismissals = 0;
    let mut entries = 0;
    for (i, item) in items.iter().enumerate() {
        let listing = Listing {
            id: format!("s{i}"),
            title: item.title.clone(),
            ..Listing::default()
        };
        for f in pipeline.findings(&listing) {
            if f.suppressed.is_some() {
                continue;
            }
            decisions += 1;
            if item.expect.as_deref() != Some(f.mark_id.as_str()) {
                dismissals += 1;
                let decision = format!("s{i}@{decisions}");
                entries += pipeline
                    .learn_dismissal(
                        &f,
                        None,
                        Reason::OtherBrand,
                        &decision,
                        "simulated reviewer",
                    )
                    .len();
            }
            if decisions == budget {
                return Some((i + 1, dismissals, entries));
            }
        }
    }
    None
}

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut odd = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR").into(),
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
    println!(
        "| data set | decisions | dismissals | bank entries | titles reviewed | rest: negative titles | FP rate, no feedback | FP rate, with feedback | strict FP, no feedback | strict FP, with feedback | rest: exact mentions | exact recall, no feedback | exact recall, with feedback | rest: mutated mentions | mutated recall, no feedback | mutated recall, with feedback |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let config = Config::default();
    for ds in DATASETS {
        let rows = read_rows(&data, ds);
        let (marks, items) = stream(&rows, odd, &glyph_tables);
        let pristine = Pipeline::new(marks.clone(), 0, &config).expect("a pipeline");
        // Each item's outcome without feedback, once.
        let base: Vec<Counts> = items.par_iter().map(|it| outcome(&pristine, it)).collect();
        for budget in BUDGETS {
            let pipeline = Pipeline::new(marks.clone(), 0, &config).expect("a pipeline");
            let Some((cut, dismissals, entries)) = review(&pipeline, &items, budget) else {
                println!(
                    "| {} | {budget} | | | the stream ({} titles) has fewer findings | | | | | | | | | | | |",
                    ds.name,
                    items.len()
                );
                continue;
            };
            let mut without = Counts::default();
            base[cut..].iter().for_each(|c| without.add(*c));
            let with: Vec<Counts> = items[cut..]
                .par_iter()
                .map(|it| outcome(&pipeline, it))
                .collect();
            let mut feedback = Counts::default();
            with.iter().for_each(|c| feedback.add(*c));
            println!(
                "| {} | {budget} | {dismissals} | {entries} | {cut} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} |",
                ds.name,
                without.neg,
                rate(without.fp, without.neg),
                rate(feedback.fp, feedback.neg),
                rate(without.strict, without.neg),
                rate(feedback.strict, feedback.neg),
                without.exact,
                rate(without.exact_hit, without.exact),
                rate(feedback.exact_hit, feedback.exact),
                without.mutated,
                rate(without.mutated_hit, without.mutated),
                rate(feedback.mutated_hit, feedback.mutated),
            );
        }
    }
}
