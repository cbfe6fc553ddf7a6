//! Reading CSV rows without holding an oversized one whole.
//!
//! The `csv` crate's reader grows a record's buffers until the record ends,
//! so one 50 MB field (or an unclosed quote that swallows the rest of the
//! file) is held whole. This reader drives `csv-core` itself: it keeps at
//! most the size limit of a row (its fields and its first bytes) and
//! parses past the rest, buffer by buffer, to find where the row ends.

use std::io::{self, BufRead, Seek, SeekFrom};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use crate::cursor::Cursor;

/// One row, with where it is and how large it is.
#[derive(Debug, Default)]
pub(crate) struct Row {
    /// The reader's position before the row, blank lines before it
    /// included.
    pub(crate) before: Cursor,
    /// Bytes of blank lines (and the `\n` of a `\r\n`) before the row.
    pub(crate) skipped: u64,
    /// Line breaks among them.
    pub(crate) newlines: u64,
    /// The row's first bytes, as in the file: all of them unless it is
    /// over the limit.
    pub(crate) raw: Vec<u8>,
    /// The row's size in the file, without its line break.
    pub(crate) size: u64,
    /// Whether the row is over the limit: then `fields` is empty.
    pub(crate) oversized: bool,
    /// The fields' bytes, one after another.
    fields: Vec<u8>,
    /// Where each field ends in `fields`.
    ends: Vec<usize>,
    /// How many fields the row has.
    len: usize,
}

impl Row {
    /// The 1-based line the row starts on.
    pub(crate) fn line(&self) -> u64 {
        self.before.line + self.newlines
    }

    /// Whether the row starts the file.
    pub(crate) fn starts_file(&self) -> bool {
        self.before.byte + self.skipped == 0
    }

    /// How many fields the row has (none when it is oversized).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The fields' bytes.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..self.len].iter().map(move |&end| {
            let field = &self.fields[start..end];
            start = end;
            field
        })
    }

    fn clear(&mut self, before: Cursor) {
        self.before = before;
        self.skipped = 0;
        self.newlines = 0;
        self.raw.clear();
        self.size = 0;
        self.oversized = false;
        self.len = 0;
    }
}

/// Reads rows of a CSV file, keeping at most `limit` bytes of each.
#[derive(Debug)]
pub(crate) struct RowReader<R> {
    inner: R,
    core: Reader,
    position: Cursor,
    /// The largest row kept, in bytes without its line break.
    limit: u64,
    /// Bytes kept of a row's text and fields: the limit plus a line break.
    keep: usize,
}

impl<R: BufRead + Seek> RowReader<R> {
    /// Reads `inner` from its start, with fields separated by `delimiter`.
    pub(crate) fn new(inner: R, delimiter: u8, limit: u64) -> Self {
        RowReader {
            inner,
            core: ReaderBuilder::new().delimiter(delimiter).build(),
            position: Cursor::default(),
            limit,
            keep: usize::try_from(limit.saturating_add(2)).unwrap_or(usize::MAX),
        }
    }

    /// Where the next row starts.
    pub(crate) fn position(&self) -> Cursor {
        self.position
    }

