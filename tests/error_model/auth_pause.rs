//! A target refusing the credentials stops the run after its first batch:
//! one `auth` group, the source stops reading, nothing is lost.

use sluice::stages::finalize::RunStatus;

use super::{error_rows, loaded_keys, pipeline, setup};
use crate::support::{TestEnv, stdout};

const RECORDS: usize = 10_000;
const BATCH: u32 = 100;

#[test]
fn expired_credentials_pause_the_run_after_the_first_batch() {
    let env = TestEnv::new();
    let faults = vec!["ok".to_owned(); RECORDS];
    let path = setup(
        &env,
        &faults,
        &pipeline("strategy = \"retry\"", ", fail_all = \"auth\"", BATCH),
    );
    let summary = env.run(&path);
    assert_eq!(summary.status, RunStatus::Aborted);
    let reason = summary.status_reason.clone().unwrap();
    assert!(
        reason.contains("authentication") && reason.contains("target connection profile"),
        "{reason}"
    );
    let t = summary.totals;
    assert_eq!(t.loaded, 0);
    assert!(loaded_keys(&env).is_empty());
    // The source stopped: only what was already in flight was read.
    assert!(
        t.extracted < 2_000,
        "read {} of {RECORDS} records",
        t.extracted
    );
    assert_eq!(t.extracted, t.failed, "every record read is accounted for");

    let errors = error_rows(&env, summary.run_id);
    // One cause: every row is the same auth error...
    assert!(
        errors
            .iter()
            .all(|e| e.category == "auth" && e.code == "EXPIRED_AUTHENTICATION"),
        "{:?}",
        errors.iter().find(|e| e.category != "auth")
    );
    // ...met by exactly one batch, never retried; the rest were held back.
    let attempted: Vec<_> = errors
        .iter()
        .filter(|e| e.disposition == "failed")
        .collect();
    assert_eq!(attempted.len(), BATCH as usize);
    assert!(attempted.iter().all(|e| e.attempts == 1));
    assert!(
        errors
            .iter()
            .filter(|e| e.disposition == "held-back")
            .all(|e| e.attempts == 0 && e.message.starts_with("not processed: paused"))
    );

    // The target was asked to write once.
    let log = env.run_log();
    let target = log
        .plugin_uses(summary.run_id)
        .unwrap()
        .into_iter()
        .find(|p| p.role.starts_with("target:"))
        .unwrap();
    assert_eq!(target.records, u64::from(BATCH) as i64, "{target:?}");

    // The operator's view: one group.
    let out = env.cli(&["errors", &summary.run_id.to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let view: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let groups = view["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{view:#}");
    assert_eq!(groups[0]["category"], "auth");
}
