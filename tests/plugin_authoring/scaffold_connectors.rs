//! `sluice plugin new --kind source|target`: a scaffolded connector, in Rust
//! and in Python, builds with the language's real toolchain outside the
//! repository, imports only what its kind and its language's runtime need,
//! and runs end to end through the `pipeline.toml` it comes with: the
//! source pages with a resumable cursor and dead-letters a malformed line
//! with its line number; the target reports created, updated and unchanged
//! records by key and fails a record without a key alone. The Python SDK's
//! `http_send` pages an API through the host and a connection.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use sluice::runlog::DlqFilter;
use sluice::stages::finalize::RunStatus;
use sluice::{RunError, RunSummary, load_pipeline};

use crate::support::{TestEnv, jsonl, stderr, workspace};

use super::scaffold::imports;

/// Create connector `name` with `plugin new` and build it with its
/// `build.sh`; return the project folder.
fn scaffold_connector(
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
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("sluice run pipeline.toml"), "{said}");
    let dir = env.path().join(name);
    for file in [
        "README.md",
        "build.sh",
        "pipeline.toml",
        "sample/contacts.jsonl",
    ] {
        assert!(dir.join(file).is_file(), "{file} is missing");
    }
    assert!(!dir.join("cases.toml").exists());
    let ignored = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "/out"), "{ignored}");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("/data") && readme.contains("`dir") && readme.contains("allow"),
        "the README says which grants the connector needs: {readme}"
    );
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

/// Run the project's `pipeline.toml`.
fn run(env: &TestEnv, dir: &Path) -> RunSummary {
    env.run(&dir.join("pipeline.toml"))
}

/// The `id`s of the records in `out/contacts.jsonl`, in file order.
fn ids_written(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("out/contacts.jsonl")).unwrap();
    jsonl(&text)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The scaffolded source, run through its pipeline: 4 items, the malformed
/// line 3 dead-lettered with its line number; a second run resumes from the
/// stored cursor and reads nothing; a line added to the file is read alone
/// by the third run. Options the source rejects stop the run up front.
fn source_runs_end_to_end(env: &TestEnv, dir: &Path) {
    let first = run(env, dir);
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    let totals = &first.totals;
    assert_eq!(
        (totals.extracted, totals.loaded, totals.failed),
        (4, 3, 1),
        "{first:?}"
    );
    assert_eq!(ids_written(dir), ["1", "2", "4"]);

    let dlq = env
        .run_log()
        .dlq_entries(&DlqFilter {
            run_id: Some(first.run_id),
            ..DlqFilter::default()
        })
        .unwrap();
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    let entry = &dlq[0];
    assert_eq!(entry.record_key, "contacts.jsonl:3");
    assert_eq!(
        (entry.category.as_str(), entry.code.as_str()),
        ("validation", "malformed-json")
    );
    assert!(
        entry.message.starts_with("contacts.jsonl:3: "),
        "the message names the line: {}",
        entry.message
    );

    let second = run(env, dir);
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert_eq!(
        second.totals.extracted, 0,
        "resumed from the cursor: {second:?}"
    );

    let sample = dir.join("sample/contacts.jsonl");
    let mut text = std::fs::read_to_string(&sample).unwrap();
    text.push_str("{\"id\": \"5\", \"name\": \"Barbara Liskov\", \"email\": \"b@example.com\"}\n");
    std::fs::write(&sample, text).unwrap();
    let third = run(env, dir);
    assert_eq!(
        (third.status, third.totals.extracted, third.totals.loaded),
        (RunStatus::Succeeded, 1, 1),
        "{third:?}"
    );
    assert_eq!(ids_written(dir), ["1", "2", "4", "5"]);

    rejects_bad_options(
        env,
        dir,
        "source_options = { path = \"contacts.jsonl\" }",
        "source_options = { path = \"contacts.csv\" }",
        "`path` must name a `.jsonl` file",
    );
}

