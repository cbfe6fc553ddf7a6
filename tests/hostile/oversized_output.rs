use super::{assert_contained, hostile_step, run_step};

#[test]
fn oversized_output_is_contained_as_output_too_large() {
    let (env, summary) = run_step(&hostile_step(
        "big-output",
        "output_bytes_per_record = 1024",
    ));
    let message = assert_contained(&env, &summary, "output-too-large");
    assert!(message.contains("more than the"), "{message}");
}
