//! `jsonl-file-source`: a source that reads records from a JSON Lines file
//! in the granted directory (mounted at `/data`).
//!
//! Each line holds one JSON object, which becomes the record as written.
//! Blank lines are ignored. Every item's key is `<path>:<line>` (1-based).
//! A line that is not valid JSON, not an object, or not valid UTF-8 is an
//! extract failure with code `malformed-json`, category `validation`, the
//! line as its raw text and serde's message (with line and column). The
//! cursor records the byte offset and line number after the batch, so the
//! next `read` seeks straight there. A UTF-8 byte-order mark is ignored.
//! The `entity` argument of `read` is not used: the file is the entity.
//!
//! Options:
//!
//! - `path` (required): the file, relative to the granted directory. An
//!   absolute path or one containing `..` is a `config` error; so is a
//!   missing file, when it is first read.

mod cursor;

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_sdk::files::{data_path, io_error};
use sluice_sdk::{ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Source};

use crate::cursor::Cursor;

/// The `jsonl-file-source` plugin.
#[derive(Debug)]
pub struct JsonlFileSource {
    /// The `path` option, as written: used in keys and messages.
    path: String,
    /// Where the file is.
    full_path: PathBuf,
}

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlOptions {
    path: String,
}

impl Source for JsonlFileSource {
    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: JsonlOptions = options.parse()?;
        let full_path = data_path(&options.path)?;
        Ok(JsonlFileSource {
            path: options.path,
            full_path,
        })
    }

    fn read(
        &mut self,
        _entity: &str,
        cursor: Option<String>,
        max: u32,
    ) -> Result<ExtractBatch, PluginError> {
        self.read_batch(cursor.as_deref(), max)
    }
}

impl JsonlFileSource {
    /// Configures a source for a file under `base` instead of `/data`.
    #[cfg(test)]
    fn under(base: &std::path::Path, options: &str) -> Result<Self, PluginError> {
        let options: JsonlOptions = Options::from_json(options)?.parse()?;
        let full_path = sluice_sdk::files::resolve_under(base, &options.path)?;
        Ok(JsonlFileSource {
            path: options.path,
            full_path,
        })
    }

    /// Reads up to `max` records from `cursor`.
    fn read_batch(&self, cursor: Option<&str>, max: u32) -> Result<ExtractBatch, PluginError> {
        let mut position = cursor.map(Cursor::decode).transpose()?.unwrap_or_default();
        let mut file =
            File::open(&self.full_path).map_err(|e| io_error(&self.path, "opening", &e))?;
        file.seek(SeekFrom::Start(position.byte))
            .map_err(|e| io_error(&self.path, "reading", &e))?;
        let mut reader = BufReader::new(file);

        let mut items = Vec::new();
        let mut line = Vec::new();
        let done = loop {
            line.clear();
            let length = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_error(&self.path, "reading", &e))?;
            if length == 0 {
                break true;
            }
            let text = if position.byte == 0 {
                line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&line)
            } else {
                &line[..]
            };
            if text.iter().all(u8::is_ascii_whitespace) {
                position.advance(length);
                continue;
            }
            if items.len() >= max as usize {
                break false;
            }
            position.advance(length);
            items.push(self.item(text, position.line));
        };
        Ok(ExtractBatch {
            items,
            cursor: Some(position.encode()),
            done,
        })
    }

    /// Turns one non-blank line into an item.
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per row"
    )]
    fn item(&self, bytes: &[u8], line: u64) -> Result<Extracted, ExtractFailure> {
        let key = format!("{}:{line}", self.path);
        let malformed = |message: String, raw: String| {
            ExtractFailure::new(
                key.clone(),
                raw,
                PluginError::validation("malformed-json", message),
            )
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.trim_end_matches(['\r', '\n']),
            Err(error) => {
                let raw = String::from_utf8_lossy(bytes);
                return Err(malformed(
                    format!("the line is not valid UTF-8: {error}"),
                    raw.trim_end_matches(['\r', '\n']).to_owned(),
                ));
            }
        };
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(_)) => Ok(Extracted {
                key,
                body: text.trim().to_owned(),
            }),
            Ok(other) => Err(malformed(
                format!("expected a JSON object, got {}", kind(&other)),
                text.to_owned(),
            )),
            Err(error) => Err(malformed(error.to_string(), text.to_owned())),
        }
    }
}

/// The name of a JSON value's type, for messages.
fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

sluice_sdk::export_source!(JsonlFileSource);

#[cfg(test)]
mod tests;
