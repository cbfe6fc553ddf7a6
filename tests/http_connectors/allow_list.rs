//! A connector reaching for a host outside its connection's allow-list gets
//! `capability-denied`, and the request never leaves the machine.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use super::{ENV, connections, sim};
use crate::support::{TestEnv, http_probe, stdout};

#[test]
fn requests_outside_the_allow_list_never_leave() {
    let sim = sim();
    // Somewhere the probe would like to send data.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let url = format!("http://{}/exfiltrate", elsewhere.local_addr().unwrap());

    let env = TestEnv::new();
    env.write("in/contacts.jsonl", "{\"email\":\"a@example.com\"}\n");
    env.write("connections.toml", &connections(&sim, ""));
    std::fs::copy(http_probe(), env.path().join("probe.wasm")).unwrap();
    env.write(
        "pipeline.toml",
        &format!(
            r#"name = "probe"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "probe.wasm"
connection = "crm"
options = {{ urls = ["{url}", "/crm/v3/objects/contacts?limit=1"] }}

[[entity]]
name = "contacts"
key = "email"
source_options = {{ path = "contacts.jsonl" }}

[[entity.field]]
target = "email"
"#
        ),
    );
    let out = env.cli_with_env(&["run", "pipeline.toml", "--json"], &ENV);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let view: Value = serde_json::from_str(&stdout(&env.cli(&[
        "errors",
        &summary["run_id"].to_string(),
        "--rows",
        "--json",
    ])))
    .unwrap();
    let row = &view[0];
    assert_eq!(row["code"], "capability-denied", "{view:#}");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("not on the allow-list"),
        "{view:#}"
    );

    std::thread::sleep(Duration::from_millis(50));
    assert!(
        elsewhere.accept().is_err(),
        "a connection reached the host outside the allow-list"
    );
    // The allowed URL did reach the CRM, with the host's credentials.
    let reached: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/crm/"))
        .collect();
    assert_eq!(reached.len(), 1);
    assert!(
        reached[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
}
