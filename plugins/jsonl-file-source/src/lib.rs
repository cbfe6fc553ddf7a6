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
//! A line longer than `max_record_bytes` fails alone, with code
//! `record-too-large`, category `validation`, a message naming
//! `<path>:<line>` and its first bytes as its raw text; the lines around it
//! load. The source never holds such a line whole: it reads past it in
//! buffer-sized chunks. A batch also stops early once its output reaches
//! 1 MiB (see `sluice_sdk::batch`), so it fits the host's output cap and
//! memory limit whatever the pipeline's `batch_size`; with the host's
//! default limits a record up to 1 MiB always goes through.
//!
//! Options:
//!
//! - `path` (required): the file, relative to the granted directory. An
//!   absolute path or one containing `..` is a `config` error; so is a
//!   missing file or a directory, when it is first read.
//! - `max_record_bytes` (default 1048576, 1 MiB): the longest line, in
//!   bytes without its line break. Raising it past 1 MiB may need the
//!   host's `limits.output_bytes_per_record` and `limits.memory_mb` raised
//!   for the source too: a record is returned whole in one answer.

mod cursor;

mod lines;

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_sdk::batch::{BatchBudget, DEFAULT_MAX_RECORD_BYTES, record_too_large};
use sluice_sdk::files::{data_path, io_error};
use sluice_sdk::{ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Source};

use crate::cursor::Cursor;
use crate::lines::{Line, LineReader};

/// Bytes read from the file at a time: larger than the default 8 KiB,
/// since each read is a host call (a batch of 256 typical records is
/// about 80 KB).
const READ_BUFFER: usize = 64 * 1024;

/// The `jsonl-file-source` plugin.
#[derive(Debug)]
pub struct JsonlFileSource {
    /// The `path` option, as written: used in keys and messages.
    path: String,
    /// Where the file is.
    full_path: PathBuf,
    /// The longest line, in bytes.
    max_record_bytes: u64,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonlOptions {
    /// The file, relative to the granted directory.
    path: String,
    /// The longest line, in bytes without its line break.
    #[serde(default = "default_max_record_bytes")]
    max_record_bytes: u64,
}

fn default_max_record_bytes() -> u64 {
    DEFAULT_MAX_RECORD_BYTES
}

impl Source for JsonlFileSource {
    type Options = JsonlOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: JsonlOptions = options.parse()?;
        let full_path = data_path(&options.path)?;
        JsonlFileSource::new(options, full_path)
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
    /// Checks the options; `full_path` is where `options.path` resolves.
    fn new(options: JsonlOptions, full_path: PathBuf) -> Result<Self, PluginError> {
        if options.max_record_bytes == 0 {
            return Err(PluginError::config("`max_record_bytes` must be at least 1"));
        }
        Ok(JsonlFileSource {
            path: options.path,
            full_path,
            max_record_bytes: options.max_record_bytes,
        })
    }

    /// Configures a source for a file under `base` instead of `/data`.
    #[cfg(test)]
    fn under(base: &std::path::Path, options: &str) -> Result<Self, PluginError> {
        let options: JsonlOptions = Options::from_json(options)?.parse()?;
        let full_path = sluice_sdk::files::resolve_under(base, &options.path)?;
        JsonlFileSource::new(options, full_path)
    }

    /// Reads up to `max` records from `cursor`.
    fn read_batch(&self, cursor: Option<&str>, max: u32) -> Result<ExtractBatch, PluginError> {
        let mut position = cursor.map(Cursor::decode).transpose()?.unwrap_or_default();
        let mut file =
            File::open(&self.full_path).map_err(|e| io_error(&self.path, "opening", &e))?;
        file.seek(SeekFrom::Start(position.byte))
            .map_err(|e| io_error(&self.path, "reading", &e))?;
        let mut reader = LineReader::new(
            BufReader::with_capacity(READ_BUFFER, file),
            self.max_record_bytes,
            position.byte == 0,
        );

        let mut batch = BatchBudget::new(max);
        let mut items = Vec::new();
        let done = loop {
            let Some(line) = reader
                .next_line()
                .map_err(|e| io_error(&self.path, "reading", &e))?
            else {
                break true;
            };
            if line.blank {
                position.advance(line.length);
                continue;
            }
            if batch.is_full() {
                break false;
            }
            let length = line.length;
            let item = self.item(line, position.byte == 0, position.line + 1);
            if !batch.admit(&item) {
                break false;
            }
            position.advance(length);
            items.push(item);
        };
        Ok(ExtractBatch {
            items,
            cursor: Some(position.encode()),
            done,
        })
    }

    /// Turns one non-blank line into an item. A line that is one JSON
    /// object becomes the record's body in the buffer it was read into
    /// (no copy).
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per row"
    )]
    fn item(
        &self,
        line: Line,
        starts_file: bool,
        number: u64,
    ) -> Result<Extracted, ExtractFailure> {
        let key = item_key(&self.path, number);
        let mut bytes = line.bytes;
        if starts_file && bytes.starts_with(BOM.as_bytes()) {
            bytes.drain(..BOM.len());
        }
        if line.content > self.max_record_bytes {
            return Err(record_too_large(
                key,
                line.content,
                self.max_record_bytes,
                "max_record_bytes",
                &bytes,
            ));
        }
        let malformed = |message: String, raw: String| {
            ExtractFailure::new(
                key.clone(),
                raw,
                PluginError::validation("malformed-json", message),
            )
        };
        let line = match String::from_utf8(bytes) {
            Ok(line) => line,
            Err(error) => {
                let raw = String::from_utf8_lossy(error.as_bytes());
                return Err(malformed(
                    format!("the line is not valid UTF-8: {}", error.utf8_error()),
                    raw.trim_end_matches(['\r', '\n']).to_owned(),
                ));
            }
        };
        let text = line.trim_end_matches(['\r', '\n']);
        // Checked without building it (`is_json_object`). Anything else is
        // parsed to word the error.
        let trimmed = text.trim_matches([' ', '\t', '\n', '\r']);
        if sluice_sdk::is_json_object(trimmed) {
            let start = trimmed.as_ptr() as usize - line.as_ptr() as usize;
            let end = start + trimmed.len();
            let mut body = line;
            body.truncate(end);
            if start > 0 {
                body.drain(..start);
            }
            return Ok(Extracted { key, body });
        }
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

/// The UTF-8 byte-order mark, ignored at the start of the file.
const BOM: &str = "\u{feff}";

/// An item's key, `<path>:<line>`, written without the formatting
/// machinery: it runs once per line, and a plugin's code is metered.
fn item_key(path: &str, number: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = number;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = std::str::from_utf8(&digits[at..]).expect("ASCII digits");
    let mut key = String::with_capacity(path.len() + 1 + digits.len());
    key.push_str(path);
    key.push(':');
    key.push_str(digits);
    key
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
