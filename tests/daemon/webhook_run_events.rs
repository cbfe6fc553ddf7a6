//! Webhooks for runs: a failed run (whose first delivery gets a 500 and is
//! retried), a partial one over the job's error-rate threshold, and the
//! success after them (`run.recovered`); every request signed with the
//! secret, every attempt in the deliveries list, the secret nowhere in the
//! run log.

use std::time::Duration;

use serde_json::Value;

use super::{Daemon, pipeline, wait_for};
use crate::support::TestEnv;
use crate::support::webhook_receiver::{Hit, WebhookReceiver};

pub const SECRET: &str = "whsec-0123456789abcdef";

/// `valid` contacts with good emails, then `invalid` with bad ones.
pub fn input(valid: usize, invalid: usize) -> String {
    let mut out = String::new();
    for i in 0..valid {
        out.push_str(&format!(
            "{{\"id\":\"v{i}\",\"email\":\"v{i}@example.com\"}}\n"
        ));
    }
    for i in 0..invalid {
        out.push_str(&format!(
            "{{\"id\":\"x{i}\",\"email\":\"not an email {i}\"}}\n"
        ));
    }
    out
}

/// One manual job `contacts` and `hooks` (TOML) after it.
pub fn project(env: &TestEnv, job_extra: &str, hooks: &str) {
    env.write(
        "p.toml",
        &pipeline("contacts", "contacts.jsonl", "out.jsonl", None, false),
    );
    env.write(
        "sluice.toml",
        &format!("[[job]]\nname = \"contacts\"\npipeline = \"p.toml\"\n{job_extra}\n{hooks}"),
    );
}

/// Trigger `contacts` and wait for its `n`th run; that run.
pub fn run(daemon: &Daemon, n: usize) -> Value {
    assert_eq!(daemon.post("/v1/jobs/contacts/trigger").0, 202);
    daemon.wait_runs("contacts", n, Duration::from_secs(120))[0]["run"].clone()
}

/// Wait until `receiver` got `n` requests for `event`; them.
pub fn hits(receiver: &WebhookReceiver, event: &str, n: usize) -> Vec<Hit> {
    wait_for(
        Duration::from_secs(180),
        &format!("{n} `{event}` request(s)"),
        || {
            let hits = receiver.hits_for(event);
            (hits.len() >= n).then_some(hits)
        },
    )
}

