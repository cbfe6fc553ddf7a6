//! Unit tests, reading real files in a temporary directory.

use std::path::Path;

use serde_json::json;
use sluice_sdk::ErrorCategory;
use tempfile::TempDir;

use super::*;

/// A temporary granted directory holding `contents` as `contacts.csv`.
fn dir_with(contents: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.csv"), contents).unwrap();
    dir
}

fn source(dir: &Path, options: &str) -> CsvFileSource {
    CsvFileSource::under(dir, options).unwrap()
}

/// An item as `(key, body-or-error)`, for comparisons.
fn describe(item: &Result<Extracted, ExtractFailure>) -> (String, Json) {
    match item {
        Ok(record) => (
            record.key.clone(),
            serde_json::from_str(&record.body).unwrap(),
        ),
        Err(failure) => (
            failure.key.clone(),
            json!({
                "raw": failure.raw,
                "code": failure.error.code,
                "message": failure.error.message,
            }),
        ),
    }
}

/// Reads the whole file `max` items at a time.
fn read_all(source: &CsvFileSource, max: u32) -> Vec<(String, Json)> {
    let mut items = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let batch = source.read_batch(cursor.as_deref(), max).unwrap();
        assert!(batch.items.len() <= max as usize);
        items.extend(batch.items.iter().map(describe));
        cursor = batch.cursor;
        if batch.done {
            return items;
        }
    }
    panic!("the source never finished");
}

const CONTACTS: &str = "name,email\nJane,jane@example.com\n\"Doe, John\",john@example.com\n";

