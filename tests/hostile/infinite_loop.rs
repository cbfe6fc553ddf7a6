use super::{assert_contained, hostile_step, hostile_use, run_step};

#[test]
fn infinite_loop_is_stopped_by_the_wall_clock_deadline() {
    let (env, summary) = run_step(&hostile_step(
        "loop",
        "timeout_ms = 200, fuel_per_call = 1000000000000000, fuel_per_record = 0",
    ));
    let message = assert_contained(&env, &summary, "timeout");
    assert!(message.contains("200 ms"), "{message}");
    // The looping instance was replaced: isolating r07 took fresh ones.
    assert!(hostile_use(&env, &summary).instantiations >= 2);
}
