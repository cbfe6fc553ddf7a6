use super::{assert_contained, hostile_step, run_step};

/// Unbounded recursion overflows either the wasm call stack or the guest's
/// shadow stack in linear memory; both end as a trap, never as a host crash.
#[test]
fn deep_recursion_is_contained_as_trap() {
    let (env, summary) = run_step(&hostile_step("recurse", ""));
    let message = assert_contained(&env, &summary, "trap");
    assert!(
        message.contains("stack") || message.contains("out of bounds"),
        "{message}"
    );
}
