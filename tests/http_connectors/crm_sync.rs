//! Syncing contacts into the CRM: upsert by email, per-record validation
//! errors named by field, rate limits and 502s retried, expired tokens
//! refreshed, revoked credentials pausing the run, missing scopes.

use serde_json::Value;
use sluice_crm_sim::Faults;

use super::{cli, contacts, setup, sim, upsert_pipeline};
use crate::support::stdout;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

const RETRY: &str = "strategy = \"retry\"\nretry = { max_attempts = 6, initial_backoff_ms = 1, max_backoff_ms = 5 }";

#[test]
fn upsert_by_email_with_validation_errors_rate_limits_and_bad_gateways() {
    let sim = sim();
    sim.set_faults(Faults {
        rate_limit_every: Some(3),
        retry_after_secs: 0,
        bad_gateway_every: Some(5),
        ..Faults::default()
    });
    let env = setup(&sim, &upsert_pipeline(RETRY), "", &contacts(40, &[7, 23]));
    let run = cli(&env, &["run", "pipeline.toml", "--json"]);
    let summary = json(&run);
    assert_eq!(summary["status"], "partial", "{summary:#}");
    assert_eq!(summary["totals"]["loaded"], 38);
    assert_eq!(summary["totals"]["failed"], 2);

    // The CRM holds the 38 valid contacts, keyed by normalized email.
    let emails: Vec<String> = sim
        .contacts()
        .iter()
        .map(|c| c.properties["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails.len(), 38);
    assert!(emails.contains(&"person0@example.com".to_owned()));
    assert!(!emails.contains(&"person7@example.com".to_owned()));

    // One validation group on the field the CRM named; the transient noise
    // folded and all retried successfully.
    let run_id = summary["run_id"].to_string();
    let view = json(&cli(&env, &["errors", &run_id, "--json"]));
    let groups = view["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{view:#}");
    assert_eq!(groups[0]["category"], "validation");
    assert_eq!(groups[0]["field"], "firstname");
    assert_eq!(groups[0]["count"], 2);
    let retried = view["retried"].as_array().unwrap();
    assert!(!retried.is_empty(), "{view:#}");
    for r in retried {
        assert_eq!(r["category"], "transient", "{r:#}");
        assert_eq!(r["failed"], 0, "every retry succeeded: {r:#}");
    }

    // Running again updates in place: no duplicates.
    sim.set_faults(Faults::default());
    let again = json(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(again["totals"]["loaded"], 38);
    assert_eq!(sim.contacts().len(), 38);
}

#[test]
fn an_expired_token_is_refreshed_once_and_the_run_goes_on() {
    let sim = sim();
    let env = setup(&sim, &upsert_pipeline(RETRY), "", &contacts(30, &[]));
    // A first batch gets a token; then every issued token expires.
    let first = json(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(first["status"], "succeeded");
    sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    // A new process fetches a fresh token anyway; within one process, the
    // host refreshes on the 401. Use one connection for both: run twice.
    let second = json(&cli(&env, &["run", "pipeline.toml", "--json"]));
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let token_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/oauth/v1/token"))
        .count();
    assert!(token_requests >= 2, "{token_requests}");
}

#[test]
fn revoked_credentials_pause_the_run_with_one_auth_group() {
    let sim = sim();
    sim.set_faults(Faults {
        reject_all_auth: true,
        ..Faults::default()
    });
    let env = setup(&sim, &upsert_pipeline(RETRY), "", &contacts(200, &[]));
    let out = cli(&env, &["run", "pipeline.toml", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let summary = json(&out);
    assert_eq!(summary["status"], "aborted");
    assert!(
        summary["status_reason"]
            .as_str()
            .unwrap()
            .contains("authentication")
    );
    let writes = sim
        .requests()
        .iter()
        .filter(|r| r.path.contains("/batch/"))
        .count();
    // One batch was tried (and the host retried once with a new token).
    assert!(
        writes <= 2,
        "{writes} write requests after credentials were refused"
    );
    let view = json(&cli(
        &env,
        &["errors", &summary["run_id"].to_string(), "--json"],
    ));
    let groups = view["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{view:#}");
    assert_eq!(groups[0]["category"], "auth");
}

#[test]
fn a_missing_scope_is_a_permissions_error() {
    let sim = sim();
    sim.set_faults(Faults {
        missing_scope: Some("crm.objects.contacts.write".into()),
        ..Faults::default()
    });
    let env = setup(&sim, &upsert_pipeline(RETRY), "", &contacts(20, &[]));
    let summary = json(&cli(&env, &["run", "pipeline.toml", "--json"]));
    let view = json(&cli(
        &env,
        &["errors", &summary["run_id"].to_string(), "--json"],
    ));
    let groups = view["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{view:#}");
    assert_eq!(groups[0]["category"], "permissions");
    assert_eq!(groups[0]["count"], 20);
    assert_ne!(
        summary["status"], "aborted",
        "permissions errors do not pause the run"
    );
}

#[test]
fn connection_test_reports_in_plain_words() {
    let sim = sim();
    let env = setup(
        &sim,
        &upsert_pipeline(RETRY),
        "check = { path = \"/crm/v3/objects/contacts?limit=1\" }",
        "",
    );
    let ok = cli(&env, &["connection", "test", "crm"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("authenticated"), "{}", stdout(&ok));

    sim.set_faults(Faults {
        reject_all_auth: true,
        ..Faults::default()
    });
    let refused = cli(&env, &["connection", "test", "crm", "--json"]);
    assert_eq!(refused.status.code(), Some(1));
    let outcome = json(&refused);
    assert_eq!(outcome["category"], "auth");
    assert!(outcome["hint"].as_str().unwrap().contains("credentials"));

    // Without the secret in the environment, it says which variable is missing.
    let missing = env.cli(&["connection", "test", "crm"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stdout(&missing).contains("E2E_CRM_CLIENT_ID"),
        "{}",
        stdout(&missing)
    );
}

#[test]
fn phases_are_captured_and_a_record_can_be_diffed() {
    let sim = sim();
    let env = setup(&sim, &upsert_pipeline(RETRY), "", &contacts(5, &[2]));
    let summary = json(&cli(&env, &["run", "pipeline.toml", "--json"]));
    let run = summary["run_id"].to_string();
    for phase in ["extract", "load", "response"] {
        let captured = json(&cli(
            &env,
            &["runs", "show", &run, "--phase", phase, "--json"],
        ));
        assert_eq!(
            captured.as_array().unwrap().len(),
            1,
            "{phase}: {captured:#}"
        );
    }
    let response = json(&cli(
        &env,
        &["runs", "show", &run, "--phase", "response", "--json"],
    ));
    let items = response[0]["document"].as_array().unwrap();
    let failed = items.iter().find(|i| i["outcome"] == "failed").unwrap();
    assert_eq!(failed["field"], "firstname");
    // No raw HTTP unless asked.
    let http = json(&cli(
        &env,
        &["runs", "show", &run, "--phase", "http", "--json"],
    ));
    assert!(http.as_array().unwrap().is_empty());

    // Records are keyed by their source email, as written there.
    let diff = cli(
        &env,
        &["runs", "show", &run, "--diff", "Person1@Example.com"],
    );
    let text = stdout(&diff);
    assert!(text.contains("-  \"first_name\": \"First1\""), "{text}");
    assert!(text.contains("+  \"firstname\": \"First1\""), "{text}");
    assert!(
        text.contains("+  \"email\": \"person1@example.com\""),
        "{text}"
    );
    assert!(text.contains("\"outcome\":\"created\""), "{text}");
}
