//! Connectors named by store name follow promotions during a run too: a
//! source switches at its next batch (every read carries the cursor), a
//! target at the start of its next entity by default, or at its next batch
//! with `live_swap = "batch"` (the old version commits first). Nothing is
//! lost or written twice, and the run log says which version did which
//! batches.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{install, run_and_act, variant};
use crate::support::{TestEnv, jsonl, stderr};
use sluice::model::RunStatus;
use sluice::plugin::PluginKind;

const BATCH: usize = 10;

/// The built-in JSON Lines connector of `kind`, as a file to install.
fn jsonl_connector(env: &TestEnv, kind: PluginKind) -> PathBuf {
    let b = sluice::plugin::Registry::builtins()
        .iter()
        .find(|b| b.name == "jsonl-file" && b.kind == kind)
        .unwrap();
    let path = env.path().join(format!("wasm/jsonl-{kind:?}.wasm"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b.bytes).unwrap();
    path
}

/// Two versions of the JSON Lines connector of `kind` installed as `name`
/// (the first one installed is current), and their digests.
fn two_versions(env: &TestEnv, kind: PluginKind, name: &str) -> (String, String) {
    let file = jsonl_connector(env, kind);
    let first = install(env, &variant(env, &file, &format!("{name}-one")), name);
    let second = install(env, &variant(env, &file, &format!("{name}-two")), name);
    assert_ne!(first, second);
    (first, second)
}

/// A pipeline from `source` to `target` over `entities` entities of
/// `count` records each (`in/<entity>.jsonl` to `out/<entity>.jsonl`),
/// slowed by the hostile plugin; `target_extra` is added to `[target]`.
fn pipeline(
    env: &TestEnv,
    source: &str,
    target: &str,
    target_extra: &str,
    entities: &[&str],
    count: usize,
) -> PathBuf {
    let hostile = crate::support::test_plugin().display().to_string();
    let mut text = format!(
        r#"
name = "swap-connectors"
batch_size = {BATCH}

[source]
plugin = "{source}"
dir = "in"

[target]
plugin = "{target}"
dir = "out"
{target_extra}
"#
    );
    for entity in entities {
        env.write(&format!("in/{entity}.jsonl"), &super::input(count));
        text.push_str(&format!(
            r#"
[[entity]]
name = "{entity}"
key = "id"
source_options = {{ path = "{entity}.jsonl" }}
target_options = {{ path = "{entity}.jsonl", mode = "append" }}

[[entity.field]]
source = "id"
target = "id"

[[entity.field]]
source = "name"
target = "name"
transform = [{{ plugin = {hostile:?}, options = {{ behaviour = "slow", slow_ms = 8 }} }}]
"#
        ));
    }
    env.write("pipeline.toml", &text)
}

/// The ids in `out/<entity>.jsonl`, checking each is there once.
fn written_once(env: &TestEnv, entity: &str, count: usize) {
    let rows = jsonl(&env.read(&format!("out/{entity}.jsonl")));
    let ids: BTreeSet<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(rows.len(), count, "{entity}: rows written");
    assert_eq!(
        ids.len(),
        count,
        "{entity}: a record was written twice or lost"
    );
}

fn promote(env: &TestEnv, name: &str, digest: &str) {
    let out = env.cli(&["plugin", "promote", &format!("{name}@{digest}")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Run `run_id`'s `role` ran 2,000 records: those before a batch boundary
/// at or after the 200th on `versions[0]`, the rest on `versions[1]`.
fn switched_at_a_batch(env: &TestEnv, run_id: i64, role: &str, versions: [&str; 2]) {
    let steps = env.run_log().step_versions(run_id).unwrap();
    let digests: Vec<&str> = steps.iter().map(|s| s.digest.as_str()).collect();
    assert_eq!(digests, versions, "{steps:?}");
    assert!(steps.iter().all(|s| s.role == role), "{steps:?}");
    assert!(steps[0].records >= 200, "{steps:?}");
    assert_eq!(steps[0].records % BATCH as u64, 0, "{steps:?}");
    assert_eq!(steps[0].records + steps[1].records, 2_000, "{steps:?}");
    assert_eq!(steps[1].first_batch, steps[0].batches, "{steps:?}");
}

#[test]
fn a_source_switches_at_its_next_batch_and_resumes_from_the_cursor() {
    let env = TestEnv::new();
    let (first, second) = two_versions(&env, PluginKind::Source, "reader");
    let pipeline = pipeline(&env, "reader", "jsonl-file", "", &["people"], 2_000);
    let summary = run_and_act(&env, &pipeline, 200, || promote(&env, "reader", &second));
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.totals.extracted, 2_000);
    assert_eq!(summary.totals.loaded, 2_000);
    written_once(&env, "people", 2_000);

    switched_at_a_batch(&env, summary.run_id, "source:people", [&first, &second]);
}

#[test]
fn a_target_keeps_its_version_to_the_end_of_the_entity_then_switches() {
    let env = TestEnv::new();
    let (first, second) = two_versions(&env, PluginKind::Target, "writer");
    let pipeline = pipeline(
        &env,
        "jsonl-file",
        "writer",
        "",
        &["people", "staff"],
        1_000,
    );
    let summary = run_and_act(&env, &pipeline, 100, || promote(&env, "writer", &second));
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.totals.loaded, 2_000);
    written_once(&env, "people", 1_000);
    written_once(&env, "staff", 1_000);

    let steps = env.run_log().step_versions(summary.run_id).unwrap();
    let by_role: Vec<(&str, &str, u64)> = steps
        .iter()
        .map(|s| (s.role.as_str(), s.digest.as_str(), s.records))
        .collect();
    assert_eq!(
        by_role,
        [
            ("target:people", first.as_str(), 1_000),
            ("target:staff", second.as_str(), 1_000)
        ],
        "the entity being written switched, or the next one did not"
    );
}

#[test]
fn a_target_with_live_swap_batch_commits_then_switches_at_the_next_batch() {
    let env = TestEnv::new();
    let (first, second) = two_versions(&env, PluginKind::Target, "writer");
    let pipeline = pipeline(
        &env,
        "jsonl-file",
        "writer",
        "live_swap = \"batch\"",
        &["people"],
        2_000,
    );
    let summary = run_and_act(&env, &pipeline, 200, || promote(&env, "writer", &second));
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.totals.loaded, 2_000);
    written_once(&env, "people", 2_000);

    switched_at_a_batch(&env, summary.run_id, "target:people", [&first, &second]);
}

#[test]
fn live_swap_on_a_source_is_refused_with_its_line() {
    let env = TestEnv::new();
    let path: &Path = &pipeline(&env, "jsonl-file", "jsonl-file", "", &["people"], 1);
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("dir = \"in\"", "dir = \"in\"\nlive_swap = \"batch\"");
    std::fs::write(path, text).unwrap();
    let out = env.cli(&["run", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("pipeline.toml:8"), "{err}");
    assert!(err.contains("`live_swap` applies to targets"), "{err}");
}
