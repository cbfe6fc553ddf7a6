use super::{assert_contained, hostile_step, run_step};

#[test]
fn rust_panic_is_contained_as_trap() {
    let (env, summary) = run_step(&hostile_step("panic", ""));
    let message = assert_contained(&env, &summary, "trap");
    assert!(message.contains("panicking on purpose"), "{message}");
}
