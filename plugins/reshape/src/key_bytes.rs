//! Comparing keys a word at a time.
//!
//! Inside a component, `==` and `cmp` on strings call the C library's
//! `memcmp`, which compares a byte at a time: about 180 instructions for
//! two keys of a dozen bytes. Keys are short; read as one or two words
//! (the last ones overlapping, as in `ascii_case`), they compare in a
//! tenth of that. Both functions answer exactly what `str`'s own do.

use std::cmp::Ordering;

/// Reads `N` bytes at `at` (the words of this module and of
/// `ascii_case`).
#[inline(always)]
pub(crate) fn read<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b[at..at + N].try_into().expect("N bytes")
}

/// `a == b`.
#[inline(always)]
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if read::<8>(a, at) != read::<8>(b, at) {
                return false;
            }
            at += 8;
        }
        read::<8>(a, n - 8) == read::<8>(b, n - 8)
    } else if n >= 4 {
        read::<4>(a, 0) == read::<4>(b, 0) && read::<4>(a, n - 4) == read::<4>(b, n - 4)
    } else if n >= 2 {
        read::<2>(a, 0) == read::<2>(b, 0) && read::<2>(a, n - 2) == read::<2>(b, n - 2)
    } else {
        a.first() == b.first()
    }
}

/// The first bytes of `b` from `at`, at most eight, as a big-endian word
/// padded with zero bytes, and how many bytes it holds.
#[inline(always)]
fn head(b: &[u8], at: usize) -> (u64, usize) {
    let r = b.len() - at;
    if r >= 8 {
        return (u64::from_be_bytes(read(b, at)), 8);
    }
    let word = if r >= 4 {
        let first = u64::from(u32::from_be_bytes(read(b, at)));
        let last = u64::from(u32::from_be_bytes(read(b, at + r - 4)));
        // The overlapping bytes are the same in both halves.
        (first << 32) | (last << (8 * (8 - r)))
    } else if r >= 2 {
        let first = u64::from(u16::from_be_bytes(read(b, at)));
        let last = u64::from(u16::from_be_bytes(read(b, at + r - 2)));
        (first << 48) | (last << (8 * (8 - r)))
    } else if r == 1 {
        u64::from(b[at]) << 56
    } else {
        0
    };
    (word, r)
}

/// `a.cmp(b)`: bytes in order, a prefix before what it starts.
#[inline(always)]
pub fn order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut at = 0;
    loop {
        let (x, x_len) = head(a, at);
        let (y, y_len) = head(b, at);
        if x != y {
            return x.cmp(&y);
        }
        // Equal words: equal bytes, or one text ends where the other has
        // zero bytes, which makes it the smaller.
        if x_len < 8 || y_len < 8 {
            return a.len().cmp(&b.len());
        }
        at += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of keys up to 19 bytes made of a few bytes (zero and the
    /// highest included), differing anywhere.
    #[test]
    fn keys_compare_as_str_compares_them() {
        let mut keys: Vec<String> = vec![String::new()];
        for n in 1..20 {
            for fill in ["a", "\0", "\u{7f}", "é"] {
                let base = fill.repeat(n);
                keys.push(base.clone());
                for at in [0, n / 2, n.saturating_sub(1)] {
                    let mut bytes: Vec<char> = base.chars().collect();
                    bytes[at] = 'b';
                    keys.push(bytes.iter().collect());
                    bytes[at] = '\0';
                    keys.push(bytes.iter().collect());
                }
            }
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
                assert_eq!(order(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
