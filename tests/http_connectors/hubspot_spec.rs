//! The connectors against HubSpot's published OpenAPI document
//! (`tests/fixtures/hubspot/contacts-v3.json`): the simulator in strict
//! mode refuses, and records, every request that does not conform (method
//! and path, query parameters, the body against the operation's schema).
//! The `crm-contacts` example runs through it in every write mode, the
//! `crm` source reads through it, and so does the `rest` target's HubSpot
//! recipe. Also: the batch `status` and the daily quota, end to end.

use std::sync::Arc;

use serde_json::Value;
use sluice_crm_sim::{CrmSim, Faults, OpenApi, SimConfig};

use super::error_groups;
use crate::support::{TestEnv, copy_dir, jsonl, stdout, workspace};

const VARS: [(&str, &str); 2] = [
    ("CRM_CLIENT_ID", "sluice-sim-client"),
    ("CRM_CLIENT_SECRET", "sluice-sim-secret"),
];

/// A simulator that checks every `/crm/...` request against HubSpot's
/// document.
fn strict_sim(max_custom_properties: Option<usize>) -> CrmSim {
    let spec = OpenApi::load(workspace().join("tests/fixtures/hubspot/contacts-v3.json"))
        .expect("HubSpot's OpenAPI document loads");
    CrmSim::start(SimConfig {
        max_custom_properties,
        openapi: Some(Arc::new(spec)),
        ..SimConfig::default()
    })
}

/// The `crm-contacts` example, pointed at `sim`, with the target's
/// `options` line replaced.
fn example(sim: &CrmSim, target_options: &str) -> TestEnv {
    let env = TestEnv::new();
    copy_dir(&workspace().join("examples/crm-contacts"), env.path());
    let connections = env
        .read("connections.toml")
        .replace("http://127.0.0.1:8089", &sim.base_url());
    env.write("connections.toml", &connections);
    let pipeline = env.read("pipeline.toml").replace(
        r#"options = { mode = "upsert", id_property = "email" }"#,
        target_options,
    );
    assert!(pipeline.contains(target_options));
    env.write("pipeline.toml", &pipeline);
    env
}

