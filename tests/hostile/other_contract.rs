use super::{refused, test_component};

#[test]
fn component_for_another_contract_version_is_refused() {
    let step = format!(
        "{:?}",
        test_component("sluice_test_future_contract.wasm")
            .display()
            .to_string()
    );
    let (code, message) = refused(&step);
    assert_eq!(code, "contract-violation");
    assert!(message.contains("sluice:plugin@9.0.0"), "{message}");
    assert!(
        message.contains("this host implements sluice:plugin@0.1.0 and sluice:plugin@0.2.0"),
        "{message}"
    );
}
