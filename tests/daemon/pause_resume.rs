//! A paused job does not fire; resumed, it does again; the pause survives a
//! restart, as the schedule state lives in the run log.

use std::time::Duration;

use super::{Daemon, contacts, pipeline};
use crate::support::TestEnv;

#[test]
fn pause_stops_the_schedule_resume_restarts_it_and_a_restart_keeps_it() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(3));
    env.write(
        "p.toml",
        &pipeline("tick", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"tick\"\npipeline = \"p.toml\"\nevery = \"1s\"\n",
    );
    let mut daemon = Daemon::start(&env);
    let (_, jobs) = daemon.get("/v1/jobs");
    assert_eq!(jobs["jobs"][0]["job"]["trigger"], "every 1s");
    daemon.wait_runs("tick", 2, Duration::from_secs(120));

    assert_eq!(daemon.post_with("/v1/jobs/tick/pause", None).0, 401);
    let (status, body) = daemon.post("/v1/jobs/tick/pause");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["paused"], true);
    // Let a run in progress end, then nothing more fires.
    super::wait_for(Duration::from_secs(60), "no run in progress", || {
        let (_, j) = daemon.get("/v1/jobs/tick");
        (j["job"]["running"] == 0).then_some(())
    });
    let paused_at = daemon.runs("tick").len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(daemon.runs("tick").len(), paused_at, "a paused job fired");

    // Stopped and started again, it is still paused.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
    let daemon = Daemon::start(&env);
    let (_, jobs) = daemon.get("/v1/jobs");
    assert_eq!(jobs["jobs"][0]["job"]["paused"], true, "{jobs}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(daemon.runs("tick").len(), paused_at);

    let (status, body) = daemon.post("/v1/jobs/tick/resume");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["paused"], false);
    daemon.wait_runs("tick", paused_at + 1, Duration::from_secs(120));
}
