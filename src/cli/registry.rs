//! `markhound registry ...`: import, list, show, remove, export.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use markhound::registry::{ExportFormat, ImportError, Mark, Registry};
use unicode_width::UnicodeWidthStr;

use super::{Global, Outcome};

/// Registry subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Import marks from files or folders (.toml, .json, .jsonl, .csv).
    ///
    /// Marks are upserted by id. A file with any bad record is not imported at all;
    /// each problem is reported as FILE:LINE: field: reason. Folders are searched
    /// recursively, in sorted order.
    Import {
        /// Files or folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the registered marks.
    List {
        /// Print one JSON object per mark and line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one mark.
    Show {
        /// The mark's id.
        id: String,
        /// Print the mark as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a mark.
    Remove {
        /// The mark's id.
        id: String,
    },
    /// Write the whole registry to stdout in an import format.
    ///
    /// Images are written with their resolved absolute path and SHA-256, so the
    /// output imports again unchanged.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Toml)]
        format: FormatArg,
    },
    /// Publish the registry as a snapshot to NATS JetStream, for workers.
    ///
    /// The snapshot (every mark with its terms and reference-image hashes) goes to
    /// the object store `markhound-registry` under its version, and the key
    /// `current` of the key-value bucket `markhound-registry` names it; running
    /// workers load it and swap to it. Prints the version published.
    Publish {
        /// The NATS server, e.g. nats://127.0.0.1:4222.
        #[arg(long, value_name = "URL")]
        nats: String,
    },
}

/// `--format` of `registry export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// `[[mark]]` tables.
    Toml,
    /// One JSON object per line.
    Jsonl,
}

/// Runs a registry subcommand.
pub fn run(global: &Global, cmd: RegistryCommand) -> anyhow::Result<Outcome> {
    // Only an import creates a database; the other commands read one.
    let db = match cmd {
        RegistryCommand::Import { .. } => markhound::db::open(&global.db)?,
        _ => markhound::db::open_existing(&global.db)?,
    };
    let registry = Registry::open(&db).context("cannot open the registry")?;
    match cmd {
        RegistryCommand::Import { paths } => import(global, &registry, &paths),
        RegistryCommand::List { json } => list(&registry, json),
        RegistryCommand::Show { id, json } => show(global, &registry, &id, json),
        RegistryCommand::Remove { id } => remove(global, &registry, &id),
        RegistryCommand::Publish { nats } => publish(global, &registry, &nats),
        RegistryCommand::Export { format } => {
            let format = match format {
                FormatArg::Toml => ExportFormat::Toml,
                FormatArg::Jsonl => ExportFormat::JsonLines,
            };
            let text = registry.export(format)?;
            write_stdout(&text)?;
            Ok(Outcome::Success)
        }
    }
}

fn publish(global: &Global, registry: &Registry, url: &str) -> anyhow::Result<Outcome> {
    use markhound::engine::jetstream::{connect, snapshot};
    let version = registry
        .version()
        .context("cannot read the registry version")?;
    let marks = super::registry_marks_of(registry, &global.db)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let pointer = runtime.block_on(async {
        let js = connect(url, "markhound registry publish").await?;
        snapshot::publish(&js, version, marks).await
    })?;
    if !global.quiet {
        eprintln!(
            "published registry version {} ({} marks, {} bytes) as {}",
            pointer.version, pointer.marks, pointer.bytes, pointer.object
        );
    }
    write_stdout(&format!("{}\n", pointer.version))?;
    Ok(Outcome::Success)
}

/// Room asked for on the database's disk per byte of registry files imported.
/// sled writes an import's batch to its log, later rewrites it into its pages and
/// keeps the old pages until it reclaims them, so an import takes up to about three
/// times its size for a while. A disk that fills during the write is the one case
/// sled 0.34 cannot always keep all or nothing (a torn batch was once seen on a
/// loaded machine): asking for the room first keeps an import away from it.
const SPACE_FACTOR: u64 = 3;

/// The bytes of the registry files `path` names (a file, or a folder's TOML,
/// JSON, JSON lines and CSV files; images are not stored).
fn registry_bytes(path: &std::path::Path) -> u64 {
    if path.is_file() {
        return std::fs::metadata(path).map_or(0, |m| m.len());
    }
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| matches!(x, "toml" | "json" | "jsonl" | "ndjson" | "csv"))
        })
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}

