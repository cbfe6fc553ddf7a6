//! Loading `sluice.toml`: schedules, policies, dependencies, and errors
//! that name the file and line.

use std::path::{Path, PathBuf};

use super::*;
use crate::schedule::Trigger;

/// A project directory with one valid pipeline file, `p.toml`.
fn project_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"name = "p"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "e"
source_options = { path = "e.jsonl" }
target_options = { path = "e.jsonl" }
[[entity.field]]
target = "id"
"#,
    )
    .unwrap();
    dir
}

fn load(dir: &Path, text: &str) -> Result<Project, ProjectError> {
    let path: PathBuf = dir.join(PROJECT_FILE);
    std::fs::write(&path, text).unwrap();
    load_project(dir)
}

/// The error's text and its line.
fn error(dir: &Path, text: &str) -> (String, usize) {
    let e = load(dir, text).unwrap_err();
    let line = match &e {
        ProjectError::Invalid { location, .. } | ProjectError::Pipeline { location, .. } => {
            location.line
        }
        ProjectError::Read { .. } => 0,
    };
    (e.to_string(), line)
}

#[test]
fn a_full_project_loads_with_its_policies() {
    let dir = project_dir();
    std::fs::write(dir.path().join("conn.toml"), "").unwrap();
    let p = load(
        dir.path(),
        r#"
data_dir = "state"
connections = "conn.toml"
[daemon]
listen = "127.0.0.1:9999"

[[job]]
name = "nightly"
pipeline = "p.toml"
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
overlap = "queue"
catchup = "all"
concurrency = 2

[[job]]
name = "often"
pipeline = "p.toml"
every = "15m"
overlap = "cancel"
catchup = "none"

[[job]]
name = "report"
pipeline = "p.toml"
after = ["nightly", "often"]
when = "partial"
paused = true
"#,
    )
    .unwrap();
    assert_eq!(p.data_dir, dir.path().join("state"));
    assert_eq!(
        p.connections.as_deref(),
        Some(dir.path().join("conn.toml").as_path())
    );
    assert_eq!(p.listen.as_deref(), Some("127.0.0.1:9999"));
    assert!(p.watch, "watching is on by default");
    let files = p.files();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&dir.path().join("p.toml")));
    assert!(files.contains(&dir.path().join("conn.toml")));
    assert_eq!(p.jobs.len(), 3);
    let nightly = p.job("nightly").unwrap();
    assert!(matches!(&nightly.trigger, Trigger::Cron(c) if c.zone_name() == "Europe/Berlin"));
    assert_eq!(nightly.overlap, Overlap::Queue);
    assert_eq!(nightly.catchup, Catchup::All);
    assert_eq!(nightly.concurrency, 2);
    assert_eq!(nightly.location.line, 7);
    // The project's connections file is the one the pipeline uses.
    assert_eq!(
        nightly.pipeline.connections_path(),
        dir.path().join("conn.toml")
    );
    let often = p.job("often").unwrap();
    assert!(matches!(often.trigger, Trigger::Every(d) if d.as_secs() == 900));
    assert_eq!(
        (often.overlap, often.catchup),
        (Overlap::Cancel, Catchup::None)
    );
    let report = p.job("report").unwrap();
    assert!(matches!(report.trigger, Trigger::Manual));
    assert_eq!(report.after, ["nightly", "often"]);
    assert_eq!(report.when, When::Partial);
    assert!(report.paused);
    // Defaults.
    assert_eq!(often.when, When::Success);
    assert_eq!(often.concurrency, 1);
    assert_eq!(Overlap::default(), Overlap::Skip);
    assert_eq!(Catchup::default(), Catchup::Latest);
}

#[test]
fn fingerprints_change_only_with_the_job() {
    let dir = project_dir();
    let base = "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\nevery = \"1h\"\n[[job]]\nname = \"b\"\npipeline = \"p.toml\"\n";
    let one = load(dir.path(), base).unwrap();
    let comments = load(dir.path(), &format!("# a comment\n{base}")).unwrap();
    assert_eq!(one.jobs[0].fingerprint, comments.jobs[0].fingerprint);
    let changed = load(dir.path(), &base.replace("1h", "2h")).unwrap();
    assert_ne!(one.jobs[0].fingerprint, changed.jobs[0].fingerprint);
    assert_eq!(one.jobs[1].fingerprint, changed.jobs[1].fingerprint);
    // Editing the pipeline file changes every job that runs it.
    let text = std::fs::read_to_string(dir.path().join("p.toml")).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        text.replace("\"id\"", "\"ident\""),
    )
    .unwrap();
    let edited = load(dir.path(), base).unwrap();
    assert_ne!(one.jobs[1].fingerprint, edited.jobs[1].fingerprint);
}

