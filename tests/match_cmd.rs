//! `markhound match` and `markhound demo` end to end.

use crate::util::{repo_root, run_with_stdin, stderr, stdout, Workspace};

fn registry_arg() -> String {
    repo_root().join("trademarks").display().to_string()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn title_check_prints_json_when_not_on_a_terminal() {
    let ws = Workspace::new();
    let out = ws.run(&[
        "match",
        "--registry",
        &registry_arg(),
        "--title",
        "Z3NTRIX trainers 1:1 replica",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_lines(&stdout(&out));
    assert_eq!(v.len(), 1);
    let f = &v[0]["findings"][0];
    assert_eq!(f["mark_id"], "zentrix");
    assert!(f["score"].as_f64().unwrap() > 0.9);
    let kinds: Vec<&str> = f["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"title_confusable") && kinds.contains(&"keyword"),
        "{kinds:?}"
    );
}

#[test]
fn bad_lines_are_answered_in_place_and_the_batch_goes_on() {
    let ws = Workspace::new();
    let input = ws.write(
        "in.jsonl",
        "{\"id\":\"1\",\"title\":\"Korvelo tote bag\"}\n{\"id\":\"2\",\"title\":\n{\"title\":\"no id\"}\n\n{\"id\":\"5\",\"title\":\"water bottle\"}\n",
    );
    let out = ws.run(&[
        "match",
        "--registry",
        &registry_arg(),
        "--jsonl",
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("3 line(s)"), "{}", stderr(&out));
    let v = json_lines(&stdout(&out));
    assert_eq!(v.len(), 5);
    assert_eq!(v[0]["findings"][0]["mark_id"], "korvello");
    assert_eq!(v[1]["line"], 2);
    assert!(
        v[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not a JSON object: "),
        "{}",
        v[1]
    );
    assert_eq!(v[2]["line"], 3);
    assert!(v[2]["error"].as_str().unwrap().contains("id"));
    assert_eq!(v[3]["line"], 4);
    assert_eq!(v[4]["id"], "5");
    assert_eq!(v[4]["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn reads_the_database_registry_and_stdin() {
    let ws = Workspace::new();
    let imported = ws.run(&["registry", "import", &registry_arg()]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let out = run_with_stdin(
        ws.cmd().args(["match", "--min-score", "0.5"]),
        "{\"id\":\"a\",\"title\":\"泽特里克斯 运动鞋\"}\n{\"id\":\"b\",\"title\":\"Silicone case for Brumaq X12\"}\n",
    );
    assert!(out.status.success());
    let v = json_lines(&stdout(&out));
    assert_eq!(v[0]["findings"][0]["mark_id"], "zentrix");
    // Referential use scores below 0.5 and is filtered out.
    assert_eq!(v[1]["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn an_empty_registry_is_a_clear_error() {
    let ws = Workspace::new();
    let out = ws.run(&["match", "--title", "Zentrix"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("registry import"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let ws = Workspace::new();
    let out = ws.run(&["match", "--min-score", "2", "--title", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_ranks_every_counterfeit_above_everything_else() {
    let ws = Workspace::new();
    let report = ws.path().join("report");
    let out = ws.run(&["demo", "--out", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("findings.json"));
    let text = std::fs::read_to_string(report.join("findings.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], 1);
    let ids: Vec<&str> = v["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["listing"]["id"].as_str().unwrap())
        .collect();
    let fakes = markhound::demo::sample_listings()
        .iter()
        .filter(|l| markhound::demo::kind_of(&l.id) == Some(markhound::demo::Kind::Counterfeit))
        .count();
    assert!(ids.len() >= fakes);
    assert!(
        ids[..fakes].iter().all(|id| id.starts_with("fake-")),
        "{ids:?}"
    );
    assert!(report.join("findings.csv").is_file());
}
