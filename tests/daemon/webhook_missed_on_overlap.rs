//! A scheduled fire that finds its job still running under `overlap =
//! "skip"` is dropped and reported as `job.missed` (the test clock moves
//! the schedule while a slow run is in progress).

use std::time::Duration;

use super::webhook_run_events::{SECRET, hits};
use super::{Daemon, contacts, pipeline, wait_for};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn a_fire_skipped_while_the_job_runs_is_reported_missed() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(Vec::new());
    env.write("in/contacts.jsonl", &contacts(100));
    env.write(
        "p.toml",
        &pipeline("slow", "contacts.jsonl", "out.jsonl", Some(300), false),
    );
    env.write(
        "sluice.toml",
        &format!(
            "[[job]]\nname = \"slow\"\npipeline = \"p.toml\"\nevery = \"1m\"\n\n[[webhook]]\nname = \"ops\"\nurl = \"{}\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"job.missed\"]\n",
            receiver.url()
        ),
    );
    let clock = env.path().join("clock");
    std::fs::write(&clock, "2030-01-01T00:00:00Z").unwrap();
    let daemon = Daemon::start_with(
        &env,
        &[
            ("HOOK_SECRET", SECRET),
            ("SLUICE_TEST_CLOCK_FILE", clock.to_str().unwrap()),
        ],
    );
    assert_eq!(daemon.post("/v1/jobs/slow/trigger").0, 202);
    wait_for(Duration::from_secs(180), "the run in progress", || {
        let (_, runs) = daemon.get("/v1/runs?job=slow");
        (runs["active"].as_array().unwrap().len() == 1).then_some(())
    });
    // The 00:01 fire comes while the manual run goes on.
    std::fs::write(&clock, "2030-01-01T00:01:00Z").unwrap();
    let missed = hits(&receiver, "job.missed", 1);
    assert!(missed[0].signed_with(SECRET));
    let body = missed[0].json();
    assert_eq!(body["job"], "slow");
    assert_eq!(body["scheduled_for"], "2030-01-01T00:01:00Z");
    assert!(
        body["why"].as_str().unwrap().contains("in progress"),
        "{body}"
    );
    // Still only the manual run.
    let (_, runs) = daemon.get("/v1/runs?job=slow");
    assert_eq!(runs["active"][0]["reason"], "manual", "{runs}");
}
