//! Digest pinning, `sluice plugins` and `sluice plugin test`.

use serde_json::Value;

use crate::hostile::{hostile, write_pipeline};
use crate::support::{TestEnv, stderr, stdout};

fn builtin_digest(env: &TestEnv, name: &str) -> String {
    let out = env.cli(&["plugins", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name && p["kind"] == "field-transformer")
        .unwrap_or_else(|| panic!("{name} not listed: {list}"));
    entry["digest"].as_str().unwrap().to_owned()
}

#[test]
fn plugins_lists_kind_contract_digest_imports_and_exports() {
    let env = TestEnv::new();
    let out = env.cli(&["plugins", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let email = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "email")
        .unwrap();
    assert_eq!(email["contract"], "0.2.0");
    assert_eq!(email["described"]["name"], "sluice-plugin-email");
    assert!(
        email["described"]["options_schema"]
            .as_str()
            .unwrap()
            .contains("additionalProperties")
    );
    assert!(email["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(email["size"].as_u64().unwrap() > 10_000);
    assert!(
        email["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "sluice:plugin/transform@0.2.0")
    );
    assert!(
        email["imports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !i.as_str().unwrap().starts_with("wasi:filesystem"))
    );
    let csv = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "csv-file")
        .unwrap();
    assert_eq!(csv["kind"], "source");
    let table = stdout(&env.cli(&["plugins"]));
    assert!(
        table.contains("phone-e164") && table.contains("CONTRACT"),
        "{table}"
    );
}

#[test]
fn pinned_digest_must_match() {
    let env = TestEnv::new();
    let digest = builtin_digest(&env, "uppercase");
    // Matching pins, in both forms, run.
    for step in [
        format!("{{ plugin = \"uppercase\", digest = \"{digest}\" }}"),
        format!("\"uppercase@{digest}\""),
    ] {
        let path = write_pipeline(&env, &step, 3, 3);
        let summary = env.run(&path);
        assert_eq!(summary.totals.loaded, 3, "{step}");
    }
    // A different digest is refused before any record is read.
    let wrong = format!("sha256:{}", "0".repeat(64));
    write_pipeline(
        &env,
        &format!("{{ plugin = \"uppercase\", digest = \"{wrong}\" }}"),
        3,
        3,
    );
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("plugin `uppercase` is {digest}")) && err.contains("not the pinned"),
        "{err}"
    );
    // A malformed pin is a located config error.
    write_pipeline(
        &env,
        "{ plugin = \"uppercase\", digest = \"sha256:abc\" }",
        3,
        3,
    );
    let err = stderr(&env.cli(&["run", "pipeline.toml"]));
    assert!(
        err.contains("pipeline.toml:") && err.contains("is not a digest"),
        "{err}"
    );
}

#[test]
fn plugin_test_shows_why_a_plugin_was_stopped_and_what_it_used() {
    let env = TestEnv::new();
    env.write("sample.jsonl", "\"a\"\n\"b\"\n\"boom\"\n\"c\"\n");
    let plugin = hostile().display().to_string();
    let args = [
        "plugin",
        "test",
        plugin.as_str(),
        "--input",
        "sample.jsonl",
        "--options",
        r#"{"behaviour": "loop", "trigger": "boom"}"#,
        "--batch-size",
        "2",
        "--fuel-per-call",
        "1000000",
        "--fuel-per-record",
        "1000000",
    ];
    let out = env.cli(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a stopped batch exits 1: {}",
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("Batch 2 stopped: fuel-exhausted"), "{text}");
    assert!(text.contains("FUEL %") && text.contains("100.0%"), "{text}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v: Value = serde_json::from_slice(&env.cli(&json_args).stdout).unwrap();
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    assert!(batches[0]["failure"].is_null());
    assert_eq!(batches[0]["ok"], 2);
    assert_eq!(batches[1]["failure"]["kind"], "fuel-exhausted");
    assert_eq!(batches[1]["fuel"], batches[1]["fuel_limit"]);
    assert!(batches[0]["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["records"][0]["output"], "a");
}

#[test]
fn plugin_test_runs_a_builtin_by_name_over_a_field() {
    let env = TestEnv::new();
    env.write(
        "people.jsonl",
        "{\"email\": \" X@Example.COM \"}\n{\"email\": \"nope\"}\n",
    );
    let out = env.cli(&[
        "plugin",
        "test",
        "email",
        "--input",
        "people.jsonl",
        "--field",
        "email",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"][0]["output"], "x@example.com");
    assert!(
        v["records"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid-email")
    );
    assert_eq!(v["batches"][0]["errors"], 1);
}
