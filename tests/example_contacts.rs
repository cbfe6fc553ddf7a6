//! The README's example, end to end through the `sluice` binary.

use std::collections::BTreeSet;

use serde_json::Value;
use sluice::runlog::ErrorFilter;

use crate::support::{TestEnv, copy_dir, jsonl, stdout, workspace};

/// A scratch copy of `examples/contacts` (data and pipeline).
fn example_env() -> TestEnv {
    let env = TestEnv::new();
    copy_dir(
        &workspace().join("examples/contacts/data"),
        &env.path().join("data"),
    );
    std::fs::copy(
        workspace().join("examples/contacts/pipeline.toml"),
        env.path().join("pipeline.toml"),
    )
    .unwrap();
    env
}

fn expected() -> Value {
    let text =
        std::fs::read_to_string(workspace().join("examples/contacts/data/EXPECTED.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value, key: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn contacts_example_runs_partial_with_clean_output_and_explained_errors() {
    let env = example_env();
    let exp = expected();

    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "partial exits 3; stdout: {}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("finished partial"),
        "{}",
        stdout(&out)
    );

    // The output file holds exactly the valid records, cleaned.
    let rows = jsonl(&env.read("out/contacts.jsonl"));
    assert_eq!(rows.len() as u64, exp["valid"].as_u64().unwrap());
    let bad: BTreeSet<String> = [
        "invalid_email",
        "invalid_phone",
        "missing_email",
        "invalid_both",
    ]
    .iter()
    .flat_map(|k| ids(&exp, k))
    .collect();
    let mut seen = BTreeSet::new();
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        assert!(!bad.contains(id), "{id} is known bad but was loaded");
        assert!(seen.insert(id.to_owned()), "{id} loaded twice");
        let email = row["email"].as_str().unwrap();
        assert_eq!(
            email,
            email.trim().to_lowercase(),
            "email not normalized: {row}"
        );
        assert!(email.contains('@'));
        if let Some(phone) = row["phone"].as_str() {
            assert!(
                phone.starts_with('+') && phone[1..].chars().all(|c| c.is_ascii_digit()),
                "not E.164: {row}"
            );
        } else {
            assert!(row["phone"].is_null(), "{row}");
        }
        for key in ["first_name", "last_name", "company", "country"] {
            if let Some(s) = row[key].as_str() {
                assert_eq!(s, s.trim(), "untrimmed {key}: {row}");
            }
        }
        assert!(
            row["title"].as_str().is_some_and(|t| !t.is_empty()),
            "title defaulted: {row}"
        );
        assert!(
            row.get("notes").is_none(),
            "notes were dropped by the normalizer"
        );
    }

    // The run log explains every record.
    let log = env.run_log();
    let run = &log.runs(None, 1).unwrap()[0];
    assert_eq!(run.status, "partial");
    let malformed = exp["malformed_rows"].as_array().unwrap().len() as i64;
    let blank = exp["blank_rows"].as_array().unwrap().len() as i64;
    assert_eq!(run.extracted, exp["records_total"].as_i64().unwrap());
    assert_eq!(run.loaded, exp["valid"].as_i64().unwrap());
    assert_eq!(run.skipped, blank);
    assert_eq!(
        run.extracted,
        run.loaded + run.failed + run.skipped,
        "conservation"
    );

    let stages = log.stage_counts(run.id).unwrap();
    let stage = |name: &str| stages.iter().find(|s| s.stage == name).unwrap();
    assert_eq!(stage("ingest").failed, malformed);
    assert_eq!(stage("normalize").skipped, blank);
    assert_eq!(stage("execute").records_out, run.loaded);

    let errors = log.errors(run.id, &ErrorFilter::default()).unwrap();
    let keyed = |code: &str, field: Option<&str>| -> BTreeSet<String> {
        errors
            .iter()
            .filter(|e| e.code == code && e.field.as_deref() == field)
            .map(|e| e.record_key.clone().unwrap())
            .collect()
    };
    let mut want_email = ids(&exp, "invalid_email");
    want_email.extend(ids(&exp, "invalid_both"));
    let mut want_phone = ids(&exp, "invalid_phone");
    want_phone.extend(ids(&exp, "invalid_both"));
    assert_eq!(keyed("invalid-email", Some("email")), want_email);
    assert_eq!(keyed("invalid-phone", Some("phone")), want_phone);
    assert_eq!(
        keyed("required-field-missing", Some("email")),
        ids(&exp, "missing_email")
    );
    for e in &errors {
        assert_eq!(e.category, "validation", "{e:?}");
        assert!(
            e.plugin_digest
                .as_deref()
                .is_none_or(|d| d.starts_with("sha256:"))
        );
    }
    let malformed_lines: BTreeSet<String> = exp["malformed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("contacts.csv:{}", m["line"]))
        .collect();
    assert_eq!(keyed("malformed-row", None), malformed_lines);

    // `runs show` explains it to a person.
    let show = env.cli(&["runs", "show", "last"]);
    assert_eq!(show.status.code(), Some(0));
    let text = stdout(&show);
    for needle in [
        "PARTIAL",
        "invalid-email",
        "invalid-phone",
        "required-field-missing",
        "malformed-row",
        "all fields are empty",
    ] {
        assert!(text.contains(needle), "`runs show` lacks {needle}:\n{text}");
    }
    let json = env.cli(&["runs", "show", "last", "--json"]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["run"]["loaded"], exp["valid"]);
}

#[test]
fn second_run_overwrites_output_and_is_listed_in_history() {
    let env = example_env();
    env.cli(&["run", "pipeline.toml"]);
    let first = env.read("out/contacts.jsonl");
    env.cli(&["run", "pipeline.toml"]);
    assert_eq!(
        env.read("out/contacts.jsonl"),
        first,
        "overwrite mode gives the same file"
    );
    let runs = env.cli(&["runs", "--json"]);
    let v: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["config_hash"], v[1]["config_hash"]);
}

