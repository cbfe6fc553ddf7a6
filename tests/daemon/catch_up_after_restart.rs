//! A daemon restarted after missing fires catches up as `catchup` says,
//! from the schedule state it stored in the run log.

use std::time::Duration;

use super::{Daemon, contacts, pipeline};
use crate::support::TestEnv;

#[test]
fn a_restarted_daemon_runs_the_fire_it_missed_once() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(2));
    env.write(
        "p.toml",
        &pipeline("p", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"often\"\npipeline = \"p.toml\"\nevery = \"2s\"\ncatchup = \"latest\"\n\n[[job]]\nname = \"never\"\npipeline = \"p.toml\"\nevery = \"2s\"\ncatchup = \"none\"\n",
    );
    let mut daemon = Daemon::start(&env);
    daemon.wait_runs("often", 1, Duration::from_secs(120));
    daemon.wait_runs("never", 1, Duration::from_secs(120));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
    let before_often = env
        .run_log()
        .job_runs(&key(&env), Some("often"), 100)
        .unwrap()
        .len();
    let before_never = env
        .run_log()
        .job_runs(&key(&env), Some("never"), 100)
        .unwrap()
        .len();
    // Down for several intervals.
    std::thread::sleep(Duration::from_secs(5));
    let daemon = Daemon::start(&env);
    let runs = daemon.wait_runs("often", before_often + 1, Duration::from_secs(120));
    let caught_up: Vec<_> = runs.iter().filter(|r| r["reason"] == "catch-up").collect();
    assert_eq!(caught_up.len(), 1, "{runs:?}");
    // `none` forgets the missed fires: its next run is a scheduled one.
    let never = daemon.wait_runs("never", before_never + 1, Duration::from_secs(120));
    assert!(never.iter().all(|r| r["reason"] == "schedule"), "{never:?}");
}

fn key(env: &TestEnv) -> String {
    std::path::absolute(env.path().join("sluice.toml"))
        .unwrap()
        .display()
        .to_string()
}
