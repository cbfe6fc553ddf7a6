//! The Rust SDK is a package of its own: its copy of the WIT contract is the
//! repository's, and `cargo package` takes everything it builds from.

use std::process::Command;

use crate::support::workspace;

#[test]
fn the_rust_sdk_carries_the_current_contract() {
    for file in ["types.wit", "worlds.wit"] {
        let canonical = workspace().join("wit/sluice-plugin@0.2.0").join(file);
        let copy = workspace()
            .join("sdk/rust/wit/sluice-plugin@0.2.0")
            .join(file);
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            std::fs::read_to_string(&canonical).unwrap(),
            "{} differs from {}: copy the contract into the SDK",
            copy.display(),
            canonical.display()
        );
    }
}

#[test]
fn the_rust_sdk_packages_with_its_wit_and_readme() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "package",
            "-p",
            "sluice-sdk",
            "--list",
            "--allow-dirty",
            "--offline",
        ])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "README.md",
        "src/lib.rs",
        "src/bindings.rs",
        "wit/sluice-plugin@0.2.0/types.wit",
        "wit/sluice-plugin@0.2.0/worlds.wit",
    ] {
        assert!(
            listed.lines().any(|l| l == file),
            "{file} missing: {listed}"
        );
    }
}
