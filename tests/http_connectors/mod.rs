//! HTTP connectors end to end against a local CRM simulator on 127.0.0.1:
//! host-mediated HTTP with the connection's credentials, the CRM connector
//! pair, classification from response bodies, retries and the auth pause,
//! the allow-list, and secrets that never reach the run log.

mod allow_list;
mod crm_modes;
mod crm_sync;
mod example;
mod hubspot_spec;
mod rest;
mod secrets;

use sluice_crm_sim::{CrmSim, SimConfig};

use crate::support::TestEnv;

pub const CLIENT_ID: &str = "sluice-e2e-client";
pub const CLIENT_SECRET: &str = "e2e-client-secret-0f9a8b7c6d";

/// A simulator with OAuth client credentials.
pub fn sim() -> CrmSim {
    CrmSim::start(SimConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        ..SimConfig::default()
    })
}

/// `connections.toml` with connection `crm` to `sim`, OAuth client
/// credentials read from the environment, plus `extra` lines.
pub fn connections(sim: &CrmSim, extra: &str) -> String {
    format!(
        r#"[crm]
base_url = "{base}"
allow = ["{base}/oauth/"]
{extra}

[crm.auth]
kind = "oauth2-client-credentials"
token_url = "{base}/oauth/v1/token"
client_id = {{ env = "E2E_CRM_CLIENT_ID" }}
client_secret = {{ env = "E2E_CRM_CLIENT_SECRET" }}
"#,
        base = sim.base_url()
    )
}

/// The environment the credentials come from.
pub const ENV: [(&str, &str); 2] = [
    ("E2E_CRM_CLIENT_ID", CLIENT_ID),
    ("E2E_CRM_CLIENT_SECRET", CLIENT_SECRET),
];

/// A pipeline from `in/contacts.jsonl` into the CRM, upserting by email.
pub fn upsert_pipeline(errors: &str) -> String {
    format!(
        r#"name = "contacts-to-crm"
batch_size = 10

[errors]
{errors}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "crm"
connection = "crm"
options = {{ mode = "upsert", id_property = "email" }}

[[entity]]
name = "contacts"
key = "email"
source_options = {{ path = "contacts.jsonl" }}

[[entity.field]]
target = "email"
transform = ["trim", "lowercase"]
required = true

[[entity.field]]
target = "firstname"
source = "first_name"

[[entity.field]]
target = "lastname"
source = "last_name"
"#
    )
}

/// `n` contacts; those whose index is in `long_names` get a first name the
/// CRM refuses as too long.
pub fn contacts(n: usize, long_names: &[usize]) -> String {
    (0..n)
        .map(|i| {
            let first = if long_names.contains(&i) {
                "X".repeat(150)
            } else {
                format!("First{i}")
            };
            format!(
                "{}\n",
                serde_json::json!({"email": format!(" Person{i}@Example.com "), "first_name": first, "last_name": format!("Last{i}")})
            )
        })
        .collect()
}

/// Write the pipeline, connections and data into a fresh environment.
pub fn setup(sim: &CrmSim, pipeline: &str, extra_connection: &str, records: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", records);
    env.write("connections.toml", &connections(sim, extra_connection));
    env.write("pipeline.toml", pipeline);
    env
}

/// Run `sluice` with the credentials in its environment.
pub fn cli(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.cli_with_env(args, &ENV)
}

/// `(category, code, count)` of the error groups of `run` (a run summary).
pub fn error_groups(env: &TestEnv, run: &serde_json::Value) -> Vec<(String, String, u64)> {
    let out = cli(env, &["errors", &run["run_id"].to_string(), "--json"]);
    let view: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["category"].as_str().unwrap().to_owned(),
                g["code"].as_str().unwrap().to_owned(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect()
}
