//! Statements of reasons (issue 14): a removal and the reinstatement after a
//! counter-notice are each recorded, and `GET /api/v1/statements` answers them in
//! the DSA Transparency Database's submission schema (checked against a JSON Schema
//! written from its documented required fields) and as CSV.

use serde_json::{json, Value};

use crate::review_api::Service;
use crate::util::repo_root;

fn schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(repo_root().join("tests/fixtures/dsa-statement.schema.json"))
            .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

#[test]
fn removals_and_reinstatements_are_statements_in_the_database_schema() {
    let svc = Service::start();
    let answer = svc.ingest(&json!([{
        "id": "L1", "title": "Zentrix replica running shoes", "url": "https://shop.example/item/1",
        "seller": {"id": "s1"}
    }]));
    let f = answer["findings"][0].clone();
    let id = f["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/findings/{id}/transition");
    let mut version = f["version"].as_u64().unwrap();
    for to in [
        "in_review",
        "confirmed",
        "notice_sent",
        "removed",
        "reinstated",
    ] {
        let r = svc.post(&svc.reviewer, &path, &json!({"to": to, "version": version}));
        assert_eq!(r.status(), 200, "{to}");
        let body: Value = r.json().unwrap();
        version = body["version"].as_u64().unwrap();
    }
    let r = svc.get(&svc.reviewer, "/api/v1/statements");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    let statements = body["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{body}");
    let validator = schema();
    for s in statements {
        let errors: Vec<String> = validator.iter_errors(s).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{s}");
    }
    let removal = &statements[0];
    assert_eq!(
        removal["decision_visibility"],
        json!(["DECISION_VISIBILITY_CONTENT_REMOVED"])
    );
    assert_eq!(
        removal["decision_ground"],
        "DECISION_GROUND_ILLEGAL_CONTENT"
    );
    assert_eq!(
        removal["category"],
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    );
    assert_eq!(removal["source_type"], "SOURCE_VOLUNTARY");
    assert_eq!(removal["automated_detection"], "Yes");
    assert_eq!(
        removal["automated_decision"],
        "AUTOMATED_DECISION_NOT_AUTOMATED"
    );
    assert_eq!(removal["url"], "https://shop.example/item/1");
    assert!(removal["territorial_scope"]
        .as_array()
        .unwrap()
        .contains(&json!("DE")));
    let facts = removal["decision_facts"].as_str().unwrap();
    assert!(facts.contains("Zentrix replica running shoes"), "{facts}");
    let reinstated = &statements[1];
    assert_eq!(
        reinstated["decision_visibility"],
        json!(["DECISION_VISIBILITY_OTHER"])
    );
    assert!(reinstated["decision_visibility_other"]
        .as_str()
        .unwrap()
        .contains("counter-notice"));
    assert_ne!(
        removal["puid"], reinstated["puid"],
        "each decision its own puid"
    );

    // The schema refuses what the database would: a statement without a required
    // field, or with a value it does not know.
    let mut broken = removal.clone();
    broken.as_object_mut().unwrap().remove("decision_facts");
    assert!(!validator.is_valid(&broken));
    let mut broken = removal.clone();
    broken["source_type"] = "SOURCE_SOMEONE".into();
    assert!(!validator.is_valid(&broken));

    let r = svc.get(&svc.reviewer, "/api/v1/statements?format=csv");
    assert_eq!(r.status(), 200);
    let csv = r.text().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("puid,decision_visibility,"), "{csv}");
    assert!(csv.contains("DECISION_VISIBILITY_CONTENT_REMOVED"), "{csv}");
    assert_eq!(
        svc.get(&svc.reviewer, "/api/v1/statements?format=xml")
            .status(),
        400
    );
    // Confirming alone restricts nothing: no statement.
    let other = svc.ingest(&json!([{"id": "L2", "title": "Zentrix replica bag"}]));
    let g = other["findings"][0].clone();
    let gpath = format!("/api/v1/findings/{}/transition", g["id"].as_str().unwrap());
    let r = svc.post(
        &svc.reviewer,
        &gpath,
        &json!({"to": "in_review", "version": 1}),
    );
    assert_eq!(r.status(), 200);
    let r = svc.post(
        &svc.reviewer,
        &gpath,
        &json!({"to": "confirmed", "version": 2}),
    );
    assert_eq!(r.status(), 200);
    let body: Value = svc.get(&svc.reviewer, "/api/v1/statements").json().unwrap();
    assert_eq!(body["statements"].as_array().unwrap().len(), 2);
}
