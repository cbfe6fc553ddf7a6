//! Builds guest crates of this workspace into WebAssembly components.
//!
//! Used by build scripts: `host/build.rs` builds the built-in plugins it
//! embeds, and the test-only `sluice-test-programs-artifacts` builds the
//! guest crates the tests load. Both build into the same target directory
//! (`target/wasm/`) with the same profile, so the dependencies the guests
//! share (the SDK, `wit-bindgen`, serde) are compiled once. It is a target
//! directory of its own, so a nested build never contends with the outer
//! build's lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target the guests are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The workspace's guest target directory: `<workspace>/target/wasm`.
pub fn target_dir(workspace: &Path) -> PathBuf {
    workspace.join("target").join("wasm")
}

/// Where the built components land: one `<crate_name>.wasm` per package
/// (dashes become underscores).
pub fn wasm_dir(workspace: &Path) -> PathBuf {
    target_dir(workspace).join(WASM_TARGET).join("release")
}

/// The component a package builds into.
pub fn component_path(workspace: &Path, package: &str) -> PathBuf {
    wasm_dir(workspace).join(format!("{}.wasm", package.replace('-', "_")))
}

/// Builds `packages` (workspace members with `crate-type = ["cdylib"]`) for
/// [`WASM_TARGET`] in one cargo invocation and returns the directory of the
/// components. Panics with a hint when the build fails: this runs in build
/// scripts, where a panic is the error report.
pub fn build(workspace: &Path, packages: &[&str]) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--target-dir",
        ])
        .arg(target_dir(workspace));
    for package in packages {
        cmd.args(["-p", package]);
    }
    // The outer build's flags, wrappers (clippy) and profile settings are for
    // the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_CFG_") {
            cmd.env_remove(key);
        }
    }
    // Plugins ship inside the binary and are compiled at run time: build
    // them optimized, with one codegen unit per crate and no debug info (the
    // name section stays, so traps still show function names). No
    // cross-crate LTO: it re-optimizes the shared dependencies once per
    // plugin, the largest part of building them, for little gain in size.
    cmd.env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let status = cmd.status().expect("run cargo to build the guest crates");
    assert!(
        status.success(),
        "building {packages:?} for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`)"
    );
    wasm_dir(workspace)
}
