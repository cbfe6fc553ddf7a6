//! A scheduled fire queued behind a long run (`overlap = "queue"`) is
//! reported `job.late` while it still waits, once: not again when it
//! finally starts.

use std::time::Duration;

use super::webhook_run_events::{SECRET, hits};
use super::{Daemon, contacts, pipeline, wait_for};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn a_fire_waiting_past_late_after_is_reported_once() {
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
            "[[job]]\nname = \"slow\"\npipeline = \"p.toml\"\nevery = \"1m\"\noverlap = \"queue\"\nalerts = {{ late_after = \"2m\" }}\n\n[[webhook]]\nname = \"ops\"\nurl = \"{}\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"job.late\"]\n",
            receiver.url()
        ),
    );
    let clock = env.path().join("clock");
    let set = |t: &str| std::fs::write(&clock, t).unwrap();
    set("2030-01-01T00:00:00Z");
    let daemon = Daemon::start_with(
        &env,
        &[
            ("HOOK_SECRET", SECRET),
            ("SLUICE_TEST_CLOCK_FILE", clock.to_str().unwrap()),
        ],
    );
    assert_eq!(daemon.post("/v1/jobs/slow/trigger").0, 202);
    let waiting = || daemon.get("/v1/jobs/slow").1["job"]["waiting"].as_u64();
    // 00:01: the fire queues behind the manual run.
    set("2030-01-01T00:01:00Z");
    wait_for(Duration::from_secs(30), "a waiting fire", || {
        (waiting() == Some(1)).then_some(())
    });
    // 00:04: it has waited 3 minutes, past late_after (2 minutes).
    set("2030-01-01T00:04:00Z");
    let late = hits(&receiver, "job.late", 1);
    let body = late[0].json();
    assert_eq!(body["job"], "slow");
    assert_eq!(body["waiting"], true, "{body}");
    assert!(body["started_at"].is_null());
    assert_eq!(body["scheduled_for"], "2030-01-01T00:01:00Z");
    assert_eq!(body["late_by_s"], 180.0);
    assert!(late[0].signed_with(SECRET));
    // The queued fire runs once the manual run ends, and is not reported again.
    let runs = daemon.wait_runs("slow", 2, Duration::from_secs(120));
    assert_eq!(runs[0]["scheduled_for"], "2030-01-01T00:01:00Z", "{runs:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.hits_for("job.late").len(), 1);
}