#[test]
fn a_dependency_cycle_is_refused_with_file_and_line() {
    let dir = project_dir();
    let (msg, line) = error(
        dir.path(),
        r#"[[job]]
name = "a"
pipeline = "p.toml"
after = ["c"]

[[job]]
name = "b"
pipeline = "p.toml"
after = ["a"]

[[job]]
name = "c"
pipeline = "p.toml"
after = ["b"]
"#,
    );
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("sluice.toml:4:10"), "{msg}");
    assert!(
        msg.contains("cycle: `a` runs after `c` runs after `b` runs after `a`"),
        "{msg}"
    );
}

#[test]
fn a_job_after_itself_is_a_cycle() {
    let dir = project_dir();
    let (msg, line) = error(
        dir.path(),
        "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\nafter = [\"a\"]\n",
    );
    assert_eq!(line, 4);
    assert!(msg.contains("cycle"), "{msg}");
}

#[test]
fn errors_name_the_line_of_the_offending_value() {
    let dir = project_dir();
    let job = "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\n";
    for (extra, line, needle) in [
        (
            "schedule = \"61 * * * *\"\n",
            4,
            "`61 * * * *` is not a cron expression",
        ),
        (
            "schedule = \"0 0 * * *\"\ntimezone = \"Mars/Base\"\n",
            5,
            "Mars/Base",
        ),
        ("every = \"soon\"\n", 4, "`soon` is not an interval"),
        (
            "schedule = \"0 0 * * *\"\nevery = \"1h\"\n",
            5,
            "both `schedule` and `every`",
        ),
        ("timezone = \"UTC\"\n", 4, "`timezone` applies to a cron"),
        ("overlap = \"sometimes\"\n", 4, "sometimes"),
        ("catchup = \"most\"\n", 4, "most"),
        ("when = \"always\"\n", 4, "always"),
        ("concurrency = 0\n", 4, "concurrency must be between 1"),
        ("after = [\"nope\"]\n", 4, "`nope`, which is not a job"),
        ("colour = \"blue\"\n", 4, "colour"),
    ] {
        let (msg, got) = error(dir.path(), &format!("{job}{extra}"));
        assert_eq!(got, line, "{extra:?}: {msg}");
        assert!(msg.contains(needle), "{extra:?}: {msg}");
        assert!(msg.contains("sluice.toml:"), "{extra:?}: {msg}");
    }
    let (msg, line) = error(dir.path(), &format!("{job}{job}"));
    assert_eq!(line, 5);
    assert!(msg.contains("job `a` is defined twice"), "{msg}");
    let (msg, line) = error(
        dir.path(),
        "[[job]]\nname = \"a b\"\npipeline = \"p.toml\"\n",
    );
    assert_eq!(line, 2);
    assert!(msg.contains("not a job name"), "{msg}");
    let (msg, line) = error(dir.path(), "[daemon]\nlisten = \"localhost\"\n");
    assert_eq!(line, 2);
    assert!(msg.contains("not an address"), "{msg}");
}

#[test]
fn a_broken_pipeline_names_both_files() {
    let dir = project_dir();
    std::fs::write(
        dir.path().join("bad.toml"),
        "name = \"bad\"\nbatch_size = 0\n",
    )
    .unwrap();
    let (msg, line) = error(
        dir.path(),
        "[[job]]\nname = \"a\"\npipeline = \"bad.toml\"\n",
    );
    assert_eq!(line, 3);
    assert!(msg.contains("sluice.toml:3:12: job `a`:"), "{msg}");
    assert!(msg.contains("bad.toml:"), "{msg}");
    let (msg, _) = error(
        dir.path(),
        "[[job]]\nname = \"a\"\npipeline = \"missing.toml\"\n",
    );
    assert!(msg.contains("missing.toml"), "{msg}");
}