/// The scaffolded target, run through its pipeline twice: every record is
/// created, the one without an `id` fails alone; after one record of the
/// sample changes, it is updated and the others are unchanged.
fn target_runs_end_to_end(env: &TestEnv, dir: &Path) {
    let first = run(env, dir);
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    assert_eq!((first.totals.loaded, first.totals.failed), (3, 1));
    assert_eq!(
        outcomes(env, first.run_id),
        ["created", "created", "failed missing-key", "created"]
    );
    assert_eq!(ids_written(dir), ["1", "2", "3"]);

    let sample = dir.join("sample/contacts.jsonl");
    let text = std::fs::read_to_string(&sample).unwrap();
    assert!(text.contains("Alan Turing"));
    std::fs::write(&sample, text.replace("Alan Turing", "Alan M. Turing")).unwrap();
    let second = run(env, dir);
    assert_eq!(
        outcomes(env, second.run_id),
        ["unchanged", "updated", "failed missing-key", "unchanged"]
    );
    let written = jsonl(&std::fs::read_to_string(dir.join("out/contacts.jsonl")).unwrap());
    assert_eq!(written.len(), 3);
    assert_eq!(written[1]["name"], "Alan M. Turing");

    rejects_bad_options(
        env,
        dir,
        "key_field = \"id\"",
        "key_field = \"\"",
        "`key_field` must not be empty",
    );
}

/// Each record's outcome in the run's captured `response` phase, in order
/// (`failed CODE` for a failure).
fn outcomes(env: &TestEnv, run_id: i64) -> Vec<String> {
    env.run_log()
        .captures(run_id, "response")
        .unwrap()
        .into_iter()
        .flat_map(|c| match c.document {
            Value::Array(items) => items,
            other => panic!("a response capture is a list: {other}"),
        })
        .map(|item| match item["outcome"].as_str().unwrap() {
            "failed" => format!("failed {}", item["code"].as_str().unwrap()),
            outcome => outcome.to_owned(),
        })
        .collect()
}

/// With `from` replaced by `to` in its pipeline, the connector rejects its
/// options in `configure`: the run fails before reading a record, with the
/// connector's message and code `invalid-options`.
fn rejects_bad_options(env: &TestEnv, dir: &Path, from: &str, to: &str, message: &str) {
    let text = std::fs::read_to_string(dir.join("pipeline.toml")).unwrap();
    assert!(text.contains(from), "{text}");
    let bad = dir.join("bad-options.toml");
    std::fs::write(&bad, text.replace(from, to)).unwrap();
    let err = env.sluice().run(&load_pipeline(&bad).unwrap()).unwrap_err();
    let RunError::Setup { source, .. } = err else {
        panic!("expected a setup failure, got {err:?}")
    };
    assert!(source.to_string().contains(message), "{source}");
    assert_eq!(source.code(), "invalid-options", "{source}");
}

