//! The review service's JSON API, end to end: the real binary serving on
//! 127.0.0.1:0, driven over HTTP.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};

use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use crate::util::{listening, repo_root, Workspace};

const MARKS: &str = r#"
[[mark]]
id = "zentrix"
name = "Zentrix"
owner = "Zentrix Sports Ltd."
classes = [25]
registrations = [{ office = "USPTO", number = "1234567" }]

[[mark]]
id = "korvello"
name = "Korvello"
owner = "Korvello SpA"
"#;

/// A running review service on its own database, with one token per role.
pub struct Service {
    pub ws: Workspace,
    child: Option<Child>,
    serve_args: Vec<String>,
    pub base: String,
    pub admin: String,
    pub reviewer: String,
    pub ingest: String,
    client: Client,
}

impl Service {
    /// Imports the test registry, creates the tokens and starts the server.
    pub fn start() -> Service {
        Service::start_with(MARKS, &[], &[])
    }

    /// [`Service::start`] with the registry `marks` (TOML), whose `images` are
    /// these bundled reference images copied into the workspace, and `serve` run
    /// with `serve_args` too.
    pub fn start_with(marks: &str, images: &[&str], serve_args: &[&str]) -> Service {
        let ws = Workspace::new();
        for name in images {
            let from = repo_root().join("trademarks/images").join(name);
            std::fs::copy(&from, ws.path().join(name)).unwrap();
        }
        let marks = ws.write("marks.toml", marks);
        let out = ws.run(&["registry", "import", marks.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let token = |role: &str, name: &str| {
            let out = ws.run(&["token", "create", "--role", role, "--name", name]);
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert_eq!(text.lines().count(), 1, "the token alone: {text:?}");
            text.trim().to_owned()
        };
        let admin = token("admin", "ada");
        let reviewer = token("reviewer", "rita");
        let ingest = token("ingest", "crawler");
        let mut svc = Service {
            ws,
            child: None,
            serve_args: serve_args.iter().map(|a| (*a).to_owned()).collect(),
            base: String::new(),
            admin,
            reviewer,
            ingest,
            client: Client::new(),
        };
        svc.launch();
        svc
    }

    /// Starts the server (again) and waits for its address.
    pub fn launch(&mut self) {
        let mut child = self
            .ws
            .cmd()
            .args(["--quiet", "serve", "--bind", "127.0.0.1:0"])
            .args(&self.serve_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start markhound serve");
        self.base = listening(&mut child);
        self.child = Some(child);
    }

    /// Sends SIGTERM and waits for the server to exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let mut c = self.child.take().expect("a running server");
        let status = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        c.wait().unwrap().success()
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    pub fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap()
    }

    /// Posts listings with the ingest token and returns the answer.
    pub fn ingest(&self, listings: &Value) -> Value {
        let r = self.post(&self.ingest, "/api/v1/listings", listings);
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    }

    /// Every finding, through the paginated list.
    pub fn all_findings(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/findings?limit=2{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: Value = self.get(&self.reviewer, &path).json().unwrap();
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Asserts that ingesting `batch` is refused with 400 naming item `index` and
    /// `field`, and that nothing of it is stored.
    pub fn assert_batch_refused(&self, batch: &Value, index: usize, field: &str) {
        let r = self.post(&self.ingest, "/api/v1/listings", batch);
        assert_eq!(r.status(), 400);
        let body: Value = r.json().unwrap();
        assert_eq!(body["index"], index, "{body}");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains(&format!("item {index}")) && message.contains(field),
            "{message}"
        );
        assert!(
            self.all_findings("").is_empty(),
            "nothing of the batch is stored"
        );
    }

    /// Signs in to the web UI as the reviewer: a client that does not follow
    /// redirects, the session cookie and the session's CSRF token.
    pub fn web_session(&self) -> (Client, String, String) {
        let c = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = c.get(format!("{}/signin", self.base)).send().unwrap();
        let pre = set_cookie(&page);
        let csrf = csrf_field(&page.text().unwrap());
        let r = c
            .post(format!("{}/signin", self.base))
            .header("Cookie", &pre)
            .form(&[("csrf", csrf.as_str()), ("token", self.reviewer.as_str())])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = set_cookie(&r);
        let queue = c
            .get(format!("{}/queue", self.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap();
        let csrf = csrf_field(&queue.text().unwrap());
        (c, cookie, csrf)
    }

    /// Every finding, in pages of 500.
    pub fn all_findings_fast(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/api/v1/findings?limit=500".to_owned();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: Value = self.get(&self.reviewer, &path).json().unwrap();
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Moves finding `id` to `to` from `version`.
    pub fn transition(&self, id: &str, to: &str, version: u64) -> Response {
        self.post(
            &self.reviewer,
            &format!("/api/v1/findings/{id}/transition"),
            &json!({"to": to, "version": version, "note": format!("to {to}")}),
        )
    }

    /// Drives finding `id` through `path` and returns its version.
    pub fn drive(&self, id: &str, path: &[&str]) -> u64 {
        let mut version = self.finding(id)["version"].as_u64().unwrap();
        for to in path {
            let r = self.transition(id, to, version);
            assert_eq!(r.status(), 200, "{id} -> {to}");
            version = r.json::<Value>().unwrap()["version"].as_u64().unwrap();
        }
        version
    }

    pub fn finding(&self, id: &str) -> Value {
        let r = self.get(&self.reviewer, &format!("/api/v1/findings/{id}"));
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.crash();
    }
}

/// The `name=value` of a response's Set-Cookie, checked for its flags.
fn set_cookie(r: &Response) -> String {
    let v = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        v.contains("HttpOnly") && v.contains("SameSite=Strict"),
        "{v}"
    );
    v.split(';').next().unwrap().to_owned()
}

/// The first CSRF field's value on a page.
fn csrf_field(html: &str) -> String {
    let needle = "name=\"csrf\" value=\"";
    let at = html.find(needle).expect("a CSRF field") + needle.len();
    html[at..at + 64].to_owned()
}

pub fn listing(id: &str, title: &str, seller: &str) -> Value {
    json!({"id": id, "title": title, "url": format!("https://shop.example/{id}"),
           "marketplace": "shop", "seller": {"id": seller, "name": format!("{seller} store")}})
}

#[test]
fn missing_or_unknown_tokens_get_401_and_wrong_roles_403() {
    let svc = Service::start();
    let health = reqwest::blocking::get(format!("{}/healthz", svc.base)).unwrap();
    assert_eq!(health.status(), 200);

    let c = Client::new();
    let r = c
        .get(format!("{}/api/v1/findings", svc.base))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(svc.get("mh_0000_nope", "/api/v1/findings").status(), 401);
    let last = if svc.admin.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &svc.admin[..svc.admin.len() - 1]);
    assert_eq!(svc.get(&forged, "/api/v1/findings").status(), 401);

    // ingest may post but not read; reviewers may read but not post.
    assert_eq!(svc.get(&svc.ingest, "/api/v1/findings").status(), 403);
    let batch = json!([listing("L1", "Zentrix shoes", "s1")]);
    assert_eq!(
        svc.post(&svc.reviewer, "/api/v1/listings", &batch).status(),
        403
    );
    assert_eq!(
        svc.post(&svc.ingest, "/api/v1/listings", &batch).status(),
        200
    );
    assert_eq!(svc.get(&svc.reviewer, "/api/v1/findings").status(), 200);
    // admin may do all.
    assert_eq!(
        svc.post(&svc.admin, "/api/v1/listings", &batch).status(),
        200
    );
    assert_eq!(svc.get(&svc.admin, "/api/v1/findings").status(), 200);
    let id = svc.all_findings("")[0]["id"].as_str().unwrap().to_owned();
    let r = svc.post(
        &svc.ingest,
        &format!("/api/v1/findings/{id}/transition"),
        &json!({"to": "in_review", "version": 1}),
    );
    assert_eq!(r.status(), 403);
}

#[test]
fn ingest_is_idempotent_and_a_changed_listing_is_matched_again() {
    let svc = Service::start();
    let batch = json!([
        listing("L1", "Zentrix running shoes replica", "s1"),
        listing("L2", "Korvello handbag", "s2"),
        listing("L3", "plain socks", "s3"),
    ]);
    let first = svc.ingest(&batch);
    assert_eq!(first["listings"], 3);
    let findings = first["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{first}");
    for f in findings {
        for key in [
            "id",
            "listing_id",
            "mark_id",
            "mark",
            "score",
            "signals",
            "state",
            "version",
            "created_at",
            "updated_at",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
        assert_eq!(f["state"], "new");
        assert_eq!(f["version"], 1);
    }

    let again = svc.ingest(&batch);
    assert_eq!(
        again["findings"], first["findings"],
        "a re-sent batch changes nothing"
    );
    let id = findings[0]["id"].as_str().unwrap();
    assert_eq!(svc.finding(id)["history"].as_array().unwrap().len(), 1);

    // A changed title is matched again: same finding, new version and evidence.
    let changed = json!([listing("L1", "Zentrix running shoes", "s1")]);
    let answer = svc.ingest(&changed);
    let f = &answer["findings"][0];
    assert_eq!(f["id"], findings[0]["id"]);
    assert_eq!(f["version"], 2);
    assert!(f["score"].as_f64().unwrap() < findings[0]["score"].as_f64().unwrap());
    let history = svc.finding(id)["history"].clone();
    assert_eq!(history[1]["action"], "rematched", "{history}");
    assert_eq!(history[1]["actor"], "crawler");
    assert_eq!(svc.all_findings("").len(), 2);
}

#[test]
fn a_bad_item_gets_400_naming_its_index_and_nothing_is_stored() {
    let svc = Service::start();
    let batch = json!([
        listing("L1", "Zentrix running shoes", "s1"),
        {"id": "L2"},
        listing("L3", "Korvello bag", "s3"),
    ]);
    svc.assert_batch_refused(&batch, 1, "title");

    let r = svc.post(&svc.ingest, "/api/v1/listings", &json!({"id": "x"}));
    assert_eq!(r.status(), 400);
    assert!(svc.all_findings("").is_empty());
}

#[test]
fn json_lines_are_accepted_with_their_content_type() {
    let svc = Service::start();
    let body = format!(
        "{}\n{}\n",
        listing("L1", "Zentrix shoes replica", "s1"),
        listing("L2", "Korvello bag", "s2")
    );
    let r = Client::new()
        .post(format!("{}/api/v1/listings", svc.base))
        .bearer_auth(&svc.ingest)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().unwrap();
    assert_eq!(answer["listings"], 2);
    assert_eq!(answer["findings"].as_array().unwrap().len(), 2);
}

const STATES: [&str; 8] = [
    "new",
    "in_review",
    "confirmed",
    "dismissed",
    "reopened",
    "notice_sent",
    "removed",
    "reinstated",
];

/// How to reach each state from `new`.
fn path_to(state: &str) -> &'static [&'static str] {
    match state {
        "new" => &[],
        "in_review" => &["in_review"],
        "confirmed" => &["in_review", "confirmed"],
        "dismissed" => &["in_review", "dismissed"],
        "reopened" => &["in_review", "dismissed", "reopened"],
        "notice_sent" => &["in_review", "confirmed", "notice_sent"],
        "removed" => &["in_review", "confirmed", "notice_sent", "removed"],
        "reinstated" => &["in_review", "confirmed", "notice_sent", "reinstated"],
        _ => unreachable!(),
    }
}

#[test]
fn every_allowed_transition_succeeds_and_every_other_gets_422() {
    let svc = Service::start();
    let allowed = [
        ("new", "in_review"),
        ("in_review", "confirmed"),
        ("in_review", "dismissed"),
        ("confirmed", "notice_sent"),
        ("notice_sent", "removed"),
        ("notice_sent", "reinstated"),
        ("removed", "reinstated"),
        ("dismissed", "reopened"),
        ("reopened", "in_review"),
    ];
    // One finding per state, each on its own listing.
    let batch: Vec<Value> = STATES
        .iter()
        .map(|s| listing(&format!("L-{s}"), "Zentrix running shoes", "s1"))
        .collect();
    let answer = svc.ingest(&json!(batch));
    let ids: Vec<String> = STATES
        .iter()
        .map(|s| {
            answer["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["listing_id"] == format!("L-{s}"))
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for (state, id) in STATES.iter().zip(&ids) {
        let version = svc.drive(id, path_to(state));
        for to in STATES {
            if allowed.contains(&(*state, to)) {
                continue;
            }
            let r = svc.transition(id, to, version);
            assert_eq!(r.status(), 422, "{state} -> {to}");
        }
        assert_eq!(svc.finding(id)["state"], *state, "refusals change nothing");
    }
    // Each allowed move, from a finding in its source state (sources reached afresh
    // so each move starts from the documented state).
    for (from, to) in allowed {
        let listing_id = format!("M-{from}-{to}");
        let answer = svc.ingest(&json!([listing(
            &listing_id,
            "Zentrix running shoes",
            "s1"
        )]));
        let id = answer["findings"][0]["id"].as_str().unwrap().to_owned();
        let version = svc.drive(&id, path_to(from));
        let r = svc.transition(&id, to, version);
        assert_eq!(r.status(), 200, "{from} -> {to}");
        let f: Value = r.json().unwrap();
        assert_eq!(f["state"], to);
        assert_eq!(f["version"], version + 1);
        let history = svc.finding(&id)["history"].clone();
        let last = history.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["from"], from);
        assert_eq!(last["to"], to);
        assert_eq!(last["actor"], "rita");
        assert_eq!(last["note"], format!("to {to}"));
        assert!(last["at"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn a_stale_version_gets_409_and_changes_nothing() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([listing("L1", "Zentrix shoes", "s1")]));
    let id = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(svc.transition(&id, "in_review", 1).status(), 200);
    // A second reviewer acting on what they saw at version 1.
    let r = svc.transition(&id, "in_review", 1);
    assert_eq!(r.status(), 409);
    let r = svc.transition(&id, "confirmed", 1);
    assert_eq!(r.status(), 409);
    let f = svc.finding(&id);
    assert_eq!(
        (f["state"].as_str(), f["version"].as_u64()),
        (Some("in_review"), Some(2))
    );
    assert_eq!(f["history"].as_array().unwrap().len(), 2);
    // The audit log across findings, newest first.
    let log: Value = svc
        .get(&svc.reviewer, "/api/v1/audit?limit=1")
        .json()
        .unwrap();
    assert_eq!(log["items"][0]["to"], "in_review");
    assert_eq!(log["items"][0]["actor"], "rita");
    let next = log["next"].as_str().expect("a second page");
    let rest: Value = svc
        .get(&svc.reviewer, &format!("/api/v1/audit?cursor={next}"))
        .json()
        .unwrap();
    assert_eq!(rest["items"][0]["action"], "created");
    assert_eq!(rest["items"][0]["actor"], "crawler");
    assert!(rest["next"].is_null());
    assert_eq!(svc.get(&svc.ingest, "/api/v1/audit").status(), 403);
    assert_eq!(svc.transition("nope", "in_review", 1).status(), 404);
    let r = svc.post(
        &svc.reviewer,
        &format!("/api/v1/findings/{id}/transition"),
        &json!({"to": "done", "version": 2}),
    );
    assert_eq!(r.status(), 400);
}

#[test]
fn the_queue_filters_orders_by_score_and_pages_with_a_cursor() {
    let svc = Service::start();
    svc.ingest(&json!([
        listing("L1", "Zentrix running shoes", "s1"),
        listing("L2", "Zentrix running shoes replica", "s2"),
        listing("L3", "Korvello handbag", "s1"),
        listing("L4", "Korvello handbag replica", "s2"),
        listing("L5", "Zentrix cap fake", "s3"),
    ]));
    let all = svc.all_findings("");
    assert_eq!(all.len(), 5);
    let scores: Vec<f64> = all.iter().map(|f| f["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let mut ids: Vec<&str> = all.iter().map(|f| f["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "pages neither repeat nor skip");

    let zentrix = svc.all_findings("&mark=zentrix");
    assert_eq!(zentrix.len(), 3);
    assert!(zentrix.iter().all(|f| f["mark_id"] == "zentrix"));
    let s1 = svc.all_findings("&seller=s1");
    assert_eq!(s1.len(), 2);
    let min = scores[2];
    let high = svc.all_findings(&format!("&min_score={min}"));
    assert!(high.len() >= 3 && high.iter().all(|f| f["score"].as_f64().unwrap() >= min));

    svc.drive(all[0]["id"].as_str().unwrap(), &["in_review"]);
    let in_review = svc.all_findings("&state=in_review");
    assert_eq!(in_review.len(), 1);
    assert_eq!(in_review[0]["id"], all[0]["id"]);
    assert_eq!(svc.all_findings("&state=new").len(), 4);
    assert_eq!(
        svc.get(&svc.reviewer, "/api/v1/findings?state=bogus")
            .status(),
        400
    );
    assert_eq!(
        svc.get(&svc.reviewer, "/api/v1/findings?cursor=zz")
            .status(),
        400
    );

    // The seller view: repeat infringers first.
    svc.drive(all[0]["id"].as_str().unwrap(), &["confirmed"]);
    let sellers: Value = svc.get(&svc.reviewer, "/api/v1/sellers").json().unwrap();
    let first = &sellers["items"][0];
    assert_eq!(first["seller_id"], all[0]["seller_id"], "{sellers}");
    assert_eq!(first["infringing"], 1);
    let one: Value = svc.get(&svc.reviewer, "/api/v1/sellers/s1").json().unwrap();
    assert_eq!(one["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn the_web_queue_opens_on_suspects_only() {
    let svc = Service::start();
    svc.ingest(&json!([
        listing("Q1", "Zentrix running shoes replica", "s1"),
        listing(
            "Q2",
            "Phone case compatible with Zentrix trainers box",
            "s2"
        ),
        listing("Q3", "Replacement laces for Zentrix shoes", "s3"),
        listing("Q4", "Korvello handbag", "s4"),
    ]));
    let all = svc.all_findings("");
    let (high, low): (Vec<&Value>, Vec<&Value>) = all
        .iter()
        .partition(|f| f["score"].as_f64().unwrap() >= 0.5);
    assert!(!high.is_empty() && !low.is_empty(), "{all:?}");
    let (c, cookie, _) = svc.web_session();
    let page = |query: &str| {
        c.get(format!("{}/queue{query}", svc.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let shows = |html: &str, f: &Value| {
        html.contains(&format!("data-id=\"{}\"", f["id"].as_str().unwrap()))
    };
    let default = page("");
    assert!(high.iter().all(|f| shows(&default, f)), "{default}");
    assert!(low.iter().all(|f| !shows(&default, f)), "{default}");
    // The filter says so, and clearing it shows every open finding.
    assert!(
        default.contains(r#"name="min_score" value="0.5""#),
        "{default}"
    );
    let every = page("?min_score=");
    assert!(all.iter().all(|f| shows(&every, f)), "{every}");
}

#[test]
fn notices_are_drafted_for_confirmed_findings_only() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([
        listing("L1", "Zentrix running shoes replica", "s1"),
        {"id": "L2", "title": "Zentrix cap", "marketplace": "other", "url": "https://other.example/L2"},
    ]));
    let id = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/findings/{id}/notice");
    assert_eq!(svc.get(&svc.reviewer, &path).status(), 422);
    svc.drive(&id, &["in_review", "confirmed"]);
    let n: Value = svc.get(&svc.reviewer, &path).json().unwrap();
    assert_eq!(n["rights_owner"], "Zentrix Sports Ltd.");
    assert_eq!(n["registrations"][0]["office"], "USPTO");
    assert_eq!(n["registrations"][0]["number"], "1234567");
    assert_eq!(n["mark"], "Zentrix");
    assert_eq!(n["listing_id"], "L1");
    assert_eq!(n["listing_url"], "https://shop.example/L1");
    assert_eq!(n["seller_id"], "s1");
    assert_eq!(n["infringement"], "counterfeit");
    assert_eq!(n["evidence_sha256"].as_str().unwrap().len(), 64);
    assert!(n["captured_at"].as_str().unwrap().ends_with('Z'));

    let text = svc
        .get(&svc.reviewer, &format!("{path}?format=text"))
        .text()
        .unwrap();
    assert!(
        text.contains("Zentrix Sports Ltd.") && text.contains("1234567"),
        "{text}"
    );
    assert!(text.contains("https://shop.example/L1"), "{text}");

    let other = answer["findings"][1]["id"].as_str().unwrap().to_owned();
    svc.drive(&other, &["in_review", "confirmed"]);
    let csv = svc
        .get(&svc.reviewer, "/api/v1/notices.csv")
        .text()
        .unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with("marketplace,"));
    assert!(
        rows[1].starts_with("other,") && rows[2].starts_with("shop,"),
        "{csv}"
    );
}

#[test]
fn a_listing_of_a_removed_finding_seller_and_mark_is_flagged_as_relist() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([listing("L1", "Zentrix running shoes", "s1")]));
    let id = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    svc.drive(&id, &["in_review", "confirmed", "notice_sent", "removed"]);
    let answer = svc.ingest(&json!([
        listing("L2", "Zentrix running shoes new", "s1"),
        listing("L3", "Zentrix running shoes", "s2"),
    ]));
    let by_listing = |l: &str| {
        answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["listing_id"] == l)
            .unwrap()
            .clone()
    };
    assert_eq!(by_listing("L2")["relist_of"], id.as_str());
    assert!(by_listing("L3").get("relist_of").is_none());
}

#[test]
fn a_crash_during_ingest_leaves_every_stored_finding_with_its_audit_entry() {
    let mut svc = Service::start();
    let base = svc.base.clone();
    let token = svc.ingest.clone();
    // Big batches sent back to back until the server dies.
    let (first_stored, stored) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        let c = Client::new();
        for b in 0..1000 {
            let batch: Vec<Value> = (0..500)
                .map(|i| listing(&format!("B{b}-{i}"), "Zentrix running shoes replica", "s1"))
                .collect();
            if c.post(format!("{base}/api/v1/listings"))
                .bearer_auth(&token)
                .json(&batch)
                .send()
                .is_err()
            {
                return b;
            }
            let _ = first_stored.send(());
        }
        1000
    });
    // Crash in the middle of a later batch.
    stored.recv().expect("the first batch is answered");
    std::thread::sleep(std::time::Duration::from_millis(150));
    svc.crash();
    let sent = sender.join().unwrap();
    assert!(sent < 1000, "the crash came before the sender finished");

    svc.launch();
    let findings = svc.all_findings_fast();
    assert!(
        !findings.is_empty(),
        "some batches were stored before the crash"
    );
    assert_eq!(
        findings.len() % 500,
        0,
        "batches are stored whole or not at all"
    );
    for f in &findings {
        let id = f["id"].as_str().unwrap();
        let r: Value = svc
            .get(&svc.reviewer, &format!("/api/v1/findings/{id}/audit"))
            .json()
            .unwrap();
        assert_eq!(r["items"].as_array().unwrap().len(), 1, "{id}");
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let mut svc = Service::start();
    let batch = |tag: &str| -> Value {
        json!((0..300)
            .map(|i| listing(&format!("{tag}{i}"), "Zentrix running shoes replica", "s1"))
            .collect::<Vec<_>>())
    };
    // How long a batch takes here, to signal in the middle of the next one.
    let start = std::time::Instant::now();
    svc.ingest(&batch("warm"));
    let took = start.elapsed();
    let (base, token, body) = (svc.base.clone(), svc.ingest.clone(), batch("late"));
    let sender = std::thread::spawn(move || {
        Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .unwrap()
            .post(format!("{base}/api/v1/listings"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .map(|r| r.status().as_u16())
    });
    std::thread::sleep(took / 3);
    assert!(svc.terminate(), "the server exits 0 on SIGTERM");
    assert_eq!(sender.join().unwrap().expect("an answer"), 200);
    svc.launch();
    assert_eq!(
        svc.all_findings_fast().len(),
        600,
        "the late batch was stored"
    );
}

#[test]
fn the_session_cookie_is_secure_only_behind_https() {
    let svc = Service::start();
    let c = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let raw = |proto: Option<&str>| {
        let mut r = c.get(format!("{}/signin", svc.base));
        if let Some(p) = proto {
            r = r.header("X-Forwarded-Proto", p);
        }
        let page = r.send().unwrap();
        page.headers()["set-cookie"].to_str().unwrap().to_owned()
    };
    assert!(
        raw(Some("https")).contains("Secure"),
        "{}",
        raw(Some("https"))
    );
    assert!(!raw(Some("http")).contains("Secure"));
    assert!(!raw(None).contains("Secure"));
}

#[test]
fn web_sign_in_uses_a_strict_cookie_a_csrf_token_and_a_rate_limit() {
    let svc = Service::start();
    let c = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", svc.base);
    let cookie_of = set_cookie;
    let csrf_of = csrf_field;
    let signin_form = || {
        let page = c.get(url("/signin")).send().unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        let cookie = cookie_of(&page);
        (cookie, csrf_of(&page.text().unwrap()))
    };
    let post = |cookie: &str, csrf: &str, token: &str| {
        c.post(url("/signin"))
            .header("Cookie", cookie)
            .form(&[("csrf", csrf), ("token", token)])
            .send()
            .unwrap()
    };

    // Without a session: sent to sign in; a wrong CSRF token: refused.
    assert_eq!(c.get(url("/queue")).send().unwrap().status(), 303);
    let (cookie, csrf) = signin_form();
    assert_eq!(post(&cookie, "wrong", &svc.reviewer).status(), 403);
    // An ingest token may not review.
    let refused = post(&cookie, &csrf, &svc.ingest);
    assert_eq!(refused.status(), 403);
    assert!(refused.text().unwrap().contains("may not review"));
    // Signing in rotates the session.
    let ok = post(&cookie, &csrf, &svc.reviewer);
    assert_eq!(ok.status(), 303);
    let session = cookie_of(&ok);
    assert_ne!(session, cookie);
    let queue = c
        .get(url("/queue"))
        .header("Cookie", &session)
        .send()
        .unwrap();
    assert_eq!(queue.status(), 200);
    assert!(queue.text().unwrap().contains("Review queue"));
    assert_eq!(
        c.get(url("/queue"))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .status(),
        303
    );

    // Five wrong tokens, then even the right one waits.
    let (cookie, csrf) = signin_form();
    for _ in 0..5 {
        assert_eq!(post(&cookie, &csrf, "mh_0_wrong").status(), 401);
    }
    assert_eq!(post(&cookie, &csrf, &svc.reviewer).status(), 429);
}

#[test]
fn tokens_are_listed_created_and_revoked_while_the_service_runs() {
    let svc = Service::start();
    // Only the admin manages tokens.
    assert_eq!(svc.get(&svc.reviewer, "/api/v1/tokens").status(), 403);
    let listed: Value = svc.get(&svc.admin, "/api/v1/tokens").json().unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let text = listed.to_string();
    for token in [&svc.admin, &svc.reviewer, &svc.ingest] {
        assert!(
            !text.contains(token.rsplit('_').next().unwrap()),
            "a secret is listed"
        );
    }
    let r = svc.post(
        &svc.admin,
        "/api/v1/tokens",
        &json!({"name": "night shift", "role": "reviewer"}),
    );
    assert_eq!(r.status(), 201);
    let created: Value = r.json().unwrap();
    let fresh = created["token"].as_str().unwrap().to_owned();
    assert_eq!(svc.get(&fresh, "/api/v1/findings").status(), 200);
    let bad = svc.post(
        &svc.admin,
        "/api/v1/tokens",
        &json!({"name": "x", "role": "root"}),
    );
    assert_eq!(bad.status(), 400);

    // A web session of the reviewer token ends when the token is revoked.
    let (c, cookie, _) = svc.web_session();
    let queue = || {
        c.get(format!("{}/queue", svc.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(queue(), 200);
    let reviewer_id = svc.reviewer.split('_').nth(1).unwrap().to_owned();
    let revoke = |id: &str| {
        Client::new()
            .delete(format!("{}/api/v1/tokens/{id}", svc.base))
            .bearer_auth(&svc.admin)
            .send()
            .unwrap()
    };
    assert_eq!(revoke(&reviewer_id).status(), 200);
    assert_eq!(svc.get(&svc.reviewer, "/api/v1/findings").status(), 401);
    assert_eq!(queue(), 303, "the revoked token's session still works");
    assert_eq!(revoke(&reviewer_id).status(), 404);
    let fresh_id = created["id"].as_str().unwrap();
    assert_eq!(revoke(fresh_id).status(), 200);
    assert_eq!(svc.get(&fresh, "/api/v1/findings").status(), 401);
}

#[test]
fn token_list_and_revoke_from_the_command_line() {
    let ws = Workspace::new();
    assert!(ws
        .run(&[
            "registry",
            "import",
            repo_root().join("trademarks").to_str().unwrap()
        ])
        .status
        .success());
    let out = ws.run(&["token", "create", "--role", "ingest", "--name", "feed"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = ws.run(&["token", "list", "--json"]);
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["name"], "feed");
    assert_eq!(listed["role"], "ingest");
    let id = listed["id"].as_str().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(token.rsplit('_').next().unwrap()));
    assert!(ws.run(&["token", "revoke", id]).status.success());
    let out = ws.run(&["token", "revoke", id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token with id"));
    assert!(ws.run(&["token", "list"]).stdout.is_empty());
}

#[test]
fn idle_and_half_sent_connections_do_not_stop_the_service() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    const IDLE: usize = 1_200;
    // The test itself holds 1,200 sockets.
    rlimit::increase_nofile_limit(4_096).unwrap();
    let ws = Workspace::new();
    let marks = ws.write("marks.toml", MARKS);
    assert!(ws
        .run(&["registry", "import", marks.to_str().unwrap()])
        .status
        .success());
    // The service under a 1,024-descriptor limit (soft and hard), as the report was.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 1024 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_markhound"))
        .args([
            "--db",
            ws.db().to_str().unwrap(),
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        // Long enough that the first idle connections are still held when the last
        // ones are opened on a loaded machine, so every slot is taken at once.
        .args(["--header-timeout", "8"])
        .env_remove("MARKHOUND_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = listening(&mut child);
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        BufReader::new(stderr).read_to_string(&mut text).unwrap();
        text
    });
    let mut held = Vec::new();
    for i in 0..IDLE {
        let Ok(mut c) = TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5))
        else {
            continue;
        };
        if i % 2 == 0 {
            // Half the connections start a request and never finish its headers.
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        }
        held.push(c);
    }
    assert!(held.len() > 1_000, "only {} connections opened", held.len());
    let started = Instant::now();
    let health = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .get(format!("http://{addr}/healthz"))
        .send()
        .expect("/healthz answers while 1,200 connections are held");
    assert_eq!(health.status(), 200);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(20), "/healthz took {waited:?}");
    // The idle connections were closed by the server, not left open.
    let first = &mut held[1];
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        first.read(&mut buf).unwrap_or(0),
        0,
        "an idle connection stayed open"
    );
    drop(held);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let log = log.join().unwrap();
    assert!(log.contains("connection slots are taken"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_web_session_survives_a_restart_until_sign_out() {
    let mut svc = Service::start();
    let (c, cookie, csrf) = svc.web_session();
    assert!(svc.terminate(), "the service stops cleanly");
    svc.launch();
    let queue = |base: &str, cookie: &str| {
        c.get(format!("{base}/queue"))
            .header("Cookie", cookie)
            .send()
            .unwrap()
    };
    let page = queue(&svc.base, &cookie);
    assert_eq!(page.status(), 200, "still signed in after the restart");
    // The same CSRF token still works for forms.
    assert_eq!(csrf_field(&page.text().unwrap()), csrf);
    let out = c
        .post(format!("{}/signout", svc.base))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(out.status(), 303);
    svc.crash();
    svc.launch();
    assert_eq!(
        queue(&svc.base, &cookie).status(),
        303,
        "signed out stays signed out"
    );
}

#[test]
fn web_pages_escape_listing_strings_and_bulk_actions_move_findings() {
    let svc = Service::start();
    let hostile = "<script>alert(1)</script> Zentrix shoes";
    let answer = svc.ingest(&json!([
        {"id": "L1", "title": hostile, "url": "https://x.example/\"><b>",
         "seller": {"id": "s1", "name": "<b onmouseover=alert(2)>Shop</b>"}},
        listing("L2", "Zentrix running shoes replica", "s1"),
        listing("L3", "Korvello handbag", "s2"),
    ]));
    let (c, cookie, csrf) = svc.web_session();
    let get = |path: &str| {
        let r = c
            .get(format!("{}{path}", svc.base))
            .header("Cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().unwrap()
    };
    let hostile_id = answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["listing_id"] == "L1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = get(&format!("/findings/{hostile_id}"));
    assert!(!page.contains("<script>alert(1)") && !page.contains("<b onmouseover"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("<mark>Zentrix</mark>"),
        "the mention is highlighted"
    );
    assert!(page.contains("title_exact"), "the signals are shown");
    assert!(get("/sellers").contains("href=\"/sellers/s1\""));
    assert!(get("/sellers/s1").contains("Seller s1"));

    // Bulk: dismiss two findings at once.
    let ids: Vec<(String, u64)> = answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["seller_id"] == "s1")
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let mut form = vec![
        ("csrf".to_owned(), csrf.clone()),
        ("action".to_owned(), "dismiss".to_owned()),
        ("back".to_owned(), "/queue".to_owned()),
    ];
    form.extend(
        ids.iter()
            .map(|(id, v)| ("sel".to_owned(), format!("{id}:{v}"))),
    );
    let r = c
        .post(format!("{}/bulk", svc.base))
        .header("Cookie", &cookie)
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    for (id, _) in &ids {
        let f = svc.finding(id);
        assert_eq!(f["state"], "dismissed");
        assert_eq!(
            f["history"].as_array().unwrap().len(),
            3,
            "new, in_review, dismissed"
        );
    }
    let queue = get("/queue");
    assert!(!ids.iter().any(|(id, _)| queue.contains(id.as_str())));
    // The same form again is stale now: refused, nothing moves.
    let r = c
        .post(format!("{}/bulk", svc.base))
        .header("Cookie", &cookie)
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[test]
fn a_second_process_is_told_who_holds_the_database() {
    let ws = Workspace::new();
    let marks = ws.write("marks.toml", MARKS);
    assert!(ws
        .run(&["registry", "import", marks.to_str().unwrap()])
        .status
        .success());
    let mut child = ws
        .cmd()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    listening(&mut child);
    let out = ws.run(&["registry", "list"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("is in use by process {} (", child.id())),
        "{err}"
    );
    assert!(err.contains("serve --bind 127.0.0.1:0"), "{err}");
    assert!(err.contains("stop that process"), "{err}");
    assert!(!err.contains("WouldBlock"), "{err}");
    // Once the holder is gone, the database opens again.
    assert!(ws.run(&["registry", "list"]).status.success());
}

#[test]
fn the_admin_imports_marks_while_the_service_runs_and_the_next_listing_uses_them() {
    let svc = Service::start();
    let post = |token: &str, kind: &str, body: &str| {
        Client::new()
            .post(format!("{}/api/v1/registry", svc.base))
            .bearer_auth(token)
            .header("Content-Type", kind)
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    let brumaq = "[[mark]]\nid = \"brumaq\"\nname = \"Brumaq\"\nclasses = [25]\n";
    // Before: no finding for a mark the registry does not hold.
    let before = svc.ingest(&json!([listing("B1", "Brumaq trainers replica", "s1")]));
    assert!(!before.to_string().contains("brumaq"), "{before}");
    // Only the admin may import.
    assert_eq!(
        post(&svc.reviewer, "application/toml", brumaq).status(),
        403
    );
    assert_eq!(post(&svc.admin, "text/plain", brumaq).status(), 415);
    // A bad file changes nothing and names its line and field.
    let bad = post(
        &svc.admin,
        "application/toml",
        "[[mark]]\nid = \"x\"\nname = \"X\"\nclasses = [99]\n",
    );
    assert_eq!(bad.status(), 400);
    let text = bad.text().unwrap();
    assert!(text.contains("line 4: classes"), "{text}");
    // Image files are never read by the service.
    let image = post(
        &svc.admin,
        "application/toml",
        "[[mark]]\nid = \"y\"\nname = \"Yy\"\nimages = [\"/etc/passwd\"]\n",
    );
    assert_eq!(image.status(), 400);
    assert!(image.text().unwrap().contains("cannot name image files"));
    let done = post(&svc.admin, "application/toml", brumaq);
    assert_eq!(done.status(), 200);
    let done: Value = done.json().unwrap();
    assert_eq!(done["added"], 1);
    assert_eq!(done["version"], 2);
    // The next listing is matched against the new registry.
    let after = svc.ingest(&json!([listing("B2", "Brumaq trainers replica", "s2")]));
    assert!(
        after.to_string().contains("\"mark_id\":\"brumaq\""),
        "{after}"
    );
    // Importing the same marks again changes nothing.
    let again: Value = post(&svc.admin, "application/toml", brumaq).json().unwrap();
    assert_eq!(
        (again["unchanged"].clone(), again["version"].clone()),
        (json!(1), json!(2))
    );
}
