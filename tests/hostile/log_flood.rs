use sluice::stages::finalize::RunStatus;

use super::{hostile_step, hostile_use, run_step};

#[test]
fn log_flood_is_capped_and_the_run_goes_on() {
    let (env, summary) = run_step(&hostile_step("log-flood", "log_lines_per_call = 100"));
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.totals.loaded, 10);
    let used = hostile_use(&env, &summary);
    assert_eq!(used.failures, 0);
    assert_eq!(used.log_lines_dropped, 100_000 - 100, "{used:?}");
}
