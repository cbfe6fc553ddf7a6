//! A result list too large for the host to copy out of the plugin (4
//! million results, past wasmtime's 128 MiB per-call copy budget) is
//! contained as `output-too-large`, with a hint about output, not as a
//! `trap` that blames a crash.

use super::{assert_contained, run_step, test_component};

#[test]
fn an_oversized_result_list_is_output_too_large() {
    let step = format!(
        "{{ plugin = {:?}, options = {{ trigger = \"boom\", extra_results = 4000000 }}, limits = {{ memory_mb = 1024 }} }}",
        test_component("sluice_test_forger.wasm")
            .display()
            .to_string()
    );
    let (env, summary) = run_step(&step);
    let message = assert_contained(&env, &summary, "output-too-large");
    assert!(
        message.contains("more data than the host copies"),
        "{message}"
    );
}
