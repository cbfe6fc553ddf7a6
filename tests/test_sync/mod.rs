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

/// `contacts(n)` with record `c{i:03}`'s phone replaced by `phone`.
fn with_phone(text: &str, id: &str, phone: &str) -> String {
    text.lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["id"] == id {
                v["phone"] = phone.into();
            }
            format!("{v}\n")
        })
        .collect()
}

/// The record keys and outcomes a dry run's report lists.
fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["outcomes"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_key"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_dry_run_after_a_real_run_says_what_would_be_created_updated_unchanged_or_rejected() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(6));
    env.write("pipeline.toml", &full_reads(PIPELINE));
    let run = json(&env, &["run", "pipeline.toml", "--json"], 0);
    assert_eq!(run["totals"]["loaded"], 6);
    // The run log's target key ledger knows the six records now.
    assert_eq!(env.run_log().ledger_len("crm-phones").unwrap(), 6);
    let target_before = env.read("out/contacts.jsonl");

    // The source changes: c001 edited, c003 made invalid, c006 new; c000,
    // c002, c004 and c005 unchanged.
    let mut text = with_phone(&contacts(7), "c001", "+1 415 555 9999");
    text = with_phone(&text, "c003", "not a phone");
    env.write("in/contacts.jsonl", &text);

    let report = json(
        &env,
        &[
            "run",
            "pipeline.toml",
            "--sample",
            "7",
            "--dry-run",
            "--json",
        ],
        3,
    );
    let o = &report["outcomes"];
    assert_eq!(
        (
            &o["would_create"],
            &o["would_update"],
            &o["would_be_unchanged"],
            &o["rejected"],
            &o["more"]
        ),
        (&1.into(), &1.into(), &4.into(), &1.into(), &0.into()),
        "{report}"
    );
    let by_key = |k: &str| {
        outcomes(&report)
            .into_iter()
            .find(|(key, _)| key == k)
            .unwrap_or_else(|| panic!("{k} not listed: {report}"))
            .1
    };
    assert_eq!(by_key("c001"), "would-update");
    assert_eq!(by_key("c003"), "rejected");
    assert_eq!(by_key("c006"), "would-create");
    for k in ["c000", "c002", "c004", "c005"] {
        assert_eq!(by_key(k), "would-be-unchanged", "{k}");
    }
    let rejected = report["outcomes"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record_key"] == "c003")
        .unwrap();
    assert_eq!(
        (&rejected["stage"], &rejected["code"]),
        (&"transform".into(), &"invalid-phone".into())
    );
    // Nothing was written: the target and the ledger are as they were.
    assert_eq!(env.read("out/contacts.jsonl"), target_before);
    assert_eq!(env.run_log().ledger_len("crm-phones").unwrap(), 6);

    // `runs show` and the dashboard's run page say the same.
    let run_id = report["run_id"].as_i64().unwrap();
    let show = json(&env, &["runs", "show", &run_id.to_string(), "--json"], 0);
    assert_eq!(show["run"]["dry_run"], true);
    assert_eq!(show["dry_run_outcomes"]["would_update"], 1, "{show}");
    let text = stdout(&env.cli(&["runs", "show", &run_id.to_string()]));
    assert!(
        text.contains("would create 1 · would update 1 · would be unchanged 4 · rejected 1"),
        "{text}"
    );
    {
        let ui = crate::dashboard::Dashboard::start(&env);
        let page = ui.json(&format!("/runs/{run_id}"));
        assert_eq!(page["dry_run_outcomes"]["would_be_unchanged"], 4, "{page}");
        assert_eq!(
            page["dry_run_outcomes"]["records"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
        let (status, html) = ui.page(&format!("/runs/{run_id}"));
        assert_eq!(status, 200);
        assert!(html.contains("Would be unchanged"), "{html}");
        assert!(html.contains("would update"), "{html}");
        assert!(
            html.contains("created in the target by anything else"),
            "{html}"
        );
    }

    // The text report: counts, each record, and where the answer comes from.
    let out = env.cli(&["run", "pipeline.toml", "--sample", "3", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Would create 0, would update 1, would be unchanged 2; rejected 0."),
        "{text}"
    );
    assert!(text.contains("would update"), "{text}");
    assert!(text.contains("this data directory's record"), "{text}");

    // A real run loads the changes; the ledger follows, and a dry run of
    // the same data finds nothing to change.
    assert_eq!(
        env.cli(&["run", "pipeline.toml"]).status.code(),
        Some(3),
        "c003 fails"
    );
    assert_eq!(env.run_log().ledger_len("crm-phones").unwrap(), 7);
    let report = json(&env, &["run", "pipeline.toml", "--dry-run", "--json"], 3);
    assert_eq!(report["outcomes"]["would_be_unchanged"], 6, "{report}");
    assert_eq!(report["outcomes"]["would_create"], 0);
    assert_eq!(report["outcomes"]["would_update"], 0);

    // A replay loads through the same stage: c003, fixed at the source and
    // replayed without the phone check, is recorded as loaded by it.
    let before = env
        .run_log()
        .ledger_key("crm-phones", "jsonl-file", "contacts", "c003")
        .unwrap()
        .unwrap();
    env.write(
        "pipeline.toml",
        &full_reads(PIPELINE).replace(
            "transform = [\"trim\", { plugin = \"phone-e164\", options = { default_region = \"US\" } }]",
            "transform = [\"trim\"]",
        ),
    );
    let replay = env.cli(&["dlq", "replay", "--pipeline", "crm-phones"]);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    let after = env
        .run_log()
        .ledger_key("crm-phones", "jsonl-file", "contacts", "c003")
        .unwrap()
        .unwrap();
    assert!(after.run_id > before.run_id, "{before:?} {after:?}");
    assert_ne!(after.digest, before.digest, "the replayed body is recorded");
    assert_eq!(env.run_log().ledger_len("crm-phones").unwrap(), 7);

    // The ledger is this data directory's state, not the run's: an export
    // leaves it out.
    let out = env.cli(&["runs", "export", "last", "-o", "support/run.db"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exported = sluice::runlog::RunLog::open(&env.path().join("support/run.db")).unwrap();
    assert_eq!(exported.ledger_len("crm-phones").unwrap(), 0);
}

#[test]
fn a_seeded_sample_is_the_same_for_the_same_seed_and_reaches_past_the_first_records() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(40));
    env.write("pipeline.toml", PIPELINE);
    let sample = |seed: &str| {
        let report = json(
            &env,
            &[
                "run",
                "pipeline.toml",
                "--sample",
                "5",
                "--seed",
                seed,
                "--dry-run",
                "--json",
            ],
            0,
        );
        assert_eq!(report["seed"].to_string(), seed);
        assert_eq!(report["totals"]["extracted"], 5, "{report}");
        let keys: Vec<String> = outcomes(&report).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 5, "{report}");
        (report["run_id"].as_i64().unwrap(), keys)
    };
    let (first_run, seven) = sample("7");
    assert_eq!(sample("7").1, seven, "the same seed, the same records");
    assert_ne!(sample("8").1, seven, "another seed, other records");
    assert!(
        seven.iter().any(|k| k.as_str() > "c004"),
        "a random sample reaches past the first five: {seven:?}"
    );
    // The seed is recorded with the run.
    let show = json(&env, &["runs", "show", &first_run.to_string(), "--json"], 0);
    assert_eq!(
        (&show["run"]["sample_seed"], &show["run"]["sample_records"]),
        (&"7".into(), &5.into())
    );
    // No cursor moved (the entity is incremental).
    let cursors = json(&env, &["cursor", "show", "crm-phones", "--json"], 0);
    assert_eq!(cursors.as_array().unwrap().len(), 0, "{cursors}");

    // `--random` picks a seed, prints it and records it: the same seed
    // draws the same sample again, and a real test sync loads it.
    let out = env.cli(&["run", "pipeline.toml", "--sample", "4", "--random"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let seed = text
        .split("Seed ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no seed printed: {text}"))
        .to_owned();
    assert!(
        text.contains(&format!("--sample 4 --seed {seed}")),
        "{text}"
    );
    let runs = json(&env, &["runs", "--json", "--limit", "1"], 0);
    let random_run = runs[0]["id"].as_i64().unwrap();
    let show = json(
        &env,
        &["runs", "show", &random_run.to_string(), "--json"],
        0,
    );
    assert_eq!(show["run"]["sample_seed"], seed.as_str());
    assert!(
        show["run"].get("dry_run").is_none(),
        "not a dry run: {show}"
    );
    let loaded: Vec<String> = jsonl(&env.read("out/contacts.jsonl"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(loaded.len(), 4);
    let mut drawn = loaded.clone();
    drawn.sort();
    let again = json(
        &env,
        &[
            "run",
            "pipeline.toml",
            "--sample",
            "4",
            "--seed",
            &seed,
            "--dry-run",
            "--json",
        ],
        0,
    );
    let keys: Vec<String> = outcomes(&again).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, drawn, "{again}");
    // What the test sync loaded is in the ledger: the dry run of the same
    // sample finds the loaded ones unchanged.
    assert_eq!(again["outcomes"]["would_be_unchanged"], 4, "{again}");

    // A seed needs a sample size.
    let out = env.cli(&["run", "pipeline.toml", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_failed_test_sync_is_re_run_as_the_same_test_sync() {
    let env = TestEnv::new();
    env.write("pipeline.toml", &full_reads(PIPELINE));
    // No source file yet: the dry run fails.
    env.write("in/other.jsonl", "");
    let out = env.cli(&[
        "run",
        "pipeline.toml",
        "--sample",
        "3",
        "--seed",
        "7",
        "--dry-run",
        "--json",
    ]);
    let failed: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|_| panic!("no JSON report: {} {}", stdout(&out), stderr(&out)));
    assert_eq!(failed["status"], "failed", "{failed}");
    let failed_id = failed["run_id"].as_i64().unwrap();

    env.write("in/contacts.jsonl", &contacts(20));
    let out = env.cli(&["rerun", &failed_id.to_string(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    let again: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = again["run_id"].as_i64().unwrap();
    // The same test sync: a dry run of 3 records drawn with seed 7, not a
    // real run of everything.
    assert_eq!(env.run_log().run_kind(id).unwrap(), "test");
    let row = env.run_log().run(id).unwrap();
    assert_eq!(row.sample_records, Some(3));
    assert_eq!(row.sample_seed.as_deref(), Some("7"));
    assert!(row.dry_run);
    assert_eq!(again["totals"]["extracted"], 3, "{again}");
    assert!(
        !env.path().join("out/contacts.jsonl").exists(),
        "the re-run wrote to the target"
    );
    let db = rusqlite::Connection::open(env.data_dir().join("runs.db")).unwrap();
    let parent: Option<i64> = db
        .query_row("SELECT parent_run_id FROM runs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(parent, Some(failed_id));
}
