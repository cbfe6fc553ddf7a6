//! The dashboard served by `sluice daemon`: jobs paused, resumed and
//! triggered from the page, and the same jobs read by `sluice ui` from the
//! schedule state the daemon stored.

use std::time::Duration;

use super::Dashboard;
use crate::daemon::webhook_run_events::{SECRET, hits};
use crate::daemon::{Daemon, TOKEN, contacts, pipeline};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn jobs_are_paused_resumed_and_triggered_from_the_daemons_dashboard() {
    let env = TestEnv::new();
    // Three good records and one the email check refuses: a partial run.
    env.write(
        "in/contacts.jsonl",
        &format!(
            "{}{{\"id\":\"x\",\"email\":\"not an email\"}}\n",
            contacts(3)
        ),
    );
    let receiver = WebhookReceiver::start(Vec::new());
    env.write(
        "p.toml",
        &pipeline("sync", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        &format!(
            "[[job]]\nname = \"sync\"\npipeline = \"p.toml\"\n\n[[webhook]]\nname = \"ops\"\nurl = \"{}\"\nsecret_env = \"HOOK_SECRET\"\n",
            receiver.url()
        ),
    );
    let daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    let mut ui = Dashboard::at(&daemon.base, TOKEN);
    let base = ui.base.clone();

    let refused = ui.post("/jobs/sync/pause", &[], Some(&base));
    assert_eq!(refused.status().as_u16(), 401, "no session");
    ui.sign_in();
    let csrf = ui.csrf();
    let (code, html) = ui.page("/jobs");
    assert_eq!(code, 200);
    assert!(
        html.contains("sync") && html.contains("manual") && html.contains("Run now"),
        "{html}"
    );

    let paused = ui.post("/jobs/sync/pause", &[("csrf", &csrf)], Some(&base));
    assert_eq!(paused.status().as_u16(), 303);
    assert_eq!(daemon.get("/v1/jobs/sync").1["job"]["paused"], true);
    let (_, html) = ui.page("/jobs");
    assert!(
        html.contains("Resume"),
        "a paused job offers to resume: {html}"
    );
    let resumed = ui.post("/jobs/sync/resume", &[("csrf", &csrf)], Some(&base));
    assert_eq!(resumed.status().as_u16(), 303);
    assert_eq!(daemon.get("/v1/jobs/sync").1["job"]["paused"], false);

    let unknown = ui.post("/jobs/nope/trigger", &[("csrf", &csrf)], Some(&base));
    assert_eq!(unknown.status().as_u16(), 409);
    let triggered = ui.post("/jobs/sync/trigger", &[("csrf", &csrf)], Some(&base));
    assert_eq!(triggered.status().as_u16(), 303);
    let runs = daemon.wait_runs("sync", 1, Duration::from_secs(120));
    let run_id = runs[0]["run"]["id"].as_i64().unwrap();
    hits(&receiver, "run.partial", 1);
    let jobs = crate::daemon::wait_for(
        Duration::from_secs(60),
        "the delivery recorded as delivered",
        || {
            let jobs = ui.json("/jobs");
            (jobs["projects"][0]["jobs"][0]["deliveries"][0]["status"] == "delivered")
                .then_some(jobs)
        },
    );
    assert_eq!(jobs["live"], true, "{jobs}");
    let job = &jobs["projects"][0]["jobs"][0];
    assert_eq!(job["recent"][0][0]["run_id"], run_id, "{jobs}");
    assert_eq!(job["deliveries"][0]["event"], "run.partial", "{jobs}");
    let (_, html) = ui.page("/jobs");
    assert!(
        html.contains("run.partial") && html.contains("delivered"),
        "{html}"
    );

    // `sluice ui` on the same data directory: the stored state, no actions.
    let offline = Dashboard::start(&env);
    let jobs = offline.json("/jobs");
    assert_eq!(jobs["live"], false);
    assert_eq!(jobs["projects"][0]["jobs"][0]["job"], "sync", "{jobs}");
    let (_, html) = offline.page("/jobs");
    assert!(!html.contains("Run now"));
}
