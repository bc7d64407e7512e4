//! `markhound match`: score listings handed in as JSON lines, or one title.
//!
//! Streams: input is read in batches of [`BATCH`] lines, each batch is scored in
//! parallel and written in input order before the next is read, so memory stays
//! constant in the number of lines. A line that cannot be parsed is answered with
//! `{"line": N, "error": "..."}` in its place and the command exits 1 at the end.
//!
//! Listing photos (`images`: local paths, relative to the working directory, or
//! http(s) URLs; `--image` for one-off checks) are decoded, hashed and looked up
//! among the marks' reference images, in parallel with the rest of the batch. A
//! photo that cannot be fetched or decoded adds no evidence and is logged; the line
//! is still answered.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use markhound::crawl::FetchOptions;
use markhound::listing::Listing;
use markhound::pipeline::{Config, PhotoSources, Pipeline};
use markhound::registry::{parse_file, Format, Mark};
use markhound::scoring::Finding;
use markhound::store::{Incoming, Store};
use rayon::prelude::*;
use serde::Serialize;

use super::{Global, Outcome};

/// Lines scored together; bounds memory and keeps both cores busy.
const BATCH: usize = 4096;
/// The longest input line accepted (1 MiB); a longer one is answered with an error.
const MAX_LINE: usize = 1 << 20;

/// Arguments of `markhound match`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("one_off").args(["title", "image"]).multiple(true)))]
pub struct MatchArgs {
    /// JSON lines of listings to score (`-` for stdin). Without --jsonl or --title,
    /// stdin is read.
    #[arg(long, value_name = "FILE|-", conflicts_with = "title")]
    jsonl: Option<String>,
    /// Check one title and print a readable table (JSON when stdout is not a
    /// terminal).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Check this photo (a file or an http(s) URL) against the marks' reference
    /// images; repeatable. With --title, or alone for a listing without a title.
    #[arg(long, value_name = "PATH", conflicts_with = "jsonl")]
    image: Vec<String>,
    /// With --title or --image: the seller id, to recognise authorised sellers.
    #[arg(long, requires = "one_off")]
    seller: Option<String>,
    /// With --title or --image: the price, as "AMOUNT CURRENCY" (e.g. "19.90 USD").
    #[arg(long, requires = "one_off", value_parser = parse_price)]
    price: Option<markhound::registry::Money>,
    /// Fetch photo URLs that point to loopback, private or link-local addresses too
    /// (refused by default: a listing can name any URL, including ones inside the
    /// network markhound runs in).
    #[arg(long)]
    allow_private: bool,
    /// Also search photos for the registered logos and for parts of the
    /// registered product photos (local features). Off by default: its recall is
    /// low so far and it costs about 0.3 s a photo (EVALUATION.md).
    #[arg(long)]
    logos: bool,
    #[command(flatten)]
    photo_text: super::PhotoTextArgs,
    /// Only report findings with at least this score (0..1). The default, 0, prints
    /// every finding with its score (a machine reads `match`'s output and picks its
    /// own cut); `scan` and `report` default to the suspect threshold instead,
    /// since people read them.
    #[arg(long, default_value_t = 0.0, value_parser = parse_score)]
    min_score: f64,
    /// Match against these registry files or folders instead of the database.
    #[arg(long, value_name = "PATH")]
    registry: Vec<PathBuf>,
    /// Exchange rates for price floors (TOML `[rates]`, US dollars per unit).
    #[arg(long, value_name = "FILE")]
    rates: Option<PathBuf>,
    /// Also store the listings and their findings in the database's review queue
    /// (as the API does): an unchanged listing changes nothing, reviewer decisions
    /// stay. Output is unchanged.
    #[arg(long, conflicts_with_all = ["registry", "title", "image"])]
    store: bool,
}

fn parse_score(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("not a number: {s}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1, got {v}"))
    }
}

fn parse_price(s: &str) -> Result<markhound::registry::Money, String> {
    let mut parts = s.split_whitespace();
    let (Some(a), Some(c), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected AMOUNT CURRENCY, e.g. \"19.90 USD\"".into());
    };
    let amount: f64 = a.parse().map_err(|_| format!("not an amount: {a}"))?;
    if !amount.is_finite() || amount < 0.0 {
        return Err(format!("not an amount: {a}"));
    }
    Ok(markhound::registry::Money {
        amount,
        currency: c.to_ascii_uppercase(),
    })
}

