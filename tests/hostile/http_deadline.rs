//! A connector's `http` request waits no longer than the plugin's call
//! deadline, even when the connection allows a request 30 s.

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use sluice::runlog::ErrorFilter;

use crate::support::{TestEnv, http_probe};

#[test]
fn a_request_to_a_server_that_never_answers_ends_at_the_deadline() {
    // A server that accepts and then says nothing.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = server.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in server.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = stream.read(&mut buf);
            held.push(stream);
        }
    });

    let env = TestEnv::new();
    env.write("in/contacts.jsonl", "{\"email\":\"a@example.com\"}\n");
    env.write(
        "connections.toml",
        &format!("[slow]\nbase_url = \"http://{address}/\"\n"),
    );
    std::fs::copy(http_probe(), env.path().join("probe.wasm")).unwrap();
    let path = env.write(
        "pipeline.toml",
        r#"name = "slow"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "probe.wasm"
connection = "slow"
options = { urls = ["/never"] }
limits = { timeout_ms = 1000 }

[[entity]]
name = "contacts"
key = "email"
source_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "email"
"#,
    );
    let started = Instant::now();
    let summary = env.run(&path);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the run took {took:?}: the request waited for the connection's 30 s timeout"
    );
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].code, "timeout", "{errors:#?}");
}
