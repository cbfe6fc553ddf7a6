//! `sluice plugin doctor --lang X`, with the toolchain found or not on PATH.

use std::path::Path;

use serde_json::Value;

use crate::support::{TestEnv, stdout};

fn fake_program(dir: &Path, name: &str, version: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn doctor(env: &TestEnv, path: &Path) -> (Option<i32>, String, Value) {
    let run = |json: bool| {
        let mut args = vec!["plugin", "doctor", "--lang", "python"];
        if json {
            args.push("--json");
        }
        env.command(&args)
            .env("PATH", path)
            .env_remove("COMPONENTIZE_PY")
            .output()
            .unwrap()
    };
    let out = run(false);
    let json: Value = serde_json::from_slice(&run(true).stdout).unwrap();
    (out.status.code(), stdout(&out), json)
}

#[test]
fn doctor_reports_present_and_missing_tools_and_how_to_get_them() {
    let env = TestEnv::new();
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    fake_program(&bin, "python3", "Python 3.12.0");

    let (code, text, json) = doctor(&env, &bin);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Python 3.12.0"), "{text}");
    assert!(
        text.contains("MISSING") && text.contains("pip install componentize-py==0.25.1"),
        "{text}"
    );
    assert_eq!(json["missing"], 1, "{json}");
    assert_eq!(json["pieces"][1]["piece"], "componentize-py");
    assert_eq!(json["pieces"][1]["present"], false);

    fake_program(&bin, "componentize-py", "componentize-py 0.25.1");
    let (code, text, json) = doctor(&env, &bin);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("componentize-py 0.25.1") && !text.contains("MISSING"),
        "{text}"
    );
    assert_eq!(json["missing"], 0, "{json}");
}

#[test]
fn doctor_for_typescript_also_wants_tsc_and_finds_tools_npm_installed_in_the_project() {
    let env = TestEnv::new();
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    fake_program(&bin, "node", "v20.20.2");
    fake_program(&bin, "npm", "11.19.1");
    let project = env.path().join("project");
    let local = project.join("node_modules/.bin");
    std::fs::create_dir_all(&local).unwrap();
    fake_program(&local, "componentize-js", "0.23.0");
    let run = |lang: &str| {
        let out = env
            .command(&["plugin", "doctor", "--lang", lang, "--json"])
            .current_dir(&project)
            .env("PATH", &bin)
            .env_remove("COMPONENTIZE_JS")
            .env_remove("TSC")
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), json)
    };
    let (code, json) = run("js");
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["pieces"][2]["detail"], "0.23.0", "{json}");
    let (code, json) = run("ts");
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["pieces"][3]["piece"], "tsc (TypeScript)", "{json}");
    assert_eq!(json["pieces"][3]["present"], false, "{json}");
    assert!(
        json["pieces"][3]["how_to_get"]
            .as_str()
            .unwrap()
            .contains("typescript 5.9.3"),
        "{json}"
    );
}
