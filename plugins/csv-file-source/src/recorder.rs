//! A reader that keeps the bytes the CSV parser has read, so each row's
//! raw text and physical line are known without reading the file twice.

use std::io::{self, Read, Seek, SeekFrom};

/// Wraps the file under the CSV reader and records what it reads.
#[derive(Debug)]
pub(crate) struct Recorder<R> {
    inner: R,
    /// The file offset of `bytes[0]`.
    start: u64,
    /// Bytes read from `start` on.
    bytes: Vec<u8>,
}

impl<R> Recorder<R> {
    pub(crate) fn new(inner: R) -> Self {
        Recorder {
            inner,
            start: 0,
            bytes: Vec::new(),
        }
    }

    /// Returns the bytes between file offsets `from` and `to`, and forgets
    /// everything before `to`. Bytes that were already forgotten, or not
    /// read yet, are left out.
    pub(crate) fn take_range(&mut self, from: u64, to: u64) -> Vec<u8> {
        let offset = |at: u64| {
            usize::try_from(at.saturating_sub(self.start))
                .unwrap_or(usize::MAX)
                .min(self.bytes.len())
        };
        let (from, to) = (offset(from), offset(to));
        let taken = self.bytes[from..to.max(from)].to_vec();
        self.bytes.drain(..to);
        self.start += to as u64;
        taken
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..read]);
        Ok(read)
    }
}

impl<R: Seek> Seek for Recorder<R> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(position)?;
        self.start = at;
        self.bytes.clear();
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn keeps_what_was_read_until_taken() {
        let mut recorder = Recorder::new(Cursor::new(b"0123456789".to_vec()));
        let mut buf = [0; 6];
        recorder.read_exact(&mut buf).unwrap();
        assert_eq!(recorder.take_range(1, 3), b"12");
        assert_eq!(recorder.take_range(3, 9), b"345");
        recorder.read_exact(&mut buf[..4]).unwrap();
        assert_eq!(recorder.take_range(5, 10), b"6789");
        recorder.seek(SeekFrom::Start(2)).unwrap();
        recorder.read_exact(&mut buf[..2]).unwrap();
        assert_eq!(recorder.take_range(2, 4), b"23");
    }
}
