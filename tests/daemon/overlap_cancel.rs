//! `overlap = "cancel"`: a fire while a run is in progress stops that run
//! at its next batch boundary and then runs; the records the stopped run
//! held back are loaded by the new one, nothing twice.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice::runlog::DlqFilter;

use super::{ids, start_slow_job};
use crate::support::TestEnv;

const RECORDS: usize = 400;

#[test]
fn a_newer_fire_cancels_the_running_run_and_loses_nothing() {
    let env = TestEnv::new();
    let mut daemon = start_slow_job(&env, RECORDS, 40, false, "overlap = \"cancel\"\n", 20);
    let (status, body) = daemon.post("/v1/jobs/slow/trigger");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["cancelling"], 1, "{body}");
    assert_eq!(body["queued"], true, "{body}");

    let runs = daemon.wait_runs("slow", 2, Duration::from_secs(120));
    let (newer, cancelled) = (&runs[0]["run"], &runs[1]["run"]);
    assert_eq!(cancelled["status"], "interrupted", "{cancelled}");
    let reason = cancelled["status_reason"].as_str().unwrap();
    assert!(reason.contains("cancelled by a newer fire"), "{reason}");
    assert_eq!(newer["status"], "succeeded", "{newer}");
    // The target holds every record once; the held-back ones were loaded
    // by the newer run, which resolved their dead-letter entries.
    let out = ids(&env, "out/out.jsonl");
    let unique: BTreeSet<&String> = out.iter().collect();
    assert_eq!(unique.len(), RECORDS);
    assert_eq!(out.len(), RECORDS, "a record was written twice");
    let open = env
        .run_log()
        .dlq_entries(&DlqFilter {
            pipeline: Some("slow".into()),
            ..DlqFilter::default()
        })
        .unwrap();
    assert!(open.is_empty(), "{open:?}");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
}
