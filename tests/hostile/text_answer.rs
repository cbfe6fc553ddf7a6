//! A broken answer from `transform-text` (the packed text path of 0.2.0
//! field transformers) fails its batch as a contract violation, like a
//! result list of the wrong length: every offset and index the plugin
//! returns is checked before the host uses it.

use super::{assert_contained, run_step, test_component};

#[test]
fn a_broken_text_answer_is_contained_as_contract_violation() {
    for (breakage, expected) in [
        ("past-end", "outside"),
        ("inside-char", "inside a character"),
        ("missing-end", "exactly one per input"),
        ("bad-index", "`others` index"),
    ] {
        let step = format!(
            "{{ plugin = {:?}, options = {{ trigger = \"boom\", text_answer = \"{breakage}\" }} }}",
            test_component("sluice_test_forger.wasm")
                .display()
                .to_string()
        );
        let (env, summary) = run_step(&step);
        let message = assert_contained(&env, &summary, "contract-violation");
        assert!(
            message.contains("`transform-text`") && message.contains(expected),
            "{breakage}: {message}"
        );
    }
}
