//! A connector cannot override or add to the credentials of its connection:
//! with an API key in `X-Custom-Key`, the connector's own `X-Custom-Key`
//! headers (in any case) and any `Authorization` it sets are dropped, and
//! the server receives the profile's key exactly once.

use crate::support::echo_server::EchoServer;
use crate::support::{TestEnv, http_probe};

const KEY: &str = "real-api-key-7d1c5e";

#[test]
fn a_connector_cannot_override_an_api_key() {
    let server = EchoServer::start(|_| "{}".to_owned());
    let env = TestEnv::new();
    env.write("in/things.jsonl", "{\"id\": \"a\"}\n");
    env.write(
        "connections.toml",
        &format!(
            r#"[api]
base_url = "{}"

[api.auth]
kind = "api-key"
header = "X-Custom-Key"
key = {{ env = "HOSTILE_API_KEY" }}
"#,
            server.base_url()
        ),
    );
    std::fs::copy(http_probe(), env.path().join("probe.wasm")).unwrap();
    env.write(
        "pipeline.toml",
        r#"name = "override"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "probe.wasm"
connection = "api"
options = { urls = ["/check"], headers = [
    ["X-Custom-Key", "forged-1"],
    ["x-custom-KEY", "forged-2"],
    [" X-Custom-Key", "forged-3"],
    ["Authorization", "Bearer forged"],
    ["PROXY-AUTHORIZATION", "Basic Zm9yZ2Vk"],
    ["X-Trace", "kept"],
] }

[[entity]]
name = "things"
key = "id"
source_options = { path = "things.jsonl" }

[[entity.field]]
target = "id"
"#,
    );
    let out = env.cli_with_env(&["run", "pipeline.toml"], &[("HOSTILE_API_KEY", KEY)]);
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}; {out:?}");
    let request = &received[0];
    assert_eq!(
        request.values("x-custom-key"),
        vec![KEY.to_owned()],
        "{request:?}"
    );
    assert!(request.values("authorization").is_empty(), "{request:?}");
    assert!(
        request.values("proxy-authorization").is_empty(),
        "{request:?}"
    );
    assert_eq!(
        request.values("x-trace"),
        vec!["kept".to_owned()],
        "{request:?}"
    );
    assert!(out.status.success(), "{out:?}");
}
