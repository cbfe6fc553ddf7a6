//! A delivery pending when the daemon stops (its receiver was down) is
//! sent by the next daemon, with the same delivery key.

use std::time::Duration;

use super::webhook_run_events::{SECRET, deliveries, hits, input, project, run};
use super::{Daemon, wait_for};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn a_pending_delivery_survives_a_restart() {
    let env = TestEnv::new();
    // Reserve a port, and leave it closed for now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    project(
        &env,
        "",
        &format!(
            "[[webhook]]\nname = \"ops\"\nurl = \"http://{addr}/hooks/sluice\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"run.failed\"]\nbackoff = \"1s\"\n"
        ),
    );
    env.write("in/contacts.jsonl", &input(0, 2));
    let mut daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    assert_eq!(run(&daemon, 1)["status"], "failed");
    let pending = wait_for(Duration::from_secs(30), "a failed attempt", || {
        let list = deliveries(&daemon, "");
        list.first()
            .filter(|d| d["attempts"].as_u64() >= Some(1))
            .cloned()
    });
    assert_eq!(pending["status"], "pending", "{pending}");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)), Some(0));

    let receiver = WebhookReceiver::on(std::net::TcpListener::bind(addr).unwrap(), Vec::new());
    let daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    let hit = hits(&receiver, "run.failed", 1).remove(0);
    assert!(hit.signed_with(SECRET));
    assert_eq!(
        hit.header("sluice-delivery"),
        pending["delivery_key"].as_str()
    );
    let done = wait_for(
        Duration::from_secs(30),
        "the delivery recorded as delivered",
        || {
            let list = deliveries(&daemon, "");
            list.first().filter(|d| d["status"] == "delivered").cloned()
        },
    );
    assert_eq!(done["id"], pending["id"]);
    assert!(done["attempts"].as_u64().unwrap() >= 2, "{done}");
}
