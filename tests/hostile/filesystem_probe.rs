use serde_json::Value;
use sluice::stages::finalize::RunStatus;

use super::{refused, run_step, test_component};
use crate::support::jsonl;

fn probe(allow: &str) -> String {
    format!(
        "{{ plugin = {:?}{allow} }}",
        test_component("sluice_test_fs_probe.wasm")
            .display()
            .to_string()
    )
}

#[test]
fn filesystem_import_without_a_grant_is_refused_at_load() {
    let (code, message) = refused(&probe(""));
    assert_eq!(code, "capability-denied");
    assert!(message.contains("imports `wasi:filesystem/"), "{message}");
    assert!(message.contains("no directory is granted"), "{message}");
}

#[test]
fn filesystem_linked_but_nothing_visible_when_allowed() {
    let (env, summary) = run_step(&probe(", allow = [\"wasi:filesystem\"]"));
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let out = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(out.len(), 10);
    for row in out {
        // uppercase ran after the probe: the JSON keys are upper-cased text.
        let report: Value =
            serde_json::from_str(&row["name"].as_str().unwrap().to_lowercase()).unwrap();
        for (probe, outcome) in report.as_object().unwrap() {
            assert!(
                outcome.as_str().unwrap().starts_with("denied"),
                "{probe} was {outcome}"
            );
        }
    }
}