fn run(env: &TestEnv, pipeline: &str) -> Value {
    let out = env.cli_with_env(&["run", pipeline, "--json"], &VARS);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn assert_conforms(sim: &CrmSim, what: &str) {
    let violations = sim.spec_violations();
    assert!(
        violations.is_empty(),
        "{what}: requests outside HubSpot's document:\n{}",
        violations.join("\n")
    );
    assert!(
        sim.requests().iter().any(|r| r.path.starts_with("/crm/")),
        "{what}: nothing was sent"
    );
}

#[test]
fn the_crm_example_conforms_to_hubspots_document_in_every_write_mode() {
    for mode in ["upsert", "insert", "create-if-missing"] {
        let sim = strict_sim(Some(1));
        let env = example(
            &sim,
            &format!(r#"options = {{ mode = "{mode}", id_property = "email" }}"#),
        );
        let summary = run(&env, "pipeline.toml");
        assert_conforms(&sim, mode);
        let t = &summary["totals"];
        assert_eq!(t["extracted"], 60, "{mode}: {summary:#}");
        // Every record was answered for: the valid ones written, the
        // others explained (plan limit, invalid values), none left as
        // "unconfirmed".
        assert_eq!(t["loaded"], 51, "{mode}: {summary:#}");
        assert_eq!(sim.contacts().len(), 51, "{mode}");
        let groups = error_groups(&env, &summary);
        assert!(
            groups.iter().all(|(_, code, _)| code != "unconfirmed"),
            "{mode}: {groups:?}"
        );
        // Property values went out as text, `""` where the source had none.
        let batch = sim
            .requests()
            .into_iter()
            .find(|r| r.path.contains("/batch/"))
            .unwrap();
        assert!(!batch.body.contains(":null"), "{mode}: {}", batch.body);
    }

    // Update mode, by the CRM ids the upsert gave.
    let sim = strict_sim(None);
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    run(&env, "pipeline.toml");
    let data: String = sim
        .contacts()
        .iter()
        .map(|c| {
            format!(
                "{}\n",
                serde_json::json!({"crm_id": c.id, "email": c.properties["email"], "first_name": "Renamed"})
            )
        })
        .collect();
    env.write("data/updates.jsonl", &data);
    env.write(
        "update.toml",
        r#"name = "crm-update"
batch_size = 25

[source]
plugin = "jsonl-file"
dir = "data"

[target]
plugin = "crm"
connection = "crm"
options = { mode = "update" }

[[entity]]
name = "contacts"
key = "crm_id"
source_options = { path = "updates.jsonl" }

[[entity.field]]
target = "id"
source = "crm_id"

[[entity.field]]
target = "firstname"
source = "first_name"
"#,
    );
    sim.clear_requests();
    let summary = run(&env, "update.toml");
    assert_conforms(&sim, "update");
    assert_eq!(summary["status"], "succeeded", "{summary:#}");
    assert!(
        sim.contacts()
            .iter()
            .all(|c| c.properties["firstname"] == "Renamed")
    );
}

#[test]
fn the_crm_source_reads_within_hubspots_document() {
    let sim = strict_sim(None);
    // Seed through the example (upsert), then read everything back, then
    // only what changed.
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    run(&env, "pipeline.toml");
    let written = sim.contacts().len();
    env.write(
        "export.toml",
        r#"name = "crm-export"

[source]
plugin = "crm"
connection = "crm"
options = { properties = ["email", "firstname"], page_size = 7 }

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
"#,
    );
    sim.clear_requests();
    let first = run(&env, "export.toml");
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(first["totals"]["extracted"], written as u64);
    assert_eq!(jsonl(&env.read("out/contacts.jsonl")).len(), written);
    // The paging tokens went back as HubSpot handed them out.
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.contains("after=") && r.path.contains("%3D")),
        "{:?}",
        sim.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let second = run(&env, "export.toml");
    assert_eq!(second["totals"]["extracted"], 0, "{second:#}");
    assert_conforms(&sim, "crm source");
}

#[test]
fn the_rest_recipe_for_hubspot_conforms_to_its_document() {
    let sim = strict_sim(None);
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    let pipeline = env.read("pipeline.toml").replace(
        "plugin = \"crm\"\nconnection = \"crm\"\noptions = { mode = \"upsert\", id_property = \"email\" }",
        r#"plugin = "rest"
connection = "crm"
options = { mode = "insert", body = { record_at = "/properties", template = { associations = [] }, text_values = true }, batch = { path = "/crm/v3/objects/contacts/batch/create", size = 25, trace = "objectWriteTraceId", index = "/objectWriteTraceId", error_index = "/context/objectWriteTraceId/0" } }"#,
    );
    // The example's custom properties would need creating in HubSpot
    // first; this run writes the standard ones.
    assert!(pipeline.contains("plugin = \"rest\""), "{pipeline}");
    let pipeline = pipeline
        .replace("target = \"plan_tier\"", "target = \"company\"")
        .replace("target = \"region\"", "target = \"jobtitle\"");
    env.write("rest.toml", &pipeline);
    let summary = run(&env, "rest.toml");
    assert_conforms(&sim, "rest recipe");
    assert_eq!(summary["totals"]["extracted"], 60, "{summary:#}");
    let loaded = summary["totals"]["loaded"].as_u64().unwrap();
    assert_eq!(sim.contacts().len() as u64, loaded);
    // The refused records are explained one by one, each with its own error.
    let groups = error_groups(&env, &summary);
    assert!(
        groups
            .iter()
            .all(|(category, _, _)| category == "validation"),
        "{groups:?}"
    );
    assert_eq!(
        groups.iter().map(|(_, _, n)| n).sum::<u64>() + loaded,
        60,
        "{groups:?}"
    );
}

#[test]
fn a_canceled_batch_is_retried_and_the_daily_limit_is_not() {
    let sim = strict_sim(Some(1));
    sim.set_faults(Faults {
        cancel_batch_every: Some(2),
        ..Faults::default()
    });
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    let summary = run(&env, "pipeline.toml");
    // The canceled batches were not counted as written: retried, they got
    // through.
    assert_eq!(summary["totals"]["loaded"], 51, "{summary:#}");
    assert_eq!(sim.contacts().len(), 51);
    assert!(
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/batch/upsert"))
            .count()
            > 3
    );

    let sim = strict_sim(Some(1));
    sim.set_faults(Faults {
        rate_limit_every: Some(1),
        rate_limit_policy: Some("DAILY".into()),
        ..Faults::default()
    });
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    let summary = run(&env, "pipeline.toml");
    assert_eq!(summary["totals"]["loaded"], 0, "{summary:#}");
    let upserts = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/batch/upsert"))
        .count();
    // At most one request per batch of 25: the daily quota is not retried
    // (the example's policy allows five attempts).
    assert!((1..=3).contains(&upserts), "{upserts}: {summary:#}");
    let groups = error_groups(&env, &summary);
    assert!(
        groups
            .iter()
            .any(|(category, code, _)| category == "plan-quota" && code == "daily-limit"),
        "{groups:?}"
    );
    assert!(
        groups.iter().all(|(_, code, _)| code != "rate-limited"),
        "{groups:?}"
    );
}

#[test]
fn captured_http_names_the_method() {
    let sim = strict_sim(Some(1));
    let env = example(
        &sim,
        r#"options = { mode = "upsert", id_property = "email" }"#,
    );
    let out = env.cli_with_env(&["run", "pipeline.toml", "--capture-http", "--json"], &VARS);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let http = env.cli_with_env(
        &[
            "runs",
            "show",
            &summary["run_id"].to_string(),
            "--phase",
            "http",
            "--json",
        ],
        &VARS,
    );
    let text = stdout(&http);
    assert!(text.contains("POST"), "{text:.2000}");
    assert!(!text.contains("METHOD::"), "{text:.2000}");
}
