//! SIGTERM while a run is in progress: the run stops reading, loads what it
//! read, commits its cursor and the daemon exits; the next run reads the
//! rest. No record is lost or written twice.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Daemon, ids, start_slow_job, wait_for};
use crate::support::TestEnv;

const RECORDS: usize = 600;

#[test]
fn sigterm_mid_run_finishes_what_was_read_and_loses_nothing() {
    let env = TestEnv::new();
    // 60 batches of 10 at 50 ms each: about 3 s.
    let mut daemon = start_slow_job(&env, RECORDS, 50, true, "", 50);
    // A second fire while it runs is skipped (overlap = "skip").
    let (status, body) = daemon.post("/v1/jobs/slow/trigger");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("overlap = \"skip\""),
        "{body}"
    );
    daemon.signal("TERM");
    // Not ready any more while it drains.
    wait_for(Duration::from_secs(30), "readiness to turn 503", || {
        let r = reqwest::blocking::get(format!("{}/v1/ready", daemon.base)).ok()?;
        (r.status().as_u16() == 503).then_some(())
    });
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));

    let log = env.run_log();
    let run = log.runs(Some("slow"), 1).unwrap().remove(0);
    assert_eq!(run.status, "interrupted", "{run:?}");
    let reason = run.status_reason.clone().unwrap();
    assert!(
        reason.contains("stopped before the source was read to the end"),
        "{reason}"
    );
    assert!(reason.contains("SIGTERM"), "{reason}");
    assert!(
        run.extracted > 0 && (run.extracted as usize) < RECORDS,
        "{run:?}"
    );
    assert_eq!(
        run.extracted,
        run.loaded + run.failed + run.skipped,
        "{run:?}"
    );
    assert_eq!(run.failed, 0);
    // Everything read is in the target, once, and the cursor is past it.
    let first = ids(&env, "out/out.jsonl");
    assert_eq!(first.len() as i64, run.loaded);
    let cursor = log.cursors("slow", None).unwrap();
    assert_eq!(cursor.len(), 1);
    assert_eq!(cursor[0].records, run.loaded, "{cursor:?}");
    assert_eq!(
        log.job_runs(&project_key(&env), Some("slow"), 10)
            .unwrap()
            .len(),
        1
    );

    // Started again, the job reads the rest from the committed cursor.
    let daemon = Daemon::start(&env);
    assert_eq!(daemon.post("/v1/jobs/slow/trigger").0, 202);
    let runs = daemon.wait_runs("slow", 2, Duration::from_secs(120));
    assert_eq!(runs[0]["run"]["status"], "succeeded", "{}", runs[0]);
    let all = ids(&env, "out/out.jsonl");
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), RECORDS, "records written twice or lost");
    assert_eq!(unique.len(), RECORDS);
}

fn project_key(env: &TestEnv) -> String {
    std::path::absolute(env.path().join("./sluice.toml"))
        .unwrap()
        .display()
        .to_string()
}
