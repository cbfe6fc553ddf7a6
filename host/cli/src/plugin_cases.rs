//! `sluice plugin test PLUGIN --cases cases.toml`: run a plugin over a file
//! of cases (inputs, options, expected outputs or errors), show a diff for
//! every case that does not match, and exit 1 when one does not.
//!
//! ```toml
//! options = { max_length = 5 }   # for every case, unless it sets its own
//!
//! [[case]]
//! name = "cuts long text"
//! input = "abcdefgh"
//! output = "abcde"
//!
//! [[case]]
//! name = "null stays null"
//! input_json = "null"            # TOML has no null: JSON text instead
//! output_json = "null"
//!
//! [[case]]
//! name = "bad options are refused"
//! options = { max_length = -1 }
//! input = "x"
//! error = { category = "config", code = "invalid-options" }
//! ```

use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use similar::TextDiff;

use super::Exit;
use super::plugin_bench::{Bench, Failed, RecordResult};
use super::render::{esc, print_json};
use sluice::model::Category;
use sluice::plugin::PluginKind;
use sluice::run::toml_to_json;

/// Most cases a case file may hold.
const MAX_CASES: usize = 10_000;

/// A case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// Options for `configure` (a table), for every case that gives none.
    #[serde(default)]
    options: Option<toml::Table>,
    /// The cases, in order.
    #[serde(default, rename = "case")]
    cases: Vec<Case>,
}

/// One case: an input and what the plugin must make of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// A name shown when the case fails (default: its number).
    name: Option<String>,
    /// Options for `configure`, instead of the file's.
    options: Option<toml::Table>,
    /// The input value (a field transformer) or record (a normalizer: a table).
    input: Option<toml::Value>,
    /// The input as JSON text, for what TOML cannot write (`null`).
    input_json: Option<String>,
    /// The expected output value or record.
    output: Option<toml::Value>,
    /// The expected output as JSON text (`"null"`).
    output_json: Option<String>,
    /// The expected error instead of an output.
    error: Option<ExpectedError>,
    /// A normalizer must skip the record (`true`), or skip it with a reason
    /// containing this text.
    skipped: Option<Skipped>,
}

/// An expected error: its category, its code, or both.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    /// The category as a pipeline records it (`validation`, `config`...).
    category: Option<Category>,
    /// The code (`invalid-email`, `invalid-options`...).
    code: Option<String>,
}

/// How a normalizer must skip a record.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Skipped {
    /// It skips it.
    Any(bool),
    /// Its reason contains this text.
    Reason(String),
}

/// What a case expects.
#[derive(Debug)]
enum Expected {
    Output(Json),
    Error(ExpectedError),
    Skipped(Option<String>),
}

/// What became of a case.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
enum Got {
    Output { value: Json },
    Skipped { reason: String },
    Error(Failed),
}

/// One case's verdict, for `--json`.
#[derive(Debug, Serialize)]
struct Verdict {
    case: usize,
    name: String,
    passed: bool,
    input: Json,
    expected: String,
    got: Got,
    /// A line diff of expected and actual, when they differ.
    diff: Option<String>,
}

