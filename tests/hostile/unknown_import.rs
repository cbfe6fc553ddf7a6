use super::{refused, test_component};

#[test]
fn import_the_host_does_not_provide_is_refused_at_load() {
    let step = format!(
        "{:?}",
        test_component("sluice_test_rogue_import.wasm")
            .display()
            .to_string()
    );
    let (code, message) = refused(&step);
    assert_eq!(code, "capability-denied");
    assert!(
        message.contains("imports `acme:rogue/exfil@1.0.0`"),
        "{message}"
    );
    assert!(message.contains("does not provide"), "{message}");
}
