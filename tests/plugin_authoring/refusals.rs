//! Refusals and setup failures, as an author sees them.

use serde_json::Value;
use sluice::runlog::ErrorFilter;

use crate::hostile::{test_component, write_pipeline};
use crate::support::{TestEnv, stderr, stdout};

/// A field transformer importing two filesystem interfaces, a socket and an
/// interface nobody provides. Its core module does not validate, so a host
/// that compiled it before checking its imports would report an invalid
/// component instead.
const GREEDY: &str = r#"(component
  (import "wasi:filesystem/types@0.2.6" (instance))
  (import "wasi:filesystem/preopens@0.2.6" (instance))
  (import "wasi:sockets/tcp@0.2.6" (instance))
  (import "acme:rogue/exfil@1.0.0" (instance))
  (core module (func (result i32)))
  (instance $t)
  (export "sluice:plugin/transform@0.2.0" (instance $t))
)"#;

const IMPORTS: [&str; 4] = [
    "wasi:filesystem/types@0.2.6",
    "wasi:filesystem/preopens@0.2.6",
    "wasi:sockets/tcp@0.2.6",
    "acme:rogue/exfil@1.0.0",
];

fn greedy(env: &TestEnv) -> String {
    let path = env.path().join("greedy.wasm");
    std::fs::write(&path, wat::parse_str(GREEDY).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn every_refused_import_is_reported_once_with_advice_for_a_transformer_in_a_pipeline() {
    let env = TestEnv::new();
    let plugin = greedy(&env);
    write_pipeline(&env, &format!("{{ plugin = {plugin:?} }}"), 3, 3);
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for import in IMPORTS {
        assert_eq!(
            err.matches(import).count(),
            1,
            "`{import}` must be named exactly once (printed once): {err}"
        );
    }
    assert!(
        err.contains("capability-denied") || err.contains("not granted"),
        "{err}"
    );
    // Advice for a field transformer in a pipeline: no connector `dir`.
    assert!(!err.contains("`dir`"), "{err}");
    assert!(!err.contains("connector"), "{err}");
    assert!(
        err.contains(r#"allow = [\"wasi:filesystem\"]"#)
            || err.contains(r#"allow = ["wasi:filesystem"]"#),
        "{err}"
    );
    assert!(!err.contains("--allow"), "{err}");
    assert!(err.contains("--stub-wasi"), "{err}");

    // The run log names the plugin, and so does the guidance built from it.
    let log = env.run_log();
    let run = log.runs(None, 1).unwrap().remove(0);
    let errors = log.errors(run.id, &ErrorFilter::default()).unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "capability-denied");
    assert_eq!(errors[0].plugin.as_deref(), Some(plugin.as_str()));
    let shown = stdout(&env.cli(&["errors", &run.id.to_string()]));
    assert!(!shown.contains("the plugin"), "{shown}");
    assert!(shown.contains("greedy.wasm"), "{shown}");
}

#[test]
fn plugin_test_refuses_before_compiling_with_command_line_advice_and_a_category() {
    let env = TestEnv::new();
    let plugin = greedy(&env);
    env.write("in.jsonl", "\"a\"\n");
    let out = env.cli(&["plugin", "test", &plugin, "--input", "in.jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("[config] capability-denied"), "{text}");
    for import in IMPORTS {
        assert!(text.contains(import), "{import} missing: {text}");
    }
    assert!(text.contains("--allow wasi:filesystem"), "{text}");
    assert!(text.contains("--allow wasi:sockets"), "{text}");
    assert!(!text.contains("allow = ["), "{text}");

    let out = env.cli(&["plugin", "test", &plugin, "--input", "in.jsonl", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["setup_error"]["category"], "config", "{v}");
    assert_eq!(v["setup_error"]["code"], "capability-denied", "{v}");
}

#[test]
fn a_configure_error_keeps_the_plugins_own_code() {
    let frozen = test_component("sluice_test_frozen_v0_1_0.wasm")
        .display()
        .to_string();
    let env = TestEnv::new();
    let path = write_pipeline(
        &env,
        &format!("{{ plugin = {frozen:?}, options = {{ other = 1 }} }}"),
        3,
        3,
    );
    let err = env
        .sluice()
        .run(&sluice::load_pipeline(&path).unwrap())
        .unwrap_err();
    let sluice::RunError::Setup { source, .. } = err else {
        panic!("expected a setup failure, got {err:?}")
    };
    assert_eq!(source.code(), "invalid-options", "{source}");
    assert_eq!(source.plugin().map(|p| &*p.name), Some(frozen.as_str()));

    env.write("in.jsonl", "\"a\"\n");
    let out = env.cli(&[
        "plugin",
        "test",
        &frozen,
        "--input",
        "in.jsonl",
        "--options",
        r#"{"other": 1}"#,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["setup_error"]["code"], "invalid-options", "{v}");
    assert_eq!(v["setup_error"]["category"], "config", "{v}");
}

#[test]
fn plugin_test_shows_each_errors_category() {
    let env = TestEnv::new();
    env.write("in.jsonl", "\"x@example.com\"\n\"nope\"\n");
    let args = ["plugin", "test", "email", "--input", "in.jsonl"];
    let text = stdout(&env.cli(&args));
    assert!(text.contains("error [validation] invalid-email"), "{text}");
    let mut json = args.to_vec();
    json.push("--json");
    let v: Value = serde_json::from_slice(&env.cli(&json).stdout).unwrap();
    assert_eq!(v["records"][1]["category"], "validation", "{v}");
    assert_eq!(v["records"][1]["code"], "invalid-email", "{v}");
    assert!(v["records"][0]["category"].is_null(), "{v}");
}
