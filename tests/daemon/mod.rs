//! `sluice daemon` as a process: jobs triggered and scheduled over its HTTP
//! API on 127.0.0.1, pause and resume, reloads, and stop signals.

mod catch_up_after_restart;
mod dlq_replay_api;
mod overlap_cancel;
mod pause_resume;
mod reload_broken_file;
mod second_signal;
mod sigterm_mid_run;
mod test_clock_schedules;
mod trigger_records_a_run;
mod watch_reloads_on_change;
mod webhook_late_while_queued;
mod webhook_missed_on_overlap;
mod webhook_plugin_rolled_back;
mod webhook_resumes_after_restart;
mod webhook_retries_exhausted;
pub(crate) mod webhook_run_events;
mod webhooks_test_command;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{TestEnv, test_plugin};

/// The API token the tests give the daemon.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A running `sluice daemon`.
pub struct Daemon {
    pub child: Child,
    pub base: String,
    client: reqwest::blocking::Client,
    /// Its standard error (logs), shown if the test fails.
    log: std::path::PathBuf,
}

impl Daemon {
    /// Start `sluice daemon` for the project in `env`'s directory, on a
    /// free port of 127.0.0.1, and wait until it listens.
    pub fn start(env: &TestEnv) -> Daemon {
        Daemon::start_with(env, &[])
    }

    /// [`Daemon::start`] with more environment variables (a webhook's
    /// secret, the test clock's file).
    pub fn start_with(env: &TestEnv, vars: &[(&str, &str)]) -> Daemon {
        let log = env.path().join(format!("daemon-{}.log", fastrand::u32(..)));
        let mut command = env.command(&["daemon", "--project", ".", "--listen", "127.0.0.1:0"]);
        command.envs(vars.iter().copied());
        let mut child = command
            .env("SLUICE_API_TOKEN", TOKEN)
            .env("RUST_LOG", "info,cranelift=warn,wasmtime=warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let Some(Ok(first)) = lines.next() else {
            panic!(
                "the daemon printed nothing; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let base = first
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        // Keep draining its standard output.
        std::thread::spawn(move || for _ in lines {});
        Daemon {
            child,
            base,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            log,
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            serde_json::from_str(&r.text().unwrap()).unwrap(),
        )
    }

    /// GET naming the daemon as `host` in the `Host` header.
    pub fn get_as_host(&self, path: &str, host: &str) -> u16 {
        self.client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::HOST, host)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// POST with the daemon's token.
    pub fn post(&self, path: &str) -> (u16, Value) {
        self.post_with(path, Some(TOKEN))
    }

    pub fn post_with(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().unwrap();
        (
            r.status().as_u16(),
            serde_json::from_str(&r.text().unwrap()).unwrap(),
        )
    }

    /// POST `body` as JSON, with `token` when given.
    pub fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().unwrap();
        (
            r.status().as_u16(),
            serde_json::from_str(&r.text().unwrap()).unwrap(),
        )
    }

    /// Send a signal (`TERM`, `HUP`…) to the daemon.
    pub fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Wait for the daemon to exit; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < within,
                "the daemon did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The runs the daemon recorded for `job`, newest first.
    pub fn runs(&self, job: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/runs?job={job}"));
        assert_eq!(status, 200, "{body}");
        body["runs"].as_array().unwrap().clone()
    }

    /// Wait until `job` has `n` finished runs; them, newest first.
    pub fn wait_runs(&self, job: &str, n: usize, within: Duration) -> Vec<Value> {
        wait_for(within, &format!("{n} run(s) of `{job}`"), || {
            let runs = self.runs(job);
            (runs.len() >= n).then_some(runs)
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "daemon log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Poll `f` until it returns something.
pub fn wait_for<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `n` contacts with valid emails, as JSON Lines.
pub fn contacts(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": format!("c{i:04}"), "email": format!(" c{i}@example.com ")})
            )
        })
        .collect()
}

/// One job, `slow`, copying `records` contacts through
/// [`pipeline`]`("slow", …)` at `slow_ms` per batch, with `job_extra` added
/// to its `[[job]]` table: the daemon started, the job triggered, and at
/// least `loaded` records loaded.
pub fn start_slow_job(
    env: &TestEnv,
    records: usize,
    slow_ms: u32,
    incremental: bool,
    job_extra: &str,
    loaded: u64,
) -> Daemon {
    env.write("in/contacts.jsonl", &contacts(records));
    env.write(
        "p.toml",
        &pipeline(
            "slow",
            "contacts.jsonl",
            "out.jsonl",
            Some(slow_ms),
            incremental,
        ),
    );
    env.write(
        "sluice.toml",
        &format!("[[job]]\nname = \"slow\"\npipeline = \"p.toml\"\n{job_extra}"),
    );
    let daemon = Daemon::start(env);
    assert_eq!(daemon.post("/v1/jobs/slow/trigger").0, 202);
    wait_for(Duration::from_secs(120), "records loaded", || {
        let (_, runs) = daemon.get("/v1/runs?job=slow");
        let so_far = runs["active"][0]["progress"]["loaded"]
            .as_u64()
            .unwrap_or(0);
        (so_far >= loaded).then_some(())
    });
    daemon
}

/// A pipeline `name` reading `in/<input>` and appending to `out/<output>`
/// (idempotent by `id`); `slow_ms` per batch of 10 when set.
pub fn pipeline(
    name: &str,
    input: &str,
    output: &str,
    slow_ms: Option<u32>,
    incremental: bool,
) -> String {
    let slow = slow_ms
        .map(|ms| {
            format!(
                "transform = [{{ plugin = {:?}, options = {{ behaviour = \"slow\", slow_ms = {ms} }} }}]",
                test_plugin().display().to_string()
            )
        })
        .unwrap_or_default();
    format!(
        r#"name = "{name}"
batch_size = 10

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = {{ mode = "append", key_field = "id" }}

[[entity]]
name = "contacts"
key = "id"
incremental = {incremental}
source_options = {{ path = "{input}" }}
target_options = {{ path = "{output}" }}

[[entity.field]]
target = "id"
{slow}

[[entity.field]]
target = "email"
transform = ["trim", "email"]
"#
    )
}

/// The ids in a JSON Lines target file (empty when it does not exist).
pub fn ids(env: &TestEnv, rel: &str) -> Vec<String> {
    std::fs::read_to_string(env.path().join(rel))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}
