//! The plugin store: install, versions, promote, rollback (`cli.rs`), live
//! swap of a step during a run (`live_swap.rs`, and for connectors
//! `live_swap_connectors.rs`), and automatic rollback of
//! a version that fails too often (`auto_rollback.rs`), `promote --shadow`
//! (`shadow.rs`) and the API routes (`api.rs`).

mod api;
mod auto_rollback;
mod cli;
mod live_swap;
mod live_swap_connectors;
mod shadow;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::RunSummary;
use sluice::model::Progress;

use crate::support::{TestEnv, stderr, stdout};

/// A built-in plugin's component, as a file to install.
pub fn builtin_file(env: &TestEnv, name: &str) -> PathBuf {
    let b = sluice::plugin::Registry::builtins()
        .iter()
        .find(|b| b.name == name)
        .unwrap();
    env.write(&format!("wasm/{name}.wasm"), "");
    let path = env.path().join(format!("wasm/{name}.wasm"));
    std::fs::write(&path, b.bytes).unwrap();
    path
}

/// Install `file` as `name` through the CLI and return its digest.
pub fn install(env: &TestEnv, file: &Path, name: &str) -> String {
    let out = env.cli(&[
        "plugin",
        "install",
        file.to_str().unwrap(),
        "--name",
        name,
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["digest"].as_str().unwrap().to_owned()
}

/// A copy of `file` with a custom section appended: the same component,
/// other bytes, so another digest.
pub fn variant(env: &TestEnv, file: &Path, tag: &str) -> PathBuf {
    let mut bytes = std::fs::read(file).unwrap();
    let name = b"sluice-test";
    let payload = tag.as_bytes();
    let size = 1 + name.len() + payload.len();
    bytes.push(0); // custom section
    bytes.push(size as u8); // LEB128, < 128
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    let path = env.path().join(format!("wasm/{tag}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `count` records `{"id": i, "name": "MiXeD<i>"}`.
pub fn input(count: usize) -> String {
    (0..count)
        .map(|i| format!("{{\"id\":{i},\"name\":\"MiXeD{i}\"}}\n"))
        .collect()
}

/// A pipeline reading `count` records in batches of `batch_size`, slowed
/// by the hostile plugin (`slow_ms` per batch), then mapping `name`
/// through `step` (a plugin reference).
pub fn pipeline(
    env: &TestEnv,
    step: &str,
    count: usize,
    batch_size: usize,
    slow_ms: u64,
) -> PathBuf {
    env.write("in/people.jsonl", &input(count));
    let hostile = crate::support::test_plugin();
    env.write(
        "pipeline.toml",
        &format!(
            r#"
name = "swap"
batch_size = {batch_size}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "people"
key = "id"
source_options = {{ path = "people.jsonl" }}
target_options = {{ path = "people.jsonl" }}

[[entity.field]]
source = "id"
target = "id"

[[entity.field]]
source = "name"
target = "name"
transform = [
  {{ plugin = {hostile:?}, options = {{ behaviour = "slow", slow_ms = {slow_ms} }} }},
  {{ plugin = "{step}" }},
]
"#,
            hostile = hostile.display().to_string()
        ),
    )
}

/// Run `pipeline` on a thread; call `during` once `records` records have
/// been loaded or failed (the run still going), then wait for the run.
pub fn run_and_act(
    env: &TestEnv,
    pipeline: &Path,
    records: u64,
    during: impl FnOnce(),
) -> RunSummary {
    let progress = Arc::new(Progress::default());
    let loaded = sluice::load_pipeline(pipeline).unwrap();
    let sluice = env.sluice();
    std::thread::scope(|s| {
        let p = progress.clone();
        let run = s.spawn(move || sluice.run_with_progress(&loaded, p).unwrap());
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let t = progress.snapshot();
            if t.loaded + t.failed >= records {
                break;
            }
            assert!(!run.is_finished(), "the run ended before {records} records");
            assert!(Instant::now() < deadline, "the run is stuck at {t:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
        during();
        run.join().unwrap()
    })
}
