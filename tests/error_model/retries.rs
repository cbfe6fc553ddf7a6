//! Retries: recoverable errors are retried with backoff and recorded, and
//! strategies that do not retry fail such records at once.

use sluice::stages::finalize::RunStatus;

use super::{error_rows, loaded_keys, pipeline, retry_rows, setup};
use crate::support::TestEnv;

fn faults() -> Vec<String> {
    let mut f = vec!["ok".to_owned(); 30];
    f[3] = "rate-limited:2".into();
    f[7] = "rate-limited:1".into();
    f[12] = "bad-gateway:9".into();
    f[20] = "reject:validation".into();
    f
}

#[test]
fn recoverable_errors_are_retried_until_they_pass_or_attempts_run_out() {
    let env = TestEnv::new();
    let path = setup(
        &env,
        &faults(),
        &pipeline(
            "strategy = \"retry\"\nretry = { max_attempts = 4, initial_backoff_ms = 2, jitter = 0.0 }",
            "",
            10,
        ),
    );
    let s = env.run(&path);
    assert_eq!(s.status, RunStatus::Partial);
    assert_eq!((s.totals.loaded, s.totals.failed), (28, 2));
    assert_eq!(loaded_keys(&env).len(), 28);

    let errors = error_rows(&env, s.run_id);
    let gateway = errors
        .iter()
        .find(|e| e.key.as_deref() == Some("r12"))
        .unwrap();
    assert_eq!(
        (gateway.category.as_str(), gateway.attempts),
        ("transient", 4)
    );
    assert!(
        gateway.message.contains("gave up after 4 attempts"),
        "{gateway:?}"
    );
    let invalid = errors
        .iter()
        .find(|e| e.key.as_deref() == Some("r20"))
        .unwrap();
    assert_eq!(
        (invalid.category.as_str(), invalid.attempts),
        ("validation", 1)
    );

    let mut retries = retry_rows(&env, s.run_id);
    retries.sort_by(|a, b| a.key.cmp(&b.key));
    let summary: Vec<_> = retries
        .iter()
        .map(|r| {
            (
                r.key.as_deref().unwrap(),
                r.code.as_str(),
                r.failures,
                r.attempts,
                r.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("r12", "bad-gateway", 4, 4, "failed"),
            ("r3", "rate-limited", 2, 3, "succeeded"),
            ("r7", "rate-limited", 1, 2, "succeeded"),
        ]
    );
    // Backoff doubles from 2 ms: the record that needed three attempts waited 2 + 4 ms.
    assert!(retries[1].waited_ms >= 6, "{:?}", retries[1]);
}

#[test]
fn skip_does_not_retry() {
    let env = TestEnv::new();
    let path = setup(&env, &faults(), &pipeline("strategy = \"skip\"", "", 10));
    let s = env.run(&path);
    assert_eq!((s.totals.loaded, s.totals.failed), (26, 4));
    assert!(retry_rows(&env, s.run_id).is_empty());
    assert!(error_rows(&env, s.run_id).iter().all(|e| e.attempts == 1));
}

#[test]
fn fail_fast_stops_at_the_first_error_and_holds_the_rest_back() {
    let env = TestEnv::new();
    let path = setup(
        &env,
        &faults(),
        &pipeline("strategy = \"fail-fast\"", "", 5),
    );
    let s = env.run(&path);
    assert_eq!(s.status, RunStatus::Aborted);
    assert!(
        s.status_reason.as_deref().unwrap().contains("fail-fast"),
        "{s:?}"
    );
    let errors = error_rows(&env, s.run_id);
    let first = &errors[0];
    assert_eq!(
        (first.key.as_deref(), first.code.as_str()),
        (Some("r3"), "rate-limited")
    );
    assert!(
        errors[1..].iter().all(|e| e.disposition == "held-back"),
        "{errors:?}"
    );
    // Records after the failing batch were not written.
    let loaded = loaded_keys(&env);
    assert!(
        loaded
            .iter()
            .all(|k| ["r0", "r1", "r2", "r4"].contains(&k.as_str())),
        "{loaded:?}"
    );
    assert_eq!(s.totals.extracted, s.totals.loaded + s.totals.failed);
}

#[test]
fn review_parks_failed_records() {
    let env = TestEnv::new();
    let path = setup(
        &env,
        &faults(),
        &pipeline(
            "strategy = \"review\"\nretry = { max_attempts = 2, initial_backoff_ms = 1 }",
            "",
            10,
        ),
    );
    let s = env.run(&path);
    let errors = error_rows(&env, s.run_id);
    let parked: Vec<_> = errors
        .iter()
        .filter(|e| e.disposition == "review")
        .map(|e| e.key.clone().unwrap())
        .collect();
    // r3 needs three attempts and gets two; r12 never passes; r20 is invalid.
    assert_eq!(parked, vec!["r3", "r12", "r20"]);
}

#[test]
fn a_run_where_every_record_fails_aborts_once_the_window_is_full() {
    let env = TestEnv::new();
    let faults = vec!["reject:plan-quota".to_owned(); 500];
    let path = setup(
        &env,
        &faults,
        &pipeline("circuit_breaker = { blocked_window = 50 }", "", 10),
    );
    let s = env.run(&path);
    assert_eq!(s.status, RunStatus::Aborted);
    let reason = s.status_reason.unwrap();
    assert!(
        reason.contains("the last 50 records all failed") && reason.contains("plan-quota"),
        "{reason}"
    );
    assert!(s.totals.extracted < 500, "{:?}", s.totals);
    let attempted = error_rows(&env, s.run_id)
        .into_iter()
        .filter(|e| e.disposition == "failed")
        .count();
    assert_eq!(attempted, 50);
}
