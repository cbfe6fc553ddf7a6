//! Retention: `sluice runs prune --older-than` deletes old runs and what
//! was recorded under them, keeps the runs open dead-letter entries need,
//! and lets them go once their entries are discarded; `--dry-run` deletes
//! nothing; a pipeline's `[run_log] retention` prunes its own old runs when
//! a run ends.

use serde_json::Value;

use super::{test_component, write_pipeline};
use crate::support::{TestEnv, stdout};

fn age_runs(env: &TestEnv, ids: &[i64], days: u32) {
    let db = rusqlite::Connection::open(env.data_dir().join("runs.db")).unwrap();
    for id in ids {
        db.execute(
            "UPDATE runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2) WHERE id = ?1",
            rusqlite::params![id, format!("-{days} days")],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE dlq SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) WHERE status <> 'open'",
        [format!("-{days} days")],
    )
    .unwrap();
}

fn run_ids(env: &TestEnv) -> Vec<i64> {
    let runs: Value =
        serde_json::from_str(&stdout(&env.cli(&["runs", "--json", "--limit", "100"]))).unwrap();
    let mut ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn prune(env: &TestEnv, extra: &[&str]) -> Value {
    let mut args = vec!["runs", "prune", "--older-than", "30d", "--json"];
    args.extend_from_slice(extra);
    let out = env.cli(&args);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn prune_deletes_old_runs_but_keeps_what_the_dlq_needs() {
    let env = TestEnv::new();
    let failing = format!(
        "{{ plugin = {:?}, options = {{ trigger = \"boom\", error = {{ category = \"validation\", code = \"bad\", message = \"bad\" }} }} }}",
        test_component("sluice_test_forger.wasm")
            .display()
            .to_string()
    );
    // Run 1 leaves an open dead-letter entry for r07; runs 2 and 3 do not.
    let path = write_pipeline(&env, &failing, 10, 10);
    assert_eq!(env.run(&path).run_id, 1);
    let path = write_pipeline(&env, "\"trim\"", 10, 10);
    let other = env
        .read("pipeline.toml")
        .replace("name = \"hostile\"", "name = \"other\"");
    env.write("pipeline.toml", &other);
    assert_eq!(env.run(&path).totals.failed, 0);
    let _ = env.run(&path);
    assert_eq!(run_ids(&env), vec![1, 2, 3]);
    age_runs(&env, &[1, 2], 40);

    let dry = prune(&env, &["--dry-run"]);
    assert_eq!(dry["runs"], 1, "{dry:#}");
    assert_eq!(dry["kept_for_dlq"], 1, "{dry:#}");
    assert_eq!(run_ids(&env), vec![1, 2, 3], "a dry run deletes nothing");

    let pruned = prune(&env, &[]);
    assert_eq!(pruned["runs"], 1, "{pruned:#}");
    assert_eq!(run_ids(&env), vec![1, 3]);
    // The open entry still shows, with its payload.
    let entry: Value =
        serde_json::from_str(&stdout(&env.cli(&["dlq", "show", "1", "--json"]))).unwrap();
    assert!(entry.to_string().contains("r07"), "{entry:#}");

    // Once the entry is discarded (and that is old), its run goes too.
    let discard = env.cli(&["dlq", "discard", "--id", "1", "--reason", "obsolete"]);
    assert!(discard.status.success(), "{discard:?}");
    age_runs(&env, &[], 40);
    let pruned = prune(&env, &[]);
    assert_eq!(pruned["runs"], 1, "{pruned:#}");
    assert_eq!(pruned["dlq_entries"], 1, "{pruned:#}");
    assert_eq!(run_ids(&env), vec![3]);
    let db = rusqlite::Connection::open(env.data_dir().join("runs.db")).unwrap();
    let orphans: i64 = db
        .query_row(
            "SELECT (SELECT count(*) FROM record_errors WHERE run_id <> 3)
                  + (SELECT count(*) FROM stage_counts WHERE run_id <> 3)
                  + (SELECT count(*) FROM run_plugins WHERE run_id <> 3)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn a_pipeline_retention_prunes_its_old_runs_when_a_run_ends() {
    let env = TestEnv::new();
    let path = write_pipeline(&env, "\"trim\"", 10, 10);
    env.run(&path);
    env.run(&path);
    age_runs(&env, &[1], 10);
    let text = env.read("pipeline.toml").replace(
        "batch_size = 10",
        "batch_size = 10\n\n[run_log]\nretention = \"7d\"",
    );
    env.write("pipeline.toml", &text);
    env.run(&path);
    assert_eq!(run_ids(&env), vec![2, 3]);
    let bad = env.read("pipeline.toml").replace("\"7d\"", "\"7 days\"");
    env.write("pipeline.toml", &bad);
    let out = env.cli(&["validate", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        crate::support::stderr(&out).contains("is not an age"),
        "{out:?}"
    );
}