/// The interfaces (without their versions) of `imports`.
fn interfaces(imports: &[String]) -> BTreeSet<String> {
    imports
        .iter()
        .map(|i| i.split('@').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_rust_source_and_target_build_outside_the_repository_and_run_end_to_end() {
    let env = TestEnv::new();
    // Shared with the Rust transformer's scaffold test and kept across
    // runs, so only the first build compiles the dependencies.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-rust");
    let target = target.display().to_string();
    let vars = [
        ("CARGO_TARGET_DIR", target.as_str()),
        ("CARGO_NET_OFFLINE", "true"),
    ];

    let source = scaffold_connector(&env, "contacts-in-rs", "rust", "source", &vars);
    let target = scaffold_connector(&env, "contacts-out-rs", "rust", "target", &vars);
    for dir in [&source, &target] {
        // Files through the granted directory (`std::fs`), the inert WASI
        // interfaces and the contract; no sockets, no `wasi:http`. The
        // contract's `http` is linked only once the code uses it.
        for import in imports(&env, dir) {
            assert!(
                [
                    "wasi:cli/",
                    "wasi:io/",
                    "wasi:clocks/",
                    "wasi:random/",
                    "wasi:filesystem/",
                    "sluice:plugin/"
                ]
                .iter()
                .any(|p| import.starts_with(p)),
                "a Rust connector imports `{import}`"
            );
        }
    }
    source_runs_end_to_end(&env, &source);
    target_runs_end_to_end(&env, &target);
}

/// What a Python connector built by its scaffold imports: the contract,
/// the inert WASI interfaces, and `wasi:filesystem` and `wasi:sockets`,
/// which componentize-py's runtime links without `--stub-wasi` (the README
/// lists them; the pipeline grants the first with `dir` and allows the
/// second).
const PYTHON_CONNECTOR_IMPORTS: [&str; 28] = [
    "sluice:plugin/http",
    "sluice:plugin/log",
    "sluice:plugin/types",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stderr",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stderr",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/preopens",
    "wasi:filesystem/types",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

#[test]
fn a_python_source_and_target_build_import_what_their_runtime_needs_and_run_end_to_end() {
    let env = TestEnv::new();
    let tool = std::env::var("SLUICE_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into());
    assert!(
        Command::new(&tool)
            .arg("--help")
            .output()
            .is_ok_and(|o| o.status.success()),
        "componentize-py is needed (`pip install componentize-py==0.25.1`, or SLUICE_COMPONENTIZE_PY)"
    );
    let vars = [("COMPONENTIZE_PY", tool.as_str())];

    let source = scaffold_connector(&env, "contacts-in-py", "python", "source", &vars);
    let target = scaffold_connector(&env, "contacts-out-py", "python", "target", &vars);
    let expected: BTreeSet<String> = PYTHON_CONNECTOR_IMPORTS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for dir in [&source, &target] {
        assert_eq!(
            interfaces(&imports(&env, dir)),
            expected,
            "{}",
            dir.display()
        );
        let pipeline = std::fs::read_to_string(dir.join("pipeline.toml")).unwrap();
        assert!(
            pipeline.contains("allow = [\"wasi:sockets\"]"),
            "{pipeline}"
        );
    }
    source_runs_end_to_end(&env, &source);
    target_runs_end_to_end(&env, &target);
}

#[test]
fn connector_templates_name_the_languages_that_have_one() {
    let env = TestEnv::new();
    for (lang, kind) in [("js", "source"), ("c", "target")] {
        let out = env.cli(&["plugin", "new", "x", "--lang", lang, "--kind", kind]);
        assert_eq!(out.status.code(), Some(1), "{lang} {kind}");
        let err = stderr(&out);
        assert!(err.contains("Rust and Python have one"), "{err}");
    }
    assert!(!env.path().join("x").exists());
}

/// A source that pages an API through the SDK's `http_send`, written over
/// a scaffolded Python source: the cursor is the API's next page.
const PAGING_SOURCE: &str = r#"
from sluice_sdk import ExtractBatch, Extracted, Source, export_source, http_send, validation


class Plugin(Source):
    NAME = "pages"
    OPTIONS_SCHEMA = {"type": "object", "additionalProperties": False}

    def read(self, entity, cursor, max):
        page = cursor or "1"
        response = http_send("GET", f"/{entity}?page={page}", [("Accept", "application/json")])
        if response.status != 200:
            raise validation("bad-status", f"HTTP {response.status}")
        answer = response.json()
        items = [Extracted(f"{entity}:{r['id']}", r) for r in answer["records"]]
        return ExtractBatch(items, answer["next"] or page, answer["next"] is None)


Extract = export_source(Plugin)
"#;

#[test]
fn a_python_source_pages_an_api_through_the_hosts_http() {
    let server = crate::support::echo_server::EchoServer::start(|request| {
        let page = if request.line.contains("page=2") {
            2
        } else {
            1
        };
        let next = if page == 1 { "\"2\"" } else { "null" };
        format!(r#"{{"records": [{{"id": "p{page}a"}}, {{"id": "p{page}b"}}], "next": {next}}}"#)
    });
    let env = TestEnv::new();
    let tool = std::env::var("SLUICE_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into());
    let sdk = workspace().join("sdk/rust").display().to_string();
    let out = env.cli(&[
        "plugin",
        "new",
        "pages",
        "--lang",
        "python",
        "--kind",
        "source",
        "--sdk-path",
        &sdk,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = env.path().join("pages");
    std::fs::write(dir.join("app.py"), PAGING_SOURCE).unwrap();
    let built = Command::new(dir.join("build.sh"))
        .current_dir(&dir)
        .env("COMPONENTIZE_PY", &tool)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");

    env.write(
        "connections.toml",
        &format!("[api]\nbase_url = \"{}\"\n", server.base_url()),
    );
    let pipeline = env.write(
        "pipeline.toml",
        r#"name = "pages"

[source]
plugin = "pages/pages.wasm"
connection = "api"
# No `dir`: Python's runtime links files and sockets, neither reachable.
allow = ["wasi:filesystem", "wasi:sockets"]

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "contacts"
incremental = true
target_options = { path = "contacts.jsonl" }

[[entity.field]]
target = "id"
"#,
    );
    let summary = env.run(&pipeline);
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let ids: Vec<String> = jsonl(&env.read("out/contacts.jsonl"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["p1a", "p1b", "p2a", "p2b"]);
    let lines: Vec<String> = server.received().iter().map(|r| r.line.clone()).collect();
    assert_eq!(
        lines,
        [
            "GET /contacts?page=1 HTTP/1.1",
            "GET /contacts?page=2 HTTP/1.1"
        ]
    );
    assert!(
        server.received()[0]
            .values("accept")
            .contains(&"application/json".to_owned())
    );
}
