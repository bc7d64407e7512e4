//! `markhound hash`: print the PDQ hash of each image, in the reference photo
//! hasher's `HASH,QUALITY,PATH` format, so that hashes can be checked against other
//! PDQ tools or loaded into hash-sharing programs.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use markhound::image::{
    decode_path, pdq_hash, pdq_hash_dihedral, recycle, trim_borders, Limits, PdqHash, TrimOptions,
};

use super::Outcome;

/// Flags of `markhound hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// `hash` reads no database. This hidden flag of its own keeps the global
    /// `--db` out of `hash --help` (clap copies a global flag only into commands
    /// without one of the same name) and still accepts it from scripts that pass
    /// `--db` to every command.
    #[arg(long, hide = true, value_name = "DB")]
    db: Option<std::path::PathBuf>,
    /// The hash algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Pdq)]
    pub algo: Algo,
    /// Print the hashes of the 8 rotations and mirror images of each image (one line
    /// each: original, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1).
    #[arg(long)]
    pub dihedral: bool,
    /// Remove uniform borders (padding of one colour) before hashing, so that a
    /// photo pasted on a larger canvas hashes like the photo. The hashes then no
    /// longer follow the reference hasher for padded images.
    #[arg(long)]
    pub trim_borders: bool,
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

/// One thing to hash, or a folder entry that could not be listed; kept in argument
/// order so that errors appear where the file would have.
enum Input {
    File(PathBuf),
    Unlistable(anyhow::Error),
}

/// What the command will do, once the arguments are checked and folders expanded.
struct HashJob {
    inputs: Vec<Input>,
    dihedral: bool,
    trim: Option<TrimOptions>,
    limits: Limits,
}

/// Runs `markhound hash`.
pub fn run(args: HashArgs) -> anyhow::Result<Outcome> {
    let Algo::Pdq = args.algo;
    let mut inputs = Vec::new();
    for path in &args.paths {
        expand(path, &mut inputs);
    }
    let job = HashJob {
        inputs,
        dihedral: args.dihedral,
        trim: args.trim_borders.then(TrimOptions::default),
        limits: Limits::default(),
    };
    Ok(if hash_inputs(&job)? {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// Adds `path` to `inputs`: a folder as its image files in sorted order, anything
/// else as it is (if it cannot be read, hashing it says so).
fn expand(path: &Path, inputs: &mut Vec<Input>) {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        inputs.push(Input::File(path.to_path_buf()));
        return;
    }
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        match entry {
            Ok(entry) if entry.file_type().is_file() && is_image_name(entry.path()) => {
                inputs.push(Input::File(entry.into_path()));
            }
            Ok(_) => {}
            Err(err) => {
                let shown = err.path().unwrap_or(path).display().to_string();
                let err = anyhow::Error::new(err).context(format!("{shown}: cannot list"));
                inputs.push(Input::Unlistable(err));
            }
        }
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Hashes the files in parallel and prints the results in order. Returns whether
/// every input was hashed.
fn hash_inputs(job: &HashJob) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let batch = rayon::current_num_threads().max(1) * BATCH_PER_THREAD;
    let mut all_ok = true;
    for chunk in job.inputs.chunks(batch) {
        let results: Vec<Option<anyhow::Result<Vec<PdqHash>>>> = chunk
            .par_iter()
            .map(|input| match input {
                Input::File(path) => Some(hash_one(path, job)),
                Input::Unlistable(_) => None,
            })
            .collect();
        for (input, result) in chunk.iter().zip(results) {
            let err = match (input, result) {
                (Input::File(path), Some(Ok(hashes))) => {
                    for h in hashes {
                        writeln!(out, "{},{},{}", h.hash, h.quality, path.display())
                            .context("writing the hashes")?;
                    }
                    continue;
                }
                (Input::File(_), Some(Err(err))) => err,
                (Input::Unlistable(err), _) => anyhow::anyhow!("{err:#}"),
                (Input::File(path), None) => anyhow::anyhow!("{}: not hashed", path.display()),
            };
            out.flush().context("writing the hashes")?;
            eprintln!("error: {err:#}");
            all_ok = false;
        }
        out.flush().context("writing the hashes")?;
    }
    Ok(all_ok)
}

/// Hashes one file with this thread's hasher, whose buffers serve file after file.
fn hash_one(path: &Path, job: &HashJob) -> anyhow::Result<Vec<PdqHash>> {
    let image = decode_path(path, &job.limits)?;
    let trimmed = job.trim.as_ref().and_then(|t| trim_borders(&image, t));
    let hashed = trimmed.as_ref().unwrap_or(&image);
    let hashes = if job.dihedral {
        pdq_hash_dihedral(hashed).to_vec()
    } else {
        vec![pdq_hash(hashed)]
    };
    recycle(image);
    Ok(hashes)
}
