//! A job triggered over the API runs its pipeline, the run is recorded and
//! its dependent job runs after it; changes need the token; requests made
//! through a domain name are refused.

use std::time::Duration;

use super::{Daemon, contacts, ids, pipeline};
use crate::support::TestEnv;

#[test]
fn a_triggered_job_is_recorded_and_its_dependent_runs_after_it() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts(25));
    env.write(
        "contacts.toml",
        &pipeline("contacts", "contacts.jsonl", "contacts.jsonl", None, false),
    );
    env.write(
        "copy.toml",
        &pipeline("copy", "contacts.jsonl", "copy.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        r#"
[[job]]
name = "contacts"
pipeline = "contacts.toml"

[[job]]
name = "copy"
pipeline = "copy.toml"
after = ["contacts"]
when = "success"
"#,
    );
    let mut daemon = Daemon::start(&env);
    let (status, health) = daemon.get("/v1/health");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(daemon.get("/v1/ready").0, 200);
    let (status, jobs) = daemon.get("/v1/jobs");
    assert_eq!(status, 200);
    let names: Vec<&str> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["contacts", "copy"]);
    assert_eq!(jobs["jobs"][0]["job"]["trigger"], "manual");
    // A request made through a domain name (DNS rebinding from a web page)
    // is refused; addresses and localhost are answered.
    assert_eq!(daemon.get_as_host("/v1/jobs", "evil.example:7420"), 403);
    assert_eq!(daemon.get_as_host("/v1/jobs", "localhost"), 200);

    // Without the token, or with another, nothing runs.
    assert_eq!(daemon.post_with("/v1/jobs/contacts/trigger", None).0, 401);
    assert_eq!(
        daemon
            .post_with("/v1/jobs/contacts/trigger", Some("not-the-token-at-all"))
            .0,
        401
    );
    assert_eq!(daemon.post("/v1/jobs/nope/trigger").0, 404);
    assert!(daemon.runs("contacts").is_empty());

    let (status, body) = daemon.post("/v1/jobs/contacts/trigger");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["started"], true);
    let runs = daemon.wait_runs("contacts", 1, Duration::from_secs(120));
    let run = &runs[0]["run"];
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["loaded"], 25);
    assert_eq!(runs[0]["reason"], "manual");
    assert_eq!(ids(&env, "out/contacts.jsonl").len(), 25);

    // The dependent job ran after it, and says why.
    let copy = daemon.wait_runs("copy", 1, Duration::from_secs(120));
    assert_eq!(copy[0]["reason"], "after:contacts");
    assert_eq!(copy[0]["run"]["status"], "succeeded");
    assert_eq!(ids(&env, "out/copy.jsonl").len(), 25);

    // The run in detail, and its (empty) grouped errors.
    let id = run["id"].as_i64().unwrap();
    let (status, shown) = daemon.get(&format!("/v1/runs/{id}"));
    assert_eq!(status, 200);
    assert!(
        shown["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["stage"] == "execute")
    );
    let (status, errors) = daemon.get(&format!("/v1/runs/{id}/errors"));
    assert_eq!(status, 200, "{errors}");
    assert_eq!(errors["errors"]["failed_records"], 0);
    assert_eq!(daemon.get("/v1/runs/999999").0, 404);
    let (_, job) = daemon.get("/v1/jobs/contacts");
    assert_eq!(job["recent_runs"][0]["run_id"].as_i64(), Some(id));

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)), Some(0));
}
