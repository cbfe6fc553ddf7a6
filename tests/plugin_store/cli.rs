//! `sluice plugin install / versions / promote / rollback`: what is
//! recorded, what is refused, and pipelines naming stored plugins.

use super::{builtin_file, input, install};
use crate::support::{TestEnv, jsonl, stderr, stdout, test_plugin};

fn versions(env: &TestEnv, name: &str) -> serde_json::Value {
    let out = env.cli(&["plugin", "versions", name, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn install_promote_and_rollback_are_recorded() {
    let env = TestEnv::new();
    let upper_file = builtin_file(&env, "uppercase");
    let out = env.cli(&[
        "plugin",
        "install",
        upper_file.to_str().unwrap(),
        "--name",
        "casing",
        "--by",
        "alice",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("It is the current version of `casing`"),
        "{}",
        stdout(&out)
    );
    let upper = versions(&env, "casing")["current"]
        .as_str()
        .unwrap()
        .to_owned();
    // Content-addressed: the bytes are kept under their digest.
    let blob = env
        .data_dir()
        .join("store/sha256")
        .join(format!("{}.wasm", upper.trim_start_matches("sha256:")));
    assert_eq!(
        std::fs::read(&blob).unwrap(),
        std::fs::read(&upper_file).unwrap()
    );

    // A second version is installed but not current.
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let v = versions(&env, "casing");
    assert_eq!(v["current"], upper.as_str());
    let rows = v["versions"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["installed_by"], "alice");
    assert_eq!(rows[0]["kind"], "field-transformer");
    assert_eq!(rows[0]["version"], "0.1.0");
    // Installing the same bytes again changes nothing.
    assert_eq!(
        install(&env, &builtin_file(&env, "lowercase"), "casing"),
        lower
    );
    assert_eq!(
        versions(&env, "casing")["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A pipeline naming `casing` gets the current version.
    env.write("in/people.jsonl", &input(3));
    let pipeline = env.write(
        "pipeline.toml",
        r#"
name = "stored"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "people"
source_options = { path = "people.jsonl" }
target_options = { path = "people.jsonl", mode = "overwrite" }
[[entity.field]]
source = "name"
target = "name"
transform = ["casing"]
"#,
    );
    let p = pipeline.to_str().unwrap();
    assert!(env.cli(&["run", p]).status.success());
    assert_eq!(jsonl(&env.read("out/people.jsonl"))[1]["name"], "MIXED1");

    // Promote by a 12-digit prefix; the run follows.
    let out = env.cli(&["plugin", "promote", &format!("casing@{}", &lower[..19])]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.cli(&["run", p]).status.success());
    assert_eq!(jsonl(&env.read("out/people.jsonl"))[1]["name"], "mixed1");

    // Rollback returns to the version before; a second has nowhere to go.
    let out = env.cli(&["plugin", "rollback", "casing", "--reason", "too quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(versions(&env, "casing")["current"], upper.as_str());
    let out = env.cli(&["plugin", "rollback", "casing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no earlier version"),
        "{}",
        stderr(&out)
    );
    let history: Vec<String> = versions(&env, "casing")["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h["action"].as_str().unwrap(),
                h["digest"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            format!("promote {upper}"),
            format!("promote {lower}"),
            format!("rollback {upper}"),
        ]
    );

    // Pinned to the version that is not current, by name@digest.
    let pinned = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("[\"casing\"]", &format!("[\"casing@{lower}\"]"));
    std::fs::write(&pipeline, pinned).unwrap();
    assert!(env.cli(&["run", p]).status.success());
    assert_eq!(jsonl(&env.read("out/people.jsonl"))[1]["name"], "mixed1");

    // Everything is in the audit log.
    let out = env.cli(&["audit", "--json"]);
    let audit = stdout(&out);
    for action in ["plugin-installed", "plugin-promoted", "plugin-rolled-back"] {
        assert!(audit.contains(action), "{action} missing from {audit}");
    }
    assert!(audit.contains("too quiet"));
}

#[test]
fn mistakes_are_refused_clearly() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let refuse = |args: &[&str], wanted: &str| {
        let out = env.cli(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(wanted), "{args:?}: {}", stderr(&out));
    };
    refuse(&["plugin", "versions", "casng"], "did you mean `casing`?");
    refuse(
        &["plugin", "promote", &format!("casng@{lower}")],
        "did you mean `casing`?",
    );
    refuse(
        &["plugin", "promote", "casing@sha256:1234"],
        "12 to 64 hex digits",
    );
    refuse(&["plugin", "promote", "casing"], "name the version");
    // A digest one character off: suggested.
    let mut typo = lower.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    refuse(
        &["plugin", "promote", &format!("casing@{typo}")],
        &format!("did you mean {}", &lower[..19]),
    );
    refuse(
        &["plugin", "promote", &format!("casing@{upper}")],
        "already the current version",
    );
    // Not installable: a built-in's name, a bad name, a plugin importing
    // what the host never grants, another world under the same name.
    let file = builtin_file(&env, "trim");
    refuse(
        &["plugin", "install", file.to_str().unwrap()],
        "built-in plugin's name",
    );
    refuse(
        &[
            "plugin",
            "install",
            file.to_str().unwrap(),
            "--name",
            "Bad/Name",
        ],
        "cannot name a plugin",
    );
    let rogue = std::path::Path::new(sluice_test_programs_artifacts::TEST_PLUGIN_DIR)
        .join("sluice_test_rogue_import.wasm");
    refuse(
        &[
            "plugin",
            "install",
            rogue.to_str().unwrap(),
            "--name",
            "rogue",
        ],
        "acme:rogue/exfil",
    );
    let reshape = builtin_file(&env, "reshape");
    refuse(
        &[
            "plugin",
            "install",
            reshape.to_str().unwrap(),
            "--name",
            "casing",
        ],
        "holds field-transformer plugins",
    );
    // A pipeline pinning a digest the name does not have.
    let _ = test_plugin();
    let out = env.cli(&["plugin", "versions"]);
    assert!(stdout(&out).contains("casing"));
}

#[test]
fn failing_test_cases_keep_a_version_from_going_live() {
    let env = TestEnv::new();
    install(&env, &builtin_file(&env, "uppercase"), "casing");
    let cases = env.write(
        "cases.toml",
        r#"
[[case]]
name = "shouts"
input = "abc"
output = "ABC"
"#,
    );
    let lower = builtin_file(&env, "lowercase");
    let out = env.cli(&[
        "plugin",
        "install",
        lower.to_str().unwrap(),
        "--name",
        "casing",
        "--cases",
        cases.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let digest = v["digest"].as_str().unwrap();
    let out = env.cli(&["plugin", "promote", &format!("casing@{digest}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("its test cases fail"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("shouts"), "{}", stdout(&out));
    assert_ne!(versions(&env, "casing")["current"], digest);
}

#[test]
fn sluice_plugins_lists_the_current_version_of_every_stored_name() {
    let env = TestEnv::new();
    let upper = install(&env, &builtin_file(&env, "uppercase"), "casing");
    let lower = install(&env, &builtin_file(&env, "lowercase"), "casing");
    let out = env.cli(&["plugin", "promote", &format!("casing@{lower}")]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = env.cli(&["plugins", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let stored: Vec<&serde_json::Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "casing")
        .collect();
    assert_eq!(stored.len(), 1, "one row per name: {stored:?}");
    assert_eq!(stored[0]["digest"], lower.as_str());
    assert_ne!(stored[0]["digest"], upper.as_str());
    assert_eq!(stored[0]["kind"], "field-transformer");
    assert!(
        stored[0]["origin"].to_string().contains("store"),
        "{}",
        stored[0]["origin"]
    );
    let table = stdout(&env.cli(&["plugins"]));
    let row = table
        .lines()
        .find(|l| l.contains("casing"))
        .unwrap_or_else(|| panic!("no row for the stored name:\n{table}"));
    assert!(row.contains("store"), "{row}");
}
