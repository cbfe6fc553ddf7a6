//! Crash safety: `sluice run` killed with SIGKILL at random points of an
//! incremental run, then run again until it finishes. No record is lost or
//! loaded twice, and the cursor, the DLQ and the target agree.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sluice::runlog::DlqFilter;

use crate::support::{TestEnv, jsonl};

const RECORDS: usize = 5_000;

const PIPELINE: &str = r#"name = "crashy"
batch_size = 20

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append", key_field = "id" }

[[entity]]
name = "contacts"
key = "id"
incremental = true
source_options = { path = "contacts.jsonl" }
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "email"
transform = ["trim", "email"]
"#;

fn invalid(i: usize) -> bool {
    i % 100 == 42
}

fn contacts() -> String {
    (0..RECORDS)
        .map(|i| {
            let email = if invalid(i) {
                format!("person{i}.example.com")
            } else {
                format!("person{i}@example.com")
            };
            format!(
                "{}\n",
                serde_json::json!({"id": format!("k{i:04}"), "email": email})
            )
        })
        .collect()
}

/// When to kill a run.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Never: let it finish.
    Never,
    /// After this long.
    After(Duration),
    /// Once the target file has at least this many lines.
    AtLines(usize),
}

fn lines_written(env: &TestEnv) -> usize {
    std::fs::read(env.path().join("out/contacts.jsonl"))
        .map(|t| t.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

/// Start `sluice run` and kill it (SIGKILL) as `kill` says, unless it ends
/// first. True if it ran to the end.
fn run_or_kill(env: &TestEnv, kill: Kill) -> bool {
    let mut child = env
        .command(&["run", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                matches!(status.code(), Some(0 | 3)),
                "sluice run ended with {status}"
            );
            return true;
        }
        let due = match kill {
            Kill::Never => false,
            Kill::After(after) => started.elapsed() >= after,
            Kill::AtLines(n) => lines_written(env) >= n,
        };
        if due {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn killed_runs_lose_nothing_and_load_nothing_twice() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    env.write("pipeline.toml", PIPELINE);
    let mut rng = fastrand::Rng::with_seed(7);
    // Kills at random moments of start-up and reading...
    for _ in 0..2 {
        run_or_kill(&env, Kill::After(Duration::from_millis(rng.u64(5..60))));
    }
    // ...and at random points while records are being written.
    let valid = RECORDS - RECORDS / 100;
    let mut mid_run_kills = 0;
    for _ in 0..6 {
        let written = lines_written(&env);
        if written + 40 >= valid {
            break;
        }
        let at = written + rng.usize(1..=(valid - written) * 3 / 4);
        if !run_or_kill(&env, Kill::AtLines(at)) {
            mid_run_kills += 1;
        }
    }
    assert!(
        run_or_kill(&env, Kill::Never),
        "a run without a kill finishes"
    );
    assert!(
        mid_run_kills >= 3,
        "only {mid_run_kills} runs were killed part-way"
    );

    // The target has every valid record exactly once, and no invalid one.
    let out = jsonl(&env.read("out/contacts.jsonl"));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &out {
        *seen
            .entry(r["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "loaded twice: {twice:?}");
    for i in 0..RECORDS {
        let key = format!("k{i:04}");
        assert_eq!(seen.contains_key(&key), !invalid(i), "record {key}");
    }

    // The DLQ holds exactly the invalid records, each once.
    let log = env.run_log();
    let open = log.dlq_entries(&DlqFilter::default()).unwrap();
    let mut dead: Vec<String> = open.iter().map(|e| e.record_key.clone()).collect();
    dead.sort();
    let expected: Vec<String> = (0..RECORDS)
        .filter(|i| invalid(*i))
        .map(|i| format!("k{i:04}"))
        .collect();
    assert_eq!(dead, expected);

    // The cursor is at the end: another run reads nothing.
    let cursors = log.cursors("crashy", None).unwrap();
    assert_eq!(cursors.len(), 1);
    assert_eq!(cursors[0].records, RECORDS as i64, "{cursors:?}");
    let summary = env.run(&env.path().join("pipeline.toml"));
    assert_eq!(summary.totals.extracted, 0);
}
