//! Builds guest crates of this workspace into WebAssembly components.
//!
//! Used by build scripts: `host/build.rs` builds the built-in plugins it
//! embeds, and the test-only `sluice-test-programs-artifacts` builds the
//! guest crates the tests load. Both build into the same target directory
//! (`target/wasm/`) with the same profile, so the dependencies the guests
//! share (the SDK, `wit-bindgen`'s runtime, serde) are compiled once. It is
//! a target directory of its own, so a nested build never contends with the
//! outer build's lock.
//!
//! The profile follows the outer build's (see [`GuestProfile`]): a release
//! host embeds plugins built with the `plugin` profile, a debug host
//! (`cargo run`, `cargo test`) plugins built with `plugin-dev`. Each has its
//! own output directory, so `cargo test` and `cargo bench` never overwrite
//! each other's components.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target the guests are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The cargo profile guests are built with, one per kind of host build.
/// Both are defined in the workspace's `Cargo.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestProfile {
    /// `plugin`: optimized for speed (`opt-level = 3`), for release hosts
    /// (`cargo build --release`, `cargo install`, `cargo bench`).
    Release,
    /// `plugin-dev`: optimized for size (`opt-level = "s"`), for debug
    /// hosts: builds faster, and the smaller components compile faster
    /// when the host loads them.
    Dev,
}

impl GuestProfile {
    /// The profile matching the build script's own build: cargo sets
    /// `PROFILE` to `release` for the `release` and `bench` profiles and to
    /// `debug` for `dev` and `test`.
    pub fn of_this_build() -> Self {
        match env::var("PROFILE").as_deref() {
            Ok("release") => Self::Release,
            _ => Self::Dev,
        }
    }

    /// The profile's name in `Cargo.toml` (and its output directory).
    pub fn name(self) -> &'static str {
        match self {
            Self::Release => "plugin",
            Self::Dev => "plugin-dev",
        }
    }
}

/// The workspace's guest target directory: `<workspace>/target/wasm`.
pub fn target_dir(workspace: &Path) -> PathBuf {
    workspace.join("target").join("wasm")
}

/// Where the components built with `profile` land: one
/// `<crate_name>.wasm` per package (dashes become underscores).
pub fn wasm_dir(workspace: &Path, profile: GuestProfile) -> PathBuf {
    target_dir(workspace).join(WASM_TARGET).join(profile.name())
}

/// The component a package builds into with `profile`.
pub fn component_path(workspace: &Path, profile: GuestProfile, package: &str) -> PathBuf {
    wasm_dir(workspace, profile).join(format!("{}.wasm", package.replace('-', "_")))
}

/// Builds `packages` (workspace members with `crate-type = ["cdylib"]`) for
/// [`WASM_TARGET`] with `profile` in one cargo invocation and returns the
/// directory of the components. Panics with a hint when the build fails:
/// this runs in build scripts, where a panic is the error report.
pub fn build(workspace: &Path, profile: GuestProfile, packages: &[&str]) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--profile",
            profile.name(),
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
    let status = cmd.status().expect("run cargo to build the guest crates");
    assert!(
        status.success(),
        "building {packages:?} for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`)"
    );
    wasm_dir(workspace, profile)
}
