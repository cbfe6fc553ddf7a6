//! The cursor: where the next `read` starts, as opaque text.

use sluice_sdk::PluginError;

/// Marks the cursor format, so a cursor from another plugin or version is
/// rejected instead of misread.
const TAG: &str = "jsonl1";

/// A position between lines: the byte offset and how many lines come
/// before it, encoded as `jsonl1:<byte>:<line>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The byte offset.
    pub(crate) byte: u64,
    /// The number of lines before `byte`: the 1-based number of the last
    /// line read.
    pub(crate) line: u64,
}

impl Cursor {
    /// Moves past a line of `length` bytes.
    pub(crate) fn advance(&mut self, length: u64) {
        self.byte += length;
        self.line += 1;
    }

    /// The cursor as text.
    pub(crate) fn encode(self) -> String {
        format!("{TAG}:{}:{}", self.byte, self.line)
    }

    /// Parses a cursor made by [`encode`](Self::encode). Anything else is a
    /// `validation` error with code `invalid-cursor`.
    pub(crate) fn decode(text: &str) -> Result<Self, PluginError> {
        let invalid = || {
            PluginError::validation(
                "invalid-cursor",
                format!("{text:?} is not a cursor of the jsonl-file source"),
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
        };
        if parts.next().is_some() {
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
        let mut cursor = Cursor::default();
        cursor.advance(10);
        cursor.advance(5);
        assert_eq!(cursor.encode(), "jsonl1:15:2");
        assert_eq!(Cursor::decode("jsonl1:15:2"), Ok(cursor));
    }

    #[test]
    fn rejects_other_text() {
        for bad in [
            "",
            "jsonl1",
            "jsonl1:1",
            "jsonl1:1:2:3",
            "csv1:1:2:3",
            "jsonl1:-1:2",
        ] {
            let error = Cursor::decode(bad).unwrap_err();
            assert_eq!(error.code, "invalid-cursor", "{bad}");
        }
    }
}
