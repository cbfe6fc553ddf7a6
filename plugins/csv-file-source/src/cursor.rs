//! The cursor: where the next `read` starts, as opaque text.

use sluice_sdk::PluginError;

/// Marks the cursor format, so a cursor from another plugin or version is
/// rejected instead of misread.
const TAG: &str = "csv1";

/// A position between rows: byte offset, 1-based line and 0-based record
/// number, encoded as `csv1:<byte>:<line>:<record>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The byte offset.
    pub(crate) byte: u64,
    /// The 1-based line `byte` is on.
    pub(crate) line: u64,
    /// Rows (the header row included) before `byte`.
    pub(crate) record: u64,
}

impl Default for Cursor {
    /// The start of the file.
    fn default() -> Self {
        Cursor {
            byte: 0,
            line: 1,
            record: 0,
        }
    }
}

impl Cursor {
    /// The cursor as text.
    pub(crate) fn encode(self) -> String {
        format!("{TAG}:{}:{}:{}", self.byte, self.line, self.record)
    }

    /// Parses a cursor made by [`encode`](Self::encode). Anything else is a
    /// `validation` error with code `invalid-cursor`.
    pub(crate) fn decode(text: &str) -> Result<Self, PluginError> {
        let invalid = || {
            PluginError::validation(
                "invalid-cursor",
                format!("{text:?} is not a cursor of the csv-file source"),
            )
        };
        let mut parts = text.split(':');
        if parts.next() != Some(TAG) {
            return Err(invalid());
        }
        let mut number = || -> Result<u64, PluginError> {
            parts
                .next()
                .and_then(|part| part.parse().ok())
                .ok_or_else(invalid)
        };
        let cursor = Cursor {
            byte: number()?,
            line: number()?,
            record: number()?,
        };
        if parts.next().is_some() || cursor.line == 0 {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cursor = Cursor {
            byte: 120,
            line: 7,
            record: 5,
        };
        assert_eq!(cursor.encode(), "csv1:120:7:5");
        assert_eq!(Cursor::decode("csv1:120:7:5"), Ok(cursor));
    }

    #[test]
    fn rejects_other_text() {
        for bad in [
            "",
            "csv1",
            "csv1:1:2",
            "csv1:1:2:3:4",
            "jsonl1:1:2:3",
            "csv1:a:2:3",
            "csv1:0:0:0",
        ] {
            let error = Cursor::decode(bad).unwrap_err();
            assert_eq!(error.code, "invalid-cursor", "{bad}");
        }
    }
}
