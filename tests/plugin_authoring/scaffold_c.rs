//! `sluice plugin new --lang c`: C projects build with clang, wasi-libc and
//! the `wasm-component-ld` rustup ships, import only the contract, pass the
//! same case files as the other languages, and run in a pipeline. The
//! bindings `wit-bindgen c` generated are checked into `sdk/c/bindings`;
//! a test fails when the WIT files they came from changed.
//!
//! The compiler is `clang` (or `SLUICE_CC`), which `.ci/run` installs with
//! apt. Without it a test says so and returns, except under CI (`CI` set),
//! where it fails.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::agreement::slug_transformer;
use super::scaffold::{imports, passes_its_cases, scaffold, slugs_in_a_pipeline};
use crate::support::{TestEnv, copy_dir, stdout, workspace};

/// clang with the wasm32 builtins, or `None` (after saying why) outside CI.
pub(super) fn c_compiler(test: &str) -> Option<String> {
    let cc = std::env::var("SLUICE_CC").unwrap_or_else(|_| "clang".to_owned());
    let builtins = Command::new(&cc)
        .args(["--target=wasm32-wasi", "--print-libgcc-file-name"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if builtins.is_some_and(|path| Path::new(&path).is_file()) {
        return Some(cc);
    }
    let why = "clang, lld, wasi-libc and the wasm32 builtins are needed \
               (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32, as .ci/run does; \
               or set SLUICE_CC)";
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED {test}: {why}");
    None
}

fn only_the_contract(env: &TestEnv, dir: &Path) {
    let imports = imports(env, dir);
    assert!(
        !imports.is_empty() && imports.iter().all(|i| i.starts_with("sluice:plugin/")),
        "without stdio a C plugin imports only the contract: {imports:?}"
    );
}

#[test]
fn a_c_transformer_imports_only_the_contract_and_passes_the_shared_cases() {
    let Some(cc) = c_compiler("a_c_transformer") else {
        return;
    };
    let env = TestEnv::new();
    // Built once for this test and the agreement test (agreement.rs).
    let Some(built) = slug_transformer("c") else {
        return;
    };
    let dir = &built.dir;
    // The same case file as the Rust, Python and JavaScript transformers.
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/transformer-cases.toml")
    );
    passes_its_cases(&env, dir, "slug_c.wasm", 7);
    slugs_in_a_pipeline(&env, &built.wasm);
    only_the_contract(&env, dir);

    // One printf pulls in the WASI adapter: the component then imports
    // `wasi:filesystem` and more, refused before anything runs (in a copy:
    // the built project is shared).
    let dir = env.path().join("slug-c");
    copy_dir(&built.dir, &dir);
    let plugin = dir.join("src/plugin.c");
    let text = std::fs::read_to_string(&plugin).unwrap();
    let with_stdio = text
        .replace(
            "#include <wctype.h>",
            "#include <stdio.h>\n#include <wctype.h>",
        )
        .replace(
            "sluice_log(SLUICE_DEBUG, \"configured\");",
            "printf(\"configured\\n\");",
        );
    assert_ne!(text, with_stdio);
    std::fs::write(&plugin, with_stdio).unwrap();
    let built = Command::new(dir.join("build.sh"))
        .current_dir(&dir)
        .env("CC", &cc)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cases = dir.join("cases.toml").display().to_string();
    let wasm = dir.join("slug_c.wasm").display().to_string();
    let out = env.cli(&["plugin", "test", &wasm, "--cases", &cases]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("wasi:filesystem/preopens")
            && said.contains("capability-denied")
            && said.contains("log through the contract's `log`"),
        "{said}"
    );
}

#[test]
fn a_c_normalizer_imports_only_the_contract_and_passes_its_cases() {
    let Some(cc) = c_compiler("a_c_normalizer") else {
        return;
    };
    let env = TestEnv::new();
    let dir = scaffold(&env, "tidy-c", "c", "normalizer", &[("CC", &cc)]);
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/normalizer-cases.toml")
    );
    passes_its_cases(&env, &dir, "tidy_c.wasm", 4);
    only_the_contract(&env, &dir);

    // With the toolchain that just built the plugins, the doctor finds
    // every piece.
    let out = env.cli(&["plugin", "doctor", "--lang", "c", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["missing"], 0, "{report}");
    let pieces: Vec<&str> = report["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["piece"].as_str().unwrap())
        .collect();
    assert_eq!(
        pieces,
        [
            "clang",
            "wasm-ld",
            "wasi-libc",
            "wasm32 compiler builtins",
            "wasm-component-ld"
        ]
    );
}

/// The checked-in bindings came from today's WIT files: `GENERATED` records
/// their sha256 (`sha256sum` lines); a change to `wit/` without
/// regenerating fails here, with the command that regenerates.
#[test]
fn the_checked_in_c_bindings_match_the_contract() {
    let root = workspace();
    let generated = std::fs::read_to_string(root.join("sdk/c/bindings/GENERATED")).unwrap();
    assert!(generated.contains("wit-bindgen-cli"), "{generated}");
    let mut checked = 0;
    for line in generated.lines().filter(|l| !l.starts_with('#')) {
        let (hash, path) = line.split_once("  ").unwrap();
        let text = std::fs::read(root.join(path)).unwrap();
        let now = format!("{:x}", Sha256::digest(&text));
        assert_eq!(
            now, hash,
            "{path} changed since the C bindings were generated: run sdk/c/regenerate.sh \
             (cargo install --locked wit-bindgen-cli --version 0.61.1 first) and commit sdk/c/bindings"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "{generated}");
    for file in [
        "field_transformer.h",
        "field_transformer.c",
        "field_transformer_component_type.o",
        "normalizer.h",
        "normalizer.c",
        "normalizer_component_type.o",
    ] {
        assert!(root.join("sdk/c/bindings").join(file).is_file(), "{file}");
    }
}