#[test]
fn watching_can_be_turned_off() {
    let dir = project_dir();
    let p = load(dir.path(), "[daemon]\nwatch = false\n").unwrap();
    assert!(!p.watch);
    assert!(p.jobs.is_empty());
}

#[test]
fn a_directory_without_a_project_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_project(dir.path()).unwrap_err();
    assert!(matches!(e, ProjectError::Read { .. }));
    assert!(e.to_string().contains("sluice.toml"), "{e}");
}

#[test]
fn webhooks_and_alerts_load_and_their_errors_name_the_line() {
    let dir = project_dir();
    let secret = long_env_var();
    let p = load(
        dir.path(),
        &r#"
[[job]]
name = "a"
pipeline = "p.toml"
every = "1h"
alerts = { error_rate = 0.1, dlq_growth = 5, late_after = "90s" }

[[webhook]]
name = "ops"
url = "https://hooks.example.com/services/T0/B0/token"
secret_env = "CARGO_MANIFEST_DIR"
events = ["run.failed", "job.late"]
jobs = ["a"]
backoff = "500ms"
"#
        .replace("CARGO_MANIFEST_DIR", &secret),
    )
    .unwrap();
    let hook = &p.webhooks[0];
    assert_eq!(hook.name, "ops");
    assert_eq!(hook.max_attempts, crate::notify::DEFAULT_MAX_ATTEMPTS);
    assert_eq!(hook.backoff, jiff::SignedDuration::from_millis(500));
    // The token in the path never reaches the run log.
    assert_eq!(hook.target(), "https://hooks.example.com/…");
    assert!(!format!("{hook:?}").contains(&std::env::var(&secret).unwrap()));
    assert!(hook.wants(crate::notify::EventKind::JobLate, Some("a")));
    assert!(!hook.wants(crate::notify::EventKind::RunPartial, Some("a")));
    assert!(!hook.wants(crate::notify::EventKind::RunFailed, Some("b")));
    let alerts = &p.jobs[0].alerts;
    assert_eq!(alerts.error_rate, Some(0.1));
    assert_eq!(alerts.dlq_growth, Some(5));
    assert_eq!(alerts.late_after, jiff::SignedDuration::from_secs(90));

    let job = "[[job]]\nname = \"a\"\npipeline = \"p.toml\"\n";
    for (extra, line, needle) in [
        (
            "[[webhook]]\nname = \"w\"\nurl = \"ftp://x\"\nsecret_env = \"{secret}\"\n",
            6,
            "http:// or https://",
        ),
        (
            "[[webhook]]\nname = \"w\"\nurl = \"https://u:p@x/\"\nsecret_env = \"{secret}\"\n",
            6,
            "user name or password",
        ),
        (
            "[[webhook]]\nname = \"w\"\nurl = \"https://x/\"\nsecret_env = \"SLUICE_TEST_NO_SUCH_VARIABLE\"\n",
            7,
            "is not set",
        ),
        (
            "[[webhook]]\nname = \"w\"\nurl = \"https://x/\"\nsecret_env = \"{secret}\"\nevents = [\"run.exploded\"]\n",
            8,
            "not an event",
        ),
        (
            "[[webhook]]\nname = \"w\"\nurl = \"https://x/\"\nsecret_env = \"{secret}\"\njobs = [\"zz\"]\n",
            8,
            "not a job of this project",
        ),
        (
            "[[webhook]]\nname = \"w\"\nurl = \"https://x/\"\nsecret_env = \"{secret}\"\nmax_attempts = 0\n",
            8,
            "max_attempts",
        ),
        ("alerts = { error_rate = 1.5 }\n", 4, "error_rate"),
        ("alerts = { late_after = \"soon\" }\n", 4, "late_after"),
    ] {
        let extra = extra.replace("{secret}", &secret);
        let (text, at) = error(dir.path(), &format!("{job}{extra}"));
        assert!(text.contains(needle), "{extra}: {text}");
        assert_eq!(at, line, "{extra}: {text}");
    }
}

/// The name of an environment variable whose value is long enough to be a
/// webhook secret (16 bytes or more): the tests read one that exists
/// rather than set one (setting variables races with other tests).
fn long_env_var() -> String {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| v.len() >= 16 && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    vars.sort();
    vars.into_iter()
        .map(|(k, _)| k)
        .next()
        .expect("an environment variable with a value of 16 bytes or more")
}
