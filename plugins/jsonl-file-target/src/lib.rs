//! `jsonl-file-target`: a target that writes records to a JSON Lines file
//! in the granted directory (mounted at `/data`).
//!
//! `begin` opens the file, creating it and its parent directories. `write`
//! appends each record as one compact JSON line and reports it `created`
//! (without an id); a record whose body is not a JSON object gets a
//! `validation` error (code `not-an-object`) and is not written. The line
//! is the body as sent with the whitespace between its tokens removed: the
//! body is checked to be one JSON object without being built, and keys,
//! their order, escapes and numbers are written as they came (the host
//! sends each body as serde_json writes an object: compact, keys sorted,
//! each once, so its bodies are written unchanged). `commit`
//! flushes the file and syncs it to storage. The `entity` arguments are
//! not used: the file is the entity.
//!
//! Options:
//!
//! - `path` (required): the file, relative to the granted directory. An
//!   absolute path or one containing `..` is a `config` error.
//! - `mode` (default `"overwrite"`): `"overwrite"` empties the file at the
//!   instance's first `begin` (later `begin`s of the same instance, for
//!   other entities, append); `"append"` always appends.
//! - `key_field` (optional): makes writes idempotent by this field of the
//!   record. At the instance's first `begin`, an incomplete last line (left
//!   by a crash before the file was committed) is cut off, and the values of
//!   this field in the lines already in the file are collected; a record
//!   whose value was already written is reported `unchanged` and not
//!   written again. Use it with `"append"` for incremental runs and replays,
//!   which may hand the target a record a second time after a crash.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::Deserialize;
use sluice_sdk::files::{data_path, io_error};
use sluice_sdk::{Options, Outgoing, PluginError, Target, WriteOutcome};

/// Bytes buffered before they are written to the file.
const WRITE_BUFFER: usize = 64 * 1024;

/// The `jsonl-file-target` plugin.
#[derive(Debug)]
pub struct JsonlFileTarget {
    /// The `path` option, as written: used in messages.
    path: String,
    /// Where the file is.
    full_path: PathBuf,
    mode: Mode,
    /// The `key_field` option.
    key_field: Option<String>,
    /// Values of `key_field` already in the file.
    written: HashSet<String>,
    /// True once the file has been opened by this instance.
    opened: bool,
    /// The open file, between `begin` and `commit`.
    writer: Option<BufWriter<File>>,
}

/// What `begin` does to an existing file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// Empty it first.
    #[default]
    Overwrite,
    /// Add to its end.
    Append,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonlOptions {
    /// The file, relative to the granted directory.
    path: String,
    /// `overwrite` empties the file at the instance's first `begin`;
    /// `append` always appends.
    #[serde(default)]
    mode: Mode,
    /// Makes writes idempotent by this field of the record: a value already
    /// in the file is reported `unchanged` and not written again.
    #[serde(default)]
    key_field: Option<String>,
}

