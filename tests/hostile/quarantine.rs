use sluice::runlog::ErrorFilter;
use sluice::stages::finalize::RunStatus;

use super::{hostile, hostile_use, write_pipeline};
use crate::support::TestEnv;

/// A plugin that traps on every record is quarantined instead of being
/// re-instantiated for every record of the run; its records still fail with
/// a clear reason, and none is lost.
#[test]
fn plugin_failing_everything_is_quarantined() {
    let env = TestEnv::new();
    let step = format!(
        "{{ plugin = {:?}, options = {{ behaviour = \"trap\" }}, limits = {{ quarantine_after_failures = 5, quarantine_failure_percent = 50 }} }}",
        hostile().display().to_string()
    );
    let path = write_pipeline(&env, &step, 300, 20);
    let summary = env.run(&path);
    assert_eq!(summary.status, RunStatus::Failed, "{summary:?}");
    assert_eq!(summary.totals.extracted, 300);
    assert_eq!(summary.totals.failed, 300);
    let used = hostile_use(&env, &summary);
    assert!(
        used.quarantined
            .as_deref()
            .is_some_and(|q| q.contains("quarantined")),
        "{used:?}"
    );
    assert!(
        used.instantiations <= 10,
        "quarantine stopped the re-instantiation: {used:?}"
    );
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), 300);
    assert!(errors.iter().any(|e| e.code == "trap"));
    let quarantined = errors
        .iter()
        .filter(|e| e.code == "plugin-quarantined")
        .count();
    assert!(
        quarantined >= 250,
        "{quarantined} records failed as quarantined"
    );
}