    /// Continues reading at `position`.
    pub(crate) fn seek(&mut self, position: Cursor) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(position.byte))?;
        self.core.reset();
        self.core.set_line(position.line);
        self.position = position;
        Ok(())
    }

    /// Reads the next row into `row`; false at the end of the file.
    pub(crate) fn read_row(&mut self, row: &mut Row) -> io::Result<bool> {
        row.clear(self.position);
        let (mut out, mut end) = (0, 0);
        let mut leading = true;
        let mut last = 0u8;
        loop {
            let input = match self.inner.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let (result, read, written, ended) =
                self.core
                    .read_record(input, &mut row.fields[out..], &mut row.ends[end..]);
            let mut taken = &input[..read];
            if leading {
                let blank = taken
                    .iter()
                    .take_while(|&&b| matches!(b, b'\r' | b'\n'))
                    .count();
                row.skipped += blank as u64;
                row.newlines += taken[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
                taken = &taken[blank..];
                leading = taken.is_empty();
            }
            let room = self.keep.saturating_sub(row.raw.len()).min(taken.len());
            row.raw.extend_from_slice(&taken[..room]);
            row.size += taken.len() as u64;
            if let Some(&byte) = taken.last() {
                last = byte;
            }
            self.inner.consume(read);
            self.position.byte += read as u64;
            self.position.line = self.core.line();
            if !row.oversized {
                out += written;
                end += ended;
            }
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    row.oversized |= !grow(&mut row.fields, self.keep, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    row.oversized |= !grow(&mut row.ends, self.keep, 0);
                }
                ReadRecordResult::Record => {
                    self.position.record += 1;
                    if matches!(last, b'\r' | b'\n') {
                        row.size -= 1;
                    }
                    row.oversized |= row.size > self.limit;
                    row.len = if row.oversized { 0 } else { end };
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
            if row.oversized {
                // Past the limit: parse on, writing over what was kept.
                (out, end) = (0, 0);
            }
        }
    }
}

/// Doubles `buffer` (to at least 64 items), up to `cap` items; false when
/// it holds `cap` already.
fn grow<T: Clone>(buffer: &mut Vec<T>, cap: usize, fill: T) -> bool {
    if buffer.len() >= cap {
        return false;
    }
    let size = buffer.len().saturating_mul(2).max(64).min(cap);
    buffer.resize(size, fill);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor as Bytes;

    fn rows(text: &[u8], limit: u64) -> Vec<(u64, Vec<String>, u64, bool)> {
        let inner = io::BufReader::with_capacity(16, Bytes::new(text.to_vec()));
        let mut reader = RowReader::new(inner, b',', limit);
        let mut row = Row::default();
        let mut all = Vec::new();
        while reader.read_row(&mut row).unwrap() {
            let fields = row
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            all.push((row.line(), fields, row.size, row.oversized));
        }
        all
    }

    #[test]
    fn reads_rows_with_their_lines_and_sizes() {
        let text = b"a,b\r\n\r\n\"x\ny\",2\n3,4";
        assert_eq!(
            rows(text, 100),
            vec![
                (1, vec!["a".into(), "b".into()], 3, false),
                (3, vec!["x\ny".into(), "2".into()], 7, false),
                (5, vec!["3".into(), "4".into()], 3, false),
            ]
        );
    }

    #[test]
    fn an_oversized_row_is_measured_not_kept() {
        let mut text = b"a,b\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', 5000));
        text.extend_from_slice(b"\nmore\",1\nc,d\n");
        let all = rows(&text, 100);
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], (2, vec![], 1 + 5000 + 1 + 5 + 2, true));
        assert_eq!(all[2], (4, vec!["c".into(), "d".into()], 3, false));
    }

    #[test]
    fn a_row_of_many_empty_fields_is_bounded_too() {
        let mut text = vec![b','; 5000];
        text.extend_from_slice(b"\nc,d\n");
        let all = rows(&text, 100);
        assert_eq!(all[0], (1, vec![], 5000, true));
        assert_eq!(all[1].1, vec!["c".to_owned(), "d".to_owned()]);
    }

    #[test]
    fn a_row_at_the_limit_is_kept() {
        let all = rows(b"12345\n123456\n", 5);
        assert_eq!(all[0], (1, vec!["12345".into()], 5, false));
        assert_eq!(all[1], (2, vec![], 6, true));
    }

    #[test]
    fn seeking_resumes_at_a_position() {
        let inner = io::BufReader::new(Bytes::new(b"a\nb\nc\n".to_vec()));
        let mut reader = RowReader::new(inner, b',', 100);
        let mut row = Row::default();
        assert!(reader.read_row(&mut row).unwrap());
        let after_a = reader.position();
        assert!(reader.read_row(&mut row).unwrap());
        reader.seek(after_a).unwrap();
        assert!(reader.read_row(&mut row).unwrap());
        assert_eq!((row.line(), row.fields().next().unwrap()), (2, &b"b"[..]));
        assert_eq!(reader.position().record, 2);
    }
}
