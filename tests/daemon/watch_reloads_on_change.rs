//! The daemon reloads by itself when a file of its project changes.

use std::time::Duration;

use super::{Daemon, contacts, pipeline, wait_for};
use crate::support::TestEnv;

#[test]
fn editing_the_project_or_a_pipeline_file_reloads_the_daemon() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(2));
    env.write(
        "p.toml",
        &pipeline("p", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "q.toml",
        &pipeline("q", "contacts.jsonl", "q.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\n\n[[job]]\nname = \"b\"\npipeline = \"q.toml\"\n",
    );
    let mut daemon = Daemon::start(&env);
    let reloaded = |daemon: &Daemon, what: &str| {
        wait_for(Duration::from_secs(30), what, || {
            let (_, events) = daemon.get("/v1/events");
            let last = events["last_reload"].clone();
            (!last.is_null()).then_some(last)
        })
    };

    // A job added to the project file.
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\n\n[[job]]\nname = \"b\"\npipeline = \"q.toml\"\n\n[[job]]\nname = \"c\"\npipeline = \"p.toml\"\nevery = \"1h\"\n",
    );
    let last = reloaded(&daemon, "a reload after the project file changed");
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["outcome"]["added"], serde_json::json!(["c"]), "{last}");
    let (_, jobs) = daemon.get("/v1/jobs");
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 3);

    // An edited pipeline file changes the jobs that run it, only them.
    let at = last["at"].clone();
    env.write(
        "q.toml",
        &pipeline("q", "contacts.jsonl", "q2.jsonl", None, false),
    );
    let last = wait_for(
        Duration::from_secs(30),
        "a reload after q.toml changed",
        || {
            let (_, events) = daemon.get("/v1/events");
            let last = events["last_reload"].clone();
            (last["at"] != at).then_some(last)
        },
    );
    assert_eq!(
        last["outcome"]["changed"],
        serde_json::json!(["b"]),
        "{last}"
    );
    assert_eq!(
        last["outcome"]["unchanged"],
        serde_json::json!(["a", "c"]),
        "{last}"
    );

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
}
