use super::{assert_contained, hostile_step, run_step};

#[test]
fn unreachable_trap_is_contained_as_trap() {
    let (env, summary) = run_step(&hostile_step("trap", ""));
    let message = assert_contained(&env, &summary, "trap");
    assert!(message.contains("unreachable"), "{message}");
}
