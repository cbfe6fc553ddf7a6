//! The error model end to end: strategies, retries, the circuit breaker and
//! what the run log keeps of them, against the fault-injecting test target.

mod auth_pause;
mod demo;
mod fault_injection;
mod retries;

use std::path::Path;

use crate::support::{TestEnv, fault_target};

/// A pipeline reading `in/records.jsonl` (fields `id`, `fault`, `email`)
/// into the fault target, which appends created keys to `out/loaded.txt`.
/// `errors` is the body of the `[errors]` table; `target_options` extra
/// target options.
pub fn pipeline(errors: &str, target_options: &str, batch_size: u32) -> String {
    format!(
        r#"name = "faults"
batch_size = {batch_size}

[errors]
{errors}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "{target}"
dir = "out"
options = {{ path = "loaded.txt"{target_options} }}

[[entity]]
name = "contacts"
key = "id"
source_options = {{ path = "records.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "fault"
"#,
        target = fault_target().display()
    )
}

/// Write `faults` (one per record, keys `r0`, `r1`...) and the pipeline.
pub fn setup(env: &TestEnv, faults: &[String], pipeline_text: &str) -> std::path::PathBuf {
    let mut records = String::new();
    for (i, fault) in faults.iter().enumerate() {
        records.push_str(&serde_json::json!({"id": format!("r{i}"), "fault": fault}).to_string());
        records.push('\n');
    }
    env.write("in/records.jsonl", &records);
    std::fs::create_dir_all(env.path().join("out")).unwrap();
    env.write("pipeline.toml", pipeline_text)
}

/// Keys the target created, in order.
pub fn loaded_keys(env: &TestEnv) -> Vec<String> {
    let path = env.path().join("out/loaded.txt");
    if !Path::new(&path).exists() {
        return Vec::new();
    }
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// One row of `record_errors`.
#[derive(Debug, Clone)]
pub struct ErrorRow {
    pub key: Option<String>,
    pub category: String,
    pub code: String,
    pub attempts: u32,
    pub disposition: String,
    pub message: String,
}

pub fn error_rows(env: &TestEnv, run_id: i64) -> Vec<ErrorRow> {
    let conn = rusqlite_conn(env);
    let mut stmt = conn
        .prepare(
            "SELECT record_key, category, code, attempts, disposition, message FROM record_errors
             WHERE run_id = ?1 ORDER BY id",
        )
        .unwrap();
    stmt.query_map([run_id], |r| {
        Ok(ErrorRow {
            key: r.get(0)?,
            category: r.get(1)?,
            code: r.get(2)?,
            attempts: r.get(3)?,
            disposition: r.get(4)?,
            message: r.get(5)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// One row of `record_retries`.
#[derive(Debug, Clone)]
pub struct RetryRow {
    pub key: Option<String>,
    pub code: String,
    pub failures: u32,
    pub attempts: u32,
    pub outcome: String,
    pub waited_ms: i64,
}

pub fn retry_rows(env: &TestEnv, run_id: i64) -> Vec<RetryRow> {
    let conn = rusqlite_conn(env);
    let mut stmt = conn
        .prepare(
            "SELECT record_key, code, failures, attempts, outcome, waited_ms FROM record_retries
             WHERE run_id = ?1 ORDER BY id",
        )
        .unwrap();
    stmt.query_map([run_id], |r| {
        Ok(RetryRow {
            key: r.get(0)?,
            code: r.get(1)?,
            failures: r.get(2)?,
            attempts: r.get(3)?,
            outcome: r.get(4)?,
            waited_ms: r.get(5)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn rusqlite_conn(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.data_dir().join("runs.db")).unwrap()
}
