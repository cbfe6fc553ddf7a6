//! The `examples/crm-contacts` pipeline against the simulator: every failure
//! the CRM produced is explained in the categories an operator uses.

use serde_json::Value;
use sluice_crm_sim::{CrmSim, Faults, SimConfig};

use crate::support::{TestEnv, copy_dir, stdout, workspace};

#[test]
fn the_crm_example_explains_every_failure() {
    let sim = CrmSim::start(SimConfig {
        max_custom_properties: Some(1),
        ..SimConfig::default()
    });
    sim.set_faults(Faults {
        rate_limit_every: Some(2),
        retry_after_secs: 0,
        ..Faults::default()
    });
    let env = TestEnv::new();
    copy_dir(&workspace().join("examples/crm-contacts"), env.path());
    let connections = env
        .read("connections.toml")
        .replace("http://127.0.0.1:8089", &sim.base_url());
    env.write("connections.toml", &connections);
    let vars = [
        ("CRM_CLIENT_ID", "sluice-sim-client"),
        ("CRM_CLIENT_SECRET", "sluice-sim-secret"),
    ];
    let out = env.cli_with_env(&["run", "pipeline.toml", "--json"], &vars);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["status"], "partial", "{summary:#}");
    let t = &summary["totals"];
    assert_eq!(t["extracted"], 60);
    assert_eq!(t["failed"], 9, "{summary:#}");
    assert_eq!(t["loaded"], 51);
    assert_eq!(sim.contacts().len(), 51);

    let view: Value = serde_json::from_str(&stdout(&env.cli(&[
        "errors",
        &summary["run_id"].to_string(),
        "--json",
    ])))
    .unwrap();
    let groups: Vec<(String, String, Option<String>, u64)> = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["category"].as_str().unwrap().to_owned(),
                g["code"].as_str().unwrap().to_owned(),
                g["field"].as_str().map(str::to_owned),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let has = |category: &str, field: &str, count: u64| {
        groups
            .iter()
            .any(|(c, _, f, n)| c == category && f.as_deref() == Some(field) && *n == count)
    };
    assert!(has("plan-quota", "region", 3), "{groups:?}");
    assert!(has("validation", "firstname", 3), "{groups:?}");
    assert!(has("validation", "lifecyclestage", 2), "{groups:?}");
    assert!(has("validation", "email", 1), "{groups:?}");
    assert_eq!(groups.len(), 4, "{groups:?}");
    // The plan limit comes first: someone must upgrade the plan.
    assert_eq!(groups[0].0, "plan-quota");
    // Rate limits were retried and all got through.
    let retried = view["retried"].as_array().unwrap();
    assert!(retried.iter().all(|r| r["failed"] == 0), "{view:#}");
    assert!(!retried.is_empty());
}
