//! A run whose process is killed is found dead and marked `interrupted`
//! with the counts its log holds; `runs`, `runs show` and `stats` agree on
//! them; `rerun` accepts it; the next run says so. A live run is left alone.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::one_run_at_a_time::{slow_input, slow_pipeline, slow_pipeline_with, wait_running};
use super::watch;
use crate::support::{TestEnv, stderr, stdout};

fn json(env: &TestEnv, args: &[&str]) -> Value {
    let out = env.cli(args);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "sluice {args:?}: {}",
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Kill `sluice run` once its log holds failed records and committed ones
/// (with `progress`), or once it is recorded.
fn killed_run(env: &TestEnv, progress: bool) -> i64 {
    for _ in 0..10 {
        let mut child = env
            .command(&["run", "pipeline.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let run = loop {
            if child.try_wait().unwrap().is_some() {
                break None;
            }
            let counts = watch(env).and_then(|c| {
                c.query_row(
                    "SELECT r.id, r.loaded, (SELECT count(*) FROM record_errors e WHERE e.run_id = r.id)
                     FROM runs r WHERE r.status = 'running' ORDER BY r.id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
                )
                .ok()
            });
            if let Some((id, loaded, errors)) = counts
                && (!progress || (loaded > 0 && errors > 0))
            {
                child.kill().unwrap();
                child.wait().unwrap();
                break Some(id);
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(1));
        };
        if let Some(id) = run {
            return id;
        }
    }
    panic!("no run could be killed with records loaded and failed");
}

#[test]
fn a_killed_run_is_marked_interrupted_and_can_be_rerun() {
    let env = TestEnv::new();
    env.write("in/slow.jsonl", &slow_input());
    // Incremental: the target commits at every batch's checkpoint.
    env.write(
        "pipeline.toml",
        &slow_pipeline_with("crashy", "contacts.jsonl", true),
    );
    let id = killed_run(&env, true);

    // `sluice runs` finds it dead and says so.
    let out = env.cli(&["runs"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Run {id} of `crashy` (run, started "))
            && text.contains("was interrupted"),
        "{text}"
    );
    let runs = json(&env, &["runs", "--json"]);
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(run["status"], "interrupted", "{run}");
    let n = |v: &Value, f: &str| v[f].as_i64().unwrap();
    assert!(n(&run, "loaded") > 0 && n(&run, "failed") > 0, "{run}");
    assert_eq!(
        n(&run, "extracted"),
        n(&run, "loaded") + n(&run, "failed") + n(&run, "skipped")
    );
    assert!(
        run["status_reason"]
            .as_str()
            .unwrap()
            .contains("ended before the run finished"),
        "{run}"
    );
    assert!(run["pid"].as_i64().unwrap() > 0);

    // `runs show` counts as many failed records as its error groups hold.
    let shown = json(&env, &["runs", "show", &id.to_string(), "--json"]);
    let grouped: i64 = shown["error_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_i64().unwrap())
        .sum();
    assert_eq!(grouped, n(&shown["run"], "failed"), "{shown}");

    // `stats` counts its records with its errors.
    let stats = json(&env, &["stats", "--json"]);
    assert_eq!(
        stats["runs_by_status"],
        serde_json::json!([{"status": "interrupted", "runs": 1}])
    );
    assert_eq!(stats["pipelines"][0]["failed"], run["failed"]);
    assert_eq!(stats["pipelines"][0]["extracted"], run["extracted"]);

    // The loaded records of the dead run are the ones the target committed.
    let lines = super::lines_written(&env) as i64;
    assert!(lines >= n(&run, "loaded"), "{lines} lines, {run}");

    // `rerun` accepts it.
    let rerun = json(&env, &["rerun", &id.to_string(), "--json"]);
    let new_id = rerun["run_id"].as_i64().unwrap();
    let log = env.run_log();
    assert_eq!(log.run_kind(new_id).unwrap(), "rerun");

    // The next run notices a dead run of its pipeline itself and says so.
    let dead = killed_run(&env, false);
    let out = env.cli(&["run", "pipeline.toml"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Run {dead} of `crashy`")) && text.contains("was interrupted"),
        "{text}"
    );
    assert_eq!(env.run_log().run(dead).unwrap().status, "interrupted");
}

#[test]
fn a_live_run_is_not_taken_for_a_dead_one() {
    let env = TestEnv::new();
    env.write("in/slow.jsonl", &slow_input());
    env.write("pipeline.toml", &slow_pipeline("slow", "slow.jsonl"));
    let mut child = env
        .command(&["run", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = wait_running(&env);
    let runs = json(&env, &["runs", "--json"]);
    assert_eq!(runs[0]["id"], id);
    assert_eq!(runs[0]["status"], "running");
    json(&env, &["stats", "--json"]);
    assert_eq!(child.wait().unwrap().code(), Some(3));
    assert_eq!(env.run_log().run(id).unwrap().status, "partial");
}
