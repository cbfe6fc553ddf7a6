use sluice::stages::finalize::RunStatus;

use super::{hostile_step, hostile_use, run_step};

#[test]
fn slow_plugin_within_its_limits_succeeds() {
    let (env, summary) = run_step(&hostile_step("slow", "timeout_ms = 5000"));
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.totals.loaded, 10);
    let used = hostile_use(&env, &summary);
    assert_eq!(used.failures, 0);
    assert!(used.wall_us >= 40_000, "it really was slow: {used:?}");
}
