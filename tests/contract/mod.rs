//! The plugin contract across versions: a frozen `sluice:plugin@0.1.0`
//! component beside the ported 0.2.0 built-ins, option schemas from
//! `describe`, and the values only 0.2.0 has.

mod text_batch;

use std::path::{Path, PathBuf};

use sluice::RunError;

use crate::hostile::{test_component, write_pipeline};
use crate::support::{TestEnv, jsonl, stdout};

/// The field transformer built from the frozen 0.1.0 WIT.
fn frozen() -> PathBuf {
    test_component("sluice_test_frozen_v0_1_0.wasm")
}

fn step(plugin: &Path, options: &str) -> String {
    format!(
        "{{ plugin = {:?}, options = {{ {options} }} }}",
        plugin.display().to_string()
    )
}

#[test]
fn frozen_v0_1_0_and_ported_v0_2_0_plugins_run_side_by_side() {
    let env = TestEnv::new();
    // jsonl-file source and target and `uppercase` are 0.2.0; the frozen
    // transformer is 0.1.0 and runs between them.
    let path = write_pipeline(&env, &step(&frozen(), "prefix = \"x\""), 10, 4);
    let summary = env.run(&path);
    assert_eq!(summary.totals.loaded, 10, "{summary:?}");
    let out = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(out[0]["name"], "X[NAME 1]");
    assert_eq!(out[6]["name"], "X[BOOM]");

    // The loaded components name their versions.
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    assert!(uses.iter().any(|u| u.role == "transform:things.name#1"));
}

#[test]
fn a_frozen_v0_1_0_error_reaches_the_host_in_current_types() {
    let env = TestEnv::new();
    env.write(
        "in/records.jsonl",
        "{\"id\": \"a\", \"name\": \"ok\"}\n{\"id\": \"b\", \"name\": \"-fail-\"}\n",
    );
    let path = env.write(
        "pipeline.toml",
        &format!(
            r#"
name = "frozen"
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
transform = [{}]
"#,
            step(&frozen(), "")
        ),
    );
    let summary = env.run(&path);
    assert_eq!(summary.totals.loaded, 1, "{summary:?}");
    let errors = env
        .run_log()
        .errors(summary.run_id, &Default::default())
        .unwrap();
    assert!(errors.iter().any(|e| e.code == "frozen-busy"), "{errors:?}");
    let out = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(out[0]["name"], "[ok]");
}

#[test]
fn options_are_checked_against_the_described_schema_before_configure() {
    let env = TestEnv::new();
    let path = write_pipeline(
        &env,
        "{ plugin = \"truncate\", options = { max_length = \"x\" } }",
        10,
        10,
    );
    let loaded = sluice::load_pipeline(&path).unwrap();
    let err = env.sluice().run(&loaded).unwrap_err();
    let RunError::Setup { source, .. } = err else {
        panic!("expected a setup failure, got {err:?}")
    };
    let message = source.to_string();
    assert_eq!(source.code(), "config-rejected", "{message}");
    for part in [
        "pipeline.toml",
        "transform:things.name#1",
        "plugin `truncate`",
        "option `/max_length`",
        "option schema",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }

    // An unknown option is refused by the schema too.
    let path = write_pipeline(
        &env,
        "{ plugin = \"truncate\", options = { max_length = 3, max_len = 2 } }",
        10,
        10,
    );
    let loaded = sluice::load_pipeline(&path).unwrap();
    let err = env.sluice().run(&loaded).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("max_len"), "{message}");
}

#[test]
fn a_decimal_survives_a_pipeline_exactly() {
    let forger = test_component("sluice_test_forger.wasm");
    let env = TestEnv::new();
    let path = write_pipeline(
        &env,
        &step(
            &forger,
            "trigger = \"boom\", decimal = \"12345678901234567890.10\"",
        ),
        10,
        10,
    );
    let summary = env.run(&path);
    assert_eq!(summary.totals.loaded, 10, "{summary:?}");
    let text = env.read("out/records.jsonl");
    assert!(
        text.contains("\"12345678901234567890.10\""),
        "the decimal lost digits: {text}"
    );
}

#[test]
fn plugin_docs_prints_the_option_table() {
    let env = TestEnv::new();
    let out = env.cli(&["plugin", "docs", "truncate"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("max_length"), "{text}");
    assert!(text.contains("integer"), "{text}");
    assert!(text.contains("sluice-plugin-truncate"), "{text}");

    // A 0.1.0 component has no `describe`: docs say so.
    let frozen = frozen().display().to_string();
    let out = env.cli(&["plugin", "docs", &frozen]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("sluice:plugin@0.1.0"), "{text}");
    assert!(text.contains("without `describe`"), "{text}");

    let out = env.cli(&["plugins"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("sluice-plugin-truncate"), "{text}");
}
