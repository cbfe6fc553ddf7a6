//! Size bounds for sources: batches that stop early by bytes, and records
//! over a size limit that fail alone.
//!
//! The host refuses an answer larger than its output cap (a fixed 1 MiB per
//! call plus `limits.output_bytes_per_record` for each record asked for)
//! and caps the plugin's memory (`limits.memory_mb`). A source that fills a
//! batch by count alone can cross either with a few large records, and then
//! the whole read fails: valid records of the batch are lost and the error
//! names no record. [`BatchBudget`] stops a batch once its output reaches
//! [`BATCH_OUTPUT_BYTES`], which every call is allowed whatever its size, so
//! a batch of records under the size limit always fits; a record over it
//! becomes an [`ExtractFailure`] of its own with [`record_too_large`].

use crate::source::{ExtractFailure, Extracted};
use crate::{ErrorCategory, PluginError};

/// Output bytes a source batch stays under: the host's fixed per-call
/// allowance (1 MiB), so a batch fits the host's cap whatever `max` is. A
/// batch always holds at least one item, even a larger one.
pub const BATCH_OUTPUT_BYTES: u64 = 1 << 20;

/// The default `max_record_bytes` of the built-in file sources: 1 MiB. A
/// record this size, alone in its batch, fits the host's default output
/// cap (1 MiB plus 256 KiB per record asked for) and its default memory
/// limit (256 MiB) many times over.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 1 << 20;

/// The code of a record over a source's size limit.
pub const RECORD_TOO_LARGE: &str = "record-too-large";

/// Bytes of the text kept as the raw item of a record too large to keep.
pub const EXCERPT_BYTES: usize = 256;

/// Fills a batch up to a number of items and a number of output bytes.
#[derive(Debug)]
pub struct BatchBudget {
    max_items: usize,
    max_bytes: u64,
    items: usize,
    bytes: u64,
}

impl BatchBudget {
    /// A budget of `max` items (the `max` of `read`) and
    /// [`BATCH_OUTPUT_BYTES`].
    pub fn new(max: u32) -> Self {
        Self::with_bytes(max, BATCH_OUTPUT_BYTES)
    }

    /// A budget of `max` items and `max_bytes` output bytes.
    pub fn with_bytes(max: u32, max_bytes: u64) -> Self {
        BatchBudget {
            max_items: max as usize,
            max_bytes,
            items: 0,
            bytes: 0,
        }
    }

    /// Whether the batch holds `max` items already.
    pub fn is_full(&self) -> bool {
        self.items >= self.max_items
    }

    /// Counts `item` in and returns true if it fits: the batch is not full
    /// and, unless it is empty, stays within its bytes with `item`. On
    /// false the item is not counted; leave it for the next batch.
    pub fn admit(&mut self, item: &Result<Extracted, ExtractFailure>) -> bool {
        let size = item_size(item);
        if self.is_full() || (self.items > 0 && self.bytes.saturating_add(size) > self.max_bytes) {
            return false;
        }
        self.items += 1;
        self.bytes = self.bytes.saturating_add(size);
        true
    }
}

/// The bytes an item adds to a batch, measured as the host measures it.
pub fn item_size(item: &Result<Extracted, ExtractFailure>) -> u64 {
    let bytes = match item {
        Ok(record) => record.key.len() + record.body.len(),
        Err(failure) => {
            let error = &failure.error;
            failure.key.len()
                + failure.raw.len()
                + error.code.len()
                + error.message.len()
                + error.field.as_ref().map_or(0, String::len)
        }
    };
    bytes as u64
}

/// The failure of a record over a source's size limit: category
/// `validation`, code [`RECORD_TOO_LARGE`], a message naming `key` (such as
/// `contacts.csv:12`), the record's `size` in bytes and the `option` that
/// sets the `limit`, and the first
/// [`EXCERPT_BYTES`] of `start` (the record's first bytes) as its raw text.
pub fn record_too_large(
    key: impl Into<String>,
    size: u64,
    limit: u64,
    option: &str,
    start: &[u8],
) -> ExtractFailure {
    let key = key.into();
    let message = format!(
        "the record at {key} is {} bytes, more than the {} allowed by `{option}`; \
         fix the record (an unclosed quote or a missing line break joins records) \
         or raise `{option}` in the source's options",
        thousands(size),
        thousands(limit)
    );
    ExtractFailure::new(
        key,
        excerpt(start),
        PluginError::new(ErrorCategory::Validation, RECORD_TOO_LARGE, message),
    )
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The first [`EXCERPT_BYTES`] of `bytes` as text, cut at a character
/// boundary, with `…` when something was cut.
fn excerpt(bytes: &[u8]) -> String {
    if bytes.len() <= EXCERPT_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..EXCERPT_BYTES]).into_owned();
    // A multi-byte character cut in two became U+FFFD at the end; drop it.
    if text.ends_with('\u{fffd}') {
        text.pop();
    }
    text.push('…');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::result_large_err,
        reason = "an item of the WIT `extract-batch`"
    )]
    fn record(body_len: usize) -> Result<Extracted, ExtractFailure> {
        Ok(Extracted {
            key: "k".into(),
            body: "x".repeat(body_len),
        })
    }

    #[test]
    fn a_batch_stops_at_its_count_or_its_bytes() {
        let mut budget = BatchBudget::with_bytes(3, 100);
        assert!(budget.admit(&record(39)));
        assert!(budget.admit(&record(39)));
        assert!(!budget.admit(&record(39)), "80 + 40 > 100");
        assert!(budget.admit(&record(19)));
        assert!(budget.is_full());
        assert!(!budget.admit(&record(0)));
    }

    #[test]
    fn the_first_item_always_fits() {
        let mut budget = BatchBudget::with_bytes(10, 100);
        assert!(budget.admit(&record(1000)));
        assert!(!budget.admit(&record(0)));
    }

    #[test]
    fn an_oversized_record_names_its_key_size_and_option() {
        let failure = record_too_large(
            "big.csv:7",
            2_000_000,
            1_048_576,
            "max_record_bytes",
            "é".repeat(200).as_bytes(),
        );
        assert_eq!(failure.key, "big.csv:7");
        assert_eq!(failure.error.category, ErrorCategory::Validation);
        assert_eq!(failure.error.code, RECORD_TOO_LARGE);
        assert!(
            failure.error.message.starts_with(
                "the record at big.csv:7 is 2,000,000 bytes, more than the 1,048,576 allowed by `max_record_bytes`"
            ),
            "{}",
            failure.error.message
        );
        assert!(failure.raw.ends_with("é…"), "{}", failure.raw);
        assert!(failure.raw.len() <= EXCERPT_BYTES + '…'.len_utf8());
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(52_428_808), "52,428,808");
    }
}
