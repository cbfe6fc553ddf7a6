//! A plugin version rolled back in the daemon (over its API) or by another
//! process (`sluice plugin rollback` from a shell) is sent to the daemon's
//! webhooks as `plugin.rolled_back`, signed like every event.

use serde_json::{Value, json};

use super::webhook_run_events::{SECRET, hits};
use super::{Daemon, TOKEN, contacts, pipeline};
use crate::plugin_store::{builtin_file, install};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn a_rollback_in_the_daemon_reaches_the_webhooks() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let receiver = WebhookReceiver::start(Vec::new());
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

    let hit = hits(&receiver, "plugin.rolled_back", 1).remove(0);
    assert!(hit.signed_with(SECRET), "{:?}", hit.headers);
    let sent: Value = serde_json::from_slice(&hit.body).unwrap();
    let text = sent.to_string();
    for needle in [
        "casing",
        lower.as_str(),
        upper.as_str(),
        "names came out lowercase",
    ] {
        assert!(text.contains(needle), "{needle} in {sent}");
    }
}

#[test]
fn a_rollback_from_another_process_reaches_the_daemons_webhooks() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let out = env.cli(&["plugin", "promote", &format!("casing@{lower}")]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let receiver = WebhookReceiver::start(Vec::new());
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
    let _daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    // From a shell, not through the daemon.
    let out = env.cli(&[
        "plugin",
        "rollback",
        "casing",
        "--reason",
        "rolled back from the shell",
    ]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    let hit = hits(&receiver, "plugin.rolled_back", 1).remove(0);
    assert!(hit.signed_with(SECRET), "{:?}", hit.headers);
    let text = String::from_utf8_lossy(&hit.body).into_owned();
    for needle in [
        "casing",
        lower.as_str(),
        upper.as_str(),
        "rolled back from the shell",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
}
