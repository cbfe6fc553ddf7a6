//! The review queue in the dashboard: a parked record's fields edited (a
//! value that is not JSON refused, naming the field; an edit of a stale
//! version refused), then approved: loaded with the edit, the original kept.

use super::Dashboard;
use crate::support::{TestEnv, jsonl};

const PIPELINE: &str = r#"name = "people"

[errors]
strategy = "review"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append", key_field = "id" }

[[entity]]
name = "people"
key = "id"
source_options = { path = "people.jsonl" }
target_options = { path = "people.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "email"
transform = ["trim", "email"]
"#;

#[test]
fn a_parked_record_is_edited_and_approved_from_the_dashboard() {
    let env = TestEnv::new();
    env.write(
        "in/people.jsonl",
        "{\"id\":\"a\",\"email\":\"a@example.com\"}\n{\"id\":\"b\",\"email\":\"b.example.com\"}\n",
    );
    env.write("pipeline.toml", PIPELINE);
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(3));

    let mut ui = Dashboard::start(&env);
    let parked = ui.json("/review");
    let entries = parked["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{parked}");
    assert_eq!(entries[0]["record_key"], "b");
    let id = entries[0]["id"].as_i64().unwrap();

    // Read-only until signed in.
    let (code, html) = ui.page(&format!("/review/{id}"));
    assert_eq!(code, 200);
    assert!(html.contains("Sign in") && !html.contains("Save a new version"));
    ui.sign_in();
    let csrf = ui.csrf();
    let base = ui.base.clone();
    let (_, html) = ui.page(&format!("/review/{id}"));
    assert!(html.contains("name=\"field.email\""), "{html}");

    let edit = format!("/review/{id}/edit");
    let not_json = ui.post(
        &edit,
        &[
            ("csrf", &csrf),
            ("version", "1"),
            ("field.email", "b@example.com"),
        ],
        Some(&base),
    );
    assert_eq!(not_json.status().as_u16(), 400);
    let text = not_json.text().unwrap();
    assert!(
        text.contains("Field `email`") && text.contains("not a JSON value"),
        "{text}"
    );
    let stale = ui.post(
        &edit,
        &[
            ("csrf", &csrf),
            ("version", "7"),
            ("field.email", "\"b@example.com\""),
        ],
        Some(&base),
    );
    assert_eq!(stale.status().as_u16(), 409, "an edit of an old version");
    let saved = ui.post(
        &edit,
        &[
            ("csrf", &csrf),
            ("version", "1"),
            ("field.id", "\"b\""),
            ("field.email", "\"b@example.com\""),
            ("note", "typo in the source"),
        ],
        Some(&base),
    );
    assert_eq!(saved.status().as_u16(), 303);
    let (_, html) = ui.page(&format!("/review/{id}"));
    assert!(
        html.contains("Version 2") && html.contains("typo in the source"),
        "{html}"
    );

    let approved = ui.post(
        &format!("/review/{id}/approve"),
        &[("csrf", &csrf)],
        Some(&base),
    );
    assert_eq!(approved.status().as_u16(), 303, "to the replay run");
    let out = jsonl(&env.read("out/people.jsonl"));
    assert!(
        out.iter()
            .any(|r| r["id"] == "b" && r["email"] == "b@example.com"),
        "{out:?}"
    );
    assert!(ui.json("/review")["entries"].as_array().unwrap().is_empty());
    let audit = ui.json("/audit?pipeline=people");
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"review-edited") && actions.contains(&"review-approved"),
        "{actions:?}"
    );
}
