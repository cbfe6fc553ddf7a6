//! `csv-file-source`: a source that reads records from a CSV file in the
//! granted directory (mounted at `/data`).
//!
//! Each row becomes a JSON object mapping the header of each column to the
//! cell's text (every value is text; an empty cell is empty text). Without
//! a header row the columns are named `column1`, `column2`... Every item's
//! key is `<path>:<line>`, the 1-based physical line the row starts on. A
//! row with the wrong number of fields is an extract failure with code
//! `malformed-row`, its raw text and category `validation`; a row that is
//! not valid UTF-8 is one with code `invalid-utf8`. The cursor records the
//! byte offset, line and record number after the batch, so the next `read`
//! seeks straight there. A UTF-8 byte-order mark is ignored. The `entity`
//! argument of `read` is not used: the file is the entity.
//!
//! Options:
//!
//! - `path` (required): the file, relative to the granted directory. An
//!   absolute path or one containing `..` is a `config` error; so is a
//!   missing file, when it is first read.
//! - `delimiter` (default `","`): a single ASCII character such as `";"`
//!   or `"\t"`.
//! - `has_headers` (default `true`): whether the first row names the
//!   columns.

mod cursor;
mod recorder;

use std::fs::File;
use std::path::PathBuf;

use csv::{ByteRecord, Position, ReaderBuilder};
use serde::Deserialize;
use serde_json::Value as Json;
use sluice_sdk::files::{data_path, io_error};
use sluice_sdk::{ExtractBatch, ExtractFailure, Extracted, Options, PluginError, Record, Source};

use crate::cursor::Cursor;
use crate::recorder::Recorder;

/// The `csv-file-source` plugin.
#[derive(Debug)]
pub struct CsvFileSource {
    /// The `path` option, as written: used in keys and messages.
    path: String,
    /// Where the file is.
    full_path: PathBuf,
    delimiter: u8,
    has_headers: bool,
}

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvOptions {
    path: String,
    #[serde(default = "comma")]
    delimiter: char,
    #[serde(default = "yes")]
    has_headers: bool,
}

fn comma() -> char {
    ','
}

fn yes() -> bool {
    true
}

impl Source for CsvFileSource {
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
        Ok(CsvFileSource {
            path: options.path,
            full_path,
            delimiter,
            has_headers: options.has_headers,
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
        let mut reader = ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(self.has_headers)
            .flexible(true)
            .from_reader(Recorder::new(file));

        // Without a header row, the first record sets the expected width.
        let headers = reader
            .byte_headers()
            .map_err(|e| self.csv_error(e))?
            .clone();
        let columns = if self.has_headers {
            self.column_names(&headers)?
        } else {
            (1..=headers.len()).map(|n| format!("column{n}")).collect()
        };
        // Reading the headers consumed the first row; without a header row
        // (and without a cursor) go back to read it as data.
        let start = match start {
            Some(cursor) => Some(cursor.position()),
            None if !self.has_headers => Some(Position::new()),
            None => None,
        };
        match start {
            Some(position) => reader.seek(position).map_err(|e| self.csv_error(e))?,
            None => {
                let after_headers = reader.position().byte();
                reader.get_mut().take_range(0, after_headers);
            }
        }

        let mut items = Vec::new();
        let mut record = ByteRecord::new();
        let (end, done) = loop {
            let before = reader.position().clone();
            if !reader
                .read_byte_record(&mut record)
                .map_err(|e| self.csv_error(e))?
            {
                break (reader.position().clone(), true);
            }
            if items.len() >= max as usize {
                break (before, false);
            }
            let after = reader.position().byte();
            let raw = reader.get_mut().take_range(before.byte(), after);
            items.push(self.item(&record, &columns, &before, &raw));
        };
        Ok(ExtractBatch {
            items,
            cursor: Some(Cursor::from(&end).encode()),
            done,
        })
    }

    /// The header row as column names. Duplicate names would lose data, so
    /// they are a `config` error.
    fn column_names(&self, headers: &ByteRecord) -> Result<Vec<String>, PluginError> {
        let mut columns: Vec<String> = Vec::with_capacity(headers.len());
        for (index, name) in headers.iter().enumerate() {
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

    /// Turns one row into an item. `before` is the reader's position
    /// before the row and `raw` the bytes from there to the end of the row.
    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`, built once per row"
    )]
    fn item(
        &self,
        record: &ByteRecord,
        columns: &[String],
        before: &Position,
        raw: &[u8],
    ) -> Result<Extracted, ExtractFailure> {
        // The reader's position is before any blank lines (and the `\n` of
        // a `\r\n`) that precede the row; skip them to find its line.
        let skipped = raw
            .iter()
            .take_while(|byte| matches!(byte, b'\r' | b'\n'))
            .count();
        let newlines = raw[..skipped].iter().filter(|&&byte| byte == b'\n').count();
        let line = before.line() + newlines as u64;
        let key = format!("{}:{line}", self.path);
        let starts_file = before.byte() + skipped as u64 == 0;
        let raw_text = || {
            let text = String::from_utf8_lossy(&raw[skipped..]);
            text.trim_end_matches(['\r', '\n']).to_owned()
        };
        if record.len() != columns.len() {
            let error = PluginError::validation(
                "malformed-row",
                format!("expected {} fields, found {}", columns.len(), record.len()),
            );
            return Err(ExtractFailure::new(key, raw_text(), error));
        }
        let mut object = Record::new();
        for (index, (column, field)) in columns.iter().zip(record).enumerate() {
            let Ok(text) = std::str::from_utf8(field) else {
                let error = PluginError::validation(
                    "invalid-utf8",
                    format!("the field {column:?} is not valid UTF-8"),
                )
                .with_field(column.clone());
                return Err(ExtractFailure::new(key, raw_text(), error));
            };
            let text = if index == 0 && starts_file {
                strip_bom(text)
            } else {
                text
            };
            object.insert(column.clone(), Json::String(text.to_owned()));
        }
        Ok(Extracted::new(key, &object))
    }

    /// A CSV error that stops the stream.
    fn csv_error(&self, error: csv::Error) -> PluginError {
        let message = error.to_string();
        match error.into_kind() {
            csv::ErrorKind::Io(error) => io_error(&self.path, "reading", &error),
            _ => PluginError::validation(
                "malformed-csv",
                format!("{:?} could not be read as CSV: {message}", self.path),
            ),
        }
    }
}

/// Removes a UTF-8 byte-order mark.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

sluice_sdk::export_source!(CsvFileSource);

#[cfg(test)]
mod tests;
