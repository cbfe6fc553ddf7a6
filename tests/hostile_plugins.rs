//! Plugins that misbehave are contained: each failure is recorded with its
//! own error kind against the record that caused it, the other records of
//! the batch go through, and the run completes `partial`.

use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

use crate::support::{TestEnv, jsonl, test_plugin};

/// Ten records; `r07` carries the trigger value.
fn input() -> String {
    (1..=10)
        .map(|i| {
            let name = if i == 7 {
                "boom".to_owned()
            } else {
                format!("name {i}")
            };
            format!("{{\"id\": \"r{i:02}\", \"name\": \"{name}\"}}\n")
        })
        .collect()
}

/// Run the hostile plugin with `behaviour` on the `name` field, with
/// per-step `limits`, and return the env for inspection.
fn run_hostile(behaviour: &str, limits: &str) -> (TestEnv, sluice::RunSummary) {
    let env = TestEnv::new();
    env.write("in/records.jsonl", &input());
    let pipeline = format!(
        r#"
name = "hostile-{behaviour}"
batch_size = 10

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "things"
key = "id"
source_options = {{ path = "records.jsonl" }}
target_options = {{ path = "records.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = [{{ plugin = {plugin:?}, options = {{ behaviour = "{behaviour}", trigger = "boom" }}, limits = {{ {limits} }} }}, "uppercase"]
"#,
        plugin = test_plugin().display().to_string(),
    );
    let path = env.write("pipeline.toml", &pipeline);
    let summary = env.run(&path);
    (env, summary)
}

/// The run is partial, 9 records loaded, and exactly `r07` failed with `code`.
fn assert_contained(env: &TestEnv, summary: &sluice::RunSummary, code: &str) -> String {
    assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
    assert_eq!(summary.totals.extracted, 10);
    assert_eq!(summary.totals.loaded, 9);
    assert_eq!(summary.totals.failed, 1);
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.code, code, "{e:#?}");
    assert_eq!(e.category, "mapping");
    assert_eq!(e.stage, "transform");
    assert_eq!(e.record_key.as_deref(), Some("r07"));
    assert_eq!(e.field.as_deref(), Some("name"));
    assert_eq!(
        e.plugin_digest.as_deref().map(|d| d.starts_with("sha256:")),
        Some(true)
    );
    let out = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(out.len(), 9);
    assert!(out.iter().all(|r| r["id"] != "r07"));
    assert!(
        out.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("NAME ")),
        "later steps ran: {out:?}"
    );
    e.message.clone()
}

#[test]
fn infinite_loop_is_stopped_by_the_deadline() {
    let (env, summary) = run_hostile(
        "loop",
        "timeout_ms = 200, fuel_per_call = 1000000000000000, fuel_per_record = 0",
    );
    let message = assert_contained(&env, &summary, "timeout");
    assert!(message.contains("200 ms"), "{message}");
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let (env, summary) = run_hostile(
        "loop",
        "fuel_per_call = 50000000, fuel_per_record = 1000000",
    );
    let message = assert_contained(&env, &summary, "fuel-exhausted");
    assert!(message.contains("fuel_per_record"), "{message}");
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    let (env, summary) = run_hostile("alloc", "memory_mb = 32");
    let message = assert_contained(&env, &summary, "memory-limit");
    assert!(message.contains("32 MiB"), "{message}");
}

#[test]
fn unreachable_trap_is_recorded_as_trap() {
    let (env, summary) = run_hostile("trap", "");
    let message = assert_contained(&env, &summary, "trap");
    assert!(message.contains("unreachable"), "{message}");
}

#[test]
fn rust_panic_is_a_trap_with_the_panic_message() {
    let (env, summary) = run_hostile("panic", "");
    let message = assert_contained(&env, &summary, "trap");
    assert!(message.contains("panicking on purpose"), "{message}");
}

#[test]
fn wrong_number_of_results_is_a_contract_violation() {
    let (env, summary) = run_hostile("wrong-length", "");
    let message = assert_contained(&env, &summary, "contract-violation");
    assert!(message.contains("exactly one per input"), "{message}");
}

#[test]
fn oversized_output_is_refused() {
    let (env, summary) = run_hostile("big-output", "output_bytes_per_record = 1024");
    assert_contained(&env, &summary, "output-too-large");
}

#[test]
fn slow_but_within_limits_succeeds() {
    let (env, summary) = run_hostile("slow", "timeout_ms = 5000");
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.totals.loaded, 10);
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    let hostile = uses
        .iter()
        .find(|u| u.role == "transform:things.name#1")
        .unwrap();
    assert_eq!(hostile.failures, 0);
    assert!(hostile.wall_us >= 40_000, "{hostile:?}");
}
