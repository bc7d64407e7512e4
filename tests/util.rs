//! Helpers that let integration tests read as scenarios: a temporary workspace with
//! its own database and a builder for `markhound` commands.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory holding a database and input files.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}

impl Workspace {
    /// A fresh, empty workspace.
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("create temp dir"),
        }
    }

    /// The workspace's root folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The database path used by [`Workspace::cmd`].
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("markhound.db")
    }

    /// Writes `contents` to `name` inside the workspace and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// A `markhound` command on this workspace's database.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_markhound"));
        cmd.arg("--db").arg(self.db()).current_dir(self.dir.path());
        cmd.env_remove("MARKHOUND_DB");
        cmd
    }

    /// Runs `markhound ARGS...` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run markhound")
    }
}

/// The repository root (for the bundled `trademarks/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Stdout as text.
/// Runs `cmd` with `input` on its standard input; returns everything it printed.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start markhound");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for markhound")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Debian's Chromium (or another Chrome) for the browser tests, or `None` with a
/// message when the machine has none; under CI (`CI` or
/// `MARKHOUND_REQUIRE_CHROMIUM` set) a missing browser fails, so CI cannot skip
/// the browser tests (`.ci/run` installs it).
pub fn chromium_or_skip() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none()
                && std::env::var_os("MARKHOUND_REQUIRE_CHROMIUM").is_none(),
            "CI must install chromium (.ci/run)"
        );
        eprintln!("skipped: no chromium on this machine");
    }
    found
}

/// Headless Chromium as this machine's closed network wants it (no background
/// connections), with its own profile folder and a window of `width` × `height`.
pub fn headless_chromium(bin: &Path, profile: &Path, width: u32, height: u32) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--window-size={width},{height}"))
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// A PNG declaring `width` × `height` pixels around an almost empty image stream.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    // An empty zlib stream; dropping the writer adds the end chunk.
    let empty_zlib = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    writer.write_chunk(png::chunk::IDAT, &empty_zlib).unwrap();
    drop(writer);
    out
}

/// Serves `routes` (path, raw HTTP answer) on 127.0.0.1 until the test ends and
/// returns the base URL.
pub fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let answer = routes
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                });
            let _ = stream.write_all(&answer);
        }
    });
    base
}

/// The base URL (`http://ADDR`) a just-started `markhound serve` announces on the
/// first line of its standard output, which must be piped.
pub fn listening(child: &mut std::process::Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .expect("read the service's first line");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// The one finding of a `match` run over one listing: checks that `out` succeeded
/// with exactly one finding, of `mark_id`, scored at least 0.5 and led by a signal of
/// `kind`; returns that signal.
pub fn the_one_finding_signal(out: &Output, mark_id: &str, kind: &str) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    let line: serde_json::Value = serde_json::from_str(stdout(out).trim()).unwrap();
    let findings = line["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["mark_id"], mark_id);
    assert!(
        findings[0]["score"].as_f64().unwrap() >= 0.5,
        "{}",
        findings[0]
    );
    let signal = findings[0]["signals"][0].clone();
    assert_eq!(signal["kind"], kind, "{signal}");
    signal
}

/// Checks that `out` succeeded with one result line and no finding.
pub fn assert_no_findings(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
    let line: serde_json::Value = serde_json::from_str(stdout(out).trim()).unwrap();
    assert_eq!(line["findings"], serde_json::json!([]), "{line}");
}

/// Checks that the HTML report of `ws` draws a box of signal `kind` with its corner
/// at (`x`, `y`) on the first listing photo.
pub fn assert_box_in_report(ws: &Workspace, kind: &str, x: f64, y: f64) {
    let out = ws.run(&["report", "--format", "html"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(
        html.contains(&format!("listing photo 1: {kind}")),
        "no boxed photo in the report"
    );
    assert!(
        html.contains(&format!("<rect x=\"{x}\" y=\"{y}\"")),
        "no box in the report"
    );
}
