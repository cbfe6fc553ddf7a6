//! Reading lines without holding a long one whole.

use std::io::{self, BufRead};

/// One line of the file.
#[derive(Debug)]
pub(crate) struct Line {
    /// Its first bytes: all of it, line break included, unless it is
    /// longer than the reader's limit.
    pub(crate) bytes: Vec<u8>,
    /// Its length in the file, line break included.
    pub(crate) length: u64,
    /// Its length without the line break (`\n` or `\r\n`).
    pub(crate) content: u64,
    /// Whether it holds only ASCII whitespace (and, first in the file, a
    /// byte-order mark).
    pub(crate) blank: bool,
}

/// Splits a reader into lines, keeping at most `limit` bytes (plus a line
/// break) of each and reading past the rest a buffer at a time.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    /// Bytes kept of a line: the limit plus room for `\r\n`.
    keep: usize,
    /// Whether the next line is the first of the file.
    first: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines of `inner`, which starts at the beginning of the file
    /// when `first` is true, keeping `limit` bytes of each.
    pub(crate) fn new(inner: R, limit: u64, first: bool) -> Self {
        let keep = usize::try_from(limit.saturating_add(2)).unwrap_or(usize::MAX);
        LineReader { inner, keep, first }
    }

    /// The next line, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut length: u64 = 0;
        let mut last_two = [0u8; 2];
        let mut ended = false;
        let mut printable_dropped = false;
        while !ended {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            let (segment, found) = match find_newline(chunk) {
                Some(at) => (&chunk[..=at], true),
                None => (chunk, false),
            };
            let room = self.keep.saturating_sub(bytes.len()).min(segment.len());
            bytes.extend_from_slice(&segment[..room]);
            printable_dropped |= segment[room..].iter().any(|b| !b.is_ascii_whitespace());
            match segment {
                [.., a, b] => last_two = [*a, *b],
                [b] => last_two = [last_two[1], *b],
                [] => {}
            }
            length += segment.len() as u64;
            let consumed = segment.len();
            self.inner.consume(consumed);
            ended = found;
        }
        if length == 0 {
            return Ok(None);
        }
        let line_break = match last_two {
            _ if !ended => 0,
            [b'\r', b'\n'] => 2,
            _ => 1,
        };
        let kept = if std::mem::take(&mut self.first) {
            bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes)
        } else {
            &bytes[..]
        };
        let blank = !printable_dropped && kept.iter().all(u8::is_ascii_whitespace);
        Ok(Some(Line {
            length,
            content: length - line_break.min(length),
            blank,
            bytes,
        }))
    }
}

/// The index of the first `\n` in `bytes`, looked for eight bytes at a
/// time (a plugin's code is metered per branch; a line is ~300 bytes).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ (ONES * 0x0a);
        // Non-zero exactly when some byte of `word` is zero.
        if word.wrapping_sub(ONES) & !word & HIGH != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'\n').map(|at| i + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![0x8a_u8; len];
                bytes[at] = b'\n';
                if at + 1 < len {
                    bytes[at + 1] = b'\n';
                }
                assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
            }
            let none: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37) | 0x0b).collect();
            assert_eq!(find_newline(&none), none.iter().position(|&b| b == b'\n'));
        }
    }

    fn lines(text: &[u8], limit: u64, capacity: usize) -> Vec<Line> {
        let inner = io::BufReader::with_capacity(capacity, text);
        let mut reader = LineReader::new(inner, limit, true);
        std::iter::from_fn(|| reader.next_line().unwrap()).collect()
    }

    #[test]
    fn splits_lines_and_measures_them() {
        let all = lines(b"ab\r\n\n  \ncd", 10, 3);
        let summary: Vec<_> = all
            .iter()
            .map(|l| (l.bytes.as_slice(), l.length, l.content, l.blank))
            .collect();
        assert_eq!(
            summary,
            vec![
                (&b"ab\r\n"[..], 4, 2, false),
                (&b"\n"[..], 1, 0, true),
                (&b"  \n"[..], 3, 2, true),
                (&b"cd"[..], 2, 2, false),
            ]
        );
    }

    #[test]
    fn a_long_line_is_cut_but_measured() {
        let mut text = vec![b'x'; 10_000];
        text.extend_from_slice(b"\r\n{}\n");
        let all = lines(&text, 100, 64);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].bytes.len(), 102);
        assert_eq!((all[0].length, all[0].content), (10_002, 10_000));
        assert!(!all[0].blank);
        assert_eq!(all[1].bytes, b"{}\n");
    }

    #[test]
    fn a_byte_order_mark_alone_is_blank() {
        let all = lines("\u{feff}\n{}".as_bytes(), 10, 8);
        assert!(all[0].blank);
        assert!(!all[1].blank);
    }
}