/// Loads the marks to match: from `--registry` files, else from the database.
pub fn load_marks(global: &Global, files: &[PathBuf]) -> anyhow::Result<Vec<Mark>> {
    if !files.is_empty() {
        let mut marks = Vec::new();
        for path in files {
            let paths = if path.is_dir() {
                let mut files = Vec::new();
                for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                    let entry = entry.with_context(|| format!("cannot read {}", path.display()))?;
                    if entry.file_type().is_file() && Format::from_path(entry.path()).is_some() {
                        files.push(entry.into_path());
                    }
                }
                files
            } else {
                vec![path.clone()]
            };
            for p in paths {
                marks.extend(parse_file(&p)?);
            }
        }
        return Ok(marks);
    }
    let db = markhound::db::open_existing(&global.db)?;
    super::registry_marks(&db, &global.db)
}

/// Runs `markhound match`.
pub fn run(global: &Global, args: MatchArgs) -> anyhow::Result<Outcome> {
    let config = Config {
        rates: super::load_rates(args.rates.as_deref())?,
        photos: PhotoSources::UrlsAndFiles,
        fetch: FetchOptions {
            allow_private: args.allow_private,
            ..FetchOptions::default()
        },
        keep_photos: args.store,
        logos: args.logos,
        photo_text: args.photo_text.load(),
    };
    let (pipeline, store) = if args.store {
        let db = markhound::db::open_existing(&global.db)?;
        super::registry_marks(&db, &global.db)?;
        let pipeline = Pipeline::from_registry(&db, &config)?;
        let store = Store::open(&db).context("cannot open the store")?;
        (pipeline, Some(store))
    } else {
        (
            Pipeline::new(load_marks(global, &args.registry)?, 0, &config)?,
            None,
        )
    };
    let unhashed = pipeline
        .scorer()
        .marks()
        .iter()
        .flat_map(|m| &m.images)
        .filter(|i| i.pdq.is_none())
        .count();
    if unhashed > 0 {
        tracing::warn!(
            "{unhashed} reference image(s) of the registry have no PDQ hash and cannot be \
             matched against photos: import the marks again to hash them"
        );
    }
    if args.title.is_some() || !args.image.is_empty() {
        let listing = Listing {
            id: "title".into(),
            title: args.title.clone().unwrap_or_default(),
            images: args.image.clone(),
            seller: args.seller.as_ref().map(|id| markhound::listing::Seller {
                id: id.clone(),
                ..Default::default()
            }),
            price: args.price.clone(),
            ..Listing::default()
        };
        let findings = filtered(pipeline.findings(&listing), args.min_score);
        let stdout = io::stdout();
        let mut out = stdout.lock();
        if stdout.is_terminal() {
            print_table(&mut out, &findings)?;
        } else {
            serde_json::to_writer(
                &mut out,
                &Output {
                    id: &listing.id,
                    findings: &findings,
                },
            )?;
            out.write_all(b"\n")?;
        }
        return Ok(Outcome::Success);
    }
    let input: Box<dyn Read> = match args.jsonl.as_deref() {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(path) => Box::new(File::open(path).with_context(|| format!("cannot open {path}"))?),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let target = Target {
        pipeline: &pipeline,
        store: store.as_ref(),
    };
    let bad = stream(
        BufReader::with_capacity(1 << 16, input),
        &mut out,
        &target,
        args.min_score,
    )?;
    out.flush()?;
    if let Some(store) = &store {
        store.flush().context("cannot write the database")?;
    }
    if bad > 0 {
        let name = args.jsonl.as_deref().unwrap_or("-");
        eprintln!("error: {bad} line(s) of {name} could not be parsed; see the \"error\" lines of the output");
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

#[derive(Serialize)]
struct Output<'a> {
    id: &'a str,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct LineError {
    line: usize,
    error: String,
}

fn filtered(findings: Vec<Finding>, min_score: f64) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| f.score >= min_score)
        .collect()
}

/// One input line: its number and bytes, or why it could not be read.
enum Line {
    Text(usize, Vec<u8>),
    TooLong(usize),
}

/// Where listings go: matched by the pipeline, and stored too when a store is
/// given.
struct Target<'a> {
    pipeline: &'a Pipeline,
    store: Option<&'a Store>,
}

