//! The hostile-plugin suite: one misbehaviour per file, each asserting the
//! exact error kind. In every case the host keeps running, the other
//! records are processed, and the error lands on the right record.

mod blocking_sleep;
mod cache_poisoning;
mod compile_bomb;
mod credential_override;
mod deep_recursion;
mod environment_probe;
mod escaping_symlinks;
mod filesystem_probe;
mod forged_category;
mod fuel_exhaustion;
mod garbage_wasm;
mod http_deadline;
mod infinite_loop;
mod instance_pool;
mod json_not_json;
mod log_flood;
mod memory_growth;
mod memory_total;
mod other_contract;
mod oversized_list;
mod oversized_output;
mod quarantine;
mod run_log_bounds;
mod run_log_retention;
mod rust_panic;
mod secrets_in_run_log;
mod slow_within_limits;
mod terminal_injection;
mod text_answer;
mod unknown_import;
mod unreachable_trap;
mod wat_guest;
mod write_quota;
mod wrong_length;

use std::path::{Path, PathBuf};

use sluice::runlog::{ErrorFilter, PluginUseRow};
use sluice::stages::finalize::RunStatus;
use sluice::{RunError, RunSummary};

use crate::support::{TestEnv, jsonl};

/// A test component built from `tests/test-plugins/<crate>`.
pub fn test_component(file: &str) -> PathBuf {
    Path::new(sluice_test_programs_artifacts::TEST_PLUGIN_DIR).join(file)
}

/// The configurable misbehaving transformer.
pub fn hostile() -> PathBuf {
    test_component("sluice_test_plugins.wasm")
}

/// `count` records; `r07` carries the trigger value `boom`.
fn input(count: usize) -> String {
    (1..=count)
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

/// A pipeline running `step` (a TOML inline table or string) on the `name`
/// field of `count` records, then `uppercase`.
pub fn write_pipeline(env: &TestEnv, step: &str, count: usize, batch_size: usize) -> PathBuf {
    env.write("in/records.jsonl", &input(count));
    env.write(
        "pipeline.toml",
        &format!(
            r#"
name = "hostile"
batch_size = {batch_size}

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
transform = [{step}, "uppercase"]
"#
        ),
    )
}

/// The hostile plugin with `behaviour`, triggered by `boom`, under `limits`.
pub fn hostile_step(behaviour: &str, limits: &str) -> String {
    format!(
        "{{ plugin = {:?}, options = {{ behaviour = \"{behaviour}\", trigger = \"boom\" }}, limits = {{ {limits} }} }}",
        hostile().display().to_string()
    )
}

/// Run `step` over ten records in one batch.
pub fn run_step(step: &str) -> (TestEnv, RunSummary) {
    let env = TestEnv::new();
    let path = write_pipeline(&env, step, 10, 10);
    let summary = env.run(&path);
    (env, summary)
}

/// Run a pipeline that must be refused before any record is read; return
/// the refusal's code and message.
pub fn refused(step: &str) -> (String, String) {
    let env = TestEnv::new();
    let path = write_pipeline(&env, step, 10, 10);
    let loaded = sluice::load_pipeline(&path).unwrap();
    let err = env.sluice().run(&loaded).unwrap_err();
    let RunError::Setup { source, run_id } = err else {
        panic!("expected a setup failure, got {err:?}")
    };
    assert!(
        !env.path().join("out/records.jsonl").exists(),
        "no record may be written"
    );
    let run = env.run_log().run(run_id).unwrap();
    assert_eq!(run.status, "failed");
    assert_eq!(run.extracted, 0, "no record may be read");
    let recorded = env
        .run_log()
        .errors(run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].code, source.code());
    (source.code().to_owned(), source.to_string())
}

/// The hostile step's resource use.
pub fn hostile_use(env: &TestEnv, summary: &RunSummary) -> PluginUseRow {
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    uses.into_iter()
        .find(|u| u.role == "transform:things.name#1")
        .unwrap()
}

/// The run is partial, 9 records loaded, and exactly `r07` failed with
/// `code` on field `name`; returns the error message.
pub fn assert_contained(env: &TestEnv, summary: &RunSummary, code: &str) -> String {
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
    assert!(
        e.plugin_digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let out = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(out.len(), 9);
    assert!(out.iter().all(|r| r["id"] != "r07"));
    assert!(
        out.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("NAME ")),
        "later steps ran: {out:?}"
    );
    let used = hostile_use(env, summary);
    assert!(used.failures >= 1, "{used:?}");
    assert_eq!(
        used.failures_by_kind.get(code).and_then(|v| v.as_u64()),
        Some(used.failures as u64),
        "{used:?}"
    );
    e.message.clone()
}