#[test]
fn reads_rows_as_objects_keyed_by_line() {
    let dir = dir_with(CONTACTS);
    let items = read_all(&source(dir.path(), r#"{"path": "contacts.csv"}"#), 10);
    assert_eq!(
        items,
        vec![
            (
                "contacts.csv:2".to_owned(),
                json!({"name": "Jane", "email": "jane@example.com"})
            ),
            (
                "contacts.csv:3".to_owned(),
                json!({"name": "Doe, John", "email": "john@example.com"})
            ),
        ]
    );
}

#[test]
fn batches_resume_from_the_cursor() {
    let mut contents = String::from("n,sq\n");
    for n in 0..23 {
        contents.push_str(&format!("{n},{}\n", n * n));
        if n % 5 == 0 {
            contents.push('\n');
        }
    }
    contents.push_str("\"multi\nline\",x\n");
    let dir = dir_with(&contents);
    let source = source(dir.path(), r#"{"path": "contacts.csv"}"#);
    let all = read_all(&source, 1000);
    assert_eq!(all.len(), 24);
    for max in [1, 2, 7, 23, 24] {
        assert_eq!(read_all(&source, max), all, "max {max}");
    }
    let last = all.last().unwrap();
    assert_eq!(last.0, format!("contacts.csv:{}", 1 + 23 + 5 + 1));
    assert_eq!(last.1, json!({"n": "multi\nline", "sq": "x"}));
}

#[test]
fn reports_done_without_an_extra_empty_batch() {
    let dir = dir_with(CONTACTS);
    let source = source(dir.path(), r#"{"path": "contacts.csv"}"#);
    let batch = source.read_batch(None, 2).unwrap();
    assert_eq!(batch.items.len(), 2);
    assert!(batch.done);
    let again = source.read_batch(batch.cursor.as_deref(), 2).unwrap();
    assert!(again.items.is_empty());
    assert!(again.done);

    let first = source.read_batch(None, 1).unwrap();
    assert!(!first.done);
    assert_eq!(first.cursor.as_deref(), Some("csv1:33:3:2"));
}

#[test]
fn rows_of_the_wrong_width_are_failures() {
    let dir = dir_with("a,b\r\n1,2\r\n1,2,3\r\n\r\nonly\r\n4,5\r\n");
    let items = read_all(&source(dir.path(), r#"{"path": "contacts.csv"}"#), 10);
    assert_eq!(
        items,
        vec![
            ("contacts.csv:2".to_owned(), json!({"a": "1", "b": "2"})),
            (
                "contacts.csv:3".to_owned(),
                json!({"raw": "1,2,3", "code": "malformed-row", "message": "expected 2 fields, found 3"})
            ),
            (
                "contacts.csv:5".to_owned(),
                json!({"raw": "only", "code": "malformed-row", "message": "expected 2 fields, found 1"})
            ),
            ("contacts.csv:6".to_owned(), json!({"a": "4", "b": "5"})),
        ]
    );
    let batch = source(dir.path(), r#"{"path": "contacts.csv"}"#)
        .read_batch(None, 10)
        .unwrap();
    let failure = batch.items[1].as_ref().unwrap_err();
    assert_eq!(failure.error.category, ErrorCategory::Validation);
}

#[test]
fn blank_lines_and_crlf_keep_physical_line_numbers() {
    for newline in ["\n", "\r\n"] {
        let contents = ["a", "1", "", "", "2", "\"x", "y\"", "", "3"].join(newline) + newline;
        let dir = dir_with(&contents);
        let source = source(dir.path(), r#"{"path": "contacts.csv"}"#);
        let all = read_all(&source, 100);
        let keys: Vec<&str> = all.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "contacts.csv:2",
                "contacts.csv:5",
                "contacts.csv:6",
                "contacts.csv:9"
            ],
            "{newline:?}"
        );
        assert_eq!(all[2].1, json!({"a": format!("x{newline}y")}));
        assert_eq!(read_all(&source, 1), all, "{newline:?}");
    }
}

#[test]
fn invalid_utf8_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.csv"), b"a,b\n\xff,2\n3,4\n").unwrap();
    let items = read_all(&source(dir.path(), r#"{"path": "contacts.csv"}"#), 10);
    assert_eq!(items[0].1["code"], "invalid-utf8");
    assert_eq!(items[0].1["raw"], "\u{fffd},2");
    assert_eq!(
        items[1],
        ("contacts.csv:3".to_owned(), json!({"a": "3", "b": "4"}))
    );
}

#[test]
fn without_headers_columns_are_numbered() {
    let dir = dir_with("1;2\n3;4\n5\n");
    let options = r#"{"path": "contacts.csv", "has_headers": false, "delimiter": ";"}"#;
    let items = read_all(&source(dir.path(), options), 2);
    assert_eq!(
        items[0],
        (
            "contacts.csv:1".to_owned(),
            json!({"column1": "1", "column2": "2"})
        )
    );
    assert_eq!(
        items[1],
        (
            "contacts.csv:2".to_owned(),
            json!({"column1": "3", "column2": "4"})
        )
    );
    assert_eq!(items[2].1["code"], "malformed-row");
}

#[test]
fn tabs_and_byte_order_marks() {
    let dir = dir_with("\u{feff}name\tage\nAda\t36\n");
    let items = read_all(
        &source(dir.path(), r#"{"path": "contacts.csv", "delimiter": "\t"}"#),
        5,
    );
    assert_eq!(
        items,
        vec![(
            "contacts.csv:2".to_owned(),
            json!({"name": "Ada", "age": "36"})
        )]
    );

    let dir = dir_with("\u{feff}x,y\n");
    let options = r#"{"path": "contacts.csv", "has_headers": false}"#;
    let items = read_all(&source(dir.path(), options), 5);
    assert_eq!(items[0].1, json!({"column1": "x", "column2": "y"}));
}

#[test]
fn files_in_subdirectories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/c.csv"), "a\n1\n").unwrap();
    let items = read_all(&source(dir.path(), r#"{"path": "in/c.csv"}"#), 5);
    assert_eq!(items, vec![("in/c.csv:2".to_owned(), json!({"a": "1"}))]);
}

#[test]
fn empty_files_are_done_at_once() {
    let dir = dir_with("");
    let batch = source(dir.path(), r#"{"path": "contacts.csv"}"#)
        .read_batch(None, 5)
        .unwrap();
    assert!(batch.items.is_empty());
    assert!(batch.done);
}

#[test]
fn stream_errors() {
    let dir = dir_with("a,a\n1,2\n");
    let missing = source(dir.path(), r#"{"path": "nope.csv"}"#);
    let error = missing.read_batch(None, 5).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.code, "file-not-found");
    assert!(error.message.contains("\"nope.csv\""));

    let duplicate = source(dir.path(), r#"{"path": "contacts.csv"}"#);
    let error = duplicate.read_batch(None, 5).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert!(
        error.message.contains("column 1 and column 2"),
        "{}",
        error.message
    );

    let error = duplicate.read_batch(Some("jsonl1:0:1"), 5).unwrap_err();
    assert_eq!(error.code, "invalid-cursor");
}

#[test]
fn rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    for (options, message) in [
        (r#"{}"#, "missing field `path`"),
        (r#"{"path": "/etc/passwd"}"#, "absolute"),
        (r#"{"path": "../secret.csv"}"#, "\"..\""),
        (
            r#"{"path": "a.csv", "delimiter": ";;"}"#,
            "expected a character",
        ),
        (
            r#"{"path": "a.csv", "delimiter": "€"}"#,
            "single ASCII character",
        ),
        (
            r#"{"path": "a.csv", "delimiter": "\""}"#,
            "single ASCII character",
        ),
        (
            r#"{"path": "a.csv", "headers": true}"#,
            "unknown field `headers`",
        ),
    ] {
        let error = CsvFileSource::under(dir.path(), options).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config, "{options}");
        assert!(
            error.message.contains(message),
            "{options}: {}",
            error.message
        );
    }
    assert_eq!(
        CsvFileSource::configure(Options::from_json(r#"{"path": "x/a.csv"}"#).unwrap())
            .unwrap()
            .full_path,
        PathBuf::from("/data/x/a.csv")
    );
}

#[test]
fn an_oversized_row_fails_alone() {
    // An unclosed quote would make the rest of the file one field; here the
    // field closes, after 5,000 bytes, and the rows after it load.
    let big = "x".repeat(5000);
    let dir = dir_with(&format!(
        "name,note\nJane,a\nBig,\"{big}\nstill big\"\r\nJohn,b\n"
    ));
    let options = r#"{"path": "contacts.csv", "max_record_bytes": 100}"#;
    for max in [1, 2, 10] {
        let items = read_all(&source(dir.path(), options), max);
        assert_eq!(items.len(), 3, "max {max}");
        assert_eq!(
            items[0],
            (
                "contacts.csv:2".to_owned(),
                json!({"name": "Jane", "note": "a"})
            )
        );
        assert_eq!(
            items[2],
            (
                "contacts.csv:5".to_owned(),
                json!({"name": "John", "note": "b"})
            )
        );
        let (key, failure) = &items[1];
        assert_eq!(key, "contacts.csv:3");
        assert_eq!(failure["code"], "record-too-large");
        let message = failure["message"].as_str().unwrap();
        assert!(
            message.starts_with("the record at contacts.csv:3 is 5,016 bytes, more than the 100 allowed by `max_record_bytes`"),
            "{message}"
        );
        let raw = failure["raw"].as_str().unwrap();
        assert!(raw.starts_with("Big,\"xxx") && raw.len() < 300, "{raw}");
    }
}

#[test]
fn an_oversized_header_row_is_a_config_error() {
    let dir = dir_with(&format!("{}\n1\n", "h".repeat(200)));
    let source = source(
        dir.path(),
        r#"{"path": "contacts.csv", "max_record_bytes": 100}"#,
    );
    let error = source.read_batch(None, 5).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.code, "record-too-large");
}

#[test]
fn batches_stop_by_bytes() {
    // 40 rows of about 100 KB: the default batch budget of 1 MiB takes ten.
    let mut contents = String::from("id,text\n");
    for n in 0..40 {
        contents.push_str(&format!("{n},{}\n", "y".repeat(100_000)));
    }
    let dir = dir_with(&contents);
    let source = source(dir.path(), r#"{"path": "contacts.csv"}"#);
    let batch = source.read_batch(None, 256).unwrap();
    assert!(!batch.done);
    let bytes: usize = batch
        .items
        .iter()
        .map(|item| {
            let record = item.as_ref().unwrap();
            record.key.len() + record.body.len()
        })
        .sum();
    assert!(
        bytes as u64 <= sluice_sdk::batch::BATCH_OUTPUT_BYTES,
        "{bytes}"
    );
    assert_eq!(batch.items.len(), 10);
    assert_eq!(read_all(&source, 256).len(), 40);
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("contacts.csv")).unwrap();
    let error = source(dir.path(), r#"{"path": "contacts.csv"}"#)
        .read_batch(None, 5)
        .unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.code, "not-a-file");
    assert!(
        error.message.contains("is a directory"),
        "{}",
        error.message
    );
}
