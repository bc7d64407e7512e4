//! Notices in and takedown reports out (issue 14): DSA Article 16 notices filed over
//! the API become findings with `source = notice`, their notifier reads the
//! decisions with a receipt, and the statements of reasons name the notice as the
//! source; reviewers claim findings; confirmed findings are exported in each
//! marketplace's report shape.

use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::review_api::Service;
use crate::util::repo_root;

fn notice(urls: &[&str]) -> Value {
    json!({
        "name": "Zentrix Sports Ltd. (legal)",
        "email": "legal@zentrix.example",
        "explanation": "These listings sell counterfeit Zentrix shoes under our registered mark.",
        "urls": urls,
        "mark_id": "zentrix",
        "good_faith": true,
    })
}

/// Posts a notice without a token.
fn post_public(svc: &Service, body: &Value) -> reqwest::blocking::Response {
    Client::new()
        .post(format!("{}/api/v1/notices", svc.base))
        .json(body)
        .send()
        .unwrap()
}

/// Creates a token with `role` through the admin API.
fn token(svc: &Service, role: &str, name: &str) -> String {
    let r = svc.post(
        &svc.admin,
        "/api/v1/tokens",
        &json!({"name": name, "role": role}),
    );
    assert_eq!(r.status(), 201, "{role}");
    r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn statements_schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(repo_root().join("tests/fixtures/dsa-statement.schema.json"))
            .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn an_article_16_notice_becomes_findings_and_its_notifier_reads_each_decision() {
    let svc = Service::start();
    svc.ingest(&json!([
        {"id": "L1", "title": "Zentrix replica running shoes", "url": "https://shop.example/L1",
         "seller": {"id": "s1"}},
        {"id": "L2", "title": "Running shoes, white", "url": "https://shop.example/L2",
         "seller": {"id": "s2"}},
    ]));
    let before = svc.all_findings("");
    assert_eq!(before.len(), 1, "the matcher finds L1 only");

    // What Article 16(2) asks for is checked field by field.
    for (edit, field) in [
        (json!({"good_faith": false}), "good_faith:"),
        (json!({"email": "not an address"}), "email:"),
        (json!({"explanation": "fake"}), "explanation:"),
        (json!({"urls": ["ftp://x.example/1"]}), "urls[0]:"),
        (json!({"mark_id": "nosuchmark"}), "mark_id:"),
    ] {
        let mut body = notice(&["https://shop.example/L1"]);
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = post_public(&svc, &body);
        assert_eq!(r.status(), 400, "{field}");
        let e: Value = r.json().unwrap();
        assert!(e["error"].as_str().unwrap().starts_with(field), "{e}");
    }
    // Ingest tokens feed listings; they do not file notices.
    let r = svc.post(
        &svc.ingest,
        "/api/v1/notices",
        &notice(&["https://shop.example/L1"]),
    );
    assert_eq!(r.status(), 403);

    let r = post_public(
        &svc,
        &notice(&[
            "https://shop.example/L1",
            "https://SHOP.example/L2#reviews",
            "https://elsewhere.example/p/9",
        ]),
    );
    assert_eq!(r.status(), 201);
    let ack: Value = r.json().unwrap();
    let id = ack["id"].as_str().unwrap().to_owned();
    let receipt = ack["receipt"].as_str().unwrap().to_owned();
    assert_eq!(ack["source"], "SOURCE_ARTICLE_16");
    assert!(ack.get("receipt_sha256").is_none(), "{ack}");
    let items = ack["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items.iter().map(|i| i["known"].clone()).collect::<Vec<_>>(),
        [json!(true), json!(true), json!(false)]
    );
    assert_eq!(
        items[1]["listing_id"], "L2",
        "found by URL despite case and fragment"
    );

    // Every URL is a finding of the mark, from the notice, in the queue.
    let all = svc.all_findings("");
    assert_eq!(all.len(), 3);
    for f in &all {
        assert_eq!(f["source"], "notice", "{f}");
        assert_eq!(f["notices"][0]["id"], id.as_str());
        assert!(f["score"].as_f64().unwrap() >= 0.5, "{f}");
        assert_eq!(f["state"], "new");
    }
    let l1 = svc.finding(items[0]["finding_id"].as_str().unwrap());
    assert!(
        !l1["signals"].as_array().unwrap().is_empty(),
        "matcher evidence kept"
    );
    assert_eq!(
        l1["history"].as_array().unwrap().last().unwrap()["action"],
        "notice"
    );
    let l2_id = items[1]["finding_id"].as_str().unwrap().to_owned();
    let l2 = svc.finding(&l2_id);
    assert!(l2["signals"].as_array().unwrap().is_empty());
    assert_eq!(l2["score"], 0.5);

    // The notifier reads the decisions with the receipt; nobody else without a token.
    let status_path = format!("/api/v1/notices/{id}");
    let anon = Client::new();
    let get = |q: &str| {
        anon.get(format!("{}{status_path}{q}", svc.base))
            .send()
            .unwrap()
    };
    assert_eq!(get("").status(), 401);
    assert_eq!(get("?receipt=0123").status(), 404);
    let pending: Value = get(&format!("?receipt={receipt}")).json().unwrap();
    assert!(pending["items"][0]["decision"]
        .as_str()
        .unwrap()
        .starts_with("pending"));
    assert!(pending["items"][0]["redress"].is_null());

    svc.drive(
        items[0]["finding_id"].as_str().unwrap(),
        &["in_review", "confirmed", "notice_sent", "removed"],
    );
    svc.drive(&l2_id, &["in_review", "dismissed"]);
    let decided: Value = get(&format!("?receipt={receipt}")).json().unwrap();
    let d = decided["items"].as_array().unwrap();
    assert_eq!(d[0]["state"], "removed");
    assert!(d[0]["decision"].as_str().unwrap().contains("removed"));
    assert!(d[0]["redress"].as_str().unwrap().contains("Article 20"));
    assert!(d[0]["decided_at"].is_string());
    assert_eq!(d[1]["state"], "dismissed");
    assert!(d[1]["decision"].as_str().unwrap().starts_with("rejected"));
    assert!(d[1]["redress"].is_string());
    // Reviewers read every notice with its decisions.
    let list: Value = svc.get(&svc.reviewer, "/api/v1/notices").json().unwrap();
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["email"], "legal@zentrix.example");

    // The removal's statement of reasons names the notice as its source.
    let statements: Value = svc.get(&svc.reviewer, "/api/v1/statements").json().unwrap();
    let s = &statements["statements"][0];
    assert_eq!(s["source_type"], "SOURCE_ARTICLE_16");
    assert!(s["source_identity"]
        .as_str()
        .unwrap()
        .contains("Zentrix Sports Ltd. (legal)"));
    assert_eq!(s["automated_detection"], "Yes", "the matcher found L1 too");
    assert!(s["decision_facts"].as_str().unwrap().contains(&id));
    let schema = statements_schema();
    let errors: Vec<String> = schema.iter_errors(s).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_trusted_flaggers_notice_ranks_first_and_reopens_a_dismissed_finding() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([
        {"id": "L1", "title": "Zentrix cap", "url": "https://shop.example/L1"},
    ]));
    let fid = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    svc.drive(&fid, &["in_review", "dismissed"]);
    let flagger = token(&svc, "flagger", "brand-watch");
    // A flagger files notices and does nothing else.
    assert_eq!(svc.get(&flagger, "/api/v1/findings").status(), 403);
    let r = svc.post(
        &flagger,
        "/api/v1/notices",
        &notice(&["https://shop.example/L1"]),
    );
    assert_eq!(r.status(), 201);
    let ack: Value = r.json().unwrap();
    assert_eq!(ack["source"], "SOURCE_TRUSTED_FLAGGER");
    assert_eq!(ack["filed_by"], "brand-watch");
    let f = svc.finding(&fid);
    assert_eq!(f["state"], "reopened", "a notice is owed a decision");
    assert_eq!(f["score"], 0.9);
    let v = svc.drive(&fid, &["in_review", "confirmed", "notice_sent", "removed"]);
    assert!(v > 0);
    let statements: Value = svc.get(&svc.reviewer, "/api/v1/statements").json().unwrap();
    assert_eq!(
        statements["statements"][0]["source_type"],
        "SOURCE_TRUSTED_FLAGGER"
    );
}