impl Target<'_> {
    /// The findings of each listing of a batch, in order.
    fn findings(&self, listings: Vec<Listing>) -> anyhow::Result<Vec<(String, Vec<Finding>)>> {
        let Some(store) = self.store else {
            self.pipeline.count_brands(&listings);
            return Ok(listings
                .par_iter()
                .map(|l| (l.id.clone(), self.pipeline.findings(l)))
                .collect());
        };
        let ids: Vec<String> = listings.iter().map(|l| l.id.clone()).collect();
        let incoming = listings.into_iter().map(Incoming::handed_in).collect();
        let records = self
            .pipeline
            .ingest(store, incoming, "match")
            .context("cannot store the listings")?;
        let mut by_listing: std::collections::HashMap<String, Vec<Finding>> = Default::default();
        for r in records {
            by_listing.entry(r.listing_id).or_default().push(Finding {
                suppressed: r.suppressed,
                mark_id: r.mark_id,
                mark: r.mark,
                score: r.score,
                signals: r.signals,
                spans: r.spans,
            });
        }
        Ok(ids
            .into_iter()
            .map(|id| {
                let mut f = by_listing.get(&id).cloned().unwrap_or_default();
                f.sort_by(|a, b| b.score.total_cmp(&a.score));
                (id, f)
            })
            .collect())
    }
}

/// Scores every line of `input`, writing one output line per input line; returns the
/// number of lines that could not be parsed.
fn stream(
    mut input: impl BufRead,
    out: &mut impl Write,
    target: &Target<'_>,
    min_score: f64,
) -> anyhow::Result<usize> {
    let mut bad = 0;
    let mut number = 0;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            number += 1;
            match read_line(&mut input, number)? {
                Some(line) => batch.push(line),
                None => break,
            }
        }
        if batch.is_empty() {
            return Ok(bad);
        }
        let mut parsed: Vec<Result<Listing, String>> = batch.par_iter().map(parse_line).collect();
        // The listings move to the matcher; their lines keep a placeholder.
        let listings: Vec<Listing> = parsed
            .iter_mut()
            .filter_map(|p| p.as_mut().ok().map(std::mem::take))
            .collect();
        let mut findings = target.findings(listings)?.into_iter();
        let answers: Vec<Result<(String, Vec<Finding>), String>> = parsed
            .into_iter()
            .map(|p| p.map(|_| findings.next().expect("one answer per listing")))
            .collect();
        // Answers are written out on all cores too, in input order.
        let texts: Vec<(String, bool)> = batch
            .par_iter()
            .zip(answers)
            .map(|(line, answer)| match answer {
                Ok((id, f)) => {
                    let f = filtered(f, min_score);
                    let text = serde_json::to_string(&Output {
                        id: &id,
                        findings: &f,
                    })
                    .expect("findings serialize");
                    (text, true)
                }
                Err(error) => {
                    let text = serde_json::to_string(&LineError {
                        line: line.number(),
                        error,
                    })
                    .expect("errors serialize");
                    (text, false)
                }
            })
            .collect();
        for (text, ok) in texts {
            bad += usize::from(!ok);
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
        }
        if batch.len() < BATCH {
            return Ok(bad);
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; the rest of a longer line is skipped.
fn read_line(input: &mut impl BufRead, number: usize) -> anyhow::Result<Option<Line>> {
    let mut buf = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)
        .with_context(|| format!("cannot read input line {number}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Some(Line::Text(number, buf)));
    }
    if buf.len() > MAX_LINE {
        // Skip to the end of the over-long line.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let n = input.by_ref().take(1 << 16).read_until(b'\n', &mut sink)?;
            if n == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Line::TooLong(number)));
    }
    Ok(Some(Line::Text(number, buf)))
}

impl Line {
    fn number(&self) -> usize {
        match self {
            Line::Text(n, _) | Line::TooLong(n) => *n,
        }
    }
}

/// The listing of one line, or why there is none.
fn parse_line(line: &Line) -> Result<Listing, String> {
    match line {
        Line::TooLong(_) => Err(format!("line longer than {MAX_LINE} bytes")),
        Line::Text(_, bytes) => parse_listing(bytes),
    }
}

