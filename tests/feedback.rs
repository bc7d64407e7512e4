//! Feedback banks end to end (issue 14): a dismissal with a reason suppresses the
//! next listing it explains, the undo reopens it, a confirmed counterfeit photo
//! finds its relisting under a clean title, and the banks travel with the
//! registry's export.

use serde_json::{json, Value};

use crate::review_api::Service;
use crate::util::{run_with_stdin, Workspace};

/// The one finding of the listing `id` in an ingest answer.
fn finding_of(answer: &Value, listing: &str) -> Value {
    answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["listing_id"] == listing)
        .unwrap_or_else(|| panic!("no finding for {listing}: {answer}"))
        .clone()
}

/// Moves finding `f` to `in_review`, then `to` with `reason`; answers the last
/// transition's body.
fn decide(svc: &Service, f: &Value, to: &str, reason: Option<&str>) -> Value {
    let id = f["id"].as_str().unwrap();
    let path = format!("/api/v1/findings/{id}/transition");
    let r = svc.post(
        &svc.reviewer,
        &path,
        &json!({"to": "in_review", "version": f["version"]}),
    );
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().unwrap();
    let mut body = json!({"to": to, "version": seen["version"]});
    if let Some(reason) = reason {
        body["reason"] = reason.into();
    }
    let r = svc.post(&svc.reviewer, &path, &body);
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

fn listing(id: &str, title: &str, seller: &str) -> Value {
    json!({"id": id, "title": title, "seller": {"id": seller}})
}

#[test]
fn dismissing_as_another_brand_suppresses_the_next_listing_until_undone() {
    let svc = Service::start();
    let first = svc.ingest(&json!([listing("L1", "Zentrax running shoes", "s1")]));
    let f1 = finding_of(&first, "L1");
    assert_eq!(f1["state"], "new");

    let decided = decide(&svc, &f1, "dismissed", Some("other_brand"));
    assert_eq!(decided["state"], "dismissed");
    assert_eq!(decided["bank_entries"], json!([1]));
    let decision = decided["decision"].as_str().unwrap().to_owned();
    assert_eq!(decision, format!("{}@3", f1["id"].as_str().unwrap()));

    let bank: Value = svc
        .get(&svc.reviewer, "/api/v1/marks/zentrix/bank")
        .json()
        .unwrap();
    assert_eq!(bank["negative"][0]["kind"], "term");
    assert_eq!(bank["negative"][0]["value"], "Zentrax");
    assert_eq!(bank["negative"][0]["reason"], "other_brand");
    assert_eq!(bank["negative"][0]["decision"], decision.as_str());

    // The next listing spelling the other brand the same way, by another seller,
    // is stored dismissed, saying why; another spelling still reaches the queue.
    let next = svc.ingest(&json!([
        listing("L2", "ZENTRAX trail shoes", "s2"),
        listing("L3", "Zentrex sneakers", "s2"),
    ]));
    let f2 = finding_of(&next, "L2");
    assert_eq!(f2["state"], "dismissed", "{f2}");
    assert_eq!(f2["suppressed"], json!({"entry": 1, "decision": decision}));
    assert_eq!(finding_of(&next, "L3")["state"], "new");
    let id2 = f2["id"].as_str().unwrap();
    let page: Value = svc
        .get(&svc.reviewer, &format!("/api/v1/findings/{id2}"))
        .json()
        .unwrap();
    let created = page["history"][0]["note"].as_str().unwrap();
    assert!(
        created.contains(&format!(
            "suppressed by bank entry 1 (from decision {decision})"
        )),
        "{created}"
    );
    let queue = svc.all_findings("&state=new");
    assert!(queue.iter().all(|f| f["listing_id"] != "L2"));

    // Undo: the entry stops acting, the suppressed finding is reopened, and the
    // dismissed finding's audit log records who undid it.
    let r = svc.post(
        &svc.reviewer,
        "/api/v1/marks/zentrix/bank/1/undo",
        &json!({}),
    );
    assert_eq!(r.status(), 200);
    let undo: Value = r.json().unwrap();
    assert_eq!(undo["reopened"], json!([id2]));
    let again = svc.post(
        &svc.reviewer,
        "/api/v1/marks/zentrix/bank/1/undo",
        &json!({}),
    );
    assert_eq!(again.status(), 404, "undone once");
    let id1 = f1["id"].as_str().unwrap();
    let audit: Value = svc
        .get(&svc.reviewer, &format!("/api/v1/findings/{id1}/audit"))
        .json()
        .unwrap();
    let last = audit["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "feedback");
    assert_eq!(last["actor"], "rita");
    assert!(last["note"].as_str().unwrap().contains("bank entry 1"));
    let later = svc.ingest(&json!([listing("L4", "Zentrax hiking shoes", "s3")]));
    assert_eq!(finding_of(&later, "L4")["state"], "new");
}

#[test]
fn reasons_are_checked_and_plain_decisions_still_work() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([
        listing("A", "Zentrix replica shoes", "s1"),
        listing("B", "Zentrix replica socks", "s1"),
    ]));
    let a = finding_of(&answer, "A");
    let path = format!("/api/v1/findings/{}/transition", a["id"].as_str().unwrap());
    let r = svc.post(
        &svc.reviewer,
        &path,
        &json!({"to": "in_review", "version": 1, "reason": "other_brand"}),
    );
    assert_eq!(r.status(), 400);
    let body: Value = r.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().starts_with("reason:"),
        "{body}"
    );
    let r = svc.post(
        &svc.reviewer,
        &path,
        &json!({"to": "in_review", "version": 1, "reason": "spam"}),
    );
    assert_eq!(r.status(), 400);
    // Without a reason, a dismissal banks nothing.
    let decided = decide(&svc, &a, "dismissed", None);
    assert_eq!(decided["state"], "dismissed");
    assert_eq!(decided["bank_entries"], json!([]));
    // The mark's own name is never banked as another brand.
    let b = finding_of(&answer, "B");
    let decided = decide(&svc, &b, "dismissed", Some("other_brand"));
    assert_eq!(decided["bank_entries"], json!([]));
    let bank: Value = svc
        .get(&svc.reviewer, "/api/v1/marks/zentrix/bank")
        .json()
        .unwrap();
    assert_eq!(bank["negative"], json!([]));
    // An authorised seller is banked as one.
    let c = finding_of(
        &svc.ingest(&json!([listing("C", "Zentrix shoes", "zentrix-outlet")])),
        "C",
    );
    assert_eq!(
        decide(&svc, &c, "dismissed", Some("authorised"))["bank_entries"],
        json!([1])
    );
    let d = finding_of(
        &svc.ingest(&json!([listing(
            "D",
            "Zentrix replica bag",
            "zentrix-outlet"
        )])),
        "D",
    );
    assert_eq!(d["state"], "dismissed");
    assert_eq!(d["suppressed"]["entry"], 1);
    assert_eq!(
        svc.get(&svc.reviewer, "/api/v1/marks/nosuch/bank").status(),
        404
    );
}

