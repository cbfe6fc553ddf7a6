//! `sluice plugin new --lang zig`: Zig projects build with zig (0.17, from
//! PyPI's `ziglang`) and the `wasm-component-ld` rustup ships, import only
//! the contract, pass the same case files as the other languages, and run
//! in a pipeline. The Zig SDK sits on the C bindings; their headers,
//! translated by `zig translate-c`, are checked into `sdk/zig/bindings`.
//!
//! zig is `SLUICE_ZIG` (which `tests/run.sh` installs into a private venv)
//! or `zig` on PATH. Without it a test says so and returns, except under CI
//! (`CI` or `SLUICE_REQUIRE_ZIG` set), where it fails.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::agreement::slug_transformer;
use super::scaffold::{imports, passes_its_cases, scaffold, slugs_in_a_pipeline};
use crate::support::{TestEnv, copy_dir, stdout, workspace};

/// The zig version the SDK's translated bindings and the guide are for.
pub(super) const ZIG_VERSION: &str = "0.17.";

/// zig, or `None` (after saying why) outside CI.
pub(super) fn zig(test: &str) -> Option<String> {
    let zig = std::env::var("SLUICE_ZIG").unwrap_or_else(|_| "zig".to_owned());
    let version = Command::new(&zig)
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if version
        .as_deref()
        .is_some_and(|v| v.starts_with(ZIG_VERSION))
    {
        return Some(zig);
    }
    let why = format!(
        "zig {ZIG_VERSION}x is needed (found {}): tests/run.sh installs it \
         (pip install ziglang==0.17.1 into target/zig-tools) and sets SLUICE_ZIG",
        version.as_deref().unwrap_or("none")
    );
    assert!(
        std::env::var_os("CI").is_none() && std::env::var_os("SLUICE_REQUIRE_ZIG").is_none(),
        "{why}"
    );
    eprintln!("SKIPPED {test}: {why}");
    None
}

fn only_the_contract(env: &TestEnv, dir: &Path) {
    let imports = imports(env, dir);
    assert!(
        !imports.is_empty() && imports.iter().all(|i| i.starts_with("sluice:plugin/")),
        "with `pub const panic = sluice.panic;` a Zig plugin imports only the contract: {imports:?}"
    );
}

#[test]
fn a_zig_transformer_imports_only_the_contract_and_passes_the_shared_cases() {
    let Some(zig) = zig("a_zig_transformer") else {
        return;
    };
    let Some(built) = slug_transformer("zig") else {
        return;
    };
    let env = TestEnv::new();
    let dir = &built.dir;
    // The same case file as the Rust, Python, JavaScript and C transformers.
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/transformer-cases.toml")
    );
    passes_its_cases(&env, dir, "slug_zig.wasm", 7);
    slugs_in_a_pipeline(&env, &built.wasm);
    only_the_contract(&env, dir);

    // Without `pub const panic = sluice.panic;` Zig's default panic handler
    // (which prints) pulls in WASI preview1: the component then imports
    // `wasi:filesystem` and more, refused before anything runs.
    let copy = env.path().join("no-panic-handler");
    copy_dir(dir, &copy);
    std::fs::remove_file(copy.join("slug_zig.wasm")).unwrap();
    let plugin = copy.join("src/plugin.zig");
    let text = std::fs::read_to_string(&plugin).unwrap();
    let printing = text.replace("pub const panic = sluice.panic;", "");
    assert_ne!(text, printing);
    std::fs::write(&plugin, printing).unwrap();
    let out = Command::new(copy.join("build.sh"))
        .current_dir(&copy)
        .env("ZIG", &zig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = copy.join("cases.toml").display().to_string();
    let wasm = copy.join("slug_zig.wasm").display().to_string();
    let out = env.cli(&["plugin", "test", &wasm, "--cases", &cases]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("wasi:filesystem/preopens") && said.contains("capability-denied"),
        "{said}"
    );
}

#[test]
fn a_zig_normalizer_imports_only_the_contract_and_passes_its_cases() {
    let Some(zig) = zig("a_zig_normalizer") else {
        return;
    };
    let env = TestEnv::new();
    let dir = scaffold(&env, "tidy-zig", "zig", "normalizer", &[("ZIG", &zig)]);
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/normalizer-cases.toml")
    );
    passes_its_cases(&env, &dir, "tidy_zig.wasm", 4);
    only_the_contract(&env, &dir);

    // With the toolchain that just built the plugin, the doctor finds
    // every piece.
    let out = env.cli_with_env(
        &["plugin", "doctor", "--lang", "zig", "--json"],
        &[("ZIG", &zig)],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["missing"], 0, "{report}");
    let pieces: Vec<&str> = report["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["piece"].as_str().unwrap())
        .collect();
    assert_eq!(pieces, ["zig (0.17)", "wasm-component-ld"]);
    assert!(
        report["pieces"][0]["detail"]
            .as_str()
            .is_some_and(|v| v.starts_with(ZIG_VERSION)),
        "{report}"
    );
}

/// Without zig, the doctor says what is missing and how to get it.
#[test]
fn the_doctor_says_how_to_get_zig() {
    let env = TestEnv::new();
    let empty = env.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env
        .command(&["plugin", "doctor", "--lang", "zig"])
        .env("PATH", &empty)
        .env_remove("ZIG")
        .output()
        .unwrap();
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("MISSING") && said.contains("pip install ziglang==0.17.1"),
        "{said}"
    );

    // PyPI's ziglang without a `zig` on PATH: found through `python3 -m
    // ziglang`, as build.sh finds it.
    let python = empty.join("python3");
    std::fs::write(
        &python,
        "#!/bin/sh\n[ \"$*\" = \"-m ziglang version\" ] && echo 0.17.1\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = env
        .command(&["plugin", "doctor", "--lang", "zig", "--json"])
        .env("PATH", &empty)
        .env_remove("ZIG")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pieces"][0]["present"], true, "{report}");
    assert_eq!(report["pieces"][0]["detail"], "0.17.1", "{report}");
}

/// The checked-in Zig bindings came from today's C headers: `GENERATED`
/// records their sha256; a change to the C bindings without translating
/// again fails here, with the command that does it.
#[test]
fn the_translated_zig_bindings_match_the_c_headers() {
    let root = workspace();
    let generated = std::fs::read_to_string(root.join("sdk/zig/bindings/GENERATED")).unwrap();
    assert!(generated.contains("zig 0.17"), "{generated}");
    let mut checked = 0;
    for line in generated.lines().filter(|l| !l.starts_with('#')) {
        let (hash, path) = line.split_once("  ").unwrap();
        let text = std::fs::read(root.join(path)).unwrap();
        let now = format!("{:x}", Sha256::digest(&text));
        assert_eq!(
            now, hash,
            "{path} changed since the Zig bindings were translated: run sdk/zig/regenerate.sh \
             (pip install ziglang==0.17.1 first) and commit sdk/zig/bindings"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "{generated}");
    for file in ["field_transformer.zig", "normalizer.zig"] {
        assert!(root.join("sdk/zig/bindings").join(file).is_file(), "{file}");
    }
}