fn parse_listing(bytes: &[u8]) -> Result<Listing, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty line".into());
    }
    // The path names the field of a bad value (`image_hashes[1]: ...`).
    let mut de = serde_json::Deserializer::from_str(text);
    let listing: Listing = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // serde_json says "at line 1 column N": the line is ours to name.
        let column = e.inner().column();
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => format!("{} (column {column})", &msg[..i]),
            None => msg,
        };
        // A line that is not JSON at all gets said so, not just serde's "expected
        // ident".
        match e.inner().classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("not a JSON object: {msg}")
            }
            _ => msg,
        }
    })?;
    listing.check()?;
    Ok(listing)
}

fn print_table(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "no registered mark found");
    }
    for f in findings {
        writeln!(out, "{:>5.3}  {} ({})", f.score, f.mark, f.mark_id)?;
        for s in &f.signals {
            writeln!(
                out,
                "       {:+.2}  {:<17} {}",
                s.weight,
                s.kind.as_str(),
                s.detail
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        let marks = vec![Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            ..Mark::default()
        }];
        Pipeline::new(marks, 0, &Config::default()).unwrap()
    }

    fn run_stream(input: &str) -> (Vec<serde_json::Value>, usize) {
        let mut out = Vec::new();
        let p = pipeline();
        let target = Target {
            pipeline: &p,
            store: None,
        };
        let bad = stream(input.as_bytes(), &mut out, &target, 0.0).unwrap();
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, bad)
    }

    #[test]
    fn one_output_line_per_input_line_in_order() {
        let input = "{\"id\":\"a\",\"title\":\"Zentrix shoes\"}\nnot json\n{\"id\":\"b\",\"title\":\"plain\"}\n{\"id\":\"c\"}\n\n";
        let (lines, bad) = run_stream(input);
        assert_eq!(lines.len(), 5);
        assert_eq!(bad, 3);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[0]["findings"][0]["mark_id"], "zentrix");
        assert_eq!(lines[1]["line"], 2);
        assert_eq!(lines[2]["findings"].as_array().unwrap().len(), 0);
        assert!(lines[3]["error"].as_str().unwrap().contains("title"));
        assert_eq!(lines[4]["error"], "empty line");
    }

    #[test]
    fn a_malformed_photo_hash_is_an_error_line_naming_the_field() {
        let good = "ab".repeat(32);
        let input = format!(
            "{{\"id\":\"a\",\"title\":\"x\",\"image_hashes\":[\"{good}\",\"12z4\"]}}\n\
             {{\"id\":\"b\",\"title\":\"Zentrix\",\"image_hashes\":[\"{good}\"]}}\n"
        );
        let (lines, bad) = run_stream(&input);
        assert_eq!(bad, 1);
        assert_eq!(lines[0]["line"], 1);
        let error = lines[0]["error"].as_str().unwrap();
        assert!(
            error.starts_with("image_hashes[1]: a PDQ hash has 64 hex digits"),
            "{error}"
        );
        assert_eq!(lines[1]["findings"][0]["mark_id"], "zentrix");
    }

    #[test]
    fn over_long_and_non_utf8_lines_are_errors() {
        let mut input = Vec::new();
        input.extend_from_slice(&vec![b'x'; MAX_LINE + 10]);
        input.extend_from_slice(b"\n\xff\xfe\n{\"id\":\"a\",\"title\":\"Zentrix\"}");
        let mut out = Vec::new();
        let p = pipeline();
        let target = Target {
            pipeline: &p,
            store: None,
        };
        let bad = stream(&input[..], &mut out, &target, 0.0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(bad, 2);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("longer than"));
        assert!(lines[1].contains("UTF-8"));
        assert!(lines[2].contains("zentrix"));
    }

    #[test]
    fn batches_keep_order() {
        let input: String = (0..BATCH + 7)
            .map(|i| format!("{{\"id\":\"{i}\",\"title\":\"Zentrix {i}\"}}\n"))
            .collect();
        let (lines, bad) = run_stream(&input);
        assert_eq!(bad, 0);
        assert_eq!(lines.len(), BATCH + 7);
        assert!(lines
            .iter()
            .enumerate()
            .all(|(i, l)| l["id"].as_str() == Some(i.to_string().as_str())));
    }

    #[test]
    fn price_argument() {
        assert_eq!(parse_price("19.9 usd").unwrap().currency, "USD");
        assert!(parse_price("x USD").is_err());
        assert!(parse_price("19").is_err());
    }
}
