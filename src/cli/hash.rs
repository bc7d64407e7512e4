//! `markhound hash`: print the PDQ hash of each image, in the reference photo
//! hasher's `HASH,QUALITY,PATH` format, so that hashes can be checked against other
//! PDQ tools or loaded into hash-sharing programs.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use markhound::image::{decode_path, Limits, PdqHash, PdqHasher};

use super::Outcome;

/// Flags of `markhound hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// The hash algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Pdq)]
    pub algo: Algo,
    /// Print the hashes of the 8 rotations and mirror images of each image (one line
    /// each: original, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1).
    #[arg(long)]
    pub dihedral: bool,
    /// Image files, or folders to search recursively for .jpg, .jpeg, .png, .webp,
    /// .gif and .bmp files (in sorted order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Supported hash algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algo {
    /// Meta's PDQ (256 bits, with a quality score).
    Pdq,
}

/// File extensions picked up when searching folders.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif", "bmp"];

/// How many files are hashed between two writes of the output, per thread: output
/// stays in argument order and appears while a large folder is still being hashed.
const BATCH_PER_THREAD: usize = 32;

/// What the command will do, once the arguments are checked and folders expanded.
struct HashJob {
    files: Vec<PathBuf>,
    dihedral: bool,
    limits: Limits,
}

/// Runs `markhound hash`.
pub fn run(args: HashArgs) -> anyhow::Result<Outcome> {
    let Algo::Pdq = args.algo;
    let mut failed = false;
    let mut files = Vec::new();
    for path in &args.paths {
        if let Err(err) = expand(path, &mut files) {
            eprintln!("error: {err:#}");
            failed = true;
        }
    }
    let job = HashJob {
        files,
        dihedral: args.dihedral,
        limits: Limits::default(),
    };
    if !hash_files(&job)? {
        failed = true;
    }
    Ok(if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// Adds `path` to `files`: a file as it is, a folder as its image files in sorted
/// order.
fn expand(path: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut first_error = None;
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        match entry {
            Ok(entry) if entry.file_type().is_file() && is_image_name(entry.path()) => {
                files.push(entry.into_path());
            }
            Ok(_) => {}
            Err(err) => {
                let shown = err
                    .path()
                    .map_or_else(|| path.display().to_string(), |p| p.display().to_string());
                eprintln!("error: {shown}: {err}");
                first_error.get_or_insert(shown);
            }
        }
    }
    match first_error {
        None => Ok(()),
        Some(shown) => anyhow::bail!("{shown}: could not search the whole folder"),
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Hashes the files in parallel and prints the results in order. Returns whether
/// every file was hashed.
fn hash_files(job: &HashJob) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let batch = rayon::current_num_threads().max(1) * BATCH_PER_THREAD;
    let mut all_ok = true;
    for chunk in job.files.chunks(batch) {
        let results: Vec<Result<Vec<PdqHash>, anyhow::Error>> = chunk
            .par_iter()
            .map_init(PdqHasher::new, |hasher, path| hash_one(hasher, path, job))
            .collect();
        for (path, result) in chunk.iter().zip(results) {
            match result {
                Ok(hashes) => {
                    for h in hashes {
                        writeln!(out, "{},{},{}", h.hash, h.quality, path.display())
                            .context("writing the hashes")?;
                    }
                }
                Err(err) => {
                    out.flush().context("writing the hashes")?;
                    eprintln!("error: {err:#}");
                    all_ok = false;
                }
            }
        }
        out.flush().context("writing the hashes")?;
    }
    Ok(all_ok)
}

fn hash_one(hasher: &mut PdqHasher, path: &Path, job: &HashJob) -> anyhow::Result<Vec<PdqHash>> {
    let image = decode_path(path, &job.limits)?;
    Ok(if job.dihedral {
        hasher.hash_dihedral(&image).to_vec()
    } else {
        vec![hasher.hash(&image)]
    })
}
