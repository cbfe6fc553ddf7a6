//! Deliveries that never succeed: a receiver answering 503 with
//! `Retry-After: 1` (honoured over a shorter backoff) until the attempts
//! run out, and an address nobody listens on (network errors); both
//! recorded attempt by attempt and marked failed. A 404 is not retried.

use std::time::Duration;

use super::Daemon;
use super::wait_for;
use super::webhook_run_events::{SECRET, deliveries, input, project, run};
use crate::support::TestEnv;
use crate::support::webhook_receiver::WebhookReceiver;

#[test]
fn retries_end_after_max_attempts_and_every_attempt_is_recorded() {
    let env = TestEnv::new();
    let busy = (
        503,
        vec![("Retry-After".to_owned(), "1".to_owned())],
        String::new(),
    );
    let receiver = WebhookReceiver::start(vec![busy.clone(), busy.clone(), busy]);
    let gone = WebhookReceiver::start(vec![(404, Vec::new(), "no such hook".into())]);
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let hook = |name: &str, url: &str, attempts: u32| {
        format!(
            "[[webhook]]\nname = \"{name}\"\nurl = \"{url}\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"run.failed\"]\nmax_attempts = {attempts}\nbackoff = \"100ms\"\ntimeout = \"2s\"\n"
        )
    };
    project(
        &env,
        "",
        &format!(
            "{}{}{}",
            hook("busy", receiver.url(), 3),
            hook("down", &format!("http://{closed}/in?token=url-token-42"), 2),
            hook("gone", gone.url(), 5)
        ),
    );
    env.write("in/contacts.jsonl", &input(0, 3));
    let daemon = Daemon::start_with(&env, &[("HOOK_SECRET", SECRET)]);
    assert_eq!(run(&daemon, 1)["status"], "failed");

    let all = wait_for(Duration::from_secs(180), "every delivery to end", || {
        let list = deliveries(&daemon, "");
        (list.len() == 3 && list.iter().all(|d| d["status"] != "pending")).then_some(list)
    });
    let of = |name: &str| all.iter().find(|d| d["webhook"] == name).unwrap().clone();

    let busy = of("busy");
    assert_eq!(busy["status"], "failed", "{busy}");
    assert_eq!(busy["attempts"], 3);
    assert_eq!(busy["last_code"], 503);
    assert!(
        busy["last_error"]
            .as_str()
            .unwrap()
            .starts_with("gave up after 3 attempt(s)"),
        "{busy}"
    );
    assert!(busy["next_attempt_at"].is_null());
    let attempts = busy["attempts_made"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a["code"] == 503 && a["retry_after_s"] == 1),
        "{attempts:?}"
    );
    // Retry-After (1 s) was honoured over the 100 ms backoff.
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    for pair in hits.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
        assert!(pair[1].signed_with(SECRET));
    }

    let down = of("down");
    assert_eq!(down["status"], "failed", "{down}");
    assert_eq!(down["attempts"], 2);
    assert!(down["last_code"].is_null());
    let attempts = down["attempts_made"].as_array().unwrap();
    // Network errors are kept without the URL, whose query holds a token.
    assert!(!down.to_string().contains("url-token-42"), "{down}");
    assert!(
        attempts
            .iter()
            .all(|a| a["code"].is_null() && !a["error"].as_str().unwrap().is_empty()),
        "{attempts:?}"
    );

    let gone_d = of("gone");
    assert_eq!(gone_d["status"], "failed", "{gone_d}");
    assert_eq!(gone_d["attempts"], 1, "a 404 is not retried");
    assert_eq!(gone_d["last_error"], "HTTP 404, which is not retried");
    assert_eq!(gone.hits().len(), 1);

    // One delivery in full, with the body that was sent.
    let id = busy["id"].as_i64().unwrap();
    let (status, one) = daemon.get(&format!("/v1/webhooks/deliveries/{id}"));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["payload"]["event"], "run.failed");
    assert_eq!(
        one["delivery"]["attempts_made"].as_array().unwrap().len(),
        3
    );
    assert_eq!(daemon.get("/v1/webhooks/deliveries/999999").0, 404);
    assert_eq!(daemon.get("/v1/webhooks/deliveries?status=lost").0, 400);
    assert_eq!(deliveries(&daemon, "?status=failed").len(), 3);
}
