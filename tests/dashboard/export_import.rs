//! A run exported for support and imported elsewhere: one file, secrets in
//! records redacted, browsable in the dashboard of a new data directory.

use super::{Dashboard, PIPELINE, contacts};
use crate::support::{TestEnv, stderr, stdout};

#[test]
fn an_exported_run_opens_in_another_data_directory_without_its_secrets() {
    let env = TestEnv::new();
    // A source field the pipeline does not map, kept in the DLQ's source
    // payloads: a secret that must not leave the machine in an export.
    env.write(
        "in/contacts.jsonl",
        &contacts().replace("\"phone\"", "\"api_token\":\"tok-live-4242\",\"phone\""),
    );
    env.write(
        "pipeline.toml",
        &PIPELINE.replace(", options = { default_region = \"US\" }", ""),
    );
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(3));
    let dlq = std::fs::read(env.data_dir().join("runs.db")).unwrap();
    assert!(
        dlq.windows(13).any(|w| w == b"tok-live-4242"),
        "the run log holds the secret the export must redact"
    );
    let out = env.cli(&["runs", "export", "last", "-o", "support/run.db"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Exported run #1 of crm-phones (partial)"),
        "{}",
        stdout(&out)
    );
    let again = env.cli(&["runs", "export", "last", "-o", "support/run.db"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    let bytes = std::fs::read(env.path().join("support/run.db")).unwrap();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("c002"), "the run's records are in the export");
    assert!(!has("tok-live-4242"), "a secret left the machine");

    let support = TestEnv::new();
    let into = support.data_dir();
    let out = env.cli(&[
        "runs",
        "import",
        "support/run.db",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("sluice ui --data-dir"),
        "{}",
        stdout(&out)
    );

    // Support browses it in the dashboard of the new data directory.
    let ui = Dashboard::start(&support);
    let runs = ui.json("/runs");
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs["runs"][0]["status"], "partial");
    let dlq = ui.json("/dlq");
    assert_eq!(dlq["entries"].as_array().unwrap().len(), 11);
    let detail = ui.json("/runs/1");
    assert_eq!(detail["errors"]["groups"][0]["code"], "invalid-phone");
}