/// The deliveries of the daemon's project, newest first.
pub fn deliveries(daemon: &Daemon, query: &str) -> Vec<Value> {
    let (status, body) = daemon.get(&format!("/v1/webhooks/deliveries{query}"));
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[test]
fn failed_partial_and_recovered_runs_are_signed_retried_and_recorded() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(Vec::new());
    // The run's events are sent together: the 500 goes to `run.failed`,
    // whichever arrives first.
    receiver.push_for("run.failed", vec![(500, Vec::new(), "try later".into())]);
    project(
        &env,
        "alerts = { error_rate = 0.3, dlq_growth = 3 }",
        &format!(
            "[[webhook]]\nname = \"ops\"\nurl = \"{}?token=abc\"\nsecret_env = \"HOOK_SECRET\"\nbackoff = \"200ms\"\n",
            receiver.url()
        ),
    );
    env.write("in/contacts.jsonl", &input(0, 4));
    let daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);

    // Failed: every record has a bad email.
    let failed = run(&daemon, 1);
    assert_eq!(failed["status"], "failed", "{failed}");
    let run_id = failed["id"].as_i64().unwrap();
    let tries = hits(&receiver, "run.failed", 2);
    assert_eq!(tries.len(), 2, "a 500, then the retry that got 200");
    for hit in &tries {
        assert!(hit.signed_with(SECRET), "{:?}", hit.headers);
        assert!(!hit.signed_with("another-secret-0123456789"));
        assert_eq!(hit.header("content-type"), Some("application/json"));
    }
    // The same delivery, not a second event.
    assert_eq!(
        tries[0].header("sluice-delivery"),
        tries[1].header("sluice-delivery")
    );
    let body = tries[1].json();
    assert_eq!(body["event"], "run.failed");
    assert_eq!(body["job"], "contacts");
    assert_eq!(body["run_id"], run_id);
    assert_eq!(body["status"], "failed");
    assert_eq!(body["counts"]["failed"], 4);
    assert_eq!(body["id"], tries[1].header("sluice-delivery").unwrap());
    assert_eq!(body["links"]["errors"], format!("/v1/runs/{run_id}/errors"));
    // Every record failed: over the 0.3 threshold.
    let rate = hits(&receiver, "run.error_rate", 1)[0].json();
    assert_eq!(rate["error_rate"], 1.0);
    assert_eq!(rate["threshold"], 0.3);
    // Four new dead-letter entries: at least the 3 of `dlq_growth`.
    let growth = hits(&receiver, "dlq.growth", 1)[0].json();
    assert_eq!(growth["dlq_added"], 4);
    assert_eq!(growth["threshold"], 3);
    assert_eq!(growth["run_id"], run_id);

    let list = deliveries(&daemon, "?job=contacts");
    let d = list
        .iter()
        .find(|d| d["event"] == "run.failed")
        .expect("the run.failed delivery");
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["run_id"], run_id);
    // The URL's query (a token) is not kept.
    assert_eq!(
        d["target"].as_str().unwrap(),
        format!("{}/…", receiver.url().split("/hooks").next().unwrap())
    );
    let attempts = d["attempts_made"].as_array().unwrap();
    assert_eq!(attempts[0]["code"], 500);
    assert_eq!(attempts[0]["response"], "try later");
    assert_eq!(attempts[1]["code"], 200);

    // Partial: half the records fail, still over the threshold.
    env.write("in/contacts.jsonl", &input(2, 2));
    let partial = run(&daemon, 2);
    assert_eq!(partial["status"], "partial", "{partial}");
    let body = hits(&receiver, "run.partial", 1)[0].json();
    assert_eq!(body["run_id"], partial["id"]);
    assert_eq!(body["counts"]["loaded"], 2);
    assert_eq!(
        hits(&receiver, "run.error_rate", 2)[1].json()["error_rate"],
        0.5
    );
    // No new dead-letter entry this time (x0 and x1 failed again, their
    // entries were open already): no dlq.growth.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.hits_for("dlq.growth").len(), 1);

    // Recovered: the first success after them.
    env.write("in/contacts.jsonl", &input(4, 0));
    let ok = run(&daemon, 3);
    assert_eq!(ok["status"], "succeeded", "{ok}");
    let body = hits(&receiver, "run.recovered", 1)[0].json();
    assert_eq!(body["run_id"], ok["id"]);
    assert_eq!(body["previous_run_id"], partial["id"]);
    assert_eq!(body["previous_status"], "partial");
    assert!(hits(&receiver, "run.recovered", 1)[0].signed_with(SECRET));
    // A second success is no recovery.
    run(&daemon, 4);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.hits_for("run.recovered").len(), 1);

    // Runs by status.
    let (_, partials) = daemon.get("/v1/runs?job=contacts&status=partial");
    let partials = partials["runs"].as_array().unwrap().clone();
    assert_eq!(partials.len(), 1);
    assert_eq!(partials[0]["run"]["id"], partial["id"]);
    let (_, ok_runs) = daemon.get("/v1/runs?job=contacts&status=succeeded&limit=1");
    assert_eq!(ok_runs["runs"].as_array().unwrap().len(), 1);
    assert_eq!(daemon.get("/v1/runs?status=fine").0, 400);

    // The CLI lists the same deliveries, from the run log.
    let out = env.cli(&["webhooks", "deliveries", "--job", "contacts", "--json"]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), deliveries(&daemon, "?job=contacts").len());
    assert!(
        listed.iter().all(|d| d["status"] == "delivered"),
        "{listed:?}"
    );
    let table = env.cli(&["webhooks", "deliveries"]);
    assert!(crate::support::stdout(&table).contains("run.recovered"));

    // The secret is nowhere in the data directory.
    for entry in std::fs::read_dir(env.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{} holds the secret",
                path.display()
            );
        }
    }
}
