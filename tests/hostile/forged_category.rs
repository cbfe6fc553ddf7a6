//! A field transformer cannot pause the run by claiming an `auth` error,
//! nor have its error retried by claiming `transient`: categories only
//! connectors may report become `mapping`, with the claim kept in the
//! message, and the run goes on.

use super::{run_step, test_component};
use crate::support::jsonl;
use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

fn forged(category: &str) -> String {
    format!(
        "{{ plugin = {:?}, options = {{ trigger = \"boom\", error = {{ category = \"{category}\", code = \"token-expired\", message = \"the token expired\", retryable = true }} }} }}",
        test_component("sluice_test_forger.wasm")
            .display()
            .to_string()
    )
}

#[test]
fn a_field_transformer_cannot_claim_auth_or_transient() {
    for claimed in ["auth", "transient", "connectivity", "plan-quota"] {
        let (env, summary) = run_step(&forged(claimed));
        assert_eq!(summary.status, RunStatus::Partial, "{claimed}: {summary:?}");
        assert!(summary.status_reason.is_none(), "{claimed}: {summary:?}");
        assert_eq!(summary.totals.loaded, 9, "{claimed}");
        let errors = env
            .run_log()
            .errors(summary.run_id, &ErrorFilter::default())
            .unwrap();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = &errors[0];
        assert_eq!(e.category, "mapping", "{claimed}: {e:#?}");
        assert_eq!(e.code, "token-expired");
        assert!(!e.retryable, "{e:#?}");
        assert!(
            e.message.contains(&format!("reported as `{claimed}`"))
                && e.message.contains("the token expired"),
            "{e:#?}"
        );
        assert_eq!(e.record_key.as_deref(), Some("r07"));
        assert_eq!(jsonl(&env.read("out/records.jsonl")).len(), 9);
    }
    // What a transformer may report is kept.
    let (env, summary) = run_step(&forged("validation"));
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors[0].category, "validation");
    assert_eq!(errors[0].message, "the token expired");
}
