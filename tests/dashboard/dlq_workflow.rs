//! An operator finds a partial run in the dashboard, reads its grouped
//! errors, searches the DLQ by record key, replays two entries after a dry
//! run and discards one with a reason; every page escapes what the source
//! handed the host.

use serde_json::Value;

use super::{Dashboard, HOSTILE_KEY, PIPELINE, partial_run};
use crate::support::TestEnv;

fn entry_ids(v: &Value) -> Vec<i64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn find_a_partial_run_replay_after_a_dry_run_and_discard_with_a_reason() {
    let env = TestEnv::new();
    partial_run(&env);

    let mut ui = Dashboard::start(&env);

    // Run history, as a page and as JSON.
    let runs = ui.json("/runs");
    assert_eq!(runs["runs"][0]["status"], "partial", "{runs}");
    let run_id = runs["runs"][0]["id"].as_i64().unwrap();
    let (code, html) = ui.page("/runs?status=partial");
    assert_eq!(code, 200);
    assert!(html.contains(&format!("href=\"/runs/{run_id}\"")), "{html}");
    let (code, html) = ui.page("/runs?since=last-tuesday");
    assert_eq!(code, 400);
    assert!(
        html.contains("`since`") && html.contains("last-tuesday"),
        "{html}"
    );

    // The run: grouped errors with their hint and first records, escaped.
    let (code, html) = ui.page(&format!("/runs/{run_id}"));
    assert_eq!(code, 200);
    let detail = ui.json(&format!("/runs/{run_id}"));
    let group = &detail["errors"]["groups"][0];
    assert_eq!(
        group["count"], 11,
        "10 national numbers and the hostile record: {detail}"
    );
    assert!(html.contains(group["code"].as_str().unwrap()));
    assert!(html.contains("Fix: "), "the group's hint is shown");
    assert!(html.contains("phone-e164"));
    assert!(
        !html.contains(HOSTILE_KEY),
        "a record key reached the page unescaped"
    );

    // The DLQ: search by key; the hostile key is escaped there too.
    let found = ui.json("/dlq?key=c002");
    assert_eq!(found["entries"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["entries"][0]["record_key"], "c002");
    let (_, html) = ui.page("/dlq");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains(HOSTILE_KEY));
    let all = entry_ids(&ui.json("/dlq"));
    assert_eq!(all.len(), 11);

    // Actions need a session, the form token, and the page's own origin.
    let pick = [all[0].to_string(), all[1].to_string()];
    let base = ui.base.clone();
    let refused = ui.post(
        "/dlq/replay",
        &[("id", &pick[0]), ("mode", "dry-run")],
        Some(&base),
    );
    assert_eq!(refused.status().as_u16(), 401, "no session");
    ui.sign_in();
    let csrf = ui.csrf();
    let refused = ui.post(
        "/dlq/replay",
        &[("id", &pick[0]), ("mode", "dry-run")],
        Some(&base),
    );
    assert_eq!(refused.status().as_u16(), 403, "no form token");
    let refused = ui.post(
        "/dlq/replay",
        &[("id", &pick[0]), ("mode", "dry-run"), ("csrf", &csrf)],
        Some("http://evil.example"),
    );
    assert_eq!(refused.status().as_u16(), 403, "another origin");

    // The fix: the region comes back. A dry run first: nothing changes.
    env.write("pipeline.toml", PIPELINE);
    let dry = ui.post(
        "/dlq/replay",
        &[
            ("id", &pick[0]),
            ("id", &pick[1]),
            ("mode", "dry-run"),
            ("csrf", &csrf),
        ],
        Some(&base),
    );
    assert_eq!(dry.status().as_u16(), 200);
    let html = dry.text().unwrap();
    assert!(html.contains("Replay these 2 entries"), "{html}");
    assert!(html.contains("re-enters at"));
    assert_eq!(
        entry_ids(&ui.json("/dlq")).len(),
        11,
        "a dry run replays nothing"
    );

    // Then the replay: the two entries are resolved and loaded.
    let done = ui.post(
        "/dlq/replay",
        &[
            ("id", &pick[0]),
            ("id", &pick[1]),
            ("mode", "replay"),
            ("csrf", &csrf),
        ],
        Some(&base),
    );
    assert_eq!(done.status().as_u16(), 200);
    let html = done.text().unwrap();
    assert!(html.contains("2 resolved, 0 failing again"), "{html}");
    let open = entry_ids(&ui.json("/dlq"));
    assert_eq!(open.len(), 9);
    assert!(!open.contains(&all[0]) && !open.contains(&all[1]));
    let resolved = ui.json("/dlq?status=resolved");
    assert_eq!(entry_ids(&resolved), vec![all[0], all[1]]);
    let loaded = env.read("out/contacts.jsonl");
    for e in resolved["entries"].as_array().unwrap() {
        let key = e["record_key"].as_str().unwrap();
        assert!(
            loaded.contains(&format!("\"{key}\"")),
            "{key} was not loaded"
        );
    }

    // Discard: a reason is required, and the audit log names the dashboard.
    let third = open[0].to_string();
    let no_reason = ui.post(
        "/dlq/discard",
        &[("id", &third), ("csrf", &csrf)],
        Some(&base),
    );
    assert_eq!(no_reason.status().as_u16(), 400);
    let discarded = ui.post(
        "/dlq/discard",
        &[
            ("id", &third),
            ("reason", "test record, never real"),
            ("csrf", &csrf),
        ],
        Some(&base),
    );
    assert_eq!(discarded.status().as_u16(), 200);
    assert_eq!(entry_ids(&ui.json("/dlq")).len(), 8);
    let audit = ui.json("/audit?action=dlq-discarded");
    let entry = &audit["entries"][0];
    assert!(
        entry["actor"].as_str().unwrap().ends_with("(dashboard)"),
        "{audit}"
    );
    assert!(
        audit.to_string().contains("test record, never real"),
        "{audit}"
    );

    // The pipeline's timeline: both runs and the configuration change
    // between them, newest first.
    let timeline = ui.json("/pipelines/crm-phones/timeline");
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "run").count(),
        2,
        "{timeline}"
    );
    assert!(
        timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entry"]["action"] == "config-changed"),
        "{timeline}"
    );
    let (code, html) = ui.page("/pipelines/crm-phones/timeline");
    assert_eq!(code, 200);
    assert!(html.contains("config-changed"));
}
