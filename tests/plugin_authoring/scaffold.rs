//! `sluice plugin new`: a scaffolded project builds with the language's real
//! toolchain, passes its own `cases.toml` under `sluice plugin test
//! --cases`, runs in a pipeline (the transformers), and imports nothing its
//! kind is not granted.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use sluice::stages::finalize::RunStatus;

use super::agreement::slug_transformer;
use crate::hostile::write_pipeline;
use crate::support::{TestEnv, jsonl, stderr, stdout, workspace};

/// Create `name` with `plugin new` and build it with its `build.sh`;
/// return the project folder.
pub(super) fn scaffold(
    env: &TestEnv,
    name: &str,
    lang: &str,
    kind: &str,
    build_env: &[(&str, &str)],
) -> PathBuf {
    let sdk = workspace().join("sdk/rust").display().to_string();
    let out = env.cli(&[
        "plugin",
        "new",
        name,
        "--lang",
        lang,
        "--kind",
        kind,
        "--sdk-path",
        &sdk,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = env.path().join(name);
    assert!(dir.join("README.md").is_file() && dir.join("cases.toml").is_file());
    if lang == "rust" {
        // The workspace's lock file pins the SDK's dependencies to versions
        // already downloaded, so the build needs no network.
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    }
    let built = Command::new(dir.join("build.sh"))
        .current_dir(&dir)
        .envs(build_env.iter().copied())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "build.sh failed: {}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    dir
}

/// Run the project's own cases; they must all pass.
pub(super) fn passes_its_cases(env: &TestEnv, dir: &Path, wasm: &str, count: usize) {
    let wasm = dir.join(wasm).display().to_string();
    let cases = dir.join("cases.toml").display().to_string();
    let out = env.cli(&["plugin", "test", &wasm, "--cases", &cases]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("{count} of {count} cases passed")),
        "{text}"
    );
}

/// The scaffolded slug transformer (`separator = "_"`) runs in a pipeline,
/// before `uppercase`, on ten records in batches of four.
pub(super) fn slugs_in_a_pipeline(env: &TestEnv, wasm: &Path) {
    let step = format!(
        "{{ plugin = {:?}, options = {{ separator = \"_\" }} }}",
        wasm.display().to_string()
    );
    let path = write_pipeline(env, &step, 10, 4);
    let summary = env.run(&path);
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let names: Vec<String> = jsonl(&env.read("out/records.jsonl"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names[0], "NAME_1");
    assert_eq!(names[6], "BOOM");
    assert_eq!(names[9], "NAME_10");
}

/// The component's imports, as `sluice plugins` lists them.
pub(super) fn imports(env: &TestEnv, dir: &Path) -> Vec<String> {
    let out = env.cli(&[
        "--plugin-path",
        &dir.display().to_string(),
        "plugins",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["origin"]["type"] == "file")
        .unwrap_or_else(|| panic!("the built plugin is not listed: {list}"));
    entry["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect()
}

pub(super) fn rust_env(target: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("CARGO_TARGET_DIR", target.display().to_string()),
        ("CARGO_NET_OFFLINE", "true".to_owned()),
    ]
}

#[test]
fn a_rust_transformer_and_normalizer_build_outside_the_repository_and_pass_their_cases() {
    let env = TestEnv::new();
    // Kept across runs, so only the first run compiles the dependencies.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-rust");
    let vars = rust_env(&target);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Built once for this test and the agreement test (agreement.rs).
    let dir = &slug_transformer("rust").unwrap().dir;
    passes_its_cases(&env, dir, "slug_rs.wasm", 7);
    slugs_in_a_pipeline(&env, &dir.join("slug_rs.wasm"));
    for import in imports(&env, dir) {
        assert!(
            [
                "wasi:cli/",
                "wasi:io/",
                "wasi:clocks/",
                "wasi:random/",
                "sluice:plugin/"
            ]
            .iter()
            .any(|p| import.starts_with(p)),
            "a field transformer imports `{import}`"
        );
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("--sdk-path") && readme.contains("wasm32-wasip2"),
        "{readme}"
    );

    let dir = scaffold(&env, "tidy-rs", "rust", "normalizer", &vars);
    passes_its_cases(&env, &dir, "tidy_rs.wasm", 4);
}

pub(super) fn componentize_py() -> String {
    let tool = std::env::var("SLUICE_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into());
    let works = Command::new(&tool)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        works,
        "componentize-py is needed (`pip install componentize-py==0.25.1`, or SLUICE_COMPONENTIZE_PY)"
    );
    tool
}

#[test]
fn a_python_transformer_builds_imports_only_the_contract_and_passes_the_shared_cases() {
    let env = TestEnv::new();
    // Built once for this test and the agreement test (agreement.rs).
    let dir = &slug_transformer("python").unwrap().dir;
    // The same case file as the Rust transformer: both languages agree.
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.toml")).unwrap(),
        include_str!("../../host/cli/templates/common/transformer-cases.toml")
    );
    passes_its_cases(&env, dir, "slug_py.wasm", 7);
    slugs_in_a_pipeline(&env, &dir.join("slug_py.wasm"));
    let imports = imports(&env, dir);
    assert!(
        imports.iter().all(|i| i.starts_with("sluice:plugin/")),
        "built with --stub-wasi, it imports only the contract: {imports:?}"
    );
}

#[test]
fn a_python_normalizer_builds_and_passes_its_cases() {
    let env = TestEnv::new();
    let tool = componentize_py();
    let dir = scaffold(
        &env,
        "tidy-py",
        "python",
        "normalizer",
        &[("COMPONENTIZE_PY", &tool)],
    );
    passes_its_cases(&env, &dir, "tidy_py.wasm", 4);
}

#[test]
fn languages_without_a_template_say_so() {
    let env = TestEnv::new();
    let err = stderr(&env.cli(&["plugin", "new", "x", "--lang", "go"]));
    assert!(err.contains("TinyGo 0.34"), "{err}");
    let err = stderr(&env.cli(&["plugin", "new", "x", "--lang", "go", "--kind", "source"]));
    assert!(err.contains("TinyGo 0.34"), "{err}");
    let err = stderr(&env.cli(&["plugin", "new", "x", "--lang", "go", "--kind", "normalizer"]));
    assert!(err.contains("TinyGo 0.34"), "{err}");
    let err = stderr(&env.cli(&["plugin", "new", "Bad_Name", "--lang", "rust"]));
    assert!(err.contains("is not a plugin name"), "{err}");
    assert!(!env.path().join("x").exists());
}
