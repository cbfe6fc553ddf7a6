//! A record over the source's size limit fails alone, as a validation error
//! of the data naming its file and line; the rest of the file loads. A
//! path that is a directory is reported in plain words.

use sluice::runlog::{ErrorFilter, ErrorRow};

use crate::support::{TestEnv, jsonl, stdout};

/// A field or line of about 50 MB.
const BIG: usize = 50 << 20;

/// A pipeline reading `in/<file>`. With `batch_size` 64 the host allows a
/// read 17 MiB of output, less than one 50 MB record.
fn pipeline(file: &str) -> String {
    format!(
        r#"name = "people"
batch_size = 64

[source]
plugin = "{plugin}"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "people"
key = "id"
source_options = {{ path = "{file}" }}
target_options = {{ path = "people.jsonl" }}

[[entity.field]]
target = "id"
required = true

[[entity.field]]
target = "name"
"#,
        plugin = if file.ends_with(".csv") {
            "csv-file"
        } else {
            "jsonl-file"
        }
    )
}

/// Runs the pipeline over `in/<file>` holding `contents`; the loaded ids
/// and the run's errors.
fn run(file: &str, contents: &[u8]) -> (TestEnv, String, Vec<String>, Vec<ErrorRow>) {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join("in")).unwrap();
    std::fs::write(env.path().join("in").join(file), contents).unwrap();
    let path = env.write("pipeline.toml", &pipeline(file));
    let summary = env.run(&path);
    let loaded = jsonl(&env.read("out/people.jsonl"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    (env, summary.status.as_str().to_owned(), loaded, errors)
}

fn assert_fails_alone(errors: &[ErrorRow], position: &str) {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.category, "validation");
    assert_eq!(e.code, "record-too-large");
    assert_eq!(e.stage, "ingest");
    assert_eq!(e.source_position.as_deref(), Some(position));
    assert!(
        e.message.contains(&format!("at {position} is ")) && e.message.contains("max_record_bytes"),
        "{}",
        e.message
    );
}

#[test]
fn a_50_mb_csv_field_fails_its_row_alone() {
    let mut csv = b"id,name,note\n1,Ann,a\n2,Bob,b\n3,Big,\"".to_vec();
    csv.resize(csv.len() + BIG, b'x');
    csv.extend_from_slice(b"\"\n4,Cy,c\n5,Di,d\n");
    let (env, status, loaded, errors) = run("people.csv", &csv);
    assert_eq!(loaded, ["1", "2", "4", "5"]);
    assert_fails_alone(&errors, "people.csv:4");
    assert_eq!(status, "partial");

    let out = env.cli(&["errors", "last"]);
    let text = stdout(&out);
    assert!(text.contains("1 record failed"), "{text}");
    assert!(text.contains("max_record_bytes"), "{text}");
    assert!(
        !text.contains("limits."),
        "the hint is about the data: {text}"
    );
}

#[test]
fn a_50_mb_jsonl_line_fails_alone() {
    let mut lines = b"{\"id\":\"1\",\"name\":\"Ann\"}\n{\"id\":\"2\",\"name\":\"Bob\"}\n{\"id\":\"3\",\"note\":\"".to_vec();
    lines.resize(lines.len() + BIG, b'x');
    lines.extend_from_slice(b"\"}\n{\"id\":\"4\",\"name\":\"Cy\"}\n");
    let (_env, status, loaded, errors) = run("people.jsonl", &lines);
    assert_eq!(loaded, ["1", "2", "4"]);
    assert_fails_alone(&errors, "people.jsonl:3");
    assert_eq!(status, "partial");
}

#[test]
fn an_unclosed_quote_fails_one_row_and_keeps_the_rows_before_it() {
    let mut csv = b"id,name\n1,Ann\n2,\"Bob\n".to_vec();
    for n in 3..60_000 {
        csv.extend_from_slice(format!("{n},Name {n} with some text\n").as_bytes());
    }
    let (_env, status, loaded, errors) = run("people.csv", &csv);
    assert_eq!(loaded, ["1"]);
    assert_fails_alone(&errors, "people.csv:3");
    assert_eq!(status, "partial");
}

#[test]
fn a_directory_given_as_the_file_is_named_in_plain_words() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join("in/people.csv")).unwrap();
    let path = env.write("pipeline.toml", &pipeline("people.csv"));
    let summary = env.run(&path);
    assert_eq!(summary.status.as_str(), "failed");
    let errors = env
        .run_log()
        .errors(summary.run_id, &ErrorFilter::default())
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let message = &errors[0].message;
    assert!(
        message.contains("people.csv: is a directory, not a file"),
        "{message}"
    );
    assert!(!message.contains("os error"), "{message}");
    assert_eq!(errors[0].category, "config");
}
