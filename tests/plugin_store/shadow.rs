//! `sluice plugin promote --shadow N`: the candidate runs beside the
//! current version on the records the run log still holds (dead-letter
//! entries, captured source records), the differences are shown, and
//! nothing is promoted.

use super::{builtin_file, install};
use crate::support::{TestEnv, stderr, stdout};

#[test]
fn shadowing_shows_differences_and_promotes_nothing() {
    let env = TestEnv::new();
    let email = install(&env, &builtin_file(&env, "email"), "contact");
    let trim = install(&env, &builtin_file(&env, "trim"), "contact");
    env.write(
        "in/people.jsonl",
        r#"{"id":1,"email":"ada@example.com"}
{"id":2,"email":"not an address"}
{"id":3,"email":"grace@example.com"}
{"id":4,"email":"also-bad"}
"#,
    );
    let pipeline = env.write(
        "pipeline.toml",
        r#"
name = "shadow"
[capture]
phases = true
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
target = "email"
transform = ["contact"]
"#,
    );
    let out = env.cli(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    let out = env.cli(&[
        "plugin",
        "promote",
        "--shadow",
        "100",
        "--json",
        &format!("contact@{trim}"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["current"], email.as_str());
    assert_eq!(report["candidate"], trim.as_str());
    let rows = report["rows"].as_array().unwrap();
    // Two dead-letter entries, and the four records the source returned.
    let from_dlq: Vec<_> = rows
        .iter()
        .filter(|r| r["sample"].as_str().unwrap().starts_with("dlq:"))
        .collect();
    assert_eq!(from_dlq.len(), 2, "{report:#}");
    assert_eq!(rows.len(), 6, "{report:#}");
    for r in &from_dlq {
        assert!(r["differs"].as_bool().unwrap());
        assert!(r["current"]["error"].is_string(), "{r}");
        assert_eq!(r["candidate"]["value"], r["input"]);
    }
    // A valid address: both answer with a value; the bad ones differ.
    let ada = rows
        .iter()
        .find(|r| r["input"] == "ada@example.com")
        .unwrap();
    assert_eq!(ada["current"]["value"], "ada@example.com");
    assert_eq!(ada["differs"], false);
    assert_eq!(report["differ"], 4, "{report:#}");

    // Human output: a table of the differences, and nothing promoted.
    let out = env.cli(&[
        "plugin",
        "promote",
        "--shadow",
        "3",
        &format!("contact@{}", &trim[..19]),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("3 sample(s) run"), "{text}");
    assert!(text.contains("not an address"), "{text}");
    assert!(text.contains("Nothing was promoted"), "{text}");
    let out = env.cli(&["plugin", "versions", "contact", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["current"], email.as_str());
}
