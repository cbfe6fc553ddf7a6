//! The CRM connector pair's reads and write modes against the simulator:
//! paginated and incremental reads, duplicates on insert, deleted records
//! on update, and create-if-missing never overwriting.

use serde_json::{Value, json};
use sluice_crm_sim::{CrmSim, SimConfig};

use super::error_groups;
use crate::support::{TestEnv, jsonl, stdout};

const API_KEY: &str = "e2e-private-app-key-5d4c3b2a";

fn sim(seed: Vec<Value>) -> CrmSim {
    CrmSim::start(SimConfig {
        api_key: Some(API_KEY.into()),
        seed_contacts: seed
            .into_iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect(),
        ..SimConfig::default()
    })
}

fn connections(sim: &CrmSim) -> String {
    format!(
        "[crm]\nbase_url = \"{}\"\n\n[crm.auth]\nkind = \"api-key\"\nheader = \"X-Api-Key\"\nkey = {{ env = \"E2E_CRM_API_KEY\" }}\n",
        sim.base_url()
    )
}

fn run(env: &TestEnv) -> Value {
    let out = env.cli_with_env(
        &["run", "pipeline.toml", "--json"],
        &[("E2E_CRM_API_KEY", API_KEY)],
    );
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// Call the CRM directly, as another system would.
fn crm(sim: &CrmSim, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::blocking::Client::new();
    let mut request = client
        .request(method, format!("{}{path}", sim.base_url()))
        .header("X-Api-Key", API_KEY);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    serde_json::from_str(&response.text().unwrap()).unwrap_or(Value::Null)
}

fn person(i: usize) -> Value {
    json!({"email": format!("p{i}@example.com"), "firstname": format!("P{i}")})
}

#[test]
fn reads_every_contact_across_pages_then_only_what_changed() {
    let sim = sim((0..250).map(person).collect());
    let env = TestEnv::new();
    env.write("connections.toml", &connections(&sim));
    env.write(
        "pipeline.toml",
        r#"name = "crm-export"

[source]
plugin = "crm"
connection = "crm"
options = { properties = ["email", "firstname"] }

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append", key_field = "id" }

[[entity]]
name = "contacts"
key = "id"
incremental = true
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "email"

[[entity.field]]
target = "firstname"
"#,
    );
    let first = run(&env);
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(first["totals"]["extracted"], 250);
    let out = jsonl(&env.read("out/contacts.jsonl"));
    assert_eq!(out.len(), 250);
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/crm/v3/objects/contacts"))
        .count();
    assert!(pages >= 3, "read in pages of at most 100: {pages} requests");

    // Three contacts change in the CRM; the next run reads just those.
    crm(
        &sim,
        reqwest::Method::POST,
        "/crm/v3/objects/contacts/batch/upsert",
        Some(json!({"inputs": (0..3).map(|i| json!({
            "idProperty": "email", "id": format!("p{}@example.com", i * 50),
            "properties": {"firstname": format!("Changed{i}")}
        })).collect::<Vec<_>>()})),
    );
    let second = run(&env);
    assert_eq!(second["totals"]["extracted"], 3, "{second:#}");
    let third = run(&env);
    assert_eq!(third["totals"]["extracted"], 0, "{third:#}");
}

fn write_pipeline(mode: &str) -> String {
    format!(
        r#"name = "crm-{mode}"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "crm"
connection = "crm"
options = {{ mode = "{mode}", id_property = "email" }}

[[entity]]
name = "contacts"
key = "email"
source_options = {{ path = "contacts.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "email"

[[entity.field]]
target = "firstname"
"#
    )
}

fn records(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn inserting_existing_contacts_reports_duplicates() {
    let sim = sim(Vec::new());
    let env = TestEnv::new();
    env.write("connections.toml", &connections(&sim));
    env.write("pipeline.toml", &write_pipeline("insert"));
    env.write(
        "in/contacts.jsonl",
        &records(&(0..5).map(person).collect::<Vec<_>>()),
    );
    assert_eq!(run(&env)["totals"]["loaded"], 5);
    let again = run(&env);
    assert_eq!(again["totals"]["failed"], 5);
    assert_eq!(
        error_groups(&env, &again),
        vec![("correlation".into(), "duplicate".into(), 5)]
    );
    assert_eq!(sim.contacts().len(), 5);
}

#[test]
fn updating_a_deleted_contact_is_not_found() {
    let sim = sim((0..3).map(person).collect());
    let ids: Vec<String> = sim.contacts().iter().map(|c| c.id.clone()).collect();
    crm(
        &sim,
        reqwest::Method::DELETE,
        &format!("/crm/v3/objects/contacts/{}", ids[1]),
        None,
    );
    let env = TestEnv::new();
    env.write("connections.toml", &connections(&sim));
    env.write("pipeline.toml", &write_pipeline("update"));
    let updates: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"id": id, "email": format!("p{i}@example.com"), "firstname": "Updated"}))
        .collect();
    env.write("in/contacts.jsonl", &records(&updates));
    let summary = run(&env);
    assert_eq!(summary["totals"]["loaded"], 2, "{summary:#}");
    assert_eq!(
        error_groups(&env, &summary),
        vec![("correlation".into(), "not-found".into(), 1)]
    );
}

#[test]
fn create_if_missing_never_overwrites() {
    let sim = sim(vec![
        json!({"email": "a@example.com", "firstname": "Original"}),
    ]);
    let env = TestEnv::new();
    env.write("connections.toml", &connections(&sim));
    env.write("pipeline.toml", &write_pipeline("create-if-missing"));
    env.write(
        "in/contacts.jsonl",
        &records(&[
            json!({"email": "a@example.com", "firstname": "New"}),
            json!({"email": "b@example.com", "firstname": "Bea"}),
        ]),
    );
    let summary = run(&env);
    assert_eq!(summary["status"], "succeeded", "{summary:#}");
    assert_eq!(summary["totals"]["loaded"], 2);
    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 2);
    let a = contacts
        .iter()
        .find(|c| c.properties["email"] == "a@example.com")
        .unwrap();
    assert_eq!(a.properties["firstname"], "Original");
    let response = stdout(&env.cli(&["runs", "show", "last", "--phase", "response", "--json"]));
    assert!(response.contains("\"unchanged\""), "{response}");
}
