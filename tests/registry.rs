//! `markhound registry ...` end to end: import errors with file and line for every
//! format, all or nothing per file, idempotent upserts, export round trips, show and
//! remove, schema checks, and crash safety under `kill -9`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use crate::util::{repo_root, stderr, stdout, Workspace};

/// Writes a small, valid PNG (a gradient that depends on `seed`).
fn write_png(ws: &Workspace, name: &str, seed: u8) {
    let img = image::RgbImage::from_fn(32, 32, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, seed]));
    let path = ws.path().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(&path).unwrap();
}

/// Ids of the stored marks, from `registry list --json`.
fn ids(ws: &Workspace) -> Vec<String> {
    list(ws).into_iter().map(|(id, _)| id).collect()
}

/// `(id, owner)` of every stored mark, from `registry list --json`.
fn list(ws: &Workspace) -> Vec<(String, Option<String>)> {
    let out = ws.run(&["registry", "list", "--json"]);
    assert!(out.status.success(), "list failed: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|line| {
            let mark: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            (
                mark["id"].as_str().expect("id").to_owned(),
                mark["owner"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Runs an import that must fail, returning its stderr.
fn failing_import(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.run(&[&["registry", "import"], args].concat());
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    stderr(&out)
}

/// Asserts that `text` has a line starting with each of `prefixes`.
fn assert_lines(text: &str, prefixes: &[&str]) {
    for prefix in prefixes {
        assert!(
            text.lines().any(|line| line.starts_with(prefix)),
            "no line starting with {prefix:?} in:\n{text}"
        );
    }
}

const GOOD_TOML: &str = r#"
[[mark]]
id = "alpha"
name = "Alpha"
owner = "Alpha Ltd."

[[mark]]
id = "beta"
name = "Beta"
aliases = ["贝塔"]
"#;

#[test]
fn toml_errors_name_file_line_and_field() {
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        r#"[[mark]]
id = "good"
name = "Good"

[[mark]]
id = "Bad Id"
name = "Bad"
classes = [25, 0]

[[mark]]
id = "pricey"
name = "Pricey"
min_price = { amount = 10, currency = "XYZ" }
images = ["nope.png"]
"#,
    );
    let err = failing_import(&ws, &["bad.toml"]);
    assert_lines(
        &err,
        &[
            "bad.toml:6: id: `Bad Id` must start",
            "bad.toml:8: classes[1]: Nice class 0 does not exist",
            "bad.toml:13: min_price.currency: `XYZ` is not an active ISO 4217",
            "bad.toml:14: images[0]: cannot open nope.png",
            "error: bad.toml: 4 problems; nothing of this file was imported",
        ],
    );
    assert!(ids(&ws).is_empty(), "the good record must not be stored");
}

#[test]
fn toml_syntax_error_has_its_line() {
    let ws = Workspace::new();
    ws.write("broken.toml", "[[mark]]\nid = \"a\"\nname = \"A\n");
    let err = failing_import(&ws, &["broken.toml"]);
    assert_lines(&err, &["broken.toml:3: "]);
}

#[test]
fn json_errors_name_the_line_of_the_element_and_field() {
    let ws = Workspace::new();
    ws.write(
        "bad.json",
        r#"[
  {"id": "a", "name": "A"},
  {
    "id": "b",
    "name": "B",
    "classes": [25, "x"]
  },
  {"id": "a", "name": "Again"}
]
"#,
    );
    let err = failing_import(&ws, &["bad.json"]);
    assert_lines(
        &err,
        &[
            "bad.json:6: classes[1]: invalid type: string \"x\"",
            "bad.json:8: id: duplicate id `a` (first used on line 2)",
        ],
    );
    assert!(ids(&ws).is_empty());
}

#[test]
fn jsonl_errors_name_their_line() {
    let ws = Workspace::new();
    ws.write(
        "bad.jsonl",
        r#"{"id": "a", "name": "A"}
{"id": "b", "name": "B", "colour": "red"}
not json
{"id": "c", "name": "C", "min_price": {"amount": -1, "currency": "EUR"}}
"#,
    );
    let err = failing_import(&ws, &["bad.jsonl"]);
    assert_lines(
        &err,
        &[
            "bad.jsonl:2: colour: unknown field",
            "bad.jsonl:3: expected ident",
            "bad.jsonl:4: min_price.amount: must be a non-negative finite number",
        ],
    );
    assert!(ids(&ws).is_empty());
}

#[test]
fn csv_errors_name_the_record_line_and_column() {
    let ws = Workspace::new();
    ws.write(
        "bad.csv",
        "id,name,classes,registrations,min_price_amount,min_price_currency\n\
         a,A,25;28,USPTO:123,10,USD\n\
         b,B,25;46,USPTO,,\n\
         c,,25,,,\n",
    );
    let err = failing_import(&ws, &["bad.csv"]);
    assert_lines(
        &err,
        &[
            "bad.csv:3: classes[1]: Nice class 46",
            "bad.csv:3: registrations[0]: `USPTO` is not OFFICE:NUMBER",
            "bad.csv:4: name: missing",
        ],
    );
    ws.write("bad-header.csv", "id,name,colour\na,A,red\n");
    let err = failing_import(&ws, &["bad-header.csv"]);
    assert_lines(&err, &["bad-header.csv:1: colour: unknown column"]);
    assert!(ids(&ws).is_empty());
}

/// Issue 13: an image's `kind` is `photo` or `logo`; anything else is refused in
/// every format with its file, line and field, and nothing of the file is stored.
#[test]
fn issue_13_image_kinds_are_checked_in_every_format() {
    let ws = Workspace::new();
    write_png(&ws, "l.png", 1);
    ws.write(
        "bad.toml",
        "[[mark]]\nid = \"a\"\nname = \"A\"\nimages = [{ path = \"l.png\", kind = \"icon\" }]\n",
    );
    ws.write(
        "bad.json",
        "[\n  {\"id\": \"a\", \"name\": \"A\",\n   \"images\": [{\"path\": \"l.png\", \"kind\": 3}]}\n]\n",
    );
    ws.write(
        "bad.jsonl",
        "{\"id\": \"a\", \"name\": \"A\"}\n{\"id\": \"b\", \"name\": \"B\", \"images\": [{\"path\": \"l.png\", \"kind\": \"Logo\"}]}\n",
    );
    ws.write("bad.csv", "id,name,logos\na,A,l.png\nb,B,missing.png\n");
    let cases = [
        (
            "bad.toml",
            "bad.toml:4: images[0].kind: unknown variant `icon`",
        ),
        (
            "bad.json",
            "bad.json:3: images[0].kind: invalid type: integer `3`",
        ),
        (
            "bad.jsonl",
            "bad.jsonl:2: images[0].kind: unknown variant `Logo`",
        ),
        ("bad.csv", "bad.csv:3: images[0]: cannot open"),
    ];
    for (file, line) in cases {
        let err = failing_import(&ws, &[file]);
        assert_lines(&err, &[line]);
    }
    assert!(ids(&ws).is_empty());

    ws.write("good.csv", "id,name,images,logos\na,A,l.png,l.png\n");
    let out = ws.run(&["registry", "import", "good.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ws.run(&["registry", "show", "a", "--json"]);
    let mark: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(mark["images"][0].get("kind"), None);
    assert_eq!(mark["images"][1]["kind"], "logo");
}

#[test]
fn csv_imports_every_column() {
    let ws = Workspace::new();
    write_png(&ws, "img/z.png", 1);
    ws.write(
        "marks.csv",
        "id,name,aliases,owner,classes,registrations,images,min_price_amount,min_price_currency,authorized_sellers\n\
         zentrix,Zentrix,泽特里克斯;ZTX,Zentrix Sports Ltd.,25;28,USPTO:1234567;EUIPO:000123,img/z.png,80,USD,zentrix-official\n",
    );
    let out = ws.run(&["registry", "import", "marks.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ws.run(&["registry", "show", "zentrix", "--json"]);
    let mark: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(mark["aliases"], serde_json::json!(["泽特里克斯", "ZTX"]));
    assert_eq!(mark["classes"], serde_json::json!([25, 28]));
    assert_eq!(mark["registrations"][1]["number"], "000123");
    assert_eq!(mark["min_price"]["currency"], "USD");
    assert_eq!(mark["images"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_bad_file_stores_nothing_and_keeps_earlier_marks() {
    let ws = Workspace::new();
    ws.write("good.toml", GOOD_TOML);
    assert!(ws
        .run(&["registry", "import", "good.toml"])
        .status
        .success());
    let before = list(&ws);

    // Changes alpha, adds gamma, but one record is bad: none of it may land.
    ws.write(
        "update.toml",
        r#"[[mark]]
id = "alpha"
name = "Alpha"
owner = "Someone Else"

[[mark]]
id = "gamma"
name = "Gamma"

[[mark]]
id = "delta"
name = ""
"#,
    );
    ws.write("other.jsonl", r#"{"id": "epsilon", "name": "Epsilon"}"#);
    let err = failing_import(&ws, &["update.toml", "other.jsonl"]);
    assert_lines(
        &err,
        &[
            "update.toml:12: name: must not be empty",
            "other.jsonl: 1 marks (1 added, 0 updated, 0 unchanged)",
            "error: 1 of 2 files could not be imported",
        ],
    );
    let after = list(&ws);
    let expected: Vec<_> = before
        .into_iter()
        .chain([("epsilon".to_owned(), None)])
        .collect();
    assert_eq!(after, expected);
}

#[test]
fn importing_twice_changes_nothing_and_upserts_by_id() {
    let ws = Workspace::new();
    ws.write("good.toml", GOOD_TOML);
    let first = ws.run(&["registry", "import", "good.toml"]);
    assert!(stderr(&first).contains("2 marks (2 added, 0 updated, 0 unchanged)"));
    assert!(stderr(&first).contains("registry version 1"));
    let export = stdout(&ws.run(&["registry", "export"]));

    let second = ws.run(&["registry", "import", "good.toml"]);
    assert!(second.status.success());
    assert!(stderr(&second).contains("2 marks (0 added, 0 updated, 2 unchanged)"));
    assert!(stderr(&second).contains("registry version 1"));
    assert_eq!(stdout(&ws.run(&["registry", "export"])), export);

    ws.write(
        "change.jsonl",
        r#"{"id": "alpha", "name": "Alpha", "owner": "New Owner"}"#,
    );
    let third = ws.run(&["registry", "import", "change.jsonl"]);
    assert!(stderr(&third).contains("1 marks (0 added, 1 updated, 0 unchanged)"));
    assert!(stderr(&third).contains("registry version 2"));
    assert_eq!(
        list(&ws),
        [
            ("alpha".to_owned(), Some("New Owner".to_owned())),
            ("beta".to_owned(), None)
        ]
    );
}

/// Export, import into a fresh database, export again: the same bytes. And the
/// export imported into the database it came from changes nothing.
fn assert_round_trip(format: &str, file_name: &str) {
    let ws = Workspace::new();
    write_png(&ws, "logos/one.png", 1);
    write_png(&ws, "logos/two.png", 2);
    ws.write(
        "marks.toml",
        r#"[[mark]]
id = "copper-finch"
name = "Copper Finch"
aliases = ["铜雀", "Коппер", "say \"hi\""]
owner = "Copper Finch Ltd."
classes = [16, 28]
registrations = [{ office = "UKIPO", number = "UK00003604417" }, { office = "EUIPO", number = "018402276" }]
images = ["logos/one.png", { path = "logos/two.png", kind = "logo" }]
min_price = { amount = 12.5, currency = "gbp" }
authorized_sellers = ["finch-official"]

[[mark]]
id = "zvk"
name = "ZVK"
min_price = { amount = 199, currency = "CNY" }
"#,
    );
    assert!(ws
        .run(&["registry", "import", "marks.toml"])
        .status
        .success());
    let first = ws.run(&["registry", "export", "--format", format]);
    assert!(first.status.success());
    let exported = ws.write(file_name, &first.stdout);

    let fresh = Workspace::new();
    let import = fresh
        .cmd()
        .args(["registry", "import"])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    let second = fresh.run(&["registry", "export", "--format", format]);
    assert_eq!(stdout(&second), stdout(&first));

    let logo = if format == "toml" {
        "kind = \"logo\""
    } else {
        "\"kind\":\"logo\""
    };
    assert_eq!(
        stdout(&first).matches(logo).count(),
        1,
        "{}",
        stdout(&first)
    );

    let again = ws.run(&["registry", "import", file_name]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("2 marks (0 added, 0 updated, 2 unchanged)"));
    assert!(stderr(&again).contains("registry version 1"));
}

#[test]
fn toml_export_round_trips_exactly() {
    assert_round_trip("toml", "export.toml");
}

#[test]
fn jsonl_export_round_trips_exactly() {
    assert_round_trip("jsonl", "export.jsonl");
}

#[test]
fn a_changed_image_is_caught_on_reimport_of_an_export() {
    let ws = Workspace::new();
    write_png(&ws, "logo.png", 1);
    ws.write(
        "marks.toml",
        "[[mark]]\nid = \"a\"\nname = \"A\"\nimages = [\"logo.png\"]\n",
    );
    assert!(ws
        .run(&["registry", "import", "marks.toml"])
        .status
        .success());
    let export = ws.run(&["registry", "export", "--format", "jsonl"]);
    ws.write("export.jsonl", &export.stdout);
    write_png(&ws, "logo.png", 9);
    let err = failing_import(&ws, &["export.jsonl"]);
    assert_lines(&err, &["export.jsonl:1: images[0]: "]);
    assert!(err.contains("SHA-256"), "{err}");
}

#[test]
fn show_and_remove_marks() {
    let ws = Workspace::new();
    ws.write("good.toml", GOOD_TOML);
    assert!(ws
        .run(&["registry", "import", "good.toml"])
        .status
        .success());

    let show = ws.run(&["registry", "show", "beta"]);
    assert!(show.status.success());
    assert!(stdout(&show).contains("name:"), "{}", stdout(&show));
    assert!(stdout(&show).contains("贝塔"));
    let table = stdout(&ws.run(&["registry", "list"]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("alpha") && table.contains("beta"));

    let remove = ws.run(&["registry", "remove", "alpha"]);
    assert!(remove.status.success(), "{}", stderr(&remove));
    assert!(stderr(&remove).contains("registry version 2"));
    assert_eq!(ids(&ws), ["beta"]);
}

#[test]
fn unknown_ids_are_handled_failures() {
    let ws = Workspace::new();
    let marks = ws.write("m.toml", "[[mark]]\nid = \"alpha\"\nname = \"Alpha\"\n");
    assert!(ws
        .run(&["registry", "import", marks.to_str().unwrap()])
        .status
        .success());
    for command in ["show", "remove"] {
        let out = ws.run(&["registry", command, "nope"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("no mark with id `nope`"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn folders_import_known_files_recursively_in_order() {
    let ws = Workspace::new();
    ws.write("reg/b.jsonl", r#"{"id": "b", "name": "B"}"#);
    ws.write("reg/sub/a.toml", "[[mark]]\nid = \"a\"\nname = \"A\"\n");
    ws.write("reg/notes.md", "not a registry file");
    let out = ws.run(&["registry", "import", "reg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let b = err.find("b.jsonl").expect("b.jsonl imported");
    let a = err.find("a.toml").expect("a.toml imported");
    assert!(b < a, "sorted walk: files before subfolders by name\n{err}");
    assert_eq!(ids(&ws), ["a", "b"]);

    std::fs::create_dir(ws.path().join("empty")).unwrap();
    let err = failing_import(&ws, &["empty"]);
    assert!(
        err.contains("no .toml, .json, .jsonl or .csv files"),
        "{err}"
    );
    ws.write("marks.yaml", "");
    let err = failing_import(&ws, &["marks.yaml"]);
    assert!(err.contains("unknown file type"), "{err}");
    let err = failing_import(&ws, &["no-such-folder"]);
    assert!(
        err.contains("cannot read no-such-folder: No such file"),
        "{err}"
    );
}

#[test]
fn the_bundled_registry_imports() {
    let ws = Workspace::new();
    let out = ws
        .cmd()
        .args(["registry", "import"])
        .arg(repo_root().join("trademarks"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let marks = ids(&ws);
    assert!((12..=16).contains(&marks.len()), "{marks:?}");
    assert!(marks.iter().any(|id| id == "zentrix"));
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let ws = Workspace::new();
    {
        let db = sled::open(ws.db()).unwrap();
        db.insert(
            markhound::db::SCHEMA_KEY,
            &(markhound::db::SCHEMA_VERSION + 1).to_be_bytes(),
        )
        .unwrap();
        db.flush().unwrap();
    }
    // sled releases its lock shortly after the handle drops; retry until the
    // command gets past the lock to the schema check.
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        let out = ws.run(&["registry", "list"]);
        let err = stderr(&out);
        if !err.contains("could not acquire lock") || Instant::now() > deadline {
            assert_eq!(out.status.code(), Some(1), "{err}");
            break err;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(err.contains(&ws.db().display().to_string()), "{err}");
    let newer = format!("schema version {}", markhound::db::SCHEMA_VERSION + 1);
    let supported = format!("version {}", markhound::db::SCHEMA_VERSION);
    assert!(err.contains(&newer) && err.contains(&supported), "{err}");
}

/// `kill -9` at random moments of an import leaves the old or the new marks of the
/// file, never a mix, and the database opens afterwards.
#[test]
fn kill_during_import_leaves_old_or_new_state() {
    const MARKS: usize = 3000;
    let ws = Workspace::new();
    write_png(&ws, "ref/one.png", 1);
    write_png(&ws, "ref/two.png", 2);
    let versions: Vec<BTreeMap<String, String>> = ["Old Owner", "New Owner"]
        .iter()
        .map(|owner| {
            (0..MARKS)
                .map(|i| (format!("mark-{i:05}"), (*owner).to_owned()))
                .collect()
        })
        .collect();
    for (name, marks) in ["v0.jsonl", "v1.jsonl"].iter().zip(&versions) {
        let text: String = marks
            .iter()
            .enumerate()
            .map(|(i, (id, owner))| {
                let image = if i % 2 == 0 {
                    "ref/one.png"
                } else {
                    "ref/two.png"
                };
                format!(
                    "{{\"id\": \"{id}\", \"name\": \"Mark {i}\", \"owner\": \"{owner}\", \
                     \"classes\": [25], \"images\": [\"{image}\"]}}\n"
                )
            })
            .collect();
        ws.write(name, text);
    }

    // How long a whole import takes here, measured on a scratch database.
    let scratch = Workspace::new();
    let started = Instant::now();
    let out = scratch
        .cmd()
        .args(["registry", "import"])
        .arg(ws.path().join("v0.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let full = started.elapsed();

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        | 1;
    let mut rng = seed;
    let mut random = move |below: u32| {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng % below
    };
    // sled's log; it grows while the import's batch is written.
    let log = ws.db().join("db");
    let log_len = |path: &Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let mut state: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..8 {
        let target = &versions[round % 2];
        let len_before = log_len(&log);
        let mut child = ws
            .cmd()
            .args([
                "--quiet",
                "registry",
                "import",
                ["v0.jsonl", "v1.jsonl"][round % 2],
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let when = if round % 2 == 0 {
            // Anywhere in the run (or just after it).
            let delay = full.mul_f64(f64::from(random(1500)) / 1000.0);
            std::thread::sleep(delay);
            format!("{delay:?} after the start ({full:?} for a whole import)")
        } else {
            // While the batch is being written: shortly after the log starts growing.
            let deadline = Instant::now() + full * 3 + Duration::from_secs(5);
            while log_len(&log) <= len_before
                && Instant::now() < deadline
                && child.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            let delay = Duration::from_micros(u64::from(random(30_000)));
            std::thread::sleep(delay);
            format!("{delay:?} after the log grew")
        };
        child.kill().ok(); // SIGKILL; fails only if it already exited
        child.wait().unwrap();

        let now: BTreeMap<String, String> = list(&ws)
            .into_iter()
            .map(|(id, owner)| (id, owner.unwrap_or_default()))
            .collect();
        assert!(
            now == state || &now == target,
            "round {round} (seed {seed}, killed {when}): {} marks stored, neither the \
             old state ({} marks) nor the file's ({} marks)",
            now.len(),
            state.len(),
            target.len()
        );
        // Shown with --nocapture: which state each kill left.
        let kept = if now == *target { "new" } else { "old" };
        eprintln!("round {round}: killed {when}: {kept} state");
        state = now;
    }
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it), or `None` where this
    /// machine does not let the tests mount (not root, no CAP_SYS_ADMIN).
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A disk too small for an import: the file is not imported at all (the registry
/// and its version stay as they were) and the command ends at once with exit status
/// 1 and the cause. The import is refused before anything is written (the room it
/// needs is checked first); a disk that still fills during the write makes the
/// command exit at once too, instead of hanging while the database closes.
#[test]
fn a_full_disk_during_import_changes_nothing_and_exits_at_once() {
    let Some(disk) = SmallDisk::mount("6m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let ws = Workspace::new();
    let db = disk.path().join("markhound.db");
    let on = |db: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_markhound"));
        cmd.arg("--db").arg(db).env_remove("MARKHOUND_DB");
        cmd
    };
    let run = |args: &[&str]| {
        let mut cmd = on(&db);
        cmd.args(args);
        cmd
    };
    let out = run(&["registry", "import"])
        .arg(repo_root().join("trademarks"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = |db: &Path| {
        let out = on(db)
            .args(["registry", "list", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let before = listed(&db);
    // 7,000 marks with 60 aliases each: far more than the 6 MiB disk holds.
    let mut text = String::new();
    for i in 0..7_000 {
        let aliases: Vec<String> = (0..60).map(|a| format!("\"Alias{i}x{a}\"")).collect();
        text.push_str(&format!(
            "{{\"id\": \"bulk-{i:05}\", \"name\": \"Bulkmark{i}\", \"owner\": \"Bulk Owner {i}\", \
             \"classes\": [25], \"aliases\": [{}]}}\n",
            aliases.join(", ")
        ));
    }
    let big = ws.write("bulk.jsonl", text);
    let started = Instant::now();
    let mut child = run(&["registry", "import"])
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = started + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().unwrap();
            panic!("the import on a full disk still runs after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("bulk.jsonl"), "{err}");
    eprintln!("exited after {:?}: {err}", started.elapsed());
    // What was stored is intact: the old marks, the old version, read from a copy of
    // the database on a disk with room (opening may need to write).
    let copy = ws.path().join("copy.db");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&db)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    assert_eq!(listed(&copy), before, "the registry changed");
}
