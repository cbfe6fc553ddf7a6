use super::{hostile, refused};
use crate::support::TestEnv;

fn refused_bytes(bytes: &[u8]) -> (String, String) {
    let env = TestEnv::new();
    let path = env.path().join("bad.wasm");
    std::fs::write(&path, bytes).unwrap();
    let (code, message) = refused(&format!("{:?}", path.display().to_string()));
    drop(env);
    (code, message)
}

#[test]
fn truncated_component_is_refused_at_load() {
    let bytes = std::fs::read(hostile()).unwrap();
    let (code, message) = refused_bytes(&bytes[..bytes.len() / 2]);
    assert_eq!(code, "invalid-component");
    assert!(
        message.contains("not a valid WebAssembly component"),
        "{message}"
    );
}

#[test]
fn garbage_file_is_refused_at_load() {
    let (code, message) = refused_bytes(b"this is not wasm at all");
    assert_eq!(code, "invalid-component");
    assert!(
        message.contains("not a valid WebAssembly component"),
        "{message}"
    );
}
