//! No secret value appears anywhere Sluice writes: the run log (with raw
//! HTTP capture on), captures, command output or logs.

use super::{CLIENT_SECRET, ENV, contacts, setup, sim, upsert_pipeline};
use crate::support::{stderr, stdout};

fn all_bytes_under(dir: &std::path::Path, out: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "cache") {
                continue;
            }
            all_bytes_under(&path, out);
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
}

#[test]
fn secrets_never_reach_the_run_log_captures_output_or_logs() {
    let sim = sim();
    let env = setup(
        &sim,
        &upsert_pipeline("strategy = \"retry\""),
        "sensitive_fields = [\"lastname\"]",
        &contacts(12, &[3]),
    );
    let mut vars = ENV.to_vec();
    vars.push(("RUST_LOG", "trace"));
    let run = env.cli_with_env(&["-vvv", "run", "pipeline.toml", "--capture-http"], &vars);
    let mut seen = Vec::new();
    seen.extend(run.stdout.clone());
    seen.extend(run.stderr.clone());
    for args in [
        vec!["runs", "show", "last", "--phase", "http", "--json"],
        vec!["runs", "show", "last", "--phase", "load", "--json"],
        vec!["errors", "last", "--rows", "--json"],
        vec!["connection", "list", "--json"],
        vec!["connection", "test", "crm", "--json"],
    ] {
        let out = env.cli_with_env(&args, &ENV);
        seen.extend(out.stdout);
        seen.extend(out.stderr);
    }
    all_bytes_under(&env.data_dir(), &mut seen);
    let seen = String::from_utf8_lossy(&seen);

    // Raw HTTP was captured, with credentials redacted.
    assert!(
        seen.contains("/oauth/v1/token") || seen.contains("/crm/v3/objects/contacts/batch/upsert")
    );
    assert!(seen.contains("[redacted]"), "{}", stdout(&run));
    // The secrets: the client secret, and every token the CRM issued.
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    for r in sim.requests() {
        if let Some(auth) = r.header("authorization")
            && let Some(token) = auth.strip_prefix("Bearer ")
        {
            secrets.push(token.to_owned());
        }
    }
    assert!(secrets.len() > 1, "the CRM saw bearer tokens");
    for secret in &secrets {
        assert!(
            !seen.contains(secret.as_str()),
            "secret {secret:.6}… leaked; stderr: {}",
            stderr(&run)
        );
    }
    // A sensitive field is redacted in captures too.
    assert!(!seen.contains("\"lastname\":\"Last5\""));
}