#[test]
fn a_claim_holds_off_other_reviewers_until_it_is_released() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([
        {"id": "L1", "title": "Zentrix replica", "url": "https://shop.example/L1"},
        {"id": "L2", "title": "Korvello bag", "url": "https://shop.example/L2"},
    ]));
    let fid = answer["findings"][0]["id"].as_str().unwrap().to_owned();
    let bob = token(&svc, "reviewer", "bob");
    let claim_path = format!("/api/v1/findings/{fid}/claim");
    let r = svc.post(&svc.reviewer, &claim_path, &json!({"minutes": 10}));
    assert_eq!(r.status(), 200);
    let claimed: Value = r.json().unwrap();
    assert_eq!(claimed["claim"]["by"], "rita");
    let version = claimed["version"].as_u64().unwrap();
    assert_eq!(version, 1, "a claim changes no content");
    // Others see it taken, and cannot take it or decide it.
    assert_eq!(svc.finding(&fid)["claim"]["by"], "rita");
    let r = svc.post(&bob, &claim_path, &json!({}));
    assert_eq!(r.status(), 409);
    assert!(r.text().unwrap().contains("claimed by rita"));
    let r = svc.post(
        &bob,
        &format!("/api/v1/findings/{fid}/transition"),
        &json!({"to": "in_review", "version": version}),
    );
    assert_eq!(r.status(), 409);
    assert_eq!(
        svc.post(&svc.reviewer, &claim_path, &json!({"minutes": 0}))
            .status(),
        400
    );
    // The queue's figures.
    let stats: Value = svc.get(&svc.reviewer, "/api/v1/queue").json().unwrap();
    assert_eq!(stats["counts"]["new"], 2);
    assert_eq!(stats["counts"]["removed"], 0);
    assert_eq!(stats["open"], 2);
    assert_eq!(stats["claimed"], 1);
    assert!(stats["oldest_open"]["age_seconds"].as_i64().unwrap() >= 0);
    // Released, the finding is free; the holder's decision ends a claim too.
    let r = Client::new()
        .delete(format!("{}{claim_path}", svc.base))
        .bearer_auth(&svc.reviewer)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(svc.post(&bob, &claim_path, &json!({})).status(), 200);
    let r = svc.post(
        &bob,
        &format!("/api/v1/findings/{fid}/transition"),
        &json!({"to": "in_review", "version": version}),
    );
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().unwrap().get("claim").is_none());
}