/// Run every case of `path` through `bench`.
pub(crate) fn run_cases(bench: &Bench<'_>, path: &Path, json: bool) -> anyhow::Result<Exit> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read case file {}", path.display()))?;
    let file: CaseFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid case file", path.display()))?;
    if file.cases.is_empty() {
        bail!("{} holds no `[[case]]`", path.display());
    }
    if file.cases.len() > MAX_CASES {
        bail!(
            "{} holds {} cases, more than {MAX_CASES}",
            path.display(),
            file.cases.len()
        );
    }
    let mut verdicts = Vec::new();
    for (n, case) in file.cases.iter().enumerate() {
        let number = n + 1;
        let name = case
            .name
            .clone()
            .unwrap_or_else(|| format!("case {number}"));
        let (input, expected) = case
            .parse(bench.kind)
            .with_context(|| format!("{}: case {number} ({name})", path.display()))?;
        let options = table_to_json(case.options.as_ref().or(file.options.as_ref()));
        let got = match bench.run(&options, &[(number, input.clone())]) {
            Err(setup) => Got::Error(setup),
            Ok((_, results)) => got_from(results),
        };
        let passed = expected.matches(&got);
        let diff = (!passed).then(|| diff(&expected.text(), &got_text(&got)));
        verdicts.push(Verdict {
            case: number,
            name,
            passed,
            input,
            expected: expected.text(),
            got,
            diff,
        });
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    if json {
        print_json(&serde_json::json!({
            "plugin": bench.artifact.id,
            "cases": verdicts.len(),
            "failed": failed,
            "verdicts": verdicts,
        }))?;
    } else {
        for v in verdicts.iter().filter(|v| !v.passed) {
            outln!(
                "FAIL case {} ({}) — input {}",
                v.case,
                esc(&v.name),
                esc(&v.input.to_string())
            );
            if let Some(diff) = &v.diff {
                for line in diff.lines() {
                    outln!("  {}", esc(line));
                }
            }
        }
        outln!(
            "{} of {} cases passed ({} failed) — {}",
            verdicts.len() - failed,
            verdicts.len(),
            failed,
            path.display()
        );
    }
    Ok(if failed > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

impl Case {
    /// The input and the expectation, checked for consistency.
    fn parse(&self, kind: PluginKind) -> anyhow::Result<(Json, Expected)> {
        let input = match (&self.input, &self.input_json) {
            (Some(v), None) => toml_to_json(v),
            (None, Some(text)) => {
                serde_json::from_str(text).context("`input_json` is not valid JSON")?
            }
            _ => bail!("give exactly one of `input` and `input_json`"),
        };
        if kind == PluginKind::Normalizer && !input.is_object() {
            bail!("a normalizer's input is a record: a table (`input = {{ a = 1 }}`)");
        }
        let output = match (&self.output, &self.output_json) {
            (Some(v), None) => Some(toml_to_json(v)),
            (None, Some(text)) => {
                Some(serde_json::from_str(text).context("`output_json` is not valid JSON")?)
            }
            (None, None) => None,
            _ => bail!("give at most one of `output` and `output_json`"),
        };
        let expected = match (output, self.error.as_ref(), self.skipped.as_ref()) {
            (Some(o), None, None) => Expected::Output(o),
            (None, Some(e), None) => {
                if e.category.is_none() && e.code.is_none() {
                    bail!("`error` needs a `category`, a `code` or both");
                }
                Expected::Error(ExpectedError {
                    category: e.category,
                    code: e.code.clone(),
                })
            }
            (None, None, Some(Skipped::Any(true))) => Expected::Skipped(None),
            (None, None, Some(Skipped::Reason(r))) => Expected::Skipped(Some(r.clone())),
            _ => bail!(
                "give exactly one expectation: `output` (or `output_json`), `error`, or `skipped` (normalizers)"
            ),
        };
        Ok((input, expected))
    }
}

impl Expected {
    fn matches(&self, got: &Got) -> bool {
        match (self, got) {
            (Expected::Output(want), Got::Output { value }) => want == value,
            (Expected::Error(want), Got::Error(e)) => {
                want.category.is_none_or(|c| c == e.category)
                    && want.code.as_deref().is_none_or(|c| c == e.code)
            }
            (Expected::Skipped(None), Got::Skipped { .. }) => true,
            (Expected::Skipped(Some(part)), Got::Skipped { reason }) => reason.contains(part),
            _ => false,
        }
    }

    /// What was expected, as lines a diff compares.
    fn text(&self) -> String {
        match self {
            Expected::Output(v) => format!("output {}", pretty(v)),
            Expected::Error(e) => format!(
                "error [{}] {}",
                e.category.map_or("any category", Category::as_str),
                e.code.as_deref().unwrap_or("(any code)")
            ),
            Expected::Skipped(None) => "skipped".to_owned(),
            Expected::Skipped(Some(r)) => format!("skipped: …{r}…"),
        }
    }
}

/// What came out, as lines a diff compares.
fn got_text(got: &Got) -> String {
    match got {
        Got::Output { value } => format!("output {}", pretty(value)),
        Got::Skipped { reason } => format!("skipped: {reason}"),
        Got::Error(e) => format!("error [{}] {}\n  ({})", e.category, e.code, e.message),
    }
}

/// The one record's result.
fn got_from(results: Vec<RecordResult>) -> Got {
    let Some(r) = results.into_iter().next() else {
        return Got::Error(Failed {
            category: Category::Mapping,
            code: "contract-violation".to_owned(),
            message: "the plugin returned no result".to_owned(),
        });
    };
    match (r.output, r.skipped, r.category, r.code) {
        (_, _, Some(category), Some(code)) => Got::Error(Failed {
            category,
            code,
            message: r
                .error
                .as_deref()
                .and_then(|e| e.split_once(": ").map(|(_, m)| m.to_owned()))
                .unwrap_or_default(),
        }),
        (Some(value), _, _, _) => Got::Output { value },
        (None, Some(reason), _, _) => Got::Skipped { reason },
        _ => Got::Output { value: Json::Null },
    }
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A unified line diff: `-` expected, `+` got.
fn diff(expected: &str, got: &str) -> String {
    let expected = format!("{expected}\n");
    let got = format!("{got}\n");
    TextDiff::from_lines(&expected, &got)
        .unified_diff()
        .header("expected", "got")
        .to_string()
}

fn table_to_json(table: Option<&toml::Table>) -> Json {
    table.map_or_else(
        || Json::Object(Default::default()),
        |t| toml_to_json(&toml::Value::Table(t.clone())),
    )
}
