//! `csv-file-source`: a source that reads records from a CSV file in the
//! granted directory (mounted at `/data`).
//!
//! Each row becomes a JSON object mapping the header of each column to the
//! cell's text (every value is text; an empty cell is empty text). Without
//! a header row the columns are named `column1`, `column2`... Every item's
//! key is `<path>:<line>`, the 1-based physical line the row starts on. A
//! row with the wrong number of fields is an extract failure with code
//! `malformed-row`, its raw text and category `validation`; a row that is
//! not valid UTF-8 is one with code `invalid-utf8`. A row larger than
//! `max_record_bytes` fails alone with code `record-too-large`, category
//! `validation`, a message naming `<path>:<line>` and its first bytes as
//! its raw text, while the rows around it load; an unclosed quote, which
//! makes the rest of the file one field, fails the same way. The source
//! never holds such a row whole: it parses past it a buffer at a time
//! (see `rows`). A batch also stops early once its output reaches 1 MiB
//! (see `sluice_sdk::batch`), so it fits the host's output cap and memory
//! limit whatever the pipeline's `batch_size`. The cursor records the
//! byte offset, line and record number after the batch, so the next `read`
//! seeks straight there. A UTF-8 byte-order mark is ignored. The `entity`
//! argument of `read` is not used: the file is the entity.
//!
//! Options:
//!
//! - `path` (required): the file, relative to the granted directory. An
//!   absolute path or one containing `..` is a `config` error; so is a
//!   missing file or a directory, when it is first read.
//! - `delimiter` (default `","`): a single ASCII character such as `";"`
//!   or `"\t"`.
//! - `has_headers` (default `true`): whether the first row names the
//!   columns.
//! - `max_record_bytes` (default 1048576, 1 MiB): the largest row, in
//!   bytes as in the file without its line break; a larger header row is a
//!   `config` error. With the host's default limits a row up to 1 MiB always
//!   goes through; raising this past it may need the host's
//!   `limits.output_bytes_per_record` and `limits.memory_mb` raised for the
//!   source too, as a row is returned whole in one answer.

mod cursor;
mod rows;

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_sdk::batch::{BatchBudget, DEFAULT_MAX_RECORD_BYTES, record_too_large};
use sluice_sdk::files::{data_path, io_error};
use sluice_sdk::{ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Record, Source};

use crate::cursor::Cursor;
use crate::rows::{Row, RowReader};

/// The `csv-file-source` plugin.
#[derive(Debug)]
pub struct CsvFileSource {
    /// The `path` option, as written: used in keys and messages.
    path: String,
    /// Where the file is.
    full_path: PathBuf,
    delimiter: u8,
    has_headers: bool,
    /// The largest row, in bytes.
    max_record_bytes: u64,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// The file, relative to the granted directory.
    path: String,
    /// The field separator: one ASCII character.
    #[serde(default = "comma")]
    delimiter: char,
    /// Whether the first row names the columns.
    #[serde(default = "yes")]
    has_headers: bool,
    /// The largest row, in bytes as in the file without its line break.
    #[serde(default = "default_max_record_bytes")]
    max_record_bytes: u64,
}

fn default_max_record_bytes() -> u64 {
    DEFAULT_MAX_RECORD_BYTES
}

fn comma() -> char {
    ','
}

fn yes() -> bool {
    true
}

