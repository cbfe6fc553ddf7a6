use sluice::stages::finalize::RunStatus;

use super::{assert_contained, hostile, hostile_step, hostile_use, run_step, write_pipeline};
use crate::support::TestEnv;

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let (env, summary) = run_step(&hostile_step(
        "loop",
        "fuel_per_call = 50000000, fuel_per_record = 1000000",
    ));
    let message = assert_contained(&env, &summary, "fuel-exhausted");
    assert!(message.contains("fuel_per_record"), "{message}");
}

/// Legitimate per-record work: fuel scales with the batch, so a large batch
/// gets through with the same per-record allowance that a small one needs,
/// and a per-record allowance that is too small stops every batch.
#[test]
fn fuel_scales_with_batch_size() {
    let step = |fuel_per_record: u64| {
        format!(
            "{{ plugin = {:?}, options = {{ behaviour = \"burn\", burn_iterations = 20000 }}, limits = {{ fuel_per_call = 10000, fuel_per_record = {fuel_per_record} }} }}",
            hostile().display().to_string()
        )
    };
    let env = TestEnv::new();
    let path = write_pipeline(&env, &step(2_000_000), 400, 200);
    let summary = env.run(&path);
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.totals.loaded, 400);
    let used = hostile_use(&env, &summary);
    assert_eq!(used.calls, 2, "two batches of 200, one call each");
    assert!(used.fuel > 400 * 20_000, "the work was metered: {used:?}");

    let env = TestEnv::new();
    let path = write_pipeline(&env, &step(1_000), 400, 200);
    let summary = env.run(&path);
    assert_eq!(summary.status, RunStatus::Failed, "{summary:?}");
    assert_eq!(summary.totals.loaded, 0);
    let used = hostile_use(&env, &summary);
    assert!(
        used.failures_by_kind.contains_key("fuel-exhausted"),
        "{used:?}"
    );
}
