//! A remote server that echoes the `Authorization` header, and a connector
//! that quotes the server's answer in its errors, cannot put the bearer
//! token in the run log: not in error messages, payloads, the dead-letter
//! queue, captures, nor `errors --json`. The host redacts every secret it
//! knows before anything is stored.

use crate::support::echo_server::EchoServer;
use crate::support::{TestEnv, http_probe, stdout};

const TOKEN: &str = "bearer-token-5f0c9a7e3d";

fn all_bytes_under(dir: &std::path::Path, out: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_bytes_under(&path, out);
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
}

#[test]
fn echoed_tokens_never_reach_the_run_log() {
    let server = EchoServer::start(|request| {
        let seen = request.values("authorization").join(", ");
        if request.line.contains("/items") {
            serde_json::json!([{"id": "1", "seen": seen}, {"id": "2", "seen": seen}]).to_string()
        } else {
            serde_json::json!({"you_sent": seen}).to_string()
        }
    });
    let env = TestEnv::new();
    env.write(
        "connections.toml",
        &format!(
            r#"[echo]
base_url = "{}"

[echo.auth]
kind = "bearer"
token = {{ env = "HOSTILE_TOKEN" }}
"#,
            server.base_url()
        ),
    );
    std::fs::copy(http_probe(), env.path().join("probe.wasm")).unwrap();
    env.write(
        "pipeline.toml",
        r#"name = "echo"

[source]
plugin = "rest"
connection = "echo"

[target]
plugin = "probe.wasm"
connection = "echo"
options = { urls = ["/echo"], quote_response = true }

[[entity]]
name = "things"
key = "id"
source_options = { path = "/items" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "seen"
"#,
    );
    let vars = [("HOSTILE_TOKEN", TOKEN)];
    let run = env.cli_with_env(&["run", "pipeline.toml"], &vars);
    assert_eq!(run.status.code(), Some(1), "every record fails: {run:?}");
    // The server did see the token, and echoed it.
    assert!(
        server
            .received()
            .iter()
            .all(|r| r.values("authorization") == [format!("Bearer {TOKEN}")])
    );

    let mut seen = Vec::new();
    let rows = env.cli_with_env(&["errors", "last", "--rows", "--json"], &vars);
    let view: serde_json::Value = serde_json::from_str(&stdout(&rows)).unwrap();
    assert_eq!(view.as_array().unwrap().len(), 2, "{view:#}");
    let message = view[0]["message"].as_str().unwrap();
    assert!(message.contains("Bearer [redacted]"), "{message}");
    seen.extend(rows.stdout);
    for args in [
        vec!["dlq", "list", "--json"],
        vec!["dlq", "show", "1", "--json"],
        vec!["runs", "show", "last", "--phase", "extract", "--json"],
    ] {
        let out = env.cli_with_env(&args, &vars);
        assert!(out.status.success(), "{args:?}: {out:?}");
        seen.extend(out.stdout);
    }
    all_bytes_under(&env.data_dir(), &mut seen);
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("[redacted]"));
    assert!(!seen.contains(TOKEN), "the token leaked into the run log");
}