impl Source for CsvFileSource {
    type Options = CsvOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: CsvOptions = options.parse()?;
        let full_path = data_path(&options.path)?;
        CsvFileSource::new(options, full_path)
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

impl CsvFileSource {
    /// Checks the options; `full_path` is where `options.path` resolves.
    fn new(options: CsvOptions, full_path: PathBuf) -> Result<Self, PluginError> {
        let delimiter = u8::try_from(options.delimiter)
            .ok()
            .filter(|byte| byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r'))
            .ok_or_else(|| {
                PluginError::config(format!(
                    "`delimiter` must be a single ASCII character other than a quote or a line break, got {:?}",
                    options.delimiter
                ))
            })?;
        if options.max_record_bytes == 0 {
            return Err(PluginError::config("`max_record_bytes` must be at least 1"));
        }
        Ok(CsvFileSource {
            path: options.path,
            full_path,
            delimiter,
            has_headers: options.has_headers,
            max_record_bytes: options.max_record_bytes,
        })
    }

    /// Configures a source for a file under `base` instead of `/data`.
    #[cfg(test)]
    fn under(base: &std::path::Path, options: &str) -> Result<Self, PluginError> {
        let options: CsvOptions = Options::from_json(options)?.parse()?;
        let full_path = sluice_sdk::files::resolve_under(base, &options.path)?;
        CsvFileSource::new(options, full_path)
    }

    /// Reads up to `max` rows from `cursor`.
    fn read_batch(&self, cursor: Option<&str>, max: u32) -> Result<ExtractBatch, PluginError> {
        let start = cursor.map(Cursor::decode).transpose()?;
        let file = File::open(&self.full_path).map_err(|e| io_error(&self.path, "opening", &e))?;
        let reading = |e: std::io::Error| io_error(&self.path, "reading", &e);
        let mut reader =
            RowReader::new(BufReader::new(file), self.delimiter, self.max_record_bytes);

        // The first row names the columns or, without a header row, sets
        // how many there are.
        let mut row = Row::default();
        let columns = if !reader.read_row(&mut row).map_err(reading)? {
            Vec::new()
        } else if row.oversized {
            return Err(PluginError::config(format!(
                "the first row of {:?} is {} bytes, more than the {} allowed by `max_record_bytes`; fix the file or raise the option",
                self.path, row.size, self.max_record_bytes
            ))
            .with_code("record-too-large"));
        } else if self.has_headers {
            self.column_names(&row)?
        } else {
            (1..=row.len()).map(|n| format!("column{n}")).collect()
        };
        // Without a header row (and without a cursor) go back to read the
        // first row as data.
        match start {
            Some(position) => reader.seek(position).map_err(reading)?,
            None if !self.has_headers => reader.seek(Cursor::default()).map_err(reading)?,
            None => {}
        }

        let mut budget = BatchBudget::new(max);
        let mut items = Vec::new();
        let (end, done) = loop {
            let before = reader.position();
            if !reader.read_row(&mut row).map_err(reading)? {
                break (reader.position(), true);
            }
            if budget.is_full() {
                break (before, false);
            }
            let item = self.item(&row, &columns);
            if !budget.admit(&item) {
                break (before, false);
            }
            items.push(item);
        };
        Ok(ExtractBatch {
            items,
            cursor: Some(end.encode()),
            done,
        })
    }

    /// The header row as column names. Duplicate names would lose data, so
    /// they are a `config` error.
    fn column_names(&self, headers: &Row) -> Result<Vec<String>, PluginError> {
        let mut columns: Vec<String> = Vec::with_capacity(headers.len());
        for (index, name) in headers.fields().enumerate() {
            let name = std::str::from_utf8(name).map_err(|_| {
                PluginError::config(format!(
                    "the header row of {:?} is not valid UTF-8 (column {})",
                    self.path,
                    index + 1
                ))
            })?;
            let name = if index == 0 { strip_bom(name) } else { name };
            if let Some(first) = columns.iter().position(|column| column == name) {
                return Err(PluginError::config(format!(
                    "the header row of {:?} names column {} and column {} both {name:?}",
                    self.path,
                    first + 1,
                    index + 1
                )));
            }
            columns.push(name.to_owned());
        }
        Ok(columns)
    }

    /// Turns one row into an item.
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per row"
    )]
    fn item(&self, row: &Row, columns: &[String]) -> Result<Extracted, ExtractFailure> {
        let key = format!("{}:{}", self.path, row.line());
        if row.oversized {
            return Err(record_too_large(
                key,
                row.size,
                self.max_record_bytes,
                "max_record_bytes",
                &row.raw,
            ));
        }
        let raw_text = || {
            let text = String::from_utf8_lossy(&row.raw);
            text.trim_end_matches(['\r', '\n']).to_owned()
        };
        if row.len() != columns.len() {
            let error = PluginError::validation(
                "malformed-row",
                format!("expected {} fields, found {}", columns.len(), row.len()),
            );
            return Err(ExtractFailure::new(key, raw_text(), error));
        }
        let mut object = Record::new();
        for (index, (column, field)) in columns.iter().zip(row.fields()).enumerate() {
            let Ok(text) = std::str::from_utf8(field) else {
                let error = PluginError::validation(
                    "invalid-utf8",
                    format!("the field {column:?} is not valid UTF-8"),
                )
                .with_field(column.clone());
                return Err(ExtractFailure::new(key, raw_text(), error));
            };
            let text = if index == 0 && row.starts_file() {
                strip_bom(text)
            } else {
                text
            };
            object.insert(column.clone(), Json::String(text.to_owned()));
        }
        Ok(Extracted::new(key, &object))
    }
}

/// Removes a UTF-8 byte-order mark.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

sluice_sdk::export_source!(CsvFileSource);

#[cfg(test)]
mod tests;
