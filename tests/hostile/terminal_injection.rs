//! A plugin's text cannot act on the terminal: an error whose code, field
//! and message carry escape sequences, CR/LF, C1 controls and a bidi
//! override is shown by `errors`, `runs show`, `dlq list`, `dlq show` and
//! `plugin test` with every control character written out, and no forged
//! line; `--json` gives the text back exactly.

use serde_json::Value;

use super::{test_component, write_pipeline};
use crate::support::{TestEnv, stdout};

/// Clears the screen, sets the window title, moves up a line, then forges
/// a success line after CR LF; a C1 CSI, DEL and a right-to-left override.
const CODE: &str = "bad\u{1b}[2J\u{1b}]0;pwned\u{7}";
const FIELD: &str = "name\u{1b}[31m";
const MESSAGE: &str =
    "ok\r\n✔ Run 1 succeeded: 10 records loaded\u{1b}[1A\u{9b}2K\u{7f}\u{202e}gnp.exe";
const FORGED: &str = "✔ Run 1 succeeded";

fn forger_options() -> Value {
    serde_json::json!({
        "trigger": "boom",
        "error": {"category": "validation", "code": CODE, "message": MESSAGE, "field": FIELD},
    })
}

/// Every byte a terminal would act on, other than the command's own line feeds.
fn assert_inert(what: &str, out: &[u8], shown: bool) {
    let text = String::from_utf8_lossy(out);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && sluice::text::is_unsafe(c))
        .collect();
    assert!(bad.is_empty(), "{what}: raw controls {bad:?} in:\n{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start_matches(['│', '|', ' ']).starts_with(FORGED)),
        "{what}: a forged line starts a line:\n{text}"
    );
    assert!(
        !shown || text.contains("\\x1b") || text.contains("\\r\\n"),
        "{what}: the plugin's text is shown escaped:\n{text}"
    );
}

#[test]
fn plugin_text_is_escaped_for_people_and_exact_in_json() {
    let env = TestEnv::new();
    std::fs::copy(
        test_component("sluice_test_forger.wasm"),
        env.path().join("forger.wasm"),
    )
    .unwrap();
    let step = format!(
        "{{ plugin = \"forger.wasm\", options = {} }}",
        toml::Value::try_from(forger_options()).unwrap()
    );
    let path = write_pipeline(&env, &step, 10, 10);
    let run = env.cli(&["run", path.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(3), "{run:?}");
    assert_inert("run", &run.stdout, false);

    for args in [
        vec!["errors", "last"],
        vec!["errors", "last", "--rows"],
        vec!["runs", "show", "last"],
        vec!["dlq", "list"],
        vec!["dlq", "show", "1"],
    ] {
        let out = env.cli(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_inert(&args.join(" "), &out.stdout, true);
    }

    // JSON gives the plugin's text back exactly.
    let rows: Value =
        serde_json::from_str(&stdout(&env.cli(&["errors", "last", "--rows", "--json"]))).unwrap();
    let row = &rows[0];
    assert_eq!(row["code"], CODE, "{rows:#}");
    assert_eq!(row["field"], FIELD);
    assert_eq!(row["message"], MESSAGE);

    // `plugin test` too.
    env.write("values.jsonl", "\"a\"\n\"boom\"\n");
    let options = forger_options().to_string();
    let args = [
        "plugin",
        "test",
        "forger.wasm",
        "--input",
        "values.jsonl",
        "--options",
        options.as_str(),
    ];
    let out = env.cli(&args);
    assert_inert("plugin test", &out.stdout, true);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let report: Value = serde_json::from_str(&stdout(&env.cli(&json_args))).unwrap();
    let error = report["records"][1]["error"].as_str().unwrap();
    assert_eq!(error, format!("{CODE}: {MESSAGE}"));
}
