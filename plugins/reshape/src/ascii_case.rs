//! ASCII keys lowercased eight bytes at a time.
//!
//! Inside a component a loop over bytes costs about twenty instructions a
//! byte (every round of a loop is also checked for fuel and for the
//! deadline); a key of a dozen bytes read as two words costs a fraction of
//! that. Words overlap instead of ending in a loop over the last bytes:
//! a key of 4 to 7 bytes is read as two overlapping halves, one of 8 to 15
//! bytes as two overlapping words.

use crate::key_bytes::read;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
/// Lowercase ASCII filler for the bytes of a word a short key does not
/// cover: it is ASCII and not uppercase, so it changes no answer.
const FILL: u64 = 0x6161_6161_6161_6161;

/// Whether a key is ASCII, and whether it has an uppercase letter then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsciiCase {
    /// Some byte is not ASCII.
    NotAscii,
    /// ASCII with no uppercase letter: lowercasing leaves it as it is.
    Lower,
    /// ASCII with an uppercase letter.
    HasUpper,
}

/// The high bit of each byte of `word` that is an ASCII uppercase letter
/// (for bytes below 0x80; bytes above give answers to ignore).
#[inline(always)]
fn uppercase_bits(word: u64) -> u64 {
    let from_a = word.wrapping_add(ONES * u64::from(0x80 - b'A'));
    let past_z = word.wrapping_add(ONES * u64::from(0x80 - b'Z' - 1));
    from_a & !past_z & HIGH
}

/// `word` with its ASCII uppercase letters lowercased (every byte below
/// 0x80; zero bytes stay zero).
#[inline(always)]
fn lowercase_word(word: u64) -> u64 {
    word | (uppercase_bits(word) >> 2)
}

/// What [`AsciiCase`] `key` is.
#[inline(always)]
pub fn ascii_case(key: &[u8]) -> AsciiCase {
    let n = key.len();
    let (mut high, mut upper) = (0, 0);
    let mut take = |word: u64| {
        high |= word & HIGH;
        upper |= uppercase_bits(word);
    };
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            take(u64::from_le_bytes(read(key, at)));
            at += 8;
        }
        take(u64::from_le_bytes(read(key, n - 8)));
    } else if n >= 4 {
        let half = |at| u64::from(u32::from_le_bytes(read(key, at)));
        take(half(0) | (half(n - 4) << 32));
    } else if n >= 2 {
        let quarter = |at| u64::from(u16::from_le_bytes(read(key, at)));
        take(quarter(0) | (quarter(n - 2) << 16) | (FILL << 32));
    } else if n == 1 {
        take(u64::from(key[0]) | (FILL << 8));
    }
    if high != 0 {
        AsciiCase::NotAscii
    } else if upper != 0 {
        AsciiCase::HasUpper
    } else {
        AsciiCase::Lower
    }
}

/// Appends `key` (ASCII) lowercased to `out`. The last word (or half) is
/// written over the end of the one before, after cutting `out` back.
#[inline(always)]
pub fn push_ascii_lowercase(out: &mut Vec<u8>, key: &[u8]) {
    let n = key.len();
    let start = out.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            out.extend_from_slice(&lowercase_word(u64::from_le_bytes(read(key, at))).to_le_bytes());
            at += 8;
        }
        out.truncate(start + n - 8);
        out.extend_from_slice(&lowercase_word(u64::from_le_bytes(read(key, n - 8))).to_le_bytes());
    } else if n >= 4 {
        let half = |at| lowercase_word(u64::from(u32::from_le_bytes(read(key, at)))) as u32;
        out.extend_from_slice(&half(0).to_le_bytes());
        out.truncate(start + n - 4);
        out.extend_from_slice(&half(n - 4).to_le_bytes());
    } else if n >= 2 {
        let quarter = |at| lowercase_word(u64::from(u16::from_le_bytes(read(key, at)))) as u16;
        out.extend_from_slice(&quarter(0).to_le_bytes());
        out.truncate(start + n - 2);
        out.extend_from_slice(&quarter(n - 2).to_le_bytes());
    } else if n == 1 {
        out.push(key[0].to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ASCII byte, and bytes above it, at every position of keys of
    /// every length up to three words, against `u8`'s own answers.
    #[test]
    fn words_answer_what_bytes_answer() {
        let bytes: Vec<u8> = (0..=0xff).collect();
        for n in 0..26 {
            for at in 0..n.max(1) {
                for &b in &bytes {
                    let mut key: Vec<u8> = (0..n).map(|i| b"ab0_-z.~"[i % 8]).collect();
                    if n > 0 {
                        key[at] = b;
                    }
                    let expected = if !key.is_ascii() {
                        AsciiCase::NotAscii
                    } else if key.iter().any(u8::is_ascii_uppercase) {
                        AsciiCase::HasUpper
                    } else {
                        AsciiCase::Lower
                    };
                    assert_eq!(ascii_case(&key), expected, "{key:?}");
                    if key.is_ascii() {
                        let mut out = b"prefix".to_vec();
                        push_ascii_lowercase(&mut out, &key);
                        assert_eq!(out[..6], *b"prefix");
                        assert_eq!(out[6..], key.to_ascii_lowercase(), "{key:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_key_of_uppercase_letters_only_is_lowercased_everywhere() {
        for n in 0..26 {
            let key: Vec<u8> = (0..n).map(|i| b'A' + (i % 26) as u8).collect();
            let mut out = Vec::new();
            push_ascii_lowercase(&mut out, &key);
            assert_eq!(out, key.to_ascii_lowercase());
        }
    }
}
