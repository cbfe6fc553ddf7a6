//! A reload with a broken project file keeps the old configuration
//! running and says where the file is wrong; a good one changes only the
//! jobs that changed.

use std::time::Duration;

use super::{Daemon, TOKEN, contacts, pipeline};
use crate::support::{TestEnv, stdout};

/// Watching is off: this test reloads by hand.
const GOOD: &str = "[daemon]\nwatch = false\n\n[[job]]\nname = \"a\"\npipeline = \"p.toml\"\n";

#[test]
fn a_broken_file_is_refused_with_its_line_and_the_daemon_keeps_running() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(3));
    env.write(
        "p.toml",
        &pipeline("p", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write("sluice.toml", GOOD);
    let mut daemon = Daemon::start(&env);
    let reload = |env: &TestEnv| {
        env.command(&["daemon", "reload", "--project", "."])
            .env("SLUICE_API_TOKEN", TOKEN)
            .output()
            .unwrap()
    };

    // A dependency cycle, on line 8.
    env.write(
        "sluice.toml",
        "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\nafter = [\"b\"]\n\n[[job]]\nname = \"b\"\npipeline = \"p.toml\"\nafter = [\"a\"]\n",
    );
    let out = reload(&env);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Reload refused"), "{text}");
    assert!(text.contains("sluice.toml:4:10"), "{text}");
    assert!(text.contains("cycle"), "{text}");
    // The old configuration still runs.
    let (_, jobs) = daemon.get("/v1/jobs");
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1, "{jobs}");
    let (status, _) = daemon.post("/v1/jobs/a/trigger");
    assert_eq!(status, 202);
    daemon.wait_runs("a", 1, Duration::from_secs(120));

    // SIGHUP with a file that is not TOML: refused and reported, the daemon lives.
    env.write("sluice.toml", "[[job]]\nname = \"a\"\npipeline = \n");
    daemon.signal("HUP");
    let last = super::wait_for(Duration::from_secs(30), "the reload's outcome", || {
        let (_, events) = daemon.get("/v1/events");
        let last = events["last_reload"].clone();
        (last["ok"] == false && last["error"].as_str().is_some_and(|e| e.contains(":3:")))
            .then_some(last)
    });
    assert!(
        last["error"].as_str().unwrap().contains("sluice.toml:3:"),
        "{last}"
    );
    assert_eq!(daemon.get("/v1/health").0, 200);

    // A good file: one job added, the other untouched.
    env.write(
        "sluice.toml",
        &format!("{GOOD}\n[[job]]\nname = \"b\"\npipeline = \"p.toml\"\nevery = \"1h\"\n"),
    );
    let out = reload(&env);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("added: b"), "{text}");
    assert!(text.contains("unchanged: 1 job(s)"), "{text}");
    let (_, jobs) = daemon.get("/v1/jobs");
    assert_eq!(jobs["jobs"][1]["job"]["trigger"], "every 1h", "{jobs}");

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
}
