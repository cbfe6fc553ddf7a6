//! The operator's debugging workflow from the command line: find the run,
//! see the failing stage and groups, find the config change that caused it
//! in the audit log, fix it, replay, and see the DLQ empty and the target
//! complete.

use std::collections::HashSet;

use serde_json::Value;

use crate::support::{TestEnv, jsonl, stderr, stdout};

const PIPELINE: &str = r#"name = "crm-phones"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append", key_field = "id" }

[[entity]]
name = "contacts"
key = "id"
incremental = true
source_options = { path = "contacts.jsonl" }
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "phone"
transform = ["trim", { plugin = "phone-e164", options = { default_region = "US" } }]
"#;

fn contacts(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            let phone = if i % 2 == 0 {
                format!("(415) 555-{:04}", 3000 + i)
            } else {
                format!("+1 415 555 {:04}", 3000 + i)
            };
            format!(
                "{}\n",
                serde_json::json!({"id": format!("c{i:03}"), "phone": phone})
            )
        })
        .collect()
}

fn json(env: &TestEnv, args: &[&str]) -> Value {
    let out = env.cli(args);
    assert!(
        out.status.success(),
        "sluice {args:?}: {} {}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn find_the_cause_fix_replay_and_see_the_queue_empty() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(0, 100));
    env.write("pipeline.toml", PIPELINE);
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(0));

    // Someone drops `default_region`; new records arrive.
    env.write(
        "pipeline.toml",
        &PIPELINE.replace(", options = { default_region = \"US\" }", ""),
    );
    let mut source = env.read("in/contacts.jsonl");
    source.push_str(&contacts(100, 200));
    env.write("in/contacts.jsonl", &source);
    assert_eq!(
        env.cli(&["run", "pipeline.toml"]).status.code(),
        Some(3),
        "partial"
    );

    // 1. Find the run.
    let runs = json(&env, &["runs", "--json"]);
    assert_eq!(runs[0]["status"], "partial");
    let run = runs[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(runs[0]["extracted"], 100, "only the new records were read");

    // 2. The failing stage and the groups.
    let show = json(&env, &["runs", "show", &run, "--json"]);
    let stages = show["stages"].as_array().unwrap();
    let transform = stages.iter().find(|s| s["stage"] == "transform").unwrap();
    assert_eq!(transform["failed"], 50);
    let errors = json(&env, &["errors", &run, "--json"]);
    let groups = errors["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (
            &groups[0]["category"],
            &groups[0]["code"],
            &groups[0]["field"],
            &groups[0]["count"]
        ),
        (
            &"validation".into(),
            &"invalid-phone".into(),
            &"phone".into(),
            &50.into()
        )
    );

    // 3. The audit log shows the change that caused it.
    let audit = json(&env, &["audit", "--pipeline", "crm-phones", "--json"]);
    let change = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "config-changed")
        .expect("a config-changed entry");
    assert!(
        change["diff"].as_str().unwrap().contains("default_region"),
        "{change:#}"
    );

    // 4. Fix, look before leaping, replay.
    env.write("pipeline.toml", PIPELINE);
    let dry = env.cli(&["dlq", "replay", "--pipeline", "crm-phones", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0));
    assert!(stdout(&dry).contains("50"), "{}", stdout(&dry));
    let replay = env.cli(&["dlq", "replay", "--pipeline", "crm-phones"]);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}{}",
        stdout(&replay),
        stderr(&replay)
    );

    // 5. The DLQ is empty and the target complete.
    let open = json(&env, &["dlq", "list", "--json"]);
    assert_eq!(open.as_array().unwrap().len(), 0);
    let out = jsonl(&env.read("out/contacts.jsonl"));
    let ids: HashSet<_> = out
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((out.len(), ids.len()), (200, 200));

    // Replaying again does nothing.
    let again = env.cli(&["dlq", "replay", "--pipeline", "crm-phones"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(jsonl(&env.read("out/contacts.jsonl")).len(), 200);
}

#[test]
fn review_edit_then_approve_loads_the_edited_payload_and_keeps_the_original() {
    let env = TestEnv::new();
    env.write(
        "in/people.jsonl",
        "{\"id\":\"a\",\"email\":\"a@example.com\"}\n{\"id\":\"b\",\"email\":\"b.example.com\"}\n",
    );
    env.write(
        "pipeline.toml",
        r#"name = "people"

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
"#,
    );
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(3));
    let parked = json(&env, &["review", "list", "--json"]);
    let parked = parked.as_array().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["record_key"], "b");
    let id = parked[0]["id"].as_i64().unwrap().to_string();
    // Not replayed by a plain DLQ replay: a person must approve it.
    assert_eq!(
        json(&env, &["dlq", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let edit = env.cli(&[
        "--actor",
        "ops@example.com",
        "review",
        "edit",
        &id,
        "--set",
        "email=\"b@example.com\"",
        "--note",
        "typo in the source",
    ]);
    assert_eq!(edit.status.code(), Some(0), "{}", stderr(&edit));
    let approve = env.cli(&["review", "approve", &id]);
    assert_eq!(
        approve.status.code(),
        Some(0),
        "{}{}",
        stdout(&approve),
        stderr(&approve)
    );

    let out = jsonl(&env.read("out/people.jsonl"));
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .any(|r| r["id"] == "b" && r["email"] == "b@example.com")
    );

    let shown = json(&env, &["dlq", "show", &id, "--json"]);
    assert_eq!(shown["entry"]["status"], "resolved");
    let versions = shown["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let original: Value = serde_json::from_str(versions[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(original["email"], "b.example.com");
    assert_eq!(versions[1]["actor"], "ops@example.com");
    let audit = json(&env, &["audit", "--pipeline", "people", "--json"]);
    let actions: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"review-edited".to_owned()), "{actions:?}");
    assert!(
        actions.contains(&"review-approved".to_owned()),
        "{actions:?}"
    );
}

#[test]
fn cursor_reset_dry_run_says_how_many_records_would_be_read_again() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(0, 60));
    env.write(
        "pipeline.toml",
        &PIPELINE.replace("[source]", "batch_size = 25\n\n[source]"),
    );
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(0));
    let cursors = json(&env, &["cursor", "show", "crm-phones", "--json"]);
    assert_eq!(cursors[0]["records"], 60);

    let dry = json(
        &env,
        &["cursor", "reset", "crm-phones", "--dry-run", "--json"],
    );
    assert_eq!(dry["rereads"], 60);
    // Nothing changed: another run reads nothing.
    assert_eq!(
        json(&env, &["run", "pipeline.toml", "--json"])["totals"]["extracted"],
        0
    );

    let reset = env.cli(&["cursor", "reset", "crm-phones", "--entity", "contacts"]);
    assert_eq!(reset.status.code(), Some(0), "{}", stderr(&reset));
    let rerun = json(&env, &["run", "pipeline.toml", "--json"]);
    assert_eq!(rerun["totals"]["extracted"], 60);
    // The idempotent target did not write them twice.
    assert_eq!(jsonl(&env.read("out/contacts.jsonl")).len(), 60);
    let audit = json(
        &env,
        &[
            "audit",
            "--pipeline",
            "crm-phones",
            "--action",
            "cursor-reset",
            "--json",
        ],
    );
    assert_eq!(audit.as_array().unwrap().len(), 1);
}
