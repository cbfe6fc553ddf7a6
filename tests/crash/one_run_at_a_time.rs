//! One run per pipeline and per target at a time: a second `sluice run`, a
//! run of another pipeline writing the same target, or a replay started
//! while a run is in progress is refused (exit code 4) with a message
//! naming the running one; with `--wait` it queues behind it instead.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{target_keys, watch};
use crate::support::{TestEnv, stderr, stdout, test_plugin};

const SLOW_RECORDS: usize = 400;

/// Contacts for [`slow_pipeline`]; every tenth email is broken.
pub fn slow_input() -> String {
    (0..SLOW_RECORDS)
        .map(|i| {
            let email = if i % 10 == 3 {
                format!("s{i}.example.com")
            } else {
                format!("s{i}@example.com")
            };
            format!(
                "{}\n",
                serde_json::json!({"id": format!("s{i:04}"), "email": email})
            )
        })
        .collect()
}

/// A pipeline named `name` reading `in/slow.jsonl` and writing
/// `out/<target>`, that takes 60 ms per batch of 10 (about 2.4 s).
pub fn slow_pipeline(name: &str, target: &str) -> String {
    slow_pipeline_with(name, target, false)
}

/// [`slow_pipeline`], optionally incremental (committing every batch).
pub fn slow_pipeline_with(name: &str, target: &str, incremental: bool) -> String {
    format!(
        r#"name = "{name}"
batch_size = 10

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = {{ mode = "append", key_field = "id" }}

[[entity]]
name = "contacts"
key = "id"
incremental = {incremental}
source_options = {{ path = "slow.jsonl" }}
target_options = {{ path = "{target}" }}

[[entity.field]]
target = "id"
transform = [{{ plugin = {plugin:?}, options = {{ behaviour = "slow", slow_ms = 60 }} }}]

[[entity.field]]
target = "email"
transform = ["trim", "email"]
"#,
        plugin = test_plugin().display().to_string()
    )
}

/// Wait until a run is recorded as running; its id.
pub fn wait_running(env: &TestEnv) -> i64 {
    let started = Instant::now();
    loop {
        let running = watch(env).and_then(|c| {
            c.query_row(
                "SELECT id FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
        });
        if let Some(id) = running {
            return id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no run started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_run_of_a_pipeline_or_its_target_is_refused_or_waits() {
    let env = TestEnv::new();
    env.write("in/slow.jsonl", &slow_input());
    env.write("pipeline.toml", &slow_pipeline("slow", "contacts.jsonl"));
    env.write("other.toml", &slow_pipeline("other", "contacts.jsonl"));
    // A first run leaves the broken records in the DLQ, for a replay.
    assert_eq!(env.cli(&["run", "pipeline.toml"]).status.code(), Some(3));

    let mut first = env
        .command(&["run", "pipeline.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = wait_running(&env);
    let pid = first.id();
    let holder = format!("run {id} of pipeline `slow` (run, process {pid}, since ");

    // Refused at once (after a short grace), side by side.
    let [second, same_target, replay] = [
        &["run", "pipeline.toml"][..],
        &["run", "other.toml"],
        &["dlq", "replay", "--pipeline", "slow"],
    ]
    .map(|args| {
        env.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    })
    .map(|child| child.wait_with_output().unwrap());
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended too soon"
    );

    let text = stderr(&second);
    assert_eq!(second.status.code(), Some(4), "{text}");
    assert!(
        text.contains(&format!("pipeline `slow` is in use by {holder}")) && text.contains("--wait"),
        "{text}"
    );

    let text = stderr(&same_target);
    assert_eq!(same_target.status.code(), Some(4), "{text}");
    assert!(
        text.contains("the target of entity `contacts` (jsonl-file in ") && text.contains(&holder),
        "{text}"
    );

    let text = stderr(&replay);
    assert_eq!(replay.status.code(), Some(4), "{text}");
    assert!(text.contains(&holder), "{text}");

    // `--wait` queues behind the running one.
    let queued = env
        .command(&["run", "pipeline.toml", "--wait", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first.wait().unwrap().code(), Some(3));
    let queued = queued.wait_with_output().unwrap();
    assert_eq!(queued.status.code(), Some(3), "{}", stderr(&queued));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&queued)).unwrap();
    let log = env.run_log();
    let (a, b) = (
        log.run(id).unwrap(),
        log.run(summary["run_id"].as_i64().unwrap()).unwrap(),
    );
    assert!(
        b.started_at >= a.finished_at.clone().unwrap(),
        "the queued run started at {} before the first ended at {:?}",
        b.started_at,
        a.finished_at
    );
    // Only the refused commands were left out: three runs recorded.
    assert_eq!(log.runs(None, 10).unwrap().len(), 3);
    let twice: Vec<_> = target_keys(&env)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "{twice:?}");
}
