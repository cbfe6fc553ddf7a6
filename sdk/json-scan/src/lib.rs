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

/// The contents of the string starting at `at` (its opening quote), if it
/// is one without escapes or control characters: eight bytes at a time,
/// then straight to the first quote, backslash or control byte.
#[inline(always)]
pub fn plain_string(b: &[u8], at: usize) -> Option<Range<usize>> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let mut i = start;
    // Eight bytes at a time while none is a quote, a backslash or below
    // 0x20 (each test is non-zero exactly when some byte matches).
    while let Some(chunk) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let hits = special & HIGH;
        if hits != 0 {
            // The lowest hit is a true one (a false hit only ever sits
            // above a true one): the first special byte.
            i += (hits.trailing_zeros() / 8) as usize;
            break;
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
    /// around the eight-byte words, with other special bytes after it.
    #[test]
    fn a_plain_string_ends_at_its_first_special_byte() {
        for length in 0..20 {
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

    #[test]
    fn whitespace_is_json_whitespace() {
        assert_eq!(skip_space(b" \t\r\n{", 0), 4);
        assert_eq!(skip_space(b"\x0b{", 0), 0);
        assert_eq!(skip_space(b"  ", 1), 2);
    }
}
