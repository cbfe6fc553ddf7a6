use crate::support::{TestEnv, jsonl, stderr};

use super::{test_component, write_pipeline};

/// The host's environment (with a planted secret) is invisible inside the
/// sandbox: the plugin sees no variables and no arguments.
#[test]
fn environment_is_empty_inside_the_sandbox() {
    let env = TestEnv::new();
    let step = format!(
        "{:?}",
        test_component("sluice_test_env_probe.wasm")
            .display()
            .to_string()
    );
    write_pipeline(&env, &step, 3, 3);
    let out = env.cli_with_env(
        &["run", "pipeline.toml"],
        &[("SLUICE_PLANTED_SECRET", "hunter2-planted")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = jsonl(&env.read("out/records.jsonl"));
    assert_eq!(rows.len(), 3);
    for row in rows {
        let seen = row["name"].as_str().unwrap();
        assert!(!seen.contains("HUNTER2"), "the secret leaked: {seen}");
        assert_eq!(
            seen, r#"{"__ARGS":0}"#,
            "nothing of the host's environment is visible"
        );
    }
}
