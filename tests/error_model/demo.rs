//! The operator's screen for a realistic bad run: 10,000 contacts with
//! invalid emails and phones, a burst of rate limits at the target and a
//! few records that crash a plugin. The grouped view shows a handful of
//! groups, actionable ones first, with the rate limits folded into one line
//! because every retry succeeded.

use sluice::stages::finalize::RunStatus;

use super::{error_rows, loaded_keys, retry_rows};
use crate::support::{TestEnv, fault_target, stdout, test_plugin};

const RECORDS: usize = 10_000;
const TRAPS: [usize; 5] = [1234, 3456, 5678, 7890, 9012];

fn bad_email(i: usize) -> bool {
    i % 40 == 7
}

fn bad_phone(i: usize) -> bool {
    i % 50 == 11
}

fn rate_limited(i: usize) -> bool {
    (4000..4600).contains(&i)
}

fn pipeline() -> String {
    format!(
        r#"name = "crm-contacts"

[errors]
strategy = "retry"
retry = {{ max_attempts = 4, initial_backoff_ms = 1, max_backoff_ms = 5 }}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "{target}"
dir = "out"
options = {{ path = "loaded.txt" }}

[[entity]]
name = "contacts"
key = "id"
source_options = {{ path = "contacts.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = [{{ plugin = "{hostile}", options = {{ behaviour = "trap", trigger = "boom" }} }}]

[[entity.field]]
target = "email"
transform = ["trim", "email"]

[[entity.field]]
target = "phone"
transform = [{{ plugin = "phone-e164", options = {{ default_region = "US" }} }}]

[[entity.field]]
target = "fault"
"#,
        target = "plugins/fault-target.wasm",
        hostile = "plugins/hostile.wasm",
    )
}

fn contacts() -> String {
    let mut out = String::new();
    for i in 0..RECORDS {
        let record = serde_json::json!({
            "id": format!("c{i:05}"),
            "name": if TRAPS.contains(&i) { "boom".to_owned() } else { format!("Contact {i}") },
            "email": if bad_email(i) { format!("contact{i}.example.com") } else { format!(" contact{i}@example.com ") },
            "phone": if bad_phone(i) { "call me maybe".to_owned() } else { format!("(415) 555-{:04}", 1000 + i % 9000) },
            "fault": if rate_limited(i) { "rate-limited:2" } else { "ok" },
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn ten_thousand_records_fold_into_a_few_groups() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    std::fs::create_dir_all(env.path().join("out")).unwrap();
    // Plugins by relative path, so the screen is the same on every machine.
    std::fs::create_dir_all(env.path().join("plugins")).unwrap();
    std::fs::copy(fault_target(), env.path().join("plugins/fault-target.wasm")).unwrap();
    std::fs::copy(test_plugin(), env.path().join("plugins/hostile.wasm")).unwrap();
    let path = env.write("pipeline.toml", &pipeline());
    let s = env.run(&path);

    let invalid_email = (0..RECORDS).filter(|i| bad_email(*i)).count();
    let invalid_phone = (0..RECORDS).filter(|i| bad_phone(*i)).count();
    let failed = invalid_email + invalid_phone + TRAPS.len();
    let retried = (0..RECORDS)
        .filter(|i| rate_limited(*i) && !bad_email(*i) && !bad_phone(*i) && !TRAPS.contains(i))
        .count();
    assert_eq!(s.status, RunStatus::Partial);
    assert_eq!(s.totals.extracted, RECORDS as u64);
    assert_eq!(s.totals.failed, failed as u64);
    assert_eq!(s.totals.loaded, (RECORDS - failed) as u64);
    assert_eq!(loaded_keys(&env).len(), RECORDS - failed);

    let errors = error_rows(&env, s.run_id);
    let count = |category: &str, code: &str| {
        errors
            .iter()
            .filter(|e| e.category == category && e.code == code)
            .count()
    };
    assert_eq!(count("mapping", "trap"), TRAPS.len());
    assert_eq!(count("validation", "invalid-email"), invalid_email);
    assert_eq!(count("validation", "invalid-phone"), invalid_phone);
    let retries = retry_rows(&env, s.run_id);
    assert_eq!(retries.len(), retried);
    assert!(
        retries
            .iter()
            .all(|r| r.outcome == "succeeded" && r.failures == 2)
    );

    let run = s.run_id.to_string();
    let out = env.cli(&["errors", &run, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let view: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let groups: Vec<(String, String, u64)> = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["category"].as_str().unwrap().to_owned(),
                g["code"].as_str().unwrap().to_owned(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("mapping".into(), "trap".into(), TRAPS.len() as u64),
            (
                "validation".into(),
                "invalid-email".into(),
                invalid_email as u64
            ),
            (
                "validation".into(),
                "invalid-phone".into(),
                invalid_phone as u64
            ),
        ]
    );
    let folded = view["retried"].as_array().unwrap();
    assert_eq!(folded.len(), 1, "{view:#}");

    let screen = stdout(&env.cli(&["errors", &run]));
    insta::assert_snapshot!(screen);
}
