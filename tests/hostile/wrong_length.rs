use super::{assert_contained, hostile_step, run_step};

#[test]
fn wrong_length_is_contained_as_contract_violation() {
    let (env, summary) = run_step(&hostile_step("wrong-length", ""));
    let message = assert_contained(&env, &summary, "contract-violation");
    assert!(message.contains("exactly one per input"), "{message}");
}