impl Target for JsonlFileTarget {
    type Options = JsonlOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: JsonlOptions = options.parse()?;
        let full_path = data_path(&options.path)?;
        Ok(JsonlFileTarget::new(options, full_path))
    }

    fn begin(&mut self, _entity: &str) -> Result<(), PluginError> {
        if self.writer.is_some() {
            return Ok(());
        }
        if let Some(parent) = self.full_path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io_error(&self.path, "creating the directory of", &e))?;
        }
        let truncate = self.mode == Mode::Overwrite && !self.opened;
        if !truncate && !self.opened && self.key_field.is_some() {
            self.load_written_keys()?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(truncate)
            .append(!truncate)
            .open(&self.full_path)
            .map_err(|e| io_error(&self.path, "opening", &e))?;
        self.opened = true;
        // Larger than the default 8 KiB: each flush is a host call.
        self.writer = Some(BufWriter::with_capacity(WRITE_BUFFER, file));
        Ok(())
    }

    fn write(
        &mut self,
        _entity: &str,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError> {
        let path = &self.path;
        let writer = self.writer.as_mut().ok_or_else(not_begun)?;
        let mut outcomes = Vec::with_capacity(records.len());
        for record in &records {
            if self.key_field.is_none() {
                // No key to look at: the body is checked, not built.
                match compact_object(&record.body) {
                    Ok(line) => {
                        writer
                            .write_all(line.as_bytes())
                            .and_then(|()| writer.write_all(b"\n"))
                            .map_err(|e| io_error(path, "writing", &e))?;
                        outcomes.push(Ok(WriteOutcome::Created(None)));
                    }
                    Err(error) => outcomes.push(Err(error)),
                }
                continue;
            }
            let object = match record.record() {
                Ok(object) => object,
                Err(error) => {
                    outcomes.push(Err(error));
                    continue;
                }
            };
            if let Some(field) = &self.key_field {
                match object.get(field).map(key_text) {
                    Some(key) => {
                        if !self.written.insert(key) {
                            outcomes.push(Ok(WriteOutcome::Unchanged));
                            continue;
                        }
                    }
                    None => {
                        outcomes.push(Err(PluginError::validation(
                            "missing-key",
                            format!("the record has no `{field}` field, which `key_field` names"),
                        )
                        .with_field(field.clone())));
                        continue;
                    }
                }
            }
            let mut line = serde_json::to_string(&object).expect("a JSON object serializes");
            line.push('\n');
            writer
                .write_all(line.as_bytes())
                .map_err(|e| io_error(path, "writing", &e))?;
            outcomes.push(Ok(WriteOutcome::Created(None)));
        }
        Ok(outcomes)
    }

    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer
            .into_inner()
            .map_err(|e| io_error(&self.path, "writing", e.error()))?;
        file.sync_all()
            .map_err(|e| io_error(&self.path, "syncing", &e))
    }
}

impl JsonlFileTarget {
    fn new(options: JsonlOptions, full_path: PathBuf) -> Self {
        JsonlFileTarget {
            path: options.path,
            full_path,
            mode: options.mode,
            key_field: options.key_field,
            written: HashSet::new(),
            opened: false,
            writer: None,
        }
    }

    /// Cut off an incomplete last line and collect the keys already written.
    fn load_written_keys(&mut self) -> Result<(), PluginError> {
        let Some(field) = &self.key_field else {
            return Ok(());
        };
        let mut text = match std::fs::read(&self.full_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(&self.path, "reading", &e)),
        };
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            OpenOptions::new()
                .write(true)
                .open(&self.full_path)
                .and_then(|f| f.set_len(keep as u64))
                .map_err(|e| io_error(&self.path, "repairing the last line of", &e))?;
            text.truncate(keep);
        }
        for line in text.split(|b| *b == b'\n') {
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(line)
                && let Some(v) = o.get(field)
            {
                self.written.insert(key_text(v));
            }
        }
        Ok(())
    }

    /// Configures a target for a file under `base` instead of `/data`.
    #[cfg(test)]
    fn under(base: &std::path::Path, options: &str) -> Result<Self, PluginError> {
        let options: JsonlOptions = Options::from_json(options)?.parse()?;
        let full_path = sluice_sdk::files::resolve_under(base, &options.path)?;
        Ok(JsonlFileTarget::new(options, full_path))
    }
}

/// `body` as one compact JSON line, if it is one JSON object: the text
/// itself when it has no whitespace between tokens (what the host sends;
/// found by a quick scan that skips string contents eight bytes at a
/// time), otherwise a copy without it. Checked without building the object
/// (`sluice_sdk::is_json_object`); anything else is the SDK's
/// `not-an-object` error.
fn compact_object(body: &str) -> Result<Cow<'_, str>, PluginError> {
    // JSON's whitespace, no other.
    let text = body.trim_matches([' ', '\t', '\n', '\r']);
    if !sluice_sdk::is_json_object(text) {
        // Rare: let the SDK's parser word the error.
        return Err(sluice_sdk::parse_record(body).err().unwrap_or_else(|| {
            PluginError::validation("not-an-object", "a record must be a JSON object")
        }));
    }
    if !has_whitespace_between_tokens(text.as_bytes()) {
        return Ok(Cow::Borrowed(text));
    }
    // Valid JSON: outside strings, whitespace only separates tokens; inside
    // them it is kept (raw control characters cannot occur there).
    let mut in_string = false;
    let mut escaped = false;
    let mut compact: Option<Vec<u8>> = None;
    for (i, b) in text.bytes().enumerate() {
        let drop = if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            false
        } else if b == b'"' {
            in_string = true;
            false
        } else {
            matches!(b, b' ' | b'\t' | b'\n' | b'\r')
        };
        match (&mut compact, drop) {
            (None, true) => compact = Some(text.as_bytes()[..i].to_vec()),
            (Some(out), false) => out.push(b),
            _ => {}
        }
    }
    Ok(match compact {
        // Only ASCII whitespace was left out: still UTF-8.
        Some(out) => Cow::Owned(String::from_utf8(out).expect("UTF-8 stays UTF-8")),
        None => Cow::Borrowed(text),
    })
}