/// A PDQ hash with bits `flip` flipped from a fixed one.
fn photo(flip: &[usize]) -> String {
    let mut bytes = [0x5au8; 32];
    bytes[0] = 0x13;
    bytes[7] = 0xc4;
    for &bit in flip {
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_confirmed_counterfeit_photo_finds_its_relisting_under_a_clean_title() {
    let mut svc = Service::start();
    let clean = |id: &str, seller: &str, hash: String| {
        json!({"id": id, "title": "Running shoes, men, size 42", "seller": {"id": seller},
               "image_hashes": [hash]})
    };
    // Before any decision, the clean title with the photo finds nothing.
    let before = svc.ingest(&json!([clean("R0", "s9", photo(&[3, 90, 200]))]));
    assert_eq!(before["findings"], json!([]));

    let answer = svc.ingest(&json!([{
        "id": "C1", "title": "Zentrix replica running shoes", "seller": {"id": "s1"},
        "image_hashes": [photo(&[])],
    }]));
    let f = finding_of(&answer, "C1");
    let decided = decide(&svc, &f, "confirmed", None);
    assert_eq!(decided["state"], "confirmed");
    assert_eq!(decided["bank_entries"], json!([1]));

    // Reposted by another seller, recompressed (a few bits differ), clean title.
    let relisted = svc.ingest(&json!([clean("R1", "s2", photo(&[3, 90, 200]))]));
    let r = finding_of(&relisted, "R1");
    assert_eq!(r["mark_id"], "zentrix");
    assert_eq!(r["state"], "new");
    let detail = r["signals"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("bank entry 1"), "{detail}");
    assert!(detail.contains("distance 3"), "{detail}");
    // A different photo still finds nothing.
    let other: Vec<usize> = (0..256).step_by(3).collect();
    let unrelated = svc.ingest(&json!([clean("R2", "s3", photo(&other))]));
    assert_eq!(unrelated["findings"], json!([]));

    // The bank travels with the registry: export, import into a new database.
    assert!(svc.terminate());
    let out = svc.ws.run(&["registry", "export", "--format", "toml"]);
    assert!(out.status.success(), "{out:?}");
    let exported = String::from_utf8(out.stdout).unwrap();
    assert!(exported.contains("[mark.bank]"), "{exported}");
    assert!(exported.contains(&photo(&[])), "{exported}");
    let second = Workspace::new();
    let file = second.write("exported.toml", &exported);
    let out = second.run(&["registry", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let out = second.run(&["registry", "export", "--format", "toml"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), exported);
    // And `match` on that database finds the relisting through the bank.
    let line = json!({"id": "M1", "title": "Running shoes", "image_hashes": [photo(&[5])]});
    let out = run_with_stdin(
        second.cmd().args(["match", "--jsonl", "-"]),
        &format!("{line}\n"),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("bank entry 1"), "{text} {out:?}");
}

#[test]
fn a_bulk_dismissal_carries_its_reason_into_the_bank() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([
        listing("B1", "Zentrax running shoes", "s1"),
        listing("B2", "Zentrex running shoes", "s2"),
    ]));
    let (c, cookie, csrf) = svc.web_session();
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf),
        ("action".into(), "dismiss".into()),
        ("reason".into(), "other_brand".into()),
        ("back".into(), "/queue".into()),
    ];
    for id in ["B1", "B2"] {
        let f = finding_of(&answer, id);
        form.push((
            "sel".into(),
            format!("{}:{}", f["id"].as_str().unwrap(), f["version"]),
        ));
    }
    let r = c
        .post(format!("{}/bulk", svc.base))
        .header("Cookie", &cookie)
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let bank: Value = svc
        .get(&svc.reviewer, "/api/v1/marks/zentrix/bank")
        .json()
        .unwrap();
    let terms: Vec<&str> = bank["negative"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["Zentrax", "Zentrex"]);
    // A bad reason is refused, naming the field.
    let mut bad = form.clone();
    bad[2].1 = "spam".into();
    let r = c
        .post(format!("{}/bulk", svc.base))
        .header("Cookie", &cookie)
        .form(&bad)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("reason"));
}

