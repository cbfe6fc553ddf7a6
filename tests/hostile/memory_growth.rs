use super::{assert_contained, hostile_step, run_step};

#[test]
fn memory_growth_is_contained_as_memory_limit() {
    let (env, summary) = run_step(&hostile_step("alloc", "memory_mb = 32"));
    let message = assert_contained(&env, &summary, "memory-limit");
    assert!(message.contains("32 MiB"), "{message}");
}