/// Refuses, before anything is written, an import the database's disk has no room
/// for ([`SPACE_FACTOR`]).
fn check_room(db: &std::path::Path, path: &std::path::Path) -> Result<(), String> {
    let needed = registry_bytes(path).saturating_mul(SPACE_FACTOR);
    let dir = if db.is_dir() {
        db.to_path_buf()
    } else {
        db.parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    match fs2::available_space(&dir) {
        Ok(free) if free < needed => Err(format!(
            "{}: No space left on device for this import: it needs about {} KiB and {} has {} KiB free; nothing of this file was imported and the registry keeps what it had",
            path.display(),
            needed.div_ceil(1024),
            dir.display(),
            free / 1024
        )),
        _ => Ok(()),
    }
}

fn import(global: &Global, registry: &Registry, paths: &[PathBuf]) -> anyhow::Result<Outcome> {
    for path in paths {
        if let Err(message) = check_room(&global.db, path) {
            eprintln!("error: {message}");
            return Ok(Outcome::Failure);
        }
    }
    let mut failed = 0;
    let results = registry.import_paths(paths);
    for (path, result) in &results {
        match result {
            Ok(summary) => {
                if !global.quiet {
                    eprintln!(
                        "{}: {} marks ({} added, {} updated, {} unchanged)",
                        path.display(),
                        summary.marks,
                        summary.added,
                        summary.updated,
                        summary.unchanged
                    );
                }
            }
            Err(err @ ImportError::Invalid { problems, .. }) => {
                failed += 1;
                eprintln!("{err}");
                eprintln!(
                    "error: {}: {} problem{}; nothing of this file was imported",
                    path.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
            }
            Err(err) if err.is_storage_failure() => {
                eprintln!("error: {}", markhound::photos::error_chain(err));
                eprintln!(
                    "error: {}: nothing of this file was imported and the registry keeps \
                     what it had; free disk space and import it again",
                    path.display()
                );
                // The database could not write: closing it would try to flush again,
                // and sled's flush on a full disk may never return. What is on disk is
                // what a kill would leave (the import's batch whole or absent, checked
                // by the kill tests), so the process ends here without closing it.
                std::process::exit(i32::from(super::EXIT_FAILURE));
            }
            Err(err) => {
                failed += 1;
                eprintln!("error: {}", markhound::photos::error_chain(err));
            }
        }
    }
    if !global.quiet {
        eprintln!("registry version {}", registry.version()?);
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} files could not be imported",
            results.len()
        );
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

fn list(registry: &Registry, json: bool) -> anyhow::Result<Outcome> {
    let marks = registry.marks()?;
    let mut out = String::new();
    if json {
        for mark in &marks {
            out.push_str(&serde_json::to_string(mark)?);
            out.push('\n');
        }
    } else {
        let rows: Vec<[String; 4]> = marks
            .iter()
            .map(|mark| {
                [
                    mark.id.clone(),
                    mark.name.clone(),
                    join(mark.classes.iter()),
                    mark.aliases.join(", "),
                ]
            })
            .collect();
        out = table(["ID", "NAME", "CLASSES", "ALIASES"], &rows);
    }
    write_stdout(&out)?;
    Ok(Outcome::Success)
}

fn show(global: &Global, registry: &Registry, id: &str, json: bool) -> anyhow::Result<Outcome> {
    let Some(mark) = registry.get(id)? else {
        bail!(
            "no mark with id `{}` in the registry {}",
            sanitize(id),
            global.db.display()
        );
    };
    let text = if json {
        serde_json::to_string_pretty(&mark)? + "\n"
    } else {
        describe(&mark)
    };
    write_stdout(&text)?;
    Ok(Outcome::Success)
}

fn remove(global: &Global, registry: &Registry, id: &str) -> anyhow::Result<Outcome> {
    if !registry.remove(id)? {
        bail!(
            "no mark with id `{}` in the registry {}",
            sanitize(id),
            global.db.display()
        );
    }
    if !global.quiet {
        eprintln!("removed `{id}`; registry version {}", registry.version()?);
    }
    Ok(Outcome::Success)
}

/// A mark as `field: value` lines.
fn describe(mark: &Mark) -> String {
    let mut lines = vec![("id", mark.id.clone()), ("name", mark.name.clone())];
    if !mark.aliases.is_empty() {
        lines.push(("aliases", mark.aliases.join(", ")));
    }
    if let Some(owner) = &mark.owner {
        lines.push(("owner", owner.clone()));
    }
    if !mark.classes.is_empty() {
        lines.push(("classes", join(mark.classes.iter())));
    }
    for registration in &mark.registrations {
        let value = format!("{} {}", registration.office, registration.number);
        lines.push(("registration", value));
    }
    for image in &mark.images {
        let hash = image.sha256.as_deref().unwrap_or("not hashed");
        lines.push(("image", format!("{} (sha256 {hash})", image.path)));
    }
    if let Some(price) = &mark.min_price {
        lines.push(("min price", format!("{} {}", price.amount, price.currency)));
    }
    if !mark.authorized_sellers.is_empty() {
        lines.push(("authorized sellers", mark.authorized_sellers.join(", ")));
    }
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(key, value)| format!("{:width$} {}\n", format!("{key}:"), sanitize(value)))
        .collect()
}

/// Left-aligned columns, padded by display width (CJK characters are two wide).
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|cell| sanitize(&cell)))
        .collect();
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                line.push_str(&" ".repeat(width - cell.width() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces control and bidi-override characters, which could rewrite the terminal,
/// by U+FFFD. Stored marks are checked on import; this guards the output anyway.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_by_display_width() {
        let rows = [
            ["a".to_owned(), "泽特".to_owned()],
            ["bbb".to_owned(), "x".to_owned()],
        ];
        assert_eq!(
            table(["ID", "NAME"], &rows),
            "ID   NAME\na    泽特\nbbb  x\n"
        );
    }

    #[test]
    fn sanitize_neutralises_terminal_controls() {
        assert_eq!(sanitize("a\u{1b}[2Jb\u{202E}c"), "a\u{FFFD}[2Jb\u{FFFD}c");
    }
}
