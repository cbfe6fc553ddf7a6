//! Every language agrees: the slug transformer that `sluice plugin new`
//! makes in Rust, Python, JavaScript, TypeScript, C and Zig gives the same
//! answer (the same value, or an error of the same category and code) on
//! one case file: the shared cases every template carries plus harder
//! inputs (`agreement-cases.toml`: empty, long, beyond ASCII, emoji,
//! non-text values, refusals).
//!
//! Each language's transformer is built once per test run, here
//! (`slug_transformer`), and shared with that language's own test
//! (scaffold*.rs), which checks its cases, imports and a pipeline: tests
//! run in parallel, and the first to ask for a language builds it while
//! the others wait. Tests that change a project copy it first.
//!
//! A language whose toolchain is missing is skipped with a message, except
//! under CI, where each language's tool check fails instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::scaffold::{componentize_py, rust_env, scaffold};
use super::scaffold_c::c_compiler;
use super::scaffold_js::{build_env, js_tools};
use super::scaffold_zig::zig;
use crate::support::{TestEnv, stderr};

/// The languages with a template, in the order the report shows them.
const LANGS: [&str; 6] = ["rust", "python", "js", "ts", "c", "zig"];

/// A built slug transformer: its project folder and component.
pub(super) struct Built {
    pub dir: PathBuf,
    pub wasm: PathBuf,
}

/// The slug transformer of `lang`, scaffolded and built on first use (the
/// project stays for the rest of the run: do not change it, copy it);
/// `None` when the language's toolchain is missing (outside CI).
pub(super) fn slug_transformer(lang: &str) -> Option<&'static Built> {
    static BUILT: [OnceLock<Option<Built>>; LANGS.len()] = [const { OnceLock::new() }; LANGS.len()];
    let i = LANGS
        .iter()
        .position(|l| *l == lang)
        .unwrap_or_else(|| panic!("no template for {lang}"));
    BUILT[i].get_or_init(|| build(lang)).as_ref()
}

/// Where the shared projects live: `slug-transformers/<process id>` under
/// the target directory. Earlier runs' folders are removed at the start of
/// a run: those of processes that are gone (or, without `/proc`, older than
/// a day).
fn home() -> &'static TestEnv {
    static HOME: OnceLock<TestEnv> = OnceLock::new();
    HOME.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slug-transformers");
        std::fs::create_dir_all(&root).unwrap();
        let proc = Path::new("/proc");
        let day_ago = SystemTime::now() - Duration::from_secs(24 * 3600);
        for entry in std::fs::read_dir(&root).unwrap().flatten() {
            let gone = if proc.is_dir() {
                !proc.join(entry.file_name()).exists()
            } else {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < day_ago)
            };
            if gone {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TestEnv {
            dir: tempfile::Builder::new()
                .prefix("run")
                .tempdir_in(&dir)
                .unwrap(),
        }
    })
}

fn build(lang: &str) -> Option<Built> {
    let env = home();
    let test = format!("the {lang} slug transformer");
    let name = match lang {
        "rust" => "slug-rs".to_owned(),
        "python" => "slug-py".to_owned(),
        other => format!("slug-{other}"),
    };
    let vars: Vec<(String, String)> = match lang {
        "rust" => {
            // Kept across runs, so only the first run compiles the dependencies.
            let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-rust");
            rust_env(&target)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        }
        "python" => vec![("COMPONENTIZE_PY".to_owned(), componentize_py())],
        "js" | "ts" => {
            let tools = js_tools(&test)?;
            build_env(&tools)
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        }
        "c" => vec![("CC".to_owned(), c_compiler(&test)?)],
        "zig" => vec![("ZIG".to_owned(), zig(&test)?)],
        other => panic!("no template for {other}"),
    };
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dir = scaffold(env, &name, lang, "transformer", &vars);
    let wasm = dir.join(format!("{}.wasm", name.replace('-', "_")));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    Some(Built { dir, wasm })
}

/// One case's answer, as the languages are compared: the output value, or
/// the error's category and code (messages are each language's own).
fn answer(got: &Value) -> String {
    match got["outcome"].as_str() {
        Some("output") => format!("output {}", got["value"]),
        Some("error") => format!("error {} {}", got["category"], got["code"]),
        _ => format!("{got}"),
    }
}

/// The shared cases, the harder ones, and a long text.
fn case_file() -> String {
    let mut text =
        include_str!("../../host/cli/templates/common/transformer-cases.toml").to_owned();
    text.push('\n');
    text.push_str(include_str!("agreement-cases.toml"));
    let words = 4000;
    let input = "Lorem Ipsum, ".repeat(words / 2);
    let output = vec!["lorem-ipsum"; words / 2].join("-");
    text.push_str(&format!(
        "\n[[case]]\nname = \"a long text ({} bytes)\"\ninput = \"{input}\"\noutput = \"{output}\"\n",
        input.len()
    ));
    text
}

#[test]
fn every_language_gives_the_same_answers_on_one_case_file() {
    let env = TestEnv::new();
    let cases = env.write("agreement.toml", &case_file());
    let cases = cases.display().to_string();

    // language -> (case name -> answer), and the cases whose expectation
    // the language missed.
    let mut answers: BTreeMap<&str, Vec<(String, String, String)>> = BTreeMap::new();
    let mut missed: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    for lang in LANGS {
        let Some(built) = slug_transformer(lang) else {
            skipped.push(lang);
            continue;
        };
        let wasm = built.wasm.display().to_string();
        let out = env.cli(&["plugin", "test", &wasm, "--cases", &cases, "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{lang}: {e}: {}", stderr(&out)));
        let verdicts = report["verdicts"].as_array().unwrap();
        let mut list = Vec::new();
        for v in verdicts {
            let name = v["name"].as_str().unwrap().to_owned();
            if v["passed"] != true {
                missed.push(format!(
                    "{lang}: `{name}` expected {}, got {}",
                    v["expected"],
                    answer(&v["got"])
                ));
            }
            let input = v["input"].to_string();
            list.push((name, clip(&input), answer(&v["got"])));
        }
        answers.insert(lang, list);
    }
    eprintln!(
        "agreement: compared {:?}{}",
        answers.keys().collect::<Vec<_>>(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; no toolchain for {skipped:?}")
        }
    );
    assert!(
        answers.len() >= 2,
        "fewer than two languages to compare: {:?}",
        answers.keys()
    );

    // Case by case, every language against the first.
    let (first, reference) = answers.iter().next().unwrap();
    let count = reference.len();
    let mut disagreements = Vec::new();
    for (lang, list) in &answers {
        assert_eq!(list.len(), count, "{lang} ran another number of cases");
    }
    for i in 0..count {
        let (name, input, _) = &reference[i];
        let distinct: std::collections::BTreeSet<&String> =
            answers.values().map(|list| &list[i].2).collect();
        if distinct.len() > 1 {
            let mut lines = format!("case `{name}` (input {input}):\n");
            for (lang, list) in &answers {
                lines.push_str(&format!("  {lang:>6}: {}\n", clip(&list[i].2)));
            }
            disagreements.push(lines);
        }
    }
    assert!(
        disagreements.is_empty(),
        "the languages disagree on {} of {count} cases ({first} first):\n{}",
        disagreements.len(),
        disagreements.join("")
    );
    // They agree; and on what the case file expects.
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    assert!(count >= 29, "{count} cases");
}

/// At most 120 characters of `text`, for the report.
fn clip(text: &str) -> String {
    if text.chars().count() <= 120 {
        text.to_owned()
    } else {
        format!(
            "{}… ({} bytes)",
            text.chars().take(120).collect::<String>(),
            text.len()
        )
    }
}