/// `n` listings from `first` on: every `every`-th one names `word`, every 33rd
/// names Zentrix (3 %), the rest are plain.
fn stream(first: usize, n: usize, word: Option<(&str, usize)>) -> Value {
    let items: Vec<Value> = (first..first + n)
        .map(|i| {
            let title = match word {
                Some((w, every)) if i % every == 0 => format!("{w} desk lamp {i}"),
                _ if i % 33 == 0 => format!("Zentrix running shoes {i}"),
                _ => format!("Plain cotton t-shirt size {}", i % 7),
            };
            json!({"id": format!("S{i}"), "title": title, "seller": {"id": format!("s{}", i % 50)}})
        })
        .collect();
    Value::Array(items)
}

fn import_toml(svc: &Service, toml: &str) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/registry", svc.base))
        .bearer_auth(&svc.admin)
        .header("Content-Type", "application/toml")
        .body(toml.to_owned())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn in_state(answer: &Value, state: &str) -> Vec<Value> {
    answer["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["state"] == state)
        .cloned()
        .collect()
}

#[test]
fn a_new_alias_that_floods_ingest_is_held_as_one_group() {
    let svc = Service::start();
    // History: 2,000 listings, 3 % of them naming Zentrix.
    let first = svc.ingest(&stream(0, 2_000, None));
    assert!(
        in_state(&first, "held").is_empty(),
        "a first catalogue is never held"
    );

    // A new alias of Korvello that is a common word: on 10 % of the next listings.
    import_toml(
        &svc,
        "[[mark]]\nid = \"korvello\"\nname = \"Korvello\"\naliases = [\"Lumo\"]\n",
    );
    let flood = svc.ingest(&stream(2_000, 600, Some(("Lumo", 10))));
    let held = in_state(&flood, "held");
    assert_eq!(held.len(), 60, "every Lumo finding of the batch");
    let group = held[0]["flood_group"].as_str().unwrap().to_owned();
    assert!(held.iter().all(|f| f["flood_group"] == group.as_str()));
    assert!(held.iter().all(|f| f["mark_id"] == "korvello"));
    // Zentrix, as common as before, is not held.
    let zentrix = flood["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["mark_id"] == "zentrix")
        .count();
    assert!(zentrix > 0);
    assert_eq!(zentrix, in_state(&flood, "new").len());

    // One group, with why; held findings stay out of the queue's open states.
    let groups: Value = svc.get(&svc.reviewer, "/api/v1/floods").json().unwrap();
    let g = &groups["items"][0];
    assert_eq!(g["id"], group.as_str());
    assert_eq!(g["state"], "held");
    assert_eq!(g["findings"], 60);
    assert!(g["cause"]
        .as_str()
        .unwrap()
        .starts_with("korvello/title_alias/lumo"));
    let stats: Value = svc.get(&svc.reviewer, "/api/v1/queue").json().unwrap();
    assert_eq!(stats["counts"]["held"], 60);
    let open_korvello = svc
        .all_findings_fast()
        .into_iter()
        .filter(|f| f["mark_id"] == "korvello" && f["state"] == "new");
    assert_eq!(open_korvello.count(), 0);

    // Released at once to the queue; the cause is not held again.
    let r = svc.post(
        &svc.reviewer,
        &format!("/api/v1/floods/{group}/release"),
        &json!({}),
    );
    assert_eq!(r.status(), 200);
    let released: Value = r.json().unwrap();
    assert_eq!(released["moved"].as_array().unwrap().len(), 60);
    assert_eq!(released["group"]["state"], "released");
    let history = svc.finding(released["moved"][0].as_str().unwrap())["history"].clone();
    assert!(history.to_string().contains("released"), "{history}");
    let again = svc.ingest(&stream(2_600, 300, Some(("Lumo", 10))));
    assert!(in_state(&again, "held").is_empty());
    assert_eq!(
        svc.post(
            &svc.reviewer,
            &format!("/api/v1/floods/{group}/reject"),
            &json!({})
        )
        .status(),
        400,
        "a group is decided once"
    );

    // Another flooding alias, rejected: its findings and the later ones dismissed.
    import_toml(
        &svc,
        "[[mark]]\nid = \"korvello\"\nname = \"Korvello\"\naliases = [\"Lumo\", \"Brio\"]\n",
    );
    let brio = svc.ingest(&stream(2_900, 600, Some(("Brio", 10))));
    let held = in_state(&brio, "held");
    assert_eq!(held.len(), 60);
    let group = held[0]["flood_group"].as_str().unwrap().to_owned();
    let r = svc.post(
        &svc.reviewer,
        &format!("/api/v1/floods/{group}/reject"),
        &json!({}),
    );
    assert_eq!(r.status(), 200);
    let later = svc.ingest(&stream(3_500, 100, Some(("Brio", 10))));
    let dismissed = in_state(&later, "dismissed");
    assert_eq!(dismissed.len(), 10);
    assert!(dismissed.iter().all(|f| f["flood_group"] == group.as_str()));
}
