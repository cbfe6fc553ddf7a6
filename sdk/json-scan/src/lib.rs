//! Byte-level scanning of JSON text: the pieces the Sluice host (indexing a
//! record's fields) and the plugin SDK (`parse_fields`, `is_json_object`)
//! both read records with. Each answers only for text it can vouch for
//! (whitespace, strings without escapes or control characters); callers
//! hand anything else to a full parser.

use std::ops::Range;

/// JSON's whitespace.
#[inline(always)]
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first byte at or after `at` that is not JSON whitespace.
#[inline(always)]
pub fn skip_space(b: &[u8], mut at: usize) -> usize {
    while b.get(at).copied().is_some_and(is_space) {
        at += 1;
    }
    at
}

/// Eight bytes read as one little-endian word.
#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// The bytes of `word` that are a quote, a backslash or below 0x20, as
/// their high bits: non-zero exactly when some byte is. The lowest set bit
/// is a true one (a false hit only ever sits above a true one), so it marks
/// the first such byte.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(ONES * 0x20) & !word))
        & HIGH
}

/// True when `b` has no quote, backslash or control byte (below 0x20):
/// text that can stand between quotes in JSON as it is. Read a word at a
/// time, the last word overlapping the one before; shorter text is read
/// as overlapping halves, with no loop over bytes.
#[inline(always)]
pub fn is_plain(b: &[u8]) -> bool {
    // Filler for the bytes of a word that short text does not cover.
    const FILL: u64 = 0x6161_6161_6161_6161;
    let n = b.len();
    let word = if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if special_bytes(word_at(b, at)) != 0 {
                return false;
            }
            at += 8;
        }
        word_at(b, n - 8)
    } else if n >= 4 {
        let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"));
        u64::from(half(0)) | (u64::from(half(n - 4)) << 32)
    } else if n >= 2 {
        let quarter = |at: usize| u16::from_le_bytes(b[at..at + 2].try_into().expect("two bytes"));
        u64::from(quarter(0)) | (u64::from(quarter(n - 2)) << 16) | (FILL << 32)
    } else if n == 1 {
        u64::from(b[0]) | (FILL << 8)
    } else {
        return true;
    };
    special_bytes(word) == 0
}

/// The contents of the string starting at `at` (its opening quote), if it
/// is one without escapes or control characters: sixteen then eight bytes
/// at a time, straight to the first quote, backslash or control byte; the
/// last few bytes of the text one at a time.
#[inline(always)]
pub fn plain_string(b: &[u8], at: usize) -> Option<Range<usize>> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let mut i = start;
    // The first special byte ends the string: a quote well, anything else
    // not.
    let end = |at: usize| (b[at] == b'"').then_some(start..at);
    // Two words per round: half the loop's rounds on longer strings.
    while i + 16 <= b.len() {
        let hits = special_bytes(word_at(b, i));
        if hits != 0 {
            return end(i + (hits.trailing_zeros() / 8) as usize);
        }
        let hits = special_bytes(word_at(b, i + 8));
        if hits != 0 {
            return end(i + 8 + (hits.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    if i + 8 <= b.len() {
        let hits = special_bytes(word_at(b, i));
        if hits != 0 {
            return end(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    loop {
        match *b.get(i)? {
            b'"' => return Some(start..i),
            b'\\' => return None,
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position of every special byte in strings of every length
    /// around the eight- and sixteen-byte steps, with other special bytes
    /// after it.
    #[test]
    fn a_plain_string_ends_at_its_first_special_byte() {
        for length in 0..40 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                for tail in [&b""[..], b"\"", b"\\\"", b"\x01\"", b"xxxxxxxxxx\""] {
                    let mut text = vec![b'"'];
                    text.extend((0..length).map(|i| b"a\x7f\xc3\xa9 ~"[i % 6]));
                    text.push(special);
                    text.extend_from_slice(tail);
                    let answer = plain_string(&text, 0);
                    if special == b'"' {
                        assert_eq!(answer, Some(1..1 + length), "{text:?}");
                    } else {
                        assert_eq!(answer, None, "{text:?}");
                    }
                }
            }
        }
        assert_eq!(plain_string(b"\"abc", 0), None);
        assert_eq!(plain_string(b"abc\"", 0), None);
        assert_eq!(plain_string(b" \"\"", 1), Some(2..2));
    }

    /// Every special byte at every position of text of every length up to
    /// three words, against a byte-by-byte check.
    #[test]
    fn plain_text_has_no_special_byte_anywhere() {
        let slow = |b: &[u8]| b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\');
        for length in 0..26 {
            let base: Vec<u8> = (0..length).map(|i| b"a\x7f\xc3\xa9 ~]!"[i % 8]).collect();
            assert!(is_plain(&base), "{base:?}");
            for at in 0..length {
                for special in [b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d] {
                    let mut text = base.clone();
                    text[at] = special;
                    assert_eq!(is_plain(&text), slow(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn whitespace_is_json_whitespace() {
        assert_eq!(skip_space(b" \t\r\n{", 0), 4);
        assert_eq!(skip_space(b"\x0b{", 0), 0);
        assert_eq!(skip_space(b"  ", 1), 2);
    }
}
