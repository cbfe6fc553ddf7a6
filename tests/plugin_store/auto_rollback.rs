//! A version promoted during a run that fails too many records is rolled
//! back by the run itself, quarantined, audited and announced; the step
//! returns to the version before at a batch boundary, and every record is
//! accounted for, failed ones naming the version that failed them.

use std::sync::{Arc, Mutex};

use super::{builtin_file, install, pipeline, run_and_act};
use crate::support::{TestEnv, jsonl, stderr, stdout};
use sluice::runlog::{AuditFilter, DlqFilter, ErrorFilter};
use sluice::store::StoreEvent;

const RECORDS: usize = 3_000;

#[test]
fn a_failing_promotion_is_rolled_back_and_quarantined() {
    let env = TestEnv::new();
    // `trim` passes the names through; `email` fails every one of them.
    let good = install(&env, &builtin_file(&env, "trim"), "contact");
    let bad = install(&env, &builtin_file(&env, "email"), "contact");
    let out = env.cli(&[
        "plugin",
        "settings",
        "rollback.failure_rate=0.5",
        "rollback.window=200",
        "rollback.min_sample=20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    sluice::store::on_event(move |e| {
        if let StoreEvent::RolledBack { name, .. } = e
            && name == "contact"
        {
            seen.lock().unwrap().push(e.clone());
        }
    });

    let pipeline = pipeline(&env, "contact", RECORDS, 10, 5);
    let summary = run_and_act(&env, &pipeline, 200, || {
        let out = env.cli(&["plugin", "promote", &format!("contact@{bad}")]);
        assert!(out.status.success(), "{}", stderr(&out));
    });

    // Conservation: every record loaded or failed, once.
    let t = summary.totals;
    assert_eq!(t.extracted, RECORDS as u64);
    assert_eq!(
        t.loaded + t.failed,
        RECORDS as u64,
        "{t:?} {:?} {:?}",
        summary.status,
        summary.status_reason
    );
    assert!(t.failed >= 20, "the bad version ran: {t:?}");
    // How soon depends on the machine's load; well before the end.
    assert!(t.failed < 1_500, "the rollback came late: {t:?}");
    assert_eq!(jsonl(&env.read("out/people.jsonl")).len() as u64, t.loaded);

    // Three stretches: the good version, the bad one, the good one again.
    let steps = env.run_log().step_versions(summary.run_id).unwrap();
    let digests: Vec<&str> = steps.iter().map(|s| s.digest.as_str()).collect();
    assert_eq!(
        digests,
        [good.as_str(), bad.as_str(), good.as_str()],
        "{steps:?}"
    );
    assert_eq!(steps[1].failed, t.failed);
    assert_eq!(steps.iter().map(|s| s.records).sum::<u64>(), RECORDS as u64);
    // Every failed record names the version that failed it.
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len() as u64, t.failed);
    assert!(
        errors
            .iter()
            .all(|e| e.plugin_digest.as_deref() == Some(bad.as_str()))
    );
    let dlq = env.run_log().dlq_entries(&DlqFilter::default()).unwrap();
    assert_eq!(dlq.len() as u64, t.failed);
    assert!(
        dlq.iter()
            .all(|e| e.plugin_digest.as_deref() == Some(bad.as_str()))
    );

    // The store: back on the good version, the bad one quarantined.
    let out = env.cli(&["plugin", "versions", "contact", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["current"], good.as_str());
    let bad_row = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["digest"] == bad.as_str())
        .unwrap();
    let reason = bad_row["quarantine_reason"].as_str().unwrap();
    assert!(
        reason.contains("failed in transform:people.name#2"),
        "{reason}"
    );
    let last = v["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "auto-rollback");
    assert_eq!(last["actor"], "sluice");

    // The audit log says why; the event was announced once.
    let audit = env
        .run_log()
        .audit_entries(&AuditFilter::default())
        .unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "plugin-auto-rolled-back")
        .expect("audited");
    assert_eq!(entry.run_id, Some(summary.run_id));
    assert_eq!(entry.before.as_deref(), Some(bad.as_str()));
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        &events[0],
        StoreEvent::RolledBack { automatic: true, from, to, run_id: Some(r), .. }
            if *from == bad && *to == good && *r == summary.run_id
    ));

    // A quarantined version goes live again only with --force.
    let out = env.cli(&["plugin", "promote", &format!("contact@{bad}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("quarantined"), "{}", stderr(&out));
    let out = env.cli(&["plugin", "promote", "--force", &format!("contact@{bad}")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Install `trim` (passes names through) then `email` (fails every name)
/// as `name`, and set the rollback settings. (Each test uses its own name:
/// store events are seen by every test of the process.)
fn good_and_bad(env: &TestEnv, name: &str, settings: &[&str]) -> (String, String) {
    let good = install(env, &builtin_file(env, "trim"), name);
    let bad = install(env, &builtin_file(env, "email"), name);
    let mut args = vec!["plugin", "settings"];
    args.extend_from_slice(settings);
    let out = env.cli(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    (good, bad)
}

fn current(env: &TestEnv, name: &str) -> serde_json::Value {
    let out = env.cli(&["plugin", "versions", name, "--json"]);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_version_promoted_between_runs_is_on_probation_in_the_next_run() {
    let env = TestEnv::new();
    let (good, bad) = good_and_bad(
        &env,
        "between",
        &[
            "rollback.failure_rate=0.5",
            "rollback.window=200",
            "rollback.min_sample=20",
        ],
    );
    let out = env.cli(&["plugin", "promote", &format!("between@{bad}")]);
    assert!(out.status.success(), "{}", stderr(&out));

    let pipeline = pipeline(&env, "between", 2_000, 10, 5);
    let summary = env
        .sluice()
        .run(&sluice::load_pipeline(&pipeline).unwrap())
        .unwrap();
    let t = summary.totals;
    assert_eq!(t.loaded + t.failed, 2_000, "{t:?}");
    assert!(t.failed >= 20, "the promoted version ran: {t:?}");
    assert!(t.failed < 1_000, "the rollback came late: {t:?}");
    let steps = env.run_log().step_versions(summary.run_id).unwrap();
    let digests: Vec<&str> = steps.iter().map(|s| s.digest.as_str()).collect();
    assert_eq!(digests, [bad.as_str(), good.as_str()], "{steps:?}");

    let v = current(&env, "between");
    assert_eq!(v["current"], good.as_str());
    let last = v["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "auto-rollback");
}

#[test]
fn probation_counts_carry_over_from_one_run_to_the_next() {
    let env = TestEnv::new();
    // 30 records per run stay under the minimum sample of 50 in either
    // run alone; together they cross it.
    let (good, bad) = good_and_bad(
        &env,
        "carried",
        &[
            "rollback.failure_rate=0.5",
            "rollback.window=1000",
            "rollback.min_sample=50",
        ],
    );
    let out = env.cli(&["plugin", "promote", &format!("carried@{bad}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pipeline = pipeline(&env, "carried", 30, 10, 20);
    let loaded = sluice::load_pipeline(&pipeline).unwrap();

    let first = env.sluice().run(&loaded).unwrap();
    assert_eq!(first.totals.failed, 30);
    assert_eq!(
        current(&env, "carried")["current"],
        bad.as_str(),
        "rolled back too early"
    );

    let second = env.sluice().run(&loaded).unwrap();
    assert!(second.totals.failed >= 20, "{:?}", second.totals);
    let v = current(&env, "carried");
    assert_eq!(v["current"], good.as_str());
    let last = v["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "auto-rollback");
    let reason = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["digest"] == bad.as_str())
        .unwrap()["quarantine_reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains(&format!("run {}", second.run_id)),
        "{reason}"
    );
}
