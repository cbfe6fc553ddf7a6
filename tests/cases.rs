//! Data-driven cases: every folder in `tests/cases/` holds a `pipeline.toml`
//! with its input under `in/`, the expected target files under
//! `expected/out/`, and the expected run outcome in `expected/run.json`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use sluice::runlog::ErrorFilter;

use crate::support::{TestEnv, copy_dir, jsonl, workspace};

#[test]
fn every_case_produces_its_expected_output() {
    let cases = workspace().join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pipeline.toml").is_file())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases in {}", cases.display());
    for case in names {
        check_case(&case);
    }
}

fn check_case(case: &Path) {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let env = TestEnv::new();
    copy_dir(case, env.path());
    let _ = std::fs::remove_dir_all(env.path().join("out"));
    let summary = env.run(&env.path().join("pipeline.toml"));
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected/run.json")).unwrap())
            .unwrap();

    let t = &summary.totals;
    let got = serde_json::json!({
        "status": summary.status.as_str(),
        "extracted": t.extracted, "loaded": t.loaded, "failed": t.failed, "skipped": t.skipped,
    });
    for key in ["status", "extracted", "loaded", "failed", "skipped"] {
        assert_eq!(got[key], expected[key], "case {name}: {key}");
    }

    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    let got_errors: BTreeSet<(String, String, String)> = errors
        .iter()
        .map(|e| {
            (
                e.record_key.clone().unwrap_or_default(),
                e.code.clone(),
                e.field.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want_errors: BTreeSet<(String, String, String)> = expected["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (s("record"), s("code"), s("field"))
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        got_errors, want_errors,
        "case {name}: errors (record, code, field)"
    );

    let expected_out = case.join("expected/out");
    for entry in std::fs::read_dir(&expected_out).unwrap() {
        let file = entry.unwrap().file_name();
        let want = jsonl(&std::fs::read_to_string(expected_out.join(&file)).unwrap());
        let got = jsonl(&env.read(&format!("out/{}", file.to_string_lossy())));
        assert_eq!(got, want, "case {name}: out/{}", file.to_string_lossy());
    }
}
