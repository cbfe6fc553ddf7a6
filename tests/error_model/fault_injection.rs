//! Random fault injection across strategies: whatever each record meets,
//! every record ends loaded, failed or held back exactly once, attempts stay
//! bounded, each failure keeps its category, and the run's status follows.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use sluice::stages::finalize::RunStatus;

use super::{error_rows, loaded_keys, pipeline, retry_rows, setup};
use crate::support::TestEnv;

const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
enum Fault {
    Ok,
    /// Fails `times` times with a recoverable code, then loads.
    Recoverable {
        code: &'static str,
        times: u32,
    },
    /// Always fails with this category.
    Permanent(&'static str),
}

impl Fault {
    fn spec(&self) -> String {
        match self {
            Fault::Ok => "ok".into(),
            Fault::Recoverable { code, times } => format!("{code}:{times}"),
            Fault::Permanent(c) => format!("reject:{c}"),
        }
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::Ok),
        3 => (
            prop::sample::select(vec!["rate-limited", "bad-gateway", "connection-reset"]),
            1..=4u32
        )
            .prop_map(|(code, times)| Fault::Recoverable { code, times }),
        2 => prop::sample::select(vec![
            "auth",
            "permissions",
            "plan-quota",
            "validation",
            "correlation",
            "dependency-not-ready",
            "mapping",
            "config",
        ])
        .prop_map(Fault::Permanent),
    ]
}

/// What should become of a record that the run got to, under `strategy`.
fn expected(fault: &Fault, retries: bool) -> Result<(), (&'static str, u32)> {
    match fault {
        Fault::Ok => Ok(()),
        Fault::Recoverable { code, times } => {
            let category = if *code == "connection-reset" {
                "connectivity"
            } else {
                "transient"
            };
            if !retries {
                Err((category, 1))
            } else if *times < MAX_ATTEMPTS {
                Ok(())
            } else {
                Err((category, MAX_ATTEMPTS))
            }
        }
        Fault::Permanent(c) => Err((c, 1)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_accounted_for(
        strategy in prop::sample::select(vec!["skip", "retry", "fail-fast", "review"]),
        faults in prop::collection::vec(fault(), 1..40),
    ) {
        let env = TestEnv::new();
        let errors = format!(
            "strategy = \"{strategy}\"\nretry = {{ max_attempts = {MAX_ATTEMPTS}, initial_backoff_ms = 1, max_backoff_ms = 2, jitter = 0.5 }}"
        );
        let specs: Vec<String> = faults.iter().map(Fault::spec).collect();
        let path = setup(&env, &specs, &pipeline(&errors, "", 4));
        let summary = env.run(&path);
        let run = summary.run_id;
        let retries = matches!(strategy, "retry" | "review");
        let t = summary.totals;

        // Conservation, and nothing read twice or made up.
        prop_assert_eq!(t.extracted, t.loaded + t.failed + t.skipped);
        let loaded = loaded_keys(&env);
        prop_assert_eq!(loaded.len() as u64, t.loaded);
        let errors = error_rows(&env, run);
        prop_assert_eq!(errors.len() as u64, t.failed);
        let mut seen = HashSet::new();
        for key in loaded.iter().chain(errors.iter().filter_map(|e| e.key.as_ref())) {
            prop_assert!(seen.insert(key.clone()), "record {} accounted for twice", key);
        }
        prop_assert_eq!(seen.len() as u64, t.extracted);
        prop_assert!(errors.iter().all(|e| e.code != "duplicate"), "a record was loaded twice");

        // Would the run stop early?
        let fails: Vec<bool> = faults.iter().map(|f| expected(f, retries).is_err()).collect();
        let halts = faults.iter().any(|f| matches!(f, Fault::Permanent("auth")))
            || (strategy == "fail-fast" && fails.iter().any(|f| *f));
        if halts {
            prop_assert_eq!(summary.status, RunStatus::Aborted);
            prop_assert!(summary.status_reason.is_some());
        } else {
            prop_assert_eq!(t.extracted, faults.len() as u64);
            let failed = fails.iter().filter(|f| **f).count() as u64;
            prop_assert_eq!(t.failed, failed);
            let status = if failed == 0 {
                RunStatus::Succeeded
            } else if t.loaded == 0 {
                RunStatus::Failed
            } else {
                RunStatus::Partial
            };
            prop_assert_eq!(summary.status, status);
        }

        // Each record that was processed ended as its fault says.
        let by_key: HashMap<&str, &super::ErrorRow> = errors
            .iter()
            .filter_map(|e| e.key.as_deref().map(|k| (k, e)))
            .collect();
        let loaded: HashSet<&str> = loaded.iter().map(String::as_str).collect();
        for (i, fault) in faults.iter().enumerate() {
            let key = format!("r{i}");
            if let Some(e) = by_key.get(key.as_str()) {
                prop_assert!(e.attempts <= MAX_ATTEMPTS, "{:?}", e);
                if e.disposition == "held-back" {
                    prop_assert!(halts, "held back in a run that did not stop: {:?}", e);
                    prop_assert_eq!(e.attempts, 0);
                    continue;
                }
                let (category, attempts) = match expected(fault, retries) {
                    Err(x) => x,
                    Ok(()) => {
                        // Only a record cut short by a stopping run may fail
                        // although its fault lets it through.
                        prop_assert!(halts, "record {} ({:?}) failed: {:?}", key, fault, e);
                        continue;
                    }
                };
                prop_assert_eq!(&e.category, category, "record {} ({:?})", key, fault);
                if !halts {
                    prop_assert_eq!(e.attempts, attempts, "record {} ({:?})", key, fault);
                }
                let disposition = if strategy == "review" { "review" } else { "failed" };
                prop_assert_eq!(&e.disposition, disposition);
            } else if loaded.contains(key.as_str()) {
                prop_assert!(expected(fault, retries).is_ok(), "record {} ({:?}) loaded", key, fault);
            } else {
                prop_assert!(halts, "record {} vanished", key);
            }
        }

        // Retries are recorded, bounded, and only where the strategy retries.
        for r in retry_rows(&env, run) {
            prop_assert!(retries, "retried under {}", strategy);
            prop_assert!(r.attempts <= MAX_ATTEMPTS && r.failures <= r.attempts, "{:?}", r);
            let key = r.key.clone().unwrap();
            let failed_recoverably = by_key
                .get(key.as_str())
                .is_some_and(|e| matches!(e.category.as_str(), "transient" | "connectivity"));
            prop_assert_eq!(r.outcome == "succeeded", !failed_recoverably, "{:?}", r);
        }
    }
}