/// Whether `text`, valid JSON, has whitespace between its tokens: a
/// quick scan that skips each string's contents eight bytes at a time,
/// so text without any (what the host sends) is looked at once.
fn has_whitespace_between_tokens(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => i = string_end(text, i + 1),
            b' ' | b'\t' | b'\n' | b'\r' => return true,
            _ => i += 1,
        }
    }
    false
}

/// The index just after the closing quote of the string whose contents
/// start at `i` (the end of `text` if it has none).
fn string_end(text: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A high bit set in each byte of `word` that equals `byte` (and
    // perhaps in a byte after one that does: only used to stop).
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    loop {
        while let Some(chunk) = text.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            if has(word, b'"') | has(word, b'\\') != 0 {
                break;
            }
            i += 8;
        }
        match text.get(i) {
            None => return text.len(),
            Some(b'"') => return i + 1,
            // An escape: the next byte is escaped, whatever it is.
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
        }
    }
}

/// A key field's value as text.
fn key_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The error for a `write` without a `begin`.
fn not_begun() -> PluginError {
    PluginError::config("`write` was called before `begin`").with_code("not-begun")
}

sluice_sdk::export_target!(JsonlFileTarget);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;

    fn outgoing(key: &str, body: &str) -> Outgoing {
        Outgoing {
            key: key.to_owned(),
            body: body.to_owned(),
        }
    }

    fn run(
        target: &mut JsonlFileTarget,
        bodies: &[&str],
    ) -> Vec<Result<WriteOutcome, PluginError>> {
        target.begin("contacts").unwrap();
        let records = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| outgoing(&n.to_string(), body))
            .collect();
        let outcomes = target.write("contacts", records).unwrap();
        target.commit("contacts").unwrap();
        outcomes
    }

    #[test]
    fn writes_compact_lines_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = JsonlFileTarget::under(dir.path(), r#"{"path": "out/c.jsonl"}"#).unwrap();
        let outcomes = run(&mut target, &["{ \"a\" : 1 }", "{\"b\":\n [true, null]}"]);
        assert_eq!(
            outcomes,
            vec![
                Ok(WriteOutcome::Created(None)),
                Ok(WriteOutcome::Created(None))
            ]
        );
        let written = std::fs::read_to_string(dir.path().join("out/c.jsonl")).unwrap();
        assert_eq!(written, "{\"a\":1}\n{\"b\":[true,null]}\n");
    }

    #[test]
    fn whitespace_is_removed_only_between_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = JsonlFileTarget::under(dir.path(), r#"{"path": "c.jsonl"}"#).unwrap();
        let body = "\n { \"a b\" : \"x \\\" y\\\\\" ,\r\n\t\"é ü\": [1, { \"c\" : \" \\t \" } ] } ";
        let compact = r#"{"z":1,"a":{"b":[true,null]}}"#;
        let outcomes = run(&mut target, &[body, compact]);
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        let written = std::fs::read_to_string(dir.path().join("c.jsonl")).unwrap();
        assert_eq!(
            written,
            format!(
                "{}\n{compact}\n",
                r#"{"a b":"x \" y\\","é ü":[1,{"c":" \t "}]}"#
            )
        );
    }

    /// The quick scan finds whitespace between tokens wherever it is, and
    /// none inside strings: strings of every length around the eight-byte
    /// steps, with escaped quotes and backslashes at every offset.
    #[test]
    fn the_quick_scan_sees_whitespace_only_between_tokens() {
        for len in 0..40 {
            for at in 0..=len {
                let mut inner = "a b\\tc".repeat(8)[..len].to_owned();
                inner = inner.trim_end_matches('\\').to_owned();
                let at = at.min(inner.len());
                for escape in ["\\\"", "\\\\", ""] {
                    let mut s = inner.clone();
                    if !inner[..at].ends_with('\\') {
                        s.insert_str(at, escape);
                    }
                    let compact = format!("{{\"k{len}\":\"{s}\",\"n\":[1,\"{s}\"]}}");
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&compact).is_ok(),
                        "{compact}"
                    );
                    assert!(
                        !has_whitespace_between_tokens(compact.as_bytes()),
                        "{compact}"
                    );
                    for spaced in [
                        format!("{{\"k\":\"{s}\", \"n\":1}}"),
                        format!("{{\"k\":\"{s}\",\"n\":[1,\"{s}\" ]}}"),
                        format!("{{\"k\":\"{s}\"\n}}"),
                    ] {
                        assert!(has_whitespace_between_tokens(spaced.as_bytes()), "{spaced}");
                    }
                }
            }
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_rejected_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = JsonlFileTarget::under(dir.path(), r#"{"path": "c.jsonl"}"#).unwrap();
        let outcomes = run(&mut target, &["[1]", "{\"ok\":1}", "{"]);
        assert_eq!(outcomes[0].as_ref().unwrap_err().code, "not-an-object");
        assert_eq!(outcomes[1], Ok(WriteOutcome::Created(None)));
        assert_eq!(
            outcomes[2].as_ref().unwrap_err().category,
            ErrorCategory::Validation
        );
        let written = std::fs::read_to_string(dir.path().join("c.jsonl")).unwrap();
        assert_eq!(written, "{\"ok\":1}\n");
    }

    #[test]
    fn overwrite_truncates_once_append_keeps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.jsonl"), "{\"old\":1}\n").unwrap();

        let mut overwrite = JsonlFileTarget::under(dir.path(), r#"{"path": "c.jsonl"}"#).unwrap();
        run(&mut overwrite, &["{\"a\":1}"]);
        run(&mut overwrite, &["{\"b\":2}"]);
        let written = std::fs::read_to_string(dir.path().join("c.jsonl")).unwrap();
        assert_eq!(written, "{\"a\":1}\n{\"b\":2}\n");

        let options = r#"{"path": "c.jsonl", "mode": "append"}"#;
        let mut append = JsonlFileTarget::under(dir.path(), options).unwrap();
        run(&mut append, &["{\"c\":3}"]);
        let written = std::fs::read_to_string(dir.path().join("c.jsonl")).unwrap();
        assert_eq!(written, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    }

    #[test]
    fn write_needs_begin() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = JsonlFileTarget::under(dir.path(), r#"{"path": "c.jsonl"}"#).unwrap();
        let error = target.write("c", vec![outgoing("1", "{}")]).unwrap_err();
        assert_eq!(error.code, "not-begun");
        assert_eq!(target.commit("c"), Ok(()));
    }

    #[test]
    fn rejects_bad_options() {
        let dir = tempfile::tempdir().unwrap();
        for (options, message) in [
            (r#"{}"#, "missing field `path`"),
            (r#"{"path": "/x.jsonl"}"#, "absolute"),
            (r#"{"path": "../x.jsonl"}"#, "\"..\""),
            (
                r#"{"path": "x.jsonl", "mode": "replace"}"#,
                "unknown variant `replace`",
            ),
            (
                r#"{"path": "x.jsonl", "append": true}"#,
                "unknown field `append`",
            ),
        ] {
            let error = JsonlFileTarget::under(dir.path(), options).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{options}");
            assert!(
                error.message.contains(message),
                "{options}: {}",
                error.message
            );
        }
    }

    #[test]
    fn key_field_makes_appends_idempotent_and_repairs_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.jsonl");
        std::fs::write(&file, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"na").unwrap();
        let options = r#"{"path": "c.jsonl", "mode": "append", "key_field": "id"}"#;
        let mut target = JsonlFileTarget::under(dir.path(), options).unwrap();
        let outcomes = run(
            &mut target,
            &[
                r#"{"id":"b"}"#,
                r#"{"id":"c"}"#,
                r#"{"id":"c"}"#,
                r#"{"x":1}"#,
            ],
        );
        assert_eq!(outcomes[0], Ok(WriteOutcome::Unchanged));
        assert_eq!(outcomes[1], Ok(WriteOutcome::Created(None)));
        assert_eq!(outcomes[2], Ok(WriteOutcome::Unchanged));
        assert_eq!(outcomes[3].as_ref().unwrap_err().code, "missing-key");
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
    }
}
