//! The contract works beyond Rust: a field transformer written in Python
//! (componentize-py) runs in the same sandbox as the Rust plugins.

use std::path::PathBuf;

use sluice::stages::finalize::RunStatus;
use sluice::{RunError, RunSummary, Sluice};

use crate::support::{TestEnv, jsonl};

fn python_plugin_dir() -> PathBuf {
    match sluice_test_programs_artifacts::PYTHON_PLUGIN_DIR {
        Ok(dir) => PathBuf::from(dir),
        Err(why) => panic!(
            "the Python plugin was not built ({why}): install componentize-py \
             (`pip install componentize-py==0.25.1`, or run tests/run.sh which does) and rebuild"
        ),
    }
}

/// What a Python component links although nothing is granted through it.
const ALLOW: &str = r#"allow = ["wasi:filesystem", "wasi:sockets"]"#;

/// Run `people` (JSON Lines) through `step` on the `name` field, with the
/// Python plugin's directory on the plugin path.
fn run_names(people: &str, step: &str) -> (TestEnv, Result<RunSummary, RunError>) {
    let env = TestEnv::new();
    env.write("in/people.jsonl", people);
    let path = env.write(
        "pipeline.toml",
        &format!(
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
source_options = {{ path = "people.jsonl" }}
target_options = {{ path = "people.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = ["trim", {step}]
"#
        ),
    );
    let mut options = env.options();
    options.plugin_path = vec![python_plugin_dir()];
    let result = Sluice::open(options)
        .unwrap()
        .run(&sluice::load_pipeline(&path).unwrap());
    (env, result)
}

#[test]
fn python_titlecase_plugin_transforms_names() {
    let people = concat!(
        "{\"id\": 1, \"name\": \"jOHN o'neil-SMITH\"}\n",
        "{\"id\": 2, \"name\": \"LUDWIG VAN BEETHOVEN\"}\n",
        "{\"id\": 3, \"name\": null}\n",
        "{\"id\": 4, \"name\": 42}\n",
    );
    let step =
        format!(r#"{{ plugin = "titlecase", options = {{ keep_lowercase = ["van"] }}, {ALLOW} }}"#);
    let (env, result) = run_names(people, &step);
    let summary = result.unwrap();
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
    let step =
        format!(r#"{{ plugin = "titlecase", options = {{ keep_lowercase = "van" }}, {ALLOW} }}"#);
    let (env, result) = run_names("{\"id\": 1, \"name\": \"x\"}\n", &step);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("rejected its options"), "{err}");
    assert!(!env.path().join("out/people.jsonl").exists());
}

#[test]
fn python_plugin_without_allow_is_refused_naming_the_import() {
    let (_env, result) = run_names("{\"id\": 1, \"name\": \"x\"}\n", "\"titlecase\"");
    let err = result.unwrap_err().to_string();
    assert!(err.contains("imports `wasi:"), "{err}");
    assert!(
        err.contains("allow = ["),
        "the message says how to allow it: {err}"
    );
}
