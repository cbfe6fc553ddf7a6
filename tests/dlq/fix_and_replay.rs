//! A mapping bug sends 500 records to the DLQ; fixing the mapping and
//! replaying loads exactly those 500; a second replay does nothing.

use std::collections::HashSet;

use sluice::model::{DlqStatus, Resolution};
use sluice::runlog::{DlqFilter, StatusFilter};
use sluice::stages::finalize::RunStatus;

use crate::support::{TestEnv, jsonl};

/// The phone mapping lacks `default_region`, so national numbers fail.
const BUGGY: &str = r#"name = "phones"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = { mode = "append" }

[[entity]]
name = "contacts"
key = "id"
source_options = { path = "contacts.jsonl" }
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"

[[entity.field]]
target = "phone"
transform = ["trim", { plugin = "phone-e164" }]
"#;

fn contacts() -> String {
    (0..1000)
        .map(|i| {
            let phone = if i % 2 == 0 {
                format!("(415) 555-{:04}", 2000 + i)
            } else {
                format!("+1 415 555 {:04}", 2000 + i)
            };
            format!(
                "{}\n",
                serde_json::json!({"id": format!("p{i:04}"), "phone": phone})
            )
        })
        .collect()
}

#[test]
fn fixing_the_mapping_and_replaying_loads_exactly_the_failed_records() {
    let env = TestEnv::new();
    env.write("in/contacts.jsonl", &contacts());
    let path = env.write("pipeline.toml", BUGGY);
    let first = env.run(&path);
    assert_eq!(first.status, RunStatus::Partial);
    assert_eq!((first.totals.loaded, first.totals.failed), (500, 500));

    let sluice = env.sluice();
    let open = env.run_log().dlq_entries(&DlqFilter::default()).unwrap();
    assert_eq!(open.len(), 500);
    let entry = &open[0];
    assert_eq!(
        (
            entry.stage.as_str(),
            entry.category.as_str(),
            entry.code.as_str()
        ),
        ("transform", "validation", "invalid-phone")
    );
    assert_eq!(entry.field.as_deref(), Some("phone"));
    assert_eq!(entry.config_hash.len(), "sha256:".len() + 64);
    assert!(
        entry
            .plugin_digests
            .contains_key("transform:contacts.phone#2"),
        "{:?}",
        entry.plugin_digests
    );
    let payload: serde_json::Value =
        serde_json::from_str(entry.payload.as_deref().unwrap()).unwrap();
    assert_eq!(
        payload["phone"].as_str().unwrap().len(),
        "(415) 555-2000".len()
    );

    // A dry run says what would happen and changes nothing.
    let dry = sluice.replay(&DlqFilter::default(), true).unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(
        dry[0].by_stage,
        vec![("contacts".into(), "transform".into(), 500)]
    );
    assert_eq!(dry[0].config_changed, 0);
    assert!(dry[0].run.is_none());

    // Replaying without a fix fails the same records again and keeps them.
    let again = sluice.replay(&DlqFilter::default(), false).unwrap();
    assert_eq!((again[0].resolved, again[0].still_failing), (0, 500));
    let kept = env.run_log().dlq_entries(&DlqFilter::default()).unwrap();
    assert_eq!(kept.len(), 500);
    assert!(kept.iter().all(|e| e.failures == 2));

    // Fix the mapping, replay: exactly those 500 load.
    env.write(
        "pipeline.toml",
        &BUGGY.replace(
            "{ plugin = \"phone-e164\" }",
            "{ plugin = \"phone-e164\", options = { default_region = \"US\" } }",
        ),
    );
    let fixed = sluice.replay(&DlqFilter::default(), false).unwrap();
    assert_eq!(fixed[0].config_changed, 500);
    let run = fixed[0].run.as_ref().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!((run.totals.extracted, run.totals.loaded), (500, 500));
    assert_eq!((fixed[0].resolved, fixed[0].still_failing), (500, 0));
    assert!(
        env.run_log()
            .dlq_entries(&DlqFilter::default())
            .unwrap()
            .is_empty()
    );

    // The target holds every record once.
    let out = jsonl(&env.read("out/contacts.jsonl"));
    assert_eq!(out.len(), 1000);
    let ids: HashSet<_> = out
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1000);
    assert!(
        out.iter()
            .all(|r| r["phone"].as_str().unwrap().starts_with("+1415555"))
    );

    // A second replay finds nothing to do.
    assert!(
        sluice
            .replay(&DlqFilter::default(), false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(jsonl(&env.read("out/contacts.jsonl")).len(), 1000);

    // The replay runs are linked to the run the records failed in.
    let log = env.run_log();
    let runs = log.runs(None, 10).unwrap();
    assert_eq!(runs.len(), 3);
}

#[test]
fn a_later_run_that_loads_a_dead_lettered_record_resolves_its_entry() {
    let env = TestEnv::new();
    env.write(
        "in/contacts.jsonl",
        "{\"id\":\"a\",\"phone\":\"+1 415 555 2671\"}\n{\"id\":\"b\",\"phone\":\"(415) 555-2672\"}\n",
    );
    let path = env.write("pipeline.toml", BUGGY);
    assert_eq!(env.run(&path).totals.failed, 1);
    assert_eq!(
        env.run_log()
            .dlq_entries(&DlqFilter::default())
            .unwrap()
            .len(),
        1
    );

    // The source is corrected and the pipeline simply runs again.
    env.write(
        "in/contacts.jsonl",
        "{\"id\":\"a\",\"phone\":\"+1 415 555 2671\"}\n{\"id\":\"b\",\"phone\":\"+1 415 555 2672\"}\n",
    );
    let second = env.run(&path);
    assert_eq!(second.totals.failed, 0);
    let resolved = env
        .run_log()
        .dlq_entries(&DlqFilter {
            status: StatusFilter::Only(DlqStatus::Resolved),
            ..DlqFilter::default()
        })
        .unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].record_key, "b");
    assert_eq!(resolved[0].resolution, Some(Resolution::Loaded));
    assert_eq!(resolved[0].resolved_by_run, Some(second.run_id));
}
