//! A second SIGTERM stops the run at the next batch boundary: the records
//! not processed yet are held back in the dead-letter queue, so every
//! record is in the target once or open in the queue.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice::runlog::DlqFilter;

use super::{ids, start_slow_job};
use crate::support::TestEnv;

const RECORDS: usize = 600;

#[test]
fn a_second_signal_holds_back_what_is_in_flight_and_loses_nothing() {
    let env = TestEnv::new();
    let mut daemon = start_slow_job(&env, RECORDS, 80, false, "", 20);
    daemon.signal("TERM");
    std::thread::sleep(Duration::from_millis(100));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));

    let log = env.run_log();
    let run = log.runs(Some("slow"), 1).unwrap().remove(0);
    assert_eq!(run.status, "interrupted", "{run:?}");
    let reason = run.status_reason.clone().unwrap();
    assert!(reason.contains("stopped at a batch boundary"), "{reason}");
    assert_eq!(
        run.extracted,
        run.loaded + run.failed + run.skipped,
        "{run:?}"
    );
    let loaded = ids(&env, "out/out.jsonl");
    assert_eq!(loaded.len() as i64, run.loaded);
    let held: Vec<String> = log
        .dlq_entries(&DlqFilter {
            pipeline: Some("slow".into()),
            ..DlqFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.code, "run-stopped");
            e.record_key
        })
        .collect();
    assert_eq!(
        held.len() as i64,
        run.failed,
        "every held-back record is in the queue"
    );
    // Nothing in both, and the run's records are all accounted for.
    let target: BTreeSet<&String> = loaded.iter().collect();
    assert_eq!(target.len(), loaded.len(), "a record was written twice");
    assert!(held.iter().all(|k| !target.contains(k)));
    assert_eq!((loaded.len() + held.len()) as i64, run.extracted);
}
