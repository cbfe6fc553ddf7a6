//! The contract works beyond Rust: a field transformer written in Python
//! (componentize-py) runs in the same sandbox as the Rust plugins.

use std::path::PathBuf;

use sluice::stages::finalize::RunStatus;

use crate::support::{TestEnv, jsonl};

fn python_plugin_dir() -> PathBuf {
    let dir = env!("SLUICE_PYTHON_PLUGIN_DIR");
    assert!(
        !dir.is_empty(),
        "the Python plugin was not built: install componentize-py (`pip install componentize-py==0.25.1`, \
         or run tests/run.sh which does) and rebuild"
    );
    PathBuf::from(dir)
}

#[test]
fn python_titlecase_plugin_transforms_names() {
    let env = TestEnv::new();
    env.write(
        "in/people.jsonl",
        concat!(
            "{\"id\": 1, \"name\": \"jOHN o'neil-SMITH\"}\n",
            "{\"id\": 2, \"name\": \"LUDWIG VAN BEETHOVEN\"}\n",
            "{\"id\": 3, \"name\": null}\n",
            "{\"id\": 4, \"name\": 42}\n",
        ),
    );
    let path = env.write(
        "pipeline.toml",
        r#"
name = "python-titlecase"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "people"
key = "id"
source_options = { path = "people.jsonl" }
target_options = { path = "people.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = ["trim", { plugin = "titlecase", options = { keep_lowercase = ["van"] }, allow = ["wasi:filesystem", "wasi:sockets"] }]
"#,
    );
    let mut options = env.options();
    options.plugin_path = vec![python_plugin_dir()];
    let sluice = sluice::Sluice::open(options).unwrap();
    let summary = sluice.run(&sluice::load_pipeline(&path).unwrap()).unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let rows = jsonl(&env.read("out/people.jsonl"));
    let names: Vec<_> = rows.iter().map(|r| r["name"].clone()).collect();
    assert_eq!(
        names,
        vec![
            serde_json::json!("John O'Neil-Smith"),
            serde_json::json!("Ludwig van Beethoven"),
            serde_json::Value::Null,
            serde_json::json!(42),
        ]
    );
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    let py = uses.iter().find(|u| u.plugin == "titlecase").unwrap();
    assert!(py.origin.ends_with("titlecase.wasm"), "{py:?}");
    assert!(py.digest.starts_with("sha256:"));
}

#[test]
fn python_plugin_rejects_bad_options_up_front() {
    let env = TestEnv::new();
    env.write("in/people.jsonl", "{\"name\": \"x\"}\n");
    let path = env.write(
        "pipeline.toml",
        r#"
name = "python-bad-options"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "people"
source_options = { path = "people.jsonl" }
target_options = { path = "people.jsonl" }
[[entity.field]]
target = "name"
transform = [{ plugin = "titlecase", options = { keep_lowercase = "van" }, allow = ["wasi:filesystem", "wasi:sockets"] }]
"#,
    );
    let mut options = env.options();
    options.plugin_path = vec![python_plugin_dir()];
    let sluice = sluice::Sluice::open(options).unwrap();
    let err = sluice
        .run(&sluice::load_pipeline(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rejected its options"), "{err}");
    assert!(!env.path().join("out/people.jsonl").exists());
}

#[test]
fn python_plugin_without_allow_is_refused_naming_the_import() {
    let env = TestEnv::new();
    env.write("in/people.jsonl", "{\"name\": \"x\"}\n");
    let path = env.write(
        "pipeline.toml",
        r#"
name = "python-no-allow"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "people"
source_options = { path = "people.jsonl" }
target_options = { path = "people.jsonl" }
[[entity.field]]
target = "name"
transform = ["titlecase"]
"#,
    );
    let mut options = env.options();
    options.plugin_path = vec![python_plugin_dir()];
    let sluice = sluice::Sluice::open(options).unwrap();
    let err = sluice
        .run(&sluice::load_pipeline(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("imports `wasi:"), "{err}");
    assert!(
        err.contains("allow = ["),
        "the message says how to allow it: {err}"
    );
}
