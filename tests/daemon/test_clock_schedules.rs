//! Schedules under the test clock (`SLUICE_TEST_CLOCK_FILE`, honoured only
//! in test builds): a cron job fires when the clock passes its time, an
//! interval job whose fire starts long after its time sends `job.late`,
//! and fires missed while the daemon was down with `catchup = "none"`
//! send `job.missed`.

use std::time::Duration;

use super::webhook_run_events::{SECRET, hits};
use super::{Daemon, contacts, pipeline};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn cron_fires_late_and_missed_fires_follow_the_test_clock() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(Vec::new());
    env.write("in/contacts.jsonl", &contacts(3));
    env.write(
        "p.toml",
        &pipeline("nightly", "contacts.jsonl", "n.jsonl", None, false),
    );
    env.write(
        "q.toml",
        &pipeline("hourly", "contacts.jsonl", "h.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        &format!(
            r#"[[job]]
name = "nightly"
pipeline = "p.toml"
schedule = "0 3 * * *"
catchup = "none"

[[job]]
name = "hourly"
pipeline = "q.toml"
every = "1h"
alerts = {{ late_after = "1m" }}

[[webhook]]
name = "ops"
url = "{}"
secret_env = "HOOK_SECRET"
events = ["job.late", "job.missed"]
backoff = "200ms"
"#,
            receiver.url()
        ),
    );
    let clock = env.path().join("clock");
    let set = |t: &str| std::fs::write(&clock, t).unwrap();
    set("2030-01-01T02:59:00Z");
    let vars = [
        ("HOOK_SECRET", SECRET),
        ("SLUICE_TEST_CLOCK_FILE", clock.to_str().unwrap()),
    ];
    let mut daemon = Daemon::start_with(&env, &vars);
    let (_, jobs) = daemon.get("/v1/jobs/nightly");
    assert_eq!(
        jobs["job"]["next_fire_at"], "2030-01-01T03:00:00Z",
        "{jobs}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(daemon.runs("nightly").is_empty());

    // 03:00:01: the cron job fires, one second after its time (not late).
    set("2030-01-01T03:00:01Z");
    let runs = daemon.wait_runs("nightly", 1, Duration::from_secs(180));
    assert_eq!(runs[0]["reason"], "schedule");
    assert_eq!(runs[0]["scheduled_for"], "2030-01-01T03:00:00Z");
    assert!(daemon.runs("hourly").is_empty(), "hourly is due at 03:59");

    // 05:30: the interval job's 03:59 fire starts 91 minutes late.
    set("2030-01-01T05:30:00Z");
    let runs = daemon.wait_runs("hourly", 1, Duration::from_secs(180));
    assert_eq!(runs[0]["scheduled_for"], "2030-01-01T03:59:00Z");
    let late = hits(&receiver, "job.late", 1);
    assert_eq!(late.len(), 1, "only the hourly fire was late");
    assert!(late[0].signed_with(SECRET));
    let body = late[0].json();
    assert_eq!(body["job"], "hourly");
    assert_eq!(body["scheduled_for"], "2030-01-01T03:59:00Z");
    assert_eq!(body["started_at"], "2030-01-01T05:30:00Z");
    assert_eq!(body["late_by_s"], 91.0 * 60.0);
    assert_eq!(body["late_after_s"], 60.0);

    // Down over two nights; `catchup = "none"` runs nothing but says so.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)), Some(0));
    set("2030-01-03T04:00:00Z");
    let daemon = Daemon::start_with(&env, &vars);
    let missed = hits(&receiver, "job.missed", 1);
    let body = missed[0].json();
    assert_eq!(body["job"], "nightly");
    assert_eq!(body["scheduled_for"], "2030-01-03T03:00:00Z");
    assert!(
        body["why"].as_str().unwrap().contains("2 fire(s) missed"),
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(daemon.runs("nightly").len(), 1, "nothing caught up");
    let (_, job) = daemon.get("/v1/jobs/nightly");
    assert_eq!(job["job"]["next_fire_at"], "2030-01-04T03:00:00Z", "{job}");
}
