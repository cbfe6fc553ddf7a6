//! The runs page's live progress: server-sent events from `/runs/live`
//! carrying the counts of a run in progress in the daemon.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::daemon::start_slow_job;
use crate::support::TestEnv;

#[test]
fn a_run_in_progress_streams_its_counts() {
    let env = TestEnv::new();
    let daemon = start_slow_job(&env, 400, 150, false, "", 10);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let page = client.get(format!("{}/runs", daemon.base)).send().unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page.text().unwrap().contains("src=\"/static/live.js\""));

    let mut events = client
        .get(format!("{}/runs/live", daemon.base))
        .send()
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let started = Instant::now();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    let loaded = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress in {text}"
        );
        let n = events.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        let found = text
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .filter_map(|runs| {
                let run = runs
                    .as_array()?
                    .iter()
                    .find(|r| r["job"] == "slow")?
                    .clone();
                run["progress"]["loaded"].as_u64()
            })
            .find(|loaded| *loaded >= 10);
        if let Some(l) = found {
            break l;
        }
    };
    assert!(loaded >= 10);
}
