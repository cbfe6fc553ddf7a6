//! A plugin cannot grow the run log without bound: 400 records failing
//! with 250 KB messages leave a run log of a few MiB, each message cut and
//! marked, and a payload larger than the run log keeps is stored as a
//! marker with its size, which a replay refuses.

use super::test_component;
use crate::support::TestEnv;
use sluice::runlog::{ErrorFilter, MAX_MESSAGE_BYTES, cut_payload_bytes};

const RECORDS: usize = 400;
const MESSAGE_BYTES: usize = 250_000;

#[test]
fn huge_messages_and_payloads_leave_a_bounded_run_log() {
    let env = TestEnv::new();
    let blob = "b".repeat(300 << 10);
    let records: String = (0..RECORDS)
        .map(|i| {
            let mut r = serde_json::json!({"id": format!("r{i:04}"), "name": "boom"});
            if i == 0 {
                r["blob"] = serde_json::Value::from(blob.as_str());
            }
            format!("{r}\n")
        })
        .collect();
    env.write("in/records.jsonl", &records);
    let message = "m".repeat(MESSAGE_BYTES);
    let pipeline = env.write(
        "pipeline.toml",
        &format!(
            r#"name = "bloat"
batch_size = 100

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "things"
key = "id"
source_options = {{ path = "records.jsonl" }}
target_options = {{ path = "records.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = [{{ plugin = {:?}, options = {{ trigger = "boom", error = {{ category = "validation", code = "too-wordy", message = "{message}" }} }} }}]
"#,
            test_component("sluice_test_forger.wasm").display().to_string()
        ),
    );
    let summary = env.run(&pipeline);
    assert_eq!(summary.totals.failed, RECORDS as u64, "{summary:?}");

    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), RECORDS);
    for e in &errors {
        assert!(
            e.message.len() <= MAX_MESSAGE_BYTES + 64,
            "{}",
            e.message.len()
        );
        assert!(
            e.message.ends_with(&format!(
                "… [cut {} of {MESSAGE_BYTES} bytes]",
                MESSAGE_BYTES - MAX_MESSAGE_BYTES
            )),
            "{}",
            &e.message[e.message.len() - 60..]
        );
    }
    // The record with a 300 KiB field keeps a marker with its size.
    let db = rusqlite::Connection::open(env.data_dir().join("runs.db")).unwrap();
    let payload: String = db
        .query_row(
            "SELECT payload FROM record_errors WHERE record_key = 'r0000'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let original = cut_payload_bytes(&payload).expect("a cut payload marker");
    assert!(original > 300 << 10, "{original}");
    assert!(payload.len() < 2 << 10, "{}", payload.len());

    // Replaying it is refused with the reason, not loaded as the marker.
    let entries: serde_json::Value = serde_json::from_str(&crate::support::stdout(
        &env.cli(&["dlq", "list", "--json", "--limit", "1000"]),
    ))
    .unwrap();
    let id = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["record_key"] == "r0000")
        .expect("an entry for r0000")["id"]
        .to_string();
    let replay = env.cli(&["dlq", "replay", "--id", &id]);
    assert_ne!(replay.status.code(), Some(0), "{replay:?}");
    let rows: serde_json::Value = serde_json::from_str(&crate::support::stdout(
        &env.cli(&["errors", "last", "--rows", "--json"]),
    ))
    .unwrap();
    assert!(
        rows[0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the run log keeps"),
        "{rows:#}"
    );

    // Everything under the data directory stays small.
    let mut bytes = 0;
    for entry in std::fs::read_dir(env.data_dir()).unwrap() {
        bytes += entry.unwrap().metadata().unwrap().len();
    }
    assert!(
        bytes < 16 << 20,
        "the run log takes {bytes} bytes for {RECORDS} errors"
    );
}
