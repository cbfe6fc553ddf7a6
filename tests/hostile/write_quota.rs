//! A target cannot write without bound: past its `write_quota_mb` for the
//! run, its calls fail with `write-quota-exceeded` and it is not called
//! again, so its directory stays near the quota.

use super::test_component;
use crate::support::TestEnv;
use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

#[test]
fn a_target_past_its_write_quota_is_stopped() {
    let env = TestEnv::new();
    let records: String = (0..40)
        .map(|i| format!("{{\"id\": \"r{i:02}\"}}\n"))
        .collect();
    env.write("in/records.jsonl", &records);
    std::fs::copy(
        test_component("sluice_test_rogue_target.wasm"),
        env.path().join("rogue.wasm"),
    )
    .unwrap();
    let pipeline = env.write(
        "pipeline.toml",
        r#"name = "bomb"
batch_size = 2

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "rogue.wasm"
dir = "out"
write_quota_mb = 1
options = { write_bytes = 262144 }

[[entity]]
name = "things"
key = "id"
source_options = { path = "records.jsonl" }

[[entity.field]]
target = "id"
"#,
    );
    let summary = env.run(&pipeline);
    assert_ne!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let written = std::fs::metadata(env.path().join("out/blob.bin"))
        .unwrap()
        .len();
    // Twenty calls would write 5 MiB; the quota stops it after about 1 MiB.
    assert!(written <= (1 << 20) + 262_144, "{written} bytes written");
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert!(
        errors.iter().any(|e| e.code == "write-quota-exceeded"
            && e.message.contains("write quota of 1 MiB")),
        "{errors:#?}"
    );
    assert!(
        summary.totals.loaded >= 6 && summary.totals.loaded <= 10,
        "{summary:?}"
    );
}
