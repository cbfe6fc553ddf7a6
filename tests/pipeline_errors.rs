//! A bad pipeline file is refused with the file, line, column and problem,
//! and exit code 2, before any record is read.

use crate::support::{TestEnv, stderr, stdout};

const GOOD: &str = r#"name = "people"

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
target = "email"
transform = ["trim", "email"]
"#;

fn env_with(pipeline: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write("in/people.jsonl", "{\"email\": \" A@Example.com \"}\n");
    env.write("pipeline.toml", pipeline);
    env
}

fn refused(pipeline: &str) -> String {
    let env = env_with(pipeline);
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {} stderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !env.path().join("out/people.jsonl").exists(),
        "nothing may be written"
    );
    stderr(&out)
}

#[test]
fn good_pipeline_validates_and_runs() {
    let env = env_with(GOOD);
    let out = env.cli(&["validate", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("is valid"));
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        env.read("out/people.jsonl").trim(),
        r#"{"email":"a@example.com"}"#
    );
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let err = refused(&GOOD.replace("name = \"people\"\n", "name = \"people\n"));
    assert!(err.contains("pipeline.toml:1:"), "{err}");
}

#[test]
fn misspelled_key_is_named_with_its_line() {
    let err = refused(&GOOD.replace("transform = [", "transfrom = ["));
    assert!(
        err.contains("pipeline.toml:18:1: unknown field `transfrom`"),
        "{err}"
    );
}

#[test]
fn unknown_plugin_suggests_the_closest_name() {
    let err = refused(&GOOD.replace("\"email\"]", "\"emial\"]"));
    assert!(err.contains("pipeline.toml:18:22"), "{err}");
    assert!(
        err.contains("unknown field-transformer plugin `emial`, did you mean `email`?"),
        "{err}"
    );
}

#[test]
fn option_rejected_by_the_plugin_fails_up_front_with_its_message() {
    let err = refused(&GOOD.replace(
        "transform = [\"trim\", \"email\"]",
        "transform = [{ plugin = \"truncate\", options = { max_lenght = 3 } }]",
    ));
    assert!(err.contains("pipeline.toml:18:14"), "{err}");
    assert!(
        err.contains("rejected its options") && err.contains("max_lenght"),
        "{err}"
    );
}

#[test]
fn plugin_of_the_wrong_kind_is_refused() {
    let err = refused(&GOOD.replace("\"trim\", \"email\"", "\"trim\", \"./in/people.jsonl\""));
    assert!(err.contains("pipeline.toml:18:22"), "{err}");
    assert!(err.contains("not a valid WebAssembly component"), "{err}");
}

#[test]
fn missing_source_directory_is_located() {
    let err = refused(&GOOD.replace("dir = \"in\"", "dir = \"nowhere\""));
    assert!(
        err.contains("pipeline.toml:5:7: source directory `nowhere` does not exist"),
        "{err}"
    );
}

#[test]
fn duplicate_entity_is_refused() {
    let twice =
        format!("{GOOD}\n[[entity]]\nname = \"people\"\n[[entity.field]]\ntarget = \"x\"\n");
    let err = refused(&twice);
    assert!(err.contains("entity `people` is defined twice"), "{err}");
}

#[test]
fn setup_failure_is_recorded_as_a_failed_run() {
    let env = env_with(&GOOD.replace("\"email\"]", "\"emial\"]"));
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let runs = env.run_log().runs(None, 5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "failed");
    assert!(runs[0].status_reason.as_deref().unwrap().contains("emial"));
}
