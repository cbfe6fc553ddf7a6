//! Unit tests, reading real files in a temporary directory.

use std::path::Path;

use serde_json::json;
use sluice_sdk::ErrorCategory;
use tempfile::TempDir;

use super::*;

/// A temporary granted directory holding `contents` as `contacts.jsonl`.
fn dir_with(contents: &[u8]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.jsonl"), contents).unwrap();
    dir
}

fn source(dir: &Path) -> JsonlFileSource {
    JsonlFileSource::under(dir, r#"{"path": "contacts.jsonl"}"#).unwrap()
}

/// An item as `(key, body-or-error)`, for comparisons.
fn describe(item: &Result<Extracted, ExtractFailure>) -> (String, Json) {
    match item {
        Ok(record) => (record.key.clone(), json!({"body": record.body})),
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
fn read_all(source: &JsonlFileSource, max: u32) -> Vec<(String, Json)> {
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

#[test]
fn reads_one_object_per_line() {
    let dir = dir_with(b"{\"a\":1}\n\n  \n{\"b\": [1, 2]}  \r\n{\"c\":\"x\"}");
    assert_eq!(
        read_all(&source(dir.path()), 10),
        vec![
            ("contacts.jsonl:1".to_owned(), json!({"body": "{\"a\":1}"})),
            (
                "contacts.jsonl:4".to_owned(),
                json!({"body": "{\"b\": [1, 2]}"})
            ),
            (
                "contacts.jsonl:5".to_owned(),
                json!({"body": "{\"c\":\"x\"}"})
            ),
        ]
    );
}

#[test]
fn malformed_lines_are_failures() {
    let dir = dir_with(b"{\"a\":1}\n{\"a\":\n[1,2]\n\xff{}\n{\"ok\":true}\n");
    let items = read_all(&source(dir.path()), 10);
    assert_eq!(
        items[1],
        (
            "contacts.jsonl:2".to_owned(),
            json!({
                "raw": "{\"a\":",
                "code": "malformed-json",
                "message": "EOF while parsing a value at line 1 column 5",
            })
        )
    );
    assert_eq!(
        items[2],
        (
            "contacts.jsonl:3".to_owned(),
            json!({
                "raw": "[1,2]",
                "code": "malformed-json",
                "message": "expected a JSON object, got an array",
            })
        )
    );
    assert_eq!(items[3].0, "contacts.jsonl:4");
    assert_eq!(items[3].1["raw"], "\u{fffd}{}");
    assert_eq!(
        items[4],
        (
            "contacts.jsonl:5".to_owned(),
            json!({"body": "{\"ok\":true}"})
        )
    );

    let batch = source(dir.path()).read_batch(None, 10).unwrap();
    assert_eq!(
        batch.items[1].as_ref().unwrap_err().error.category,
        ErrorCategory::Validation
    );
}

#[test]
fn batches_resume_from_the_cursor() {
    let mut contents = String::new();
    for n in 0..17 {
        contents.push_str(&format!("{{\"n\":{n}}}\n"));
        if n % 4 == 0 {
            contents.push_str("\n\n");
        }
    }
    contents.push_str("not json\n\n");
    let dir = dir_with(contents.as_bytes());
    let source = source(dir.path());
    let all = read_all(&source, 1000);
    assert_eq!(all.len(), 18);
    for max in [1, 3, 17, 18] {
        assert_eq!(read_all(&source, max), all, "max {max}");
    }

    let batch = source.read_batch(None, 18).unwrap();
    assert!(batch.done, "no extra empty batch after the last item");
    let first = source.read_batch(None, 1).unwrap();
    assert!(!first.done);
    assert_eq!(first.cursor.as_deref(), Some("jsonl1:10:3"));
}

#[test]
fn byte_order_marks_are_ignored() {
    let dir = dir_with("\u{feff}{\"a\":1}\n".as_bytes());
    assert_eq!(
        read_all(&source(dir.path()), 10),
        vec![("contacts.jsonl:1".to_owned(), json!({"body": "{\"a\":1}"}))]
    );
}

#[test]
fn stream_errors() {
    let dir = dir_with(b"");
    let batch = source(dir.path()).read_batch(None, 5).unwrap();
    assert!(batch.items.is_empty() && batch.done);

    let missing = JsonlFileSource::under(dir.path(), r#"{"path": "sub/nope.jsonl"}"#).unwrap();
    let error = missing.read_batch(None, 5).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.code, "file-not-found");
    assert!(error.message.contains("\"sub/nope.jsonl\""));

    let error = source(dir.path())
        .read_batch(Some("csv1:0:1:0"), 5)
        .unwrap_err();
    assert_eq!(error.code, "invalid-cursor");
}

#[test]
fn rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    for (options, message) in [
        (r#"{}"#, "missing field `path`"),
        (r#"{"path": "/data/a.jsonl"}"#, "absolute"),
        (r#"{"path": "a/../../b.jsonl"}"#, "\"..\""),
        (
            r#"{"path": "a.jsonl", "mode": "append"}"#,
            "unknown field `mode`",
        ),
    ] {
        let error = JsonlFileSource::under(dir.path(), options).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config, "{options}");
        assert!(
            error.message.contains(message),
            "{options}: {}",
            error.message
        );
    }
}

#[test]
fn an_oversized_line_fails_alone() {
    let big = format!("{{\"note\":\"{}\"}}", "x".repeat(5000));
    let dir = dir_with(format!("{{\"a\":1}}\n{big}\r\n{{\"b\":2}}\n").as_bytes());
    let source = JsonlFileSource::under(
        dir.path(),
        r#"{"path": "contacts.jsonl", "max_record_bytes": 100}"#,
    )
    .unwrap();
    for max in [1, 2, 10] {
        let items = read_all(&source, max);
        assert_eq!(items.len(), 3, "max {max}");
        assert_eq!(
            items[0],
            ("contacts.jsonl:1".to_owned(), json!({"body": "{\"a\":1}"}))
        );
        assert_eq!(
            items[2],
            ("contacts.jsonl:3".to_owned(), json!({"body": "{\"b\":2}"}))
        );
        let (key, failure) = &items[1];
        assert_eq!(key, "contacts.jsonl:2");
        assert_eq!(failure["code"], "record-too-large");
        let message = failure["message"].as_str().unwrap();
        assert!(
            message.starts_with("the record at contacts.jsonl:2 is 5,011 bytes, more than the 100 allowed by `max_record_bytes`"),
            "{message}"
        );
        assert!(
            failure["raw"]
                .as_str()
                .unwrap()
                .starts_with("{\"note\":\"xxx")
        );
    }
}

#[test]
fn batches_stop_by_bytes() {
    let mut contents = String::new();
    for n in 0..40 {
        contents.push_str(&format!(
            "{{\"n\":{n},\"t\":\"{}\"}}\n",
            "y".repeat(100_000)
        ));
    }
    let dir = dir_with(contents.as_bytes());
    let source = source(dir.path());
    let batch = source.read_batch(None, 256).unwrap();
    assert!(!batch.done);
    assert_eq!(batch.items.len(), 10);
    assert_eq!(read_all(&source, 256).len(), 40);
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("contacts.jsonl")).unwrap();
    let error = source(dir.path()).read_batch(None, 5).unwrap_err();
    assert_eq!(error.category, ErrorCategory::Config);
    assert_eq!(error.code, "not-a-file");
    assert!(
        error.message.contains("is a directory"),
        "{}",
        error.message
    );
}

#[test]
fn keys_are_the_path_and_the_line_number() {
    for number in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(
            item_key("dir/contacts.jsonl", number),
            format!("dir/contacts.jsonl:{number}")
        );
    }
}

/// A record's body is the line's text without its surrounding whitespace
/// and line break, whether it was copied or kept in the line's buffer.
#[test]
fn bodies_are_the_lines_trimmed() {
    let dir = dir_with(b"\xef\xbb\xbf {\"a\":1}\t\r\n{\"b\":2}\n  {\"c\": \"x\"}  \r\n{\"d\":4}");
    let batch = source(dir.path()).read_batch(None, 10).unwrap();
    let bodies: Vec<&str> = batch
        .items
        .iter()
        .map(|item| item.as_ref().unwrap().body.as_str())
        .collect();
    assert_eq!(
        bodies,
        [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c": "x"}"#, r#"{"d":4}"#]
    );
}
