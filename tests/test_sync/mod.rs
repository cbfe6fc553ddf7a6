//! Test syncs: `sluice run --sample N [--dry-run]` reads the first N records
//! of each entity through every stage, is recorded as a run of kind `test`,
//! moves no cursor and neither adds nor resolves dead-letter entries; a dry
//! run never writes to the target and says what it would have sent.

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

/// [`PIPELINE`] without its default region: the national numbers (even
/// ids) fail at transform.
fn broken() -> String {
    PIPELINE.replace(", options = { default_region = \"US\" }", "")
}

/// [`PIPELINE`] reading the whole file every run.
fn full_reads(pipeline: &str) -> String {
    pipeline.replace("incremental = true\n", "")
}

/// Records `c000`..`c0NN`: even ones national numbers, odd ones E.164.
fn contacts(n: usize) -> String {
    (0..n)
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

/// Run `sluice` with `--json` output, expecting exit code `code`.
fn json(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let out = env.cli(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "sluice {args:?}: {} {}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn open_dlq_keys(env: &TestEnv) -> Vec<String> {
    let mut keys: Vec<String> = json(env, &["dlq", "list", "--json"], 0)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record_key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

#[test]
fn a_sample_loads_n_records_moves_no_cursor_and_is_a_test_run() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(20));
    // Batches of 2: the sample's first batches end at checkpoints, which a
    // normal run would commit.
    env.write(
        "pipeline.toml",
        &PIPELINE.replace("[source]", "batch_size = 2\n\n[source]"),
    );

    let report = json(
        &env,
        &["run", "pipeline.toml", "--sample", "5", "--json"],
        0,
    );
    assert_eq!(report["kind"], "test");
    assert_eq!(report["sample"], 5);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["status"], "succeeded");
    assert_eq!(
        (&report["totals"]["extracted"], &report["totals"]["loaded"]),
        (&5.into(), &5.into())
    );
    let loaded = jsonl(&env.read("out/contacts.jsonl"));
    let ids: Vec<&str> = loaded.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c000", "c001", "c002", "c003", "c004"]);

    // Recorded as a test run, with its stage counts.
    let run_id = report["run_id"].as_i64().unwrap();
    assert_eq!(env.run_log().run_kind(run_id).unwrap(), "test");
    let show = json(&env, &["runs", "show", &run_id.to_string(), "--json"], 0);
    let stages = show["stages"].as_array().unwrap();
    let ingest = stages.iter().find(|s| s["stage"] == "ingest").unwrap();
    assert_eq!(ingest["records_in"], 5);

    // The incremental entity's cursor did not move.
    let cursors = json(&env, &["cursor", "show", "crm-phones", "--json"], 0);
    assert_eq!(cursors.as_array().unwrap().len(), 0, "{cursors}");

    // The next normal run reads every record, from the start.
    let run = json(&env, &["run", "pipeline.toml", "--json"], 0);
    assert_eq!(run["totals"]["extracted"], 20);
    assert!(run.get("kind").is_none(), "a normal run's report: {run}");
    let normal = run["run_id"].as_i64().unwrap();
    assert_eq!(env.run_log().run_kind(normal).unwrap(), "run");
    let cursors = json(&env, &["cursor", "show", "crm-phones", "--json"], 0);
    assert_eq!(cursors[0]["run_id"], normal);
    // Run history tells them apart.
    let runs = json(&env, &["runs", "--json"], 0);
    let kinds: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["run", "test"], "newest first: {runs}");

    // Text output says it was a test run.
    let out = env.cli(&["run", "pipeline.toml", "--sample", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("no cursor moved, no dead-letter entry added or resolved"),
        "{text}"
    );
}

#[test]
fn a_sample_with_failures_records_them_but_leaves_the_dead_letter_queue_alone() {
    let env = TestEnv::new();
    // A normal run with the region missing: c000 and c002 enter the DLQ.
    env.write("in/contacts.jsonl", &contacts(4));
    env.write("pipeline.toml", &full_reads(&broken()));
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(3));
    assert_eq!(open_dlq_keys(&env), ["c000", "c002"]);

    // Fixed: a test sync loads c000 and c002, but does not resolve their
    // entries (only a real run or a replay does).
    env.write("in/contacts.jsonl", &contacts(20));
    env.write("pipeline.toml", &full_reads(PIPELINE));
    let report = json(
        &env,
        &["run", "pipeline.toml", "--sample", "4", "--json"],
        0,
    );
    assert_eq!(report["totals"]["loaded"], 4);
    assert_eq!(open_dlq_keys(&env), ["c000", "c002"]);

    // Broken again: the sample's failures are recorded in the run, none
    // enters the DLQ.
    env.write("pipeline.toml", &full_reads(&broken()));
    let report = json(
        &env,
        &["run", "pipeline.toml", "--sample", "10", "--json"],
        3,
    );
    assert_eq!(report["status"], "partial");
    assert_eq!(
        (&report["totals"]["loaded"], &report["totals"]["failed"]),
        (&5.into(), &5.into())
    );
    assert_eq!(report["rejected"], 5);
    assert_eq!(report["groups"][0]["code"], "invalid-phone");
    assert_eq!(report["groups"][0]["count"], 5);
    let run_id = report["run_id"].as_i64().unwrap().to_string();
    let errors = json(&env, &["errors", &run_id, "--json"], 0);
    assert_eq!(errors["groups"][0]["count"], 5, "{errors}");
    assert_eq!(open_dlq_keys(&env), ["c000", "c002"]);
}

#[test]
fn a_dry_run_writes_nothing_and_says_what_it_would_send() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(20));
    env.write("pipeline.toml", &broken());

    let report = json(
        &env,
        &[
            "run",
            "pipeline.toml",
            "--sample",
            "10",
            "--dry-run",
            "--json",
        ],
        3,
    );
    assert_eq!(report["kind"], "test");
    assert_eq!(report["dry_run"], true);
    // Nothing was loaded: the 5 that reached the target were skipped there.
    assert_eq!(report["status"], "partial");
    assert_eq!(report["would_send"], 5);
    assert_eq!(report["rejected"], 5);
    assert_eq!(
        (
            &report["totals"]["extracted"],
            &report["totals"]["loaded"],
            &report["totals"]["skipped"],
            &report["totals"]["failed"]
        ),
        (&10.into(), &0.into(), &5.into(), &5.into())
    );
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        (&groups[0]["stage"], &groups[0]["code"], &groups[0]["count"]),
        (&"transform".into(), &"invalid-phone".into(), &5.into())
    );
    assert!(
        !env.path().join("out/contacts.jsonl").exists(),
        "a dry run wrote to the target"
    );
    assert_eq!(open_dlq_keys(&env), Vec::<String>::new());
    let run_id = report["run_id"].as_i64().unwrap();
    assert_eq!(env.run_log().run_kind(run_id).unwrap(), "test");

    // `--dry-run` alone reads the whole source; the text report names the
    // counts and the groups.
    let out = env.cli(&["run", "pipeline.toml", "--dry-run"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("10 record(s) would be sent to the target; 10 rejected before it"),
        "{text}"
    );
    assert!(text.contains("invalid-phone"), "{text}");
    assert!(!env.path().join("out/contacts.jsonl").exists());
    let cursors = json(&env, &["cursor", "show", "crm-phones", "--json"], 0);
    assert_eq!(cursors.as_array().unwrap().len(), 0, "{cursors}");
}

#[test]
fn a_sample_of_zero_is_refused() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(2));
    env.write("pipeline.toml", PIPELINE);
    let out = env.cli(&["run", "pipeline.toml", "--sample", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!env.path().join("out/contacts.jsonl").exists());
}
