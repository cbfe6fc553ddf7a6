//! Builds the built-in plugins (and the test plugins) into WebAssembly
//! components and embeds the built-ins into the `sluice` binary.
//!
//! The guest crates are members of this workspace; they are built by a
//! nested `cargo build --target wasm32-wasip2` into `target/wasm/`, a target
//! directory of their own so it never contends with the outer build's lock.
//! The Python plugin is built with `componentize-py` when that tool is
//! installed (the test script installs it).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Built-in plugins: (crate, name in pipelines, world).
const BUILTINS: &[(&str, &str, &str)] = &[
    ("sluice-plugin-trim", "trim", "FieldTransformer"),
    ("sluice-plugin-lowercase", "lowercase", "FieldTransformer"),
    ("sluice-plugin-uppercase", "uppercase", "FieldTransformer"),
    ("sluice-plugin-default", "default", "FieldTransformer"),
    ("sluice-plugin-truncate", "truncate", "FieldTransformer"),
    ("sluice-plugin-email", "email", "FieldTransformer"),
    ("sluice-plugin-phone-e164", "phone-e164", "FieldTransformer"),
    ("sluice-plugin-reshape", "reshape", "Normalizer"),
    ("sluice-plugin-csv-file-source", "csv-file", "Source"),
    ("sluice-plugin-jsonl-file-source", "jsonl-file", "Source"),
    ("sluice-plugin-jsonl-file-target", "jsonl-file", "Target"),
    ("sluice-plugin-crm-source", "crm", "Source"),
    ("sluice-plugin-crm-target", "crm", "Target"),
    ("sluice-plugin-rest-source", "rest", "Source"),
    ("sluice-plugin-rest-target", "rest", "Target"),
];

/// Crates only the tests use.
const TEST_PLUGINS: &[&str] = &[
    "sluice-test-plugins",
    "sluice-test-fs-probe",
    "sluice-test-env-probe",
    "sluice-test-rogue-import",
    "sluice-test-future-contract",
    "sluice-test-frozen-v0-1-0",
    "sluice-test-fault-target",
    "sluice-test-http-probe",
    "sluice-test-forger",
    "sluice-test-rogue-target",
];

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_owned();
    let target_dir = workspace.join("target").join("wasm");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    for watched in ["plugins", "sdk", "wit", "tests/test-plugins", "Cargo.lock"] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo::rerun-if-env-changed=SLUICE_COMPONENTIZE_PY");

    build_rust_plugins(&workspace, &target_dir);
    let wasm_dir = target_dir.join(WASM_TARGET).join("release");

    let mut src =
        String::from("/// Every built-in plugin.\npub static BUILTINS: &[Builtin] = &[\n");
    for (krate, name, kind) in BUILTINS {
        let file = wasm_dir.join(format!("{}.wasm", krate.replace('-', "_")));
        assert!(
            file.is_file(),
            "built-in plugin {krate} was not built: {} is missing",
            file.display()
        );
        writeln!(
            src,
            "    Builtin {{ name: {name:?}, kind: PluginKind::{kind}, bytes: include_bytes!({:?}) }},",
            file.display().to_string()
        )
        .unwrap();
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("builtin_plugins.rs"), src).expect("write builtin_plugins.rs");

    // Paths the tests use to find test plugins and the Python plugin.
    println!(
        "cargo::rustc-env=SLUICE_TEST_PLUGIN_DIR={}",
        wasm_dir.display()
    );
    let python_dir = target_dir.join("python");
    match build_python_plugin(&workspace, &python_dir) {
        Ok(()) => println!(
            "cargo::rustc-env=SLUICE_PYTHON_PLUGIN_DIR={}",
            python_dir.display()
        ),
        Err(why) => {
            println!("cargo::warning=Python plugin not built: {why}");
            println!("cargo::rustc-env=SLUICE_PYTHON_PLUGIN_DIR=");
        }
    }
}

fn build_rust_plugins(workspace: &Path, target_dir: &Path) {
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
        .arg(target_dir);
    for (krate, _, _) in BUILTINS {
        cmd.args(["-p", krate]);
    }
    for krate in TEST_PLUGINS {
        cmd.args(["-p", krate]);
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
    // them small and fast (whole-program optimization, no debug info; the
    // name section stays, so traps still show function names).
    cmd.env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let status = cmd.status().expect("run cargo to build the plugins");
    assert!(
        status.success(),
        "building the plugins for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`)"
    );
}

fn build_python_plugin(workspace: &Path, out_dir: &Path) -> Result<(), String> {
    let tool = env::var("SLUICE_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into());
    let source = workspace.join("plugins").join("titlecase-py");
    let out = out_dir.join("titlecase.wasm");
    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    let newest_input = newest_mtime(&source).max(newest_mtime(&workspace.join("wit")));
    if let (Ok(meta), Some(input)) = (std::fs::metadata(&out), newest_input)
        && meta.modified().is_ok_and(|m| m >= input)
    {
        return Ok(());
    }
    let output = Command::new(&tool)
        .current_dir(workspace)
        .args(["-d", "wit/sluice-plugin@0.1.0", "-w", "field-transformer", "componentize", "app", "-p"])
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("`{tool}` could not be run ({e}); install it with `pip install componentize-py==0.25.1`"))?;
    if !output.status.success() {
        return Err(format!(
            "`{tool}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().ok().and_then(|m| m.modified().ok())
        };
        newest = newest.max(t);
    }
    newest
}
