//! Builds the built-in plugins into WebAssembly components and embeds them
//! into the `sluice` binary.
//!
//! The plugin crates are members of this workspace; `sluice-guest-build`
//! builds them with a nested `cargo build --target wasm32-wasip2` into
//! `target/wasm/`. Only the built-ins are built here: the guest programs the
//! tests load (tests/test-plugins, the Python plugin) are built by the
//! test-only `sluice-test-programs-artifacts` crate, so a product build
//! never compiles them.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

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

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_owned();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    for watched in ["plugins", "sdk", "wit", "Cargo.lock"] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    let krates: Vec<&str> = BUILTINS.iter().map(|(krate, _, _)| *krate).collect();
    let profile = sluice_guest_build::GuestProfile::of_this_build();
    sluice_guest_build::build(&workspace, profile, &krates);

    let mut src =
        String::from("/// Every built-in plugin.\npub static BUILTINS: &[Builtin] = &[\n");
    for (krate, name, kind) in BUILTINS {
        let file = sluice_guest_build::component_path(&workspace, profile, krate);
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
}
