//! A plugin version rolled back in the daemon (over its API) or by another
//! process (`sluice plugin rollback` from a shell) is sent to the daemon's
//! webhooks as `plugin.rolled_back`, signed like every event.

use serde_json::json;

use super::webhook_run_events::{SECRET, hits};
use super::{Daemon, TOKEN, contacts, pipeline};
use crate::plugin_store::{builtin_file, install};
use crate::support::webhook_receiver::WebhookReceiver;
use crate::support::{TestEnv, stderr};

/// `uppercase` then `lowercase` installed as `casing` (the first current),
/// and a project whose one webhook takes `plugin.rolled_back`.
fn casing_project(env: &TestEnv, receiver: &WebhookReceiver) -> (String, String) {
    let upper = install(env, &builtin_file(env, "uppercase"), "casing");
    let lower = install(env, &builtin_file(env, "lowercase"), "casing");
    env.write("in/contacts.jsonl", &contacts(1));
    env.write(
        "p.toml",
        &pipeline("contacts", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        &format!(
            "[[job]]\nname = \"contacts\"\npipeline = \"p.toml\"\n\n[[webhook]]\nname = \"ops\"\nurl = \"{}\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"plugin.rolled_back\"]\n",
            receiver.url()
        ),
    );
    (upper, lower)
}

/// The one `plugin.rolled_back` the receiver got is signed and names all
/// of `needles`.
fn announced(receiver: &WebhookReceiver, needles: &[&str]) {
    let hit = hits(receiver, "plugin.rolled_back", 1).remove(0);
    assert!(hit.signed_with(SECRET), "{:?}", hit.headers);
    let text = String::from_utf8_lossy(&hit.body).into_owned();
    for needle in needles {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}

#[test]
fn a_rollback_in_the_daemon_reaches_the_webhooks() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(Vec::new());
    let (upper, lower) = casing_project(&env, &receiver);
    let daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    let (status, body) = daemon.post_json(
        "/v1/plugins/casing/promote",
        &json!({ "digest": lower }),
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon.post_json(
        "/v1/plugins/casing/rollback",
        &json!({ "reason": "names came out lowercase" }),
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    announced(
        &receiver,
        &["casing", &lower, &upper, "names came out lowercase"],
    );
}

#[test]
fn a_rollback_from_another_process_reaches_the_daemons_webhooks() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(Vec::new());
    let (upper, lower) = casing_project(&env, &receiver);
    let out = env.cli(&["plugin", "promote", &format!("casing@{lower}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let _daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    // From a shell, not through the daemon.
    let out = env.cli(&[
        "plugin",
        "rollback",
        "casing",
        "--reason",
        "rolled back from the shell",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    announced(
        &receiver,
        &["casing", &lower, &upper, "rolled back from the shell"],
    );
}