#[test]
fn confirmed_findings_export_in_each_marketplaces_report_shape() {
    let svc = Service::start();
    let mut batch = Vec::new();
    for i in 0..3 {
        batch.push(
            json!({"id": format!("E{i}"), "title": "Zentrix replica sneakers",
            "url": format!("https://www.ebay.de/itm/zentrix-sneakers/12345678900{i}"),
            "marketplace": "ebay.de"}),
        );
    }
    batch.push(json!({"id": "A1", "title": "Zentrix replica sneakers",
        "url": "https://www.aliexpress.com/item/1005001.html", "marketplace": "aliexpress"}));
    let answer = svc.ingest(&Value::Array(batch));
    for f in answer["findings"].as_array().unwrap() {
        svc.drive(f["id"].as_str().unwrap(), &["in_review", "confirmed"]);
    }
    let r = svc.get(
        &svc.reviewer,
        "/api/v1/notices/export?platform=ebay-vero&countries=DE",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-markhound-parts"], "1");
    let body: Value = r.json().unwrap();
    let items = body["reportItems"].as_array().unwrap();
    assert_eq!(items.len(), 3, "the AliExpress listing is not eBay's");
    assert_eq!(items[0]["itemId"], "123456789000");
    assert_eq!(items[0]["countries"], json!(["DE"]));
    assert!(items[0]["messageToSeller"]
        .as_str()
        .unwrap()
        .contains("USPTO 1234567"));

    let r = svc.get(&svc.reviewer, "/api/v1/notices/export?platform=alibaba-ipp");
    assert_eq!(r.status(), 200);
    let csv = r.text().unwrap();
    assert!(csv.starts_with("infringing_link,ipr_type,"), "{csv}");
    assert!(csv.contains("https://www.aliexpress.com/item/1005001.html,Trademark,USPTO 1234567"));
    assert_eq!(csv.lines().count(), 2);

    let r = svc.get(&svc.reviewer, "/api/v1/notices/export?platform=amazon");
    assert_eq!(r.status(), 404);
    let all = svc.get(
        &svc.reviewer,
        "/api/v1/notices/export?platform=amazon&marketplace=all",
    );
    assert_eq!(all.text().unwrap().lines().count(), 5);
    for bad in [
        "platform=vero",
        "platform=ebay-vero&part=2",
        "platform=ebay-vero&ebay_codes=fake:1",
    ] {
        let r = svc.get(&svc.reviewer, &format!("/api/v1/notices/export?{bad}"));
        assert_eq!(r.status(), 400, "{bad}");
    }
}
