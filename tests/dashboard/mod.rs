//! `sluice ui` as a process: the operator's pages over a real run log,
//! their JSON answers, escaping of what plugins and sources hand the host,
//! and the checks on actions (session, form token, origin).

mod browser;
mod dlq_workflow;
mod export_import;
mod jobs_in_daemon;
mod live_progress;
mod plugins_page;
mod review_queue;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header;

use crate::support::TestEnv;

pub const PIPELINE: &str = r#"name = "crm-phones"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append", key_field = "id" }

[[entity]]
name = "contacts"
key = "id"
source_options = { path = "contacts.jsonl" }
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "phone"
transform = ["trim", { plugin = "phone-e164", options = { default_region = "US" } }]
"#;

/// A key a browser would run if the pages did not escape it.
pub const HOSTILE_KEY: &str = "<script>alert(1)</script>";

pub fn contacts() -> String {
    let mut out = String::new();
    for i in 0..20 {
        let phone = if i % 2 == 0 {
            format!("(415) 555-{:04}", 3000 + i)
        } else {
            format!("+1 415 555 {:04}", 3000 + i)
        };
        out.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": format!("c{i:03}"), "phone": phone})
        ));
    }
    out.push_str(&format!(
        "{}\n",
        serde_json::json!({"id": HOSTILE_KEY, "phone": "(415) 555-9999"})
    ));
    out
}

/// A partial run of [`PIPELINE`] without its default region: 11 records
/// (10 national numbers and the hostile key) fail at transform.
pub fn partial_run(env: &TestEnv) {
    env.write("in/contacts.jsonl", &contacts());
    // Without a default region, national numbers cannot be made E.164.
    env.write(
        "pipeline.toml",
        &PIPELINE.replace(", options = { default_region = \"US\" }", ""),
    );
    let out = env.cli(&["run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(3), "a partial run");
}

/// The API token the tests give the dashboard.
pub const TOKEN: &str = "dashboard-test-token-0123456789";

/// A running `sluice ui`.
pub struct Dashboard {
    /// `sluice ui`, when the test started one (not for a daemon's pages).
    child: Option<Child>,
    /// The token to sign in with.
    token: String,
    pub base: String,
    client: Client,
    /// The session cookie, once signed in.
    cookie: Option<String>,
}

impl Dashboard {
    /// Start `sluice ui` on a free port of 127.0.0.1 for `env`'s data
    /// directory.
    pub fn start(env: &TestEnv) -> Dashboard {
        let mut child = env
            .command(&["ui", "--listen", "127.0.0.1:0"])
            .env("SLUICE_API_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("sluice ui printed nothing").unwrap();
        let base = first
            .strip_prefix("Dashboard: ")
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        Dashboard::new(Some(child), base, TOKEN)
    }

    /// The pages a running daemon serves at `base`, signed in with `token`.
    pub fn at(base: &str, token: &str) -> Dashboard {
        Dashboard::new(None, base.trim_end_matches('/').to_owned(), token)
    }

    fn new(child: Option<Child>, base: String, token: &str) -> Dashboard {
        Dashboard {
            child,
            token: token.to_owned(),
            base,
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    fn with_cookie(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.cookie {
            Some(c) => req.header(header::COOKIE, c),
            None => req,
        }
    }

    /// GET a page as a browser would: (status, HTML).
    pub fn page(&self, path: &str) -> (u16, String) {
        let r = self
            .with_cookie(self.client.get(format!("{}{path}", self.base)))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// GET the JSON answer of a page.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header(header::ACCEPT, "application/json")
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        serde_json::from_str(&r.text().unwrap()).unwrap()
    }

    /// POST a form as the dashboard's pages do (same origin, with the
    /// session cookie when signed in); `fields` as given.
    pub fn post(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Response {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .with_cookie(self.client.post(format!("{}{path}", self.base)))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.body(body).send().unwrap()
    }

    /// Sign in with the link `sluice ui` prints; keep the session cookie.
    pub fn sign_in(&mut self) {
        let r = self
            .client
            .get(format!(
                "{}/login?token={}&next=/dlq",
                self.base, self.token
            ))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "sign-in redirects");
        assert_eq!(r.headers()[header::LOCATION], "/dlq");
        let set = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
    }

    /// The form token of the pages (the hidden `csrf` field).
    pub fn csrf(&self) -> String {
        let (_, html) = self.page("/dlq");
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("a signed-in page has a form token");
        let rest = &html[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
