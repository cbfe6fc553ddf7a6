//! A version promoted while a run is in progress takes over at a batch
//! boundary: every batch ran on one version, the records before the swap
//! on the old one and after it on the new one, none lost or run twice, and
//! the run log says which version processed which batches.

use std::collections::BTreeSet;

use super::{builtin_file, install, pipeline, run_and_act, variant};
use crate::support::{TestEnv, jsonl, stderr};
use sluice::model::RunStatus;

const RECORDS: usize = 2_000;
const BATCH: usize = 10;

#[test]
fn a_promotion_mid_run_switches_at_a_batch_boundary() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let pipeline = pipeline(&env, "casing", RECORDS, BATCH, 3);

    let summary = run_and_act(&env, &pipeline, 300, || {
        // Another process promotes: the run sees it through the run log.
        let out = env.cli(&["plugin", "promote", &format!("casing@{}", &lower[..19])]);
        assert!(out.status.success(), "{}", stderr(&out));
    });
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.totals.extracted, RECORDS as u64);
    assert_eq!(summary.totals.loaded, RECORDS as u64);

    // Every record is in the target once, processed by exactly one version,
    // the old one first, and no batch mixes them.
    let rows = jsonl(&env.read("out/people.jsonl"));
    assert_eq!(rows.len(), RECORDS);
    let ids: BTreeSet<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), RECORDS, "a record was written twice or lost");
    let mut versions = Vec::new();
    for r in &rows {
        let id = r["id"].as_i64().unwrap();
        let name = r["name"].as_str().unwrap();
        versions.push(if name == format!("MIXED{id}") {
            'U'
        } else if name == format!("mixed{id}") {
            'l'
        } else {
            panic!("record {id} was not processed by exactly one version: {name}");
        });
    }
    let switch = versions
        .iter()
        .position(|v| *v == 'l')
        .expect("the new version ran");
    assert!(switch >= 300, "switched at {switch}, before the promotion");
    assert!(
        versions[switch..].iter().all(|v| *v == 'l'),
        "went back to the old version"
    );
    assert_eq!(
        switch % BATCH,
        0,
        "a batch mixed versions: the switch is at record {switch}"
    );

    // The run log: one stretch of batches per version, adding up.
    let steps = env.run_log().step_versions(summary.run_id).unwrap();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(steps.iter().all(|s| s.role == "transform:people.name#2"));
    assert_eq!(
        (steps[0].digest.as_str(), steps[1].digest.as_str()),
        (upper.as_str(), lower.as_str())
    );
    assert_eq!(steps[0].records, switch as u64);
    assert_eq!(steps[1].records, (RECORDS - switch) as u64);
    assert_eq!(steps[1].first_batch, steps[0].batches);
    assert_eq!(
        steps[0].batches + steps[1].batches,
        (RECORDS / BATCH) as u64
    );
    // The run's plugin row names the version it ended on.
    let uses = env.run_log().plugin_uses(summary.run_id).unwrap();
    let casing = uses
        .iter()
        .find(|u| u.role == "transform:people.name#2")
        .unwrap();
    assert_eq!(casing.digest, lower);
    // `sluice runs show` lists the stretches.
    let out = env.cli(&["runs", "show", &summary.run_id.to_string()]);
    let text = crate::support::stdout(&out);
    assert!(
        text.contains("Plugin versions (swapped during the run)"),
        "{text}"
    );
    assert!(
        text.contains(&upper[7..19]) && text.contains(&lower[7..19]),
        "{text}"
    );
    let out = env.cli(&["runs", "show", &summary.run_id.to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    assert_eq!(v["step_versions"].as_array().unwrap().len(), 2);
}

#[test]
fn a_pinned_step_does_not_follow_promotions() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let pipeline = pipeline(&env, &format!("casing@{upper}"), 400, BATCH, 2);
    let summary = run_and_act(&env, &pipeline, 50, || {
        let out = env.cli(&["plugin", "promote", &format!("casing@{lower}")]);
        assert!(out.status.success(), "{}", stderr(&out));
    });
    assert_eq!(summary.totals.loaded, 400);
    let rows = jsonl(&env.read("out/people.jsonl"));
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("MIXED"))
    );
    assert!(
        env.run_log()
            .step_versions(summary.run_id)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_normalizer_step_swaps_at_a_batch_boundary_too() {
    let env = TestEnv::new();
    let reshape = builtin_file(&env, "reshape");
    let first = install(&env, &variant(&env, &reshape, "one"), "keys");
    let second = install(&env, &variant(&env, &reshape, "two"), "keys");
    assert_ne!(first, second);
    let pipeline = pipeline(&env, "uppercase", 2_000, BATCH, 6);
    let text = std::fs::read_to_string(&pipeline).unwrap().replace(
        "source_options =",
        "normalize = [{ plugin = \"keys\", options = { lowercase_keys = true } }]\nsource_options =",
    );
    std::fs::write(&pipeline, text).unwrap();
    let summary = run_and_act(&env, &pipeline, 200, || {
        let out = env.cli(&["plugin", "promote", &format!("keys@{second}")]);
        assert!(out.status.success(), "{}", stderr(&out));
    });
    assert_eq!(summary.totals.loaded, 2_000);
    let rows = jsonl(&env.read("out/people.jsonl"));
    let ids: BTreeSet<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 2_000);
    let steps = env.run_log().step_versions(summary.run_id).unwrap();
    let digests: Vec<&str> = steps.iter().map(|s| s.digest.as_str()).collect();
    assert_eq!(digests, [first.as_str(), second.as_str()], "{steps:?}");
    assert!(steps.iter().all(|s| s.role == "normalize:people#1"));
    assert_eq!(steps[0].records % BATCH as u64, 0);
    assert_eq!(steps[0].records + steps[1].records, 2_000);
}
