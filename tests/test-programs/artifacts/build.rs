//! Builds the guest programs the tests load and writes their paths into
//! `$OUT_DIR/artifacts.rs` (included by `src/lib.rs`).
//!
//! - Every crate under `tests/test-plugins/` (found by listing the folder,
//!   so a new test plugin needs no edit here) is built for wasm32-wasip2 by
//!   `sluice-guest-build`, into the same target directory and profile as
//!   the built-in plugins, so their shared dependencies compile once.
//! - The Python plugin (`plugins/titlecase-py`) is built with
//!   componentize-py when that tool is installed (`tests/run.sh` installs
//!   it; `SLUICE_COMPONENTIZE_PY` names it). When it is missing the
//!   constant holds the reason, and only the Python tests fail.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .nth(3)
        .expect("tests/test-programs/artifacts is three levels deep")
        .to_owned();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let test_plugins = workspace.join("tests").join("test-plugins");

    for watched in [
        "tests/test-plugins",
        "plugins/titlecase-py",
        "sdk",
        "wit",
        "Cargo.lock",
    ] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo::rerun-if-env-changed=SLUICE_COMPONENTIZE_PY");

    let packages = test_plugin_packages(&test_plugins);
    let names: Vec<&str> = packages.iter().map(String::as_str).collect();
    let profile = sluice_guest_build::GuestProfile::of_this_build();
    let wasm_dir = sluice_guest_build::build(&workspace, profile, &names);

    let mut src = String::new();
    writeln!(
        src,
        "/// The directory holding every test plugin's component.\npub const TEST_PLUGIN_DIR: &str = {:?};",
        wasm_dir.display().to_string()
    )
    .unwrap();
    for package in &packages {
        let file = sluice_guest_build::component_path(&workspace, profile, package);
        assert!(
            file.is_file(),
            "test plugin {package} was not built: {} is missing",
            file.display()
        );
        writeln!(
            src,
            "/// The component built from the `{package}` crate.\npub const {}: &str = {:?};",
            package.to_uppercase().replace('-', "_"),
            file.display().to_string()
        )
        .unwrap();
    }

    let python_dir = sluice_guest_build::target_dir(&workspace).join("python");
    let python = match build_python_plugin(&workspace, &python_dir) {
        Ok(()) => format!("Ok({:?})", python_dir.display().to_string()),
        Err(why) => {
            println!("cargo::warning=Python plugin not built: {why}");
            format!("Err({why:?})")
        }
    };
    writeln!(
        src,
        "/// The directory holding the Python plugin `titlecase.wasm`, or why it was not built.\npub const PYTHON_PLUGIN_DIR: Result<&str, &str> = {python};"
    )
    .unwrap();
    std::fs::write(out_dir.join("artifacts.rs"), src).expect("write artifacts.rs");
}

/// The package name of every crate under `dir`, sorted.
fn test_plugin_packages(dir: &Path) -> Vec<String> {
    let mut packages = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("list tests/test-plugins")
        .flatten()
    {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = package_name(&text)
            .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
        packages.push(name);
    }
    packages.sort();
    packages
}

/// The `name` of a manifest's `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
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
