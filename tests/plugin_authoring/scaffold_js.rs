//! `sluice plugin new --lang js|ts`: JavaScript and TypeScript projects build
//! with componentize-js (and tsc), import only the contract, pass the same
//! case files as the Rust and Python templates, and run in a pipeline.
//!
//! The tools come from `SLUICE_COMPONENTIZE_JS` and `SLUICE_TSC` (which
//! `tests/run.sh` installs with npm), or from PATH. Without them a test says
//! so and returns, except under CI (`CI` set), where it fails.

use std::path::Path;
use std::process::Command;

use super::agreement::slug_transformer;
use super::scaffold::{imports, passes_its_cases, scaffold, slugs_in_a_pipeline};
use crate::support::{TestEnv, copy_dir, stdout};

/// The program `var` names, or `name` on PATH, if it answers `--version`.
fn tool(var: &str, name: &str) -> Option<String> {
    let program = std::env::var(var).unwrap_or_else(|_| name.to_owned());
    Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then_some(program)
}

/// componentize-js and tsc, or `None` (after saying why) outside CI.
pub(super) fn js_tools(test: &str) -> Option<(String, String)> {
    let found = (
        tool("SLUICE_COMPONENTIZE_JS", "componentize-js"),
        tool("SLUICE_TSC", "tsc"),
    );
    match found {
        (Some(componentize), Some(tsc)) => Some((componentize, tsc)),
        _ => {
            let why = "componentize-js 0.23 and tsc are needed (tests/run.sh installs them with npm; \
                       or set SLUICE_COMPONENTIZE_JS and SLUICE_TSC)";
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

pub(super) fn build_env(tools: &(String, String)) -> [(&'static str, &str); 2] {
    [("COMPONENTIZE_JS", &tools.0), ("TSC", &tools.1)]
}

fn only_the_contract(env: &TestEnv, dir: &Path) {
    let imports = imports(env, dir);
    assert!(
        imports.iter().all(|i| i.starts_with("sluice:plugin/")),
        "built with `-d stdio random clocks http fetch-event`, it imports only the contract: {imports:?}"
    );
}

#[test]
fn a_javascript_transformer_imports_only_the_contract_and_passes_the_shared_cases() {
    let Some(tools) = js_tools("a_javascript_transformer") else {
        return;
    };
    let env = TestEnv::new();
    // Built once for this test and the agreement test (agreement.rs).
    let Some(built) = slug_transformer("js") else {
        return;
    };
    let dir = &built.dir;
    // The same case file as the Rust and Python transformers: all agree.
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/transformer-cases.toml")
    );
    passes_its_cases(&env, dir, "slug_js.wasm", 7);
    slugs_in_a_pipeline(&env, &built.wasm);
    only_the_contract(&env, dir);

    // Built with only `-d http fetch-event`, it imports `wasi:filesystem`:
    // refused before compiling, with the componentize-js flags that fix it.
    let wide = env.path().join("wide.wasm");
    let built = Command::new(&tools.0)
        .current_dir(dir)
        .args([
            "app.js",
            "--wit",
            "wit",
            "--world-name",
            "field-transformer",
        ])
        .args(["-d", "http", "fetch-event", "-o"])
        .arg(&wide)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cases = dir.join("cases.toml").display().to_string();
    let out = env.cli(&[
        "plugin",
        "test",
        &wide.display().to_string(),
        "--cases",
        &cases,
    ]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("wasi:filesystem/preopens")
            && said.contains("componentize-js `-d stdio random clocks http fetch-event`")
            && said.contains("--allow wasi:filesystem"),
        "{said}"
    );
}

#[test]
fn a_typescript_transformer_is_type_checked_imports_only_the_contract_and_passes_the_shared_cases()
{
    let Some(tools) = js_tools("a_typescript_transformer") else {
        return;
    };
    let env = TestEnv::new();
    // Built once for this test and the agreement test (agreement.rs).
    let Some(built) = slug_transformer("ts") else {
        return;
    };
    let dir = &built.dir;
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/transformer-cases.toml")
    );
    passes_its_cases(&env, dir, "slug_ts.wasm", 7);
    only_the_contract(&env, dir);

    // The SDK's types reach the author: a call that breaks them does not
    // build (in a copy: the built project is shared).
    let dir = env.path().join("slug-ts");
    copy_dir(&built.dir, &dir);
    let app = dir.join("src/app.ts");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        text.replace(
            "throw config(\"`separator` must not be empty\");",
            "throw config(42);",
        ),
    )
    .unwrap();
    let out = Command::new(dir.join("build.sh"))
        .current_dir(&dir)
        .envs(build_env(&tools))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("src/app.ts") && said.contains("TS2345"),
        "{said}"
    );
}

#[test]
fn javascript_and_typescript_normalizers_pass_their_cases() {
    let Some(tools) = js_tools("javascript_and_typescript_normalizers") else {
        return;
    };
    let env = TestEnv::new();
    let dir = scaffold(&env, "tidy-js", "js", "normalizer", &build_env(&tools));
    passes_its_cases(&env, &dir, "tidy_js.wasm", 4);
    let dir = scaffold(&env, "tidy-ts", "ts", "normalizer", &build_env(&tools));
    passes_its_cases(&env, &dir, "tidy_ts.wasm", 4);
    only_the_contract(&env, &dir);
}
