//! The plugin routes of the daemon's API: names and versions open to
//! read, promote and rollback behind the token, and a promotion over the
//! API switching a job's run in progress at a batch boundary.

use std::time::Duration;

use serde_json::{Value, json};

use super::{builtin_file, install, pipeline};
use crate::daemon::{Daemon, TOKEN, wait_for};
use crate::support::{TestEnv, jsonl};

fn post(daemon: &Daemon, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{}{path}", daemon.base))
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    (
        r.status().as_u16(),
        serde_json::from_str(&r.text().unwrap()).unwrap(),
    )
}

#[test]
fn plugins_are_listed_promoted_and_rolled_back_over_the_api() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    pipeline(&env, "casing", 1_000, 10, 5);
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"swap\"\npipeline = \"pipeline.toml\"\n",
    );
    let daemon = Daemon::start(&env);

    let (status, body) = daemon.get("/v1/plugins");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plugins"][0]["name"], "casing");
    assert_eq!(body["plugins"][0]["current"], upper.as_str());
    let (status, body) = daemon.get("/v1/plugins/casing/versions");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["versions"].as_array().unwrap().len(), 2);
    let (status, body) = daemon.get("/v1/plugins/casng/versions");
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `casing`")
    );

    // Changes need the token; bad requests say what is wrong.
    let promote_lower = json!({ "digest": &lower[..19] }).to_string();
    assert_eq!(
        post(&daemon, "/v1/plugins/casing/promote", None, &promote_lower).0,
        401
    );
    assert_eq!(
        post(&daemon, "/v1/plugins/casing/rollback", Some("wrong"), "").0,
        401
    );
    assert_eq!(
        post(&daemon, "/v1/plugins/casing/promote", Some(TOKEN), "{").0,
        400
    );
    let (status, _) = post(
        &daemon,
        "/v1/plugins/casing/promote",
        Some(TOKEN),
        &json!({ "digest": "sha256:000000000000" }).to_string(),
    );
    assert_eq!(status, 404);

    // A run in progress switches when the API promotes.
    assert_eq!(daemon.post("/v1/jobs/swap/trigger").0, 202);
    wait_for(
        Duration::from_secs(60),
        "the run to load 100 records",
        || {
            let (_, job) = daemon.get("/v1/jobs/swap");
            let loaded = job["active"][0]["progress"]["loaded"].as_u64().unwrap_or(0);
            (loaded >= 100).then_some(())
        },
    );
    let (status, body) = post(
        &daemon,
        "/v1/plugins/casing/promote",
        Some(TOKEN),
        &promote_lower,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["digest"], lower.as_str());
    assert_eq!(body["previous"], upper.as_str());
    let runs = daemon.wait_runs("swap", 1, Duration::from_secs(120));
    assert_eq!(runs[0]["run"]["status"], "succeeded", "{}", runs[0]);
    let run_id = runs[0]["run"]["id"].as_i64().unwrap();
    let steps = env.run_log().step_versions(run_id).unwrap();
    let digests: Vec<&str> = steps.iter().map(|s| s.digest.as_str()).collect();
    assert_eq!(digests, [upper.as_str(), lower.as_str()], "{steps:?}");
    let out = jsonl(&env.read("out/people.jsonl"));
    assert_eq!(out.len(), 1_000);
    let upper_rows = out
        .iter()
        .filter(|r| r["name"].as_str().unwrap().starts_with("MIXED"))
        .count() as u64;
    assert_eq!(upper_rows, steps[0].records);

    // Rollback over the API, then nothing further back.
    let (status, body) = post(
        &daemon,
        "/v1/plugins/casing/rollback",
        Some(TOKEN),
        &json!({ "reason": "checking" }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["digest"], upper.as_str());
    let (status, body) = post(&daemon, "/v1/plugins/casing/rollback", Some(TOKEN), "");
    assert_eq!(status, 409, "{body}");
    let (_, body) = daemon.get("/v1/plugins/casing/versions");
    let actors: Vec<&str> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["actor"].as_str().unwrap())
        .collect();
    assert_eq!(&actors[1..], ["api", "api"]);
}
