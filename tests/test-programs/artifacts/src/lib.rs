//! Paths of the guest programs the tests load, built by this crate's build
//! script: every crate under `tests/test-plugins/` (for `wasm32-wasip2`)
//! and the Python plugin `plugins/titlecase-py` (with componentize-py).
//!
//! A dev-dependency of the host only, so the product build (`cargo build`,
//! `cargo run`) never compiles a test guest or runs componentize-py
//! (wasmtime's `test-programs` pattern).
//!
//! Generated items:
//! - [`TEST_PLUGIN_DIR`]: the directory holding `<crate_name>.wasm` for
//!   every test plugin crate (dashes become underscores);
//! - one constant per test plugin crate, its package name in
//!   SCREAMING_SNAKE_CASE (`SLUICE_TEST_FAULT_TARGET`), holding the path of
//!   its component;
//! - [`PYTHON_PLUGIN_DIR`]: `Ok(directory holding titlecase.wasm)`, or
//!   `Err(why it was not built)` when componentize-py is missing.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn every_test_plugin_component_exists() {
        assert!(Path::new(super::SLUICE_TEST_PLUGINS).is_file());
        assert!(Path::new(super::SLUICE_TEST_FAULT_TARGET).is_file());
        for entry in std::fs::read_dir(super::TEST_PLUGIN_DIR).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wasm") {
                assert!(std::fs::metadata(&path).unwrap().len() > 0);
            }
        }
    }

    #[test]
    fn python_plugin_is_a_component_when_built() {
        if let Ok(dir) = super::PYTHON_PLUGIN_DIR {
            let bytes = std::fs::read(Path::new(dir).join("titlecase.wasm")).unwrap();
            // A component's preamble: magic, then version 0x0d and layer 1.
            assert_eq!(&bytes[..8], b"\0asm\x0d\0\x01\0");
        }
    }
}
