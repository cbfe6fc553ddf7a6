//! The dead-letter queue over the API: entries of a job listed with
//! filters (without payloads), one shown with its payload, a dry run that
//! changes nothing, a replay of selected entries once the cause is fixed,
//! and refusals (no token, no selection, an entry already resolved).

use std::time::Duration;

use serde_json::json;

use super::webhook_run_events::{input, project, run};
use super::{Daemon, TOKEN, ids, wait_for};
use crate::support::TestEnv;

#[test]
fn dlq_entries_are_listed_and_replayed_over_the_api() {
    let env = TestEnv::new();
    project(&env, "", "");
    env.write("in/contacts.jsonl", &input(2, 3));
    let daemon = Daemon::start(&env);
    let partial = run(&daemon, 1);
    assert_eq!(partial["status"], "partial", "{partial}");

    let (status, body) = daemon.get("/v1/dlq?job=contacts");
    assert_eq!(status, 200, "{body}");
    let entries = body["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 3, "{body}");
    assert_eq!(body["more"], false);
    assert!(
        entries
            .iter()
            .all(|e| e.get("payload").is_none() && e["stage"] == "transform")
    );
    let idx: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let (_, two) = daemon.get("/v1/dlq?job=contacts&limit=2");
    assert_eq!(two["entries"].as_array().unwrap().len(), 2);
    assert_eq!(two["more"], true);
    let (_, by_run) = daemon.get(&format!("/v1/dlq?run={}&stage=transform", partial["id"]));
    assert_eq!(by_run["entries"].as_array().unwrap().len(), 3);
    assert_eq!(daemon.get("/v1/dlq?stage=nowhere").0, 400);
    assert_eq!(daemon.get("/v1/dlq?colour=red").0, 400);
    assert_eq!(daemon.get("/v1/dlq?job=nobody").0, 404);
    let (status, one) = daemon.get(&format!("/v1/dlq/{}", idx[0]));
    assert_eq!(status, 200, "{one}");
    assert!(
        one["entry"]["payload"]
            .as_str()
            .unwrap()
            .contains("not an email"),
        "{one}"
    );
    assert_eq!(daemon.get("/v1/dlq/999999").0, 404);

    // Changes need the token, and a selection.
    let first_two = json!({ "ids": [idx[0], idx[1]] });
    assert_eq!(daemon.post_json("/v1/dlq/replay", &first_two, None).0, 401);
    assert_eq!(
        daemon
            .post_json("/v1/dlq/replay", &json!({}), Some(TOKEN))
            .0,
        400
    );
    assert_eq!(
        daemon
            .post_json("/v1/dlq/replay", &json!({ "idz": [1] }), Some(TOKEN))
            .0,
        400
    );

    // A dry run says what would happen and changes nothing.
    let (status, dry) = daemon.post_json(
        "/v1/dlq/replay",
        &json!({ "ids": [idx[0], idx[1]], "dry_run": true }),
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["pipelines"][0]["entries"], json!([idx[0], idx[1]]));
    assert!(dry["pipelines"][0]["run"].is_null());
    assert_eq!(
        daemon.get("/v1/dlq?job=contacts").1["entries"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Fix the cause (no email check any more), then replay two entries.
    let fixed = std::fs::read_to_string(env.path().join("p.toml"))
        .unwrap()
        .replace(
            r#"transform = ["trim", "email"]"#,
            r#"transform = ["trim"]"#,
        );
    env.write("p.toml", &fixed);
    let (status, done) = daemon.post_json("/v1/dlq/replay", &first_two, Some(TOKEN));
    assert_eq!(status, 200, "{done}");
    let outcome = &done["pipelines"][0];
    assert_eq!(outcome["resolved"], 2, "{done}");
    assert_eq!(outcome["still_failing"], 0);
    assert_eq!(outcome["run"]["status"], "succeeded");
    let left = daemon.get("/v1/dlq?job=contacts").1["entries"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], idx[2]);
    let (_, resolved) = daemon.get("/v1/dlq?job=contacts&status=resolved");
    assert_eq!(resolved["entries"].as_array().unwrap().len(), 2);

    // A resolved entry cannot be replayed again; nothing is.
    let (status, refused) = daemon.post_json(
        "/v1/dlq/replay",
        &json!({ "ids": [idx[0], idx[2]] }),
        Some(TOKEN),
    );
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["refused"][0]["id"], idx[0]);
    assert_eq!(refused["refused"][0]["why"], "is resolved");
    assert_eq!(
        daemon.get("/v1/dlq?job=contacts").1["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The rest, by job.
    let (status, rest) =
        daemon.post_json("/v1/dlq/replay", &json!({ "job": "contacts" }), Some(TOKEN));
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["pipelines"][0]["resolved"], 1);
    let loaded = wait_for(
        Duration::from_secs(10),
        "five records in the target",
        || {
            let mut got = ids(&env, "out/out.jsonl");
            got.sort();
            got.dedup();
            (got.len() == 5).then_some(got)
        },
    );
    assert_eq!(loaded, ["v0", "v1", "x0", "x1", "x2"]);
}