#[test]
fn compiled_plugins_are_cached_on_disk_by_digest_and_engine() {
    let env = example_env();
    let cache = env.path().join("own-cache");
    let mut options = env.options();
    options.cache_dir = Some(cache.clone());
    let sluice = sluice::Sluice::open(options.clone()).unwrap();
    let loaded = sluice::load_pipeline(&env.path().join("pipeline.toml")).unwrap();
    let first = sluice.run(&loaded).unwrap();
    // Beside the key that signs them (`cache.key`), one artifact per
    // distinct plugin digest the pipeline uses.
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "cache.key")
        .collect();
    let digests: BTreeSet<String> = env
        .run_log()
        .plugin_uses(first.run_id)
        .unwrap()
        .into_iter()
        .map(|u| u.digest.trim_start_matches("sha256:").to_owned())
        .collect();
    assert_eq!(entries.len(), digests.len(), "{entries:?}");
    for d in &digests {
        assert!(
            entries
                .iter()
                .any(|e| e.starts_with(d.as_str()) && e.ends_with(".cwasm")),
            "{d} not cached: {entries:?}"
        );
    }
    // A new process (a new engine) loads them instead of compiling again.
    let modified = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before: Vec<_> = entries.iter().map(|e| modified(&cache.join(e))).collect();
    let again = sluice::Sluice::open(options).unwrap().run(&loaded).unwrap();
    assert_eq!(again.totals, first.totals);
    let after: Vec<_> = entries.iter().map(|e| modified(&cache.join(e))).collect();
    assert_eq!(before, after, "cache entries were rewritten");
}

#[test]
fn each_plugin_row_counts_the_records_it_handled() {
    let env = example_env();
    // 320 records in batches of 100: the last read returns 20.
    let text = env
        .read("pipeline.toml")
        .replace("batch_size = 64", "batch_size = 100");
    env.write("pipeline.toml", &text);
    let sluice = env.sluice();
    let loaded = sluice::load_pipeline(&env.path().join("pipeline.toml")).unwrap();
    let summary = sluice.run(&loaded).unwrap();
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    // A source's read is armed for a whole batch; its row counts the items
    // it returned, not the batch size it was asked for.
    let read: i64 = uses
        .iter()
        .filter(|u| u.role.starts_with("source:"))
        .map(|u| u.records)
        .sum();
    assert_eq!(read as u64, summary.totals.extracted, "{uses:?}");
}
