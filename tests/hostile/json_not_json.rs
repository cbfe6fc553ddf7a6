//! A field transformer that returns a `json` value whose text is not JSON
//! violates the contract: that record fails with `contract-violation`
//! instead of the text being loaded silently as a string.

use super::{run_step, test_component};
use crate::support::jsonl;
use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

fn returning(json: &str) -> String {
    format!(
        "{{ plugin = {:?}, options = {{ trigger = \"boom\", json = {json:?} }} }}",
        test_component("sluice_test_forger.wasm")
            .display()
            .to_string()
    )
}

#[test]
fn json_values_that_are_not_json_fail_their_record() {
    let (env, summary) = run_step(&returning("{not json"));
    assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
    assert_eq!(summary.totals.loaded, 9);
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.code, "contract-violation", "{e:#?}");
    assert_eq!(e.category, "mapping");
    assert_eq!(e.record_key.as_deref(), Some("r07"));
    assert_eq!(e.field.as_deref(), Some("name"));
    assert!(e.message.contains("not JSON"), "{e:#?}");
    let out = jsonl(&env.read("out/records.jsonl"));
    assert!(out.iter().all(|r| r["id"] != "r07"), "{out:?}");

    // Valid JSON text is loaded as JSON (`uppercase` passes it through).
    let (env, summary) = run_step(&returning("[1, 2]"));
    assert_eq!(summary.totals.loaded, 10, "{summary:?}");
    let out = jsonl(&env.read("out/records.jsonl"));
    let r07 = out.iter().find(|r| r["id"] == "r07").unwrap();
    assert_eq!(r07["name"], serde_json::json!([1, 2]));
}
