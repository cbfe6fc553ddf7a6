//! The common address in one pass over its bytes: ASCII, a dot-atom of
//! `atext` before the first "@", a domain of letters, digits, hyphens and
//! dots after it.
//!
//! [`normalize_plain`] only ever confirms: it answers for an address it
//! finds valid with exactly what the full path ([`address::parse`] and
//! [`domain::validate`]) makes of it, and hands everything else, errors
//! included, to that path, which also words the errors. The full path
//! costs about ten times more on such an address: it scans the text for
//! `"`, `<` and `@` separately, builds the parts as separate strings and
//! searches the domain for Punycode. Test
//! `plain_addresses_are_what_the_full_path_makes_of_them`.
//!
//! [`address::parse`]: crate::address::parse
//! [`domain::validate`]: crate::domain::validate

use crate::address::{CASE_INSENSITIVE_MAILBOXES, MAX_LENGTH, MAX_LOCAL_PART_LENGTH};
use crate::domain::{MAX_LABEL_LENGTH, MAX_LENGTH as MAX_DOMAIN_LENGTH, SPECIAL_USE};

/// `atext` of RFC 5322 (a dot-atom's characters).
const ATEXT: u8 = 1;
/// A letter, digit or hyphen (a domain label's characters).
const LDH: u8 = 2;

/// The classes of every byte.
const CLASSES: [u8; 256] = {
    let mut classes = [0; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            classes[c] = ATEXT | LDH;
        }
        c += 1;
    }
    let specials = b"!#$%&'*+-/=?^_`{|}~";
    let mut i = 0;
    while i < specials.len() {
        classes[specials[i] as usize] |= ATEXT;
        i += 1;
    }
    classes[b'-' as usize] |= LDH;
    classes
};

/// `text` (trimmed, not empty) normalized, when it is a plain address
/// that is valid; `None` for anything else.
pub fn normalize_plain(text: &str, lowercase_local_part: bool) -> Option<String> {
    let b = text.as_bytes();
    let at = b.iter().position(|&c| c == b'@')?;
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if !is_plain_local_part(local) || !is_plain_domain(domain) {
        return None;
    }
    // The three length checks of the full path, all the same here: ASCII
    // parts stay as long as they are.
    if local.len() + 1 + domain.len() > MAX_LENGTH {
        return None;
    }
    if lowercase_local_part {
        return Some(text.to_ascii_lowercase());
    }
    let mut out = String::with_capacity(text.len());
    let role = CASE_INSENSITIVE_MAILBOXES
        .iter()
        .any(|name| name.as_bytes().eq_ignore_ascii_case(local));
    if role {
        out.push_str(&text[..at].to_ascii_lowercase());
    } else {
        out.push_str(&text[..at]);
    }
    out.push('@');
    out.push_str(&text[at + 1..].to_ascii_lowercase());
    Some(out)
}

/// A dot-atom of `atext`, no longer than the longest part before the "@".
fn is_plain_local_part(local: &[u8]) -> bool {
    if local.is_empty()
        || local.len() > MAX_LOCAL_PART_LENGTH
        || local[0] == b'.'
        || local[local.len() - 1] == b'.'
    {
        return false;
    }
    let mut after_dot = false;
    for &c in local {
        if c == b'.' {
            if after_dot {
                return false;
            }
            after_dot = true;
        } else if CLASSES[usize::from(c)] & ATEXT != 0 {
            after_dot = false;
        } else {
            return false;
        }
    }
    true
}

/// A name of two labels or more of letters, digits and hyphens that the
/// full path accepts as it is (but for case): no label empty, longer than
/// 63 or starting or ending with a hyphen; no `--` anywhere (which leaves
/// Punycode and the reserved `ab--` labels to the full path); a top-level
/// domain ending with a letter; not a special-use name.
fn is_plain_domain(domain: &[u8]) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LENGTH {
        return false;
    }
    let mut label_start = 0;
    let mut dots = 0;
    let mut previous = b'.';
    for (i, &c) in domain.iter().enumerate() {
        if c == b'.' {
            if previous == b'.' || previous == b'-' || i - label_start > MAX_LABEL_LENGTH {
                return false;
            }
            dots += 1;
            label_start = i + 1;
        } else if CLASSES[usize::from(c)] & LDH == 0
            || (c == b'-' && (previous == b'.' || previous == b'-'))
        {
            return false;
        }
        previous = c;
    }
    let last_label = &domain[label_start..];
    dots > 0
        && previous.is_ascii_alphabetic()
        && last_label.len() <= MAX_LABEL_LENGTH
        && !SPECIAL_USE
            .iter()
            .any(|name| name.as_bytes().eq_ignore_ascii_case(last_label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address;

    /// What the full path makes of `text`, as `normalize` words it.
    fn full_path(text: &str, lowercase_local_part: bool) -> Option<String> {
        let address = address::parse(text).ok()?;
        let local = if lowercase_local_part {
            address.local_part.to_lowercase()
        } else {
            address.local_part
        };
        Some(format!("{local}@{}", address.domain))
    }

    /// Generated addresses from pieces that sit on every edge the plain
    /// path checks: whatever it answers, the full path answers the same,
    /// with either option; and it answers for most plain valid addresses.
    #[test]
    fn plain_addresses_are_what_the_full_path_makes_of_them() {
        let long_label = "d".repeat(63);
        let longer_label = "e".repeat(64);
        let long_local = "L".repeat(64);
        let longer_local = "l".repeat(65);
        let pieces: &[&str] = &[
            "a",
            "Jane",
            "jane.doe",
            "O'Brien",
            "x+tag",
            "{weird}~",
            ".",
            "..",
            "@",
            "-",
            "--",
            "xn--",
            "XN--mnchen-3ya",
            "ab--cd",
            "Example",
            "COM",
            "com",
            "org",
            "123",
            "1",
            "local",
            "LocalHost",
            "test",
            "onion",
            "Postmaster",
            "SALES",
            "é",
            " ",
            "\"",
            "<",
            "_",
            "[1.2.3.4]",
            &long_label,
            &longer_label,
            &long_local,
            &longer_local,
        ];
        let local_pieces = ["a", "Jane", "jane.doe", "O'Brien", "x+tag", "SALES"];
        let label_pieces = ["Example", "COM", "org", "a1", "b-c", "mail"];
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        // Mostly pieces of valid addresses, now and then any piece.
        let mut pick = |good: &[&'static str]| -> String {
            if next(4) > 0 {
                good[next(good.len())].to_owned()
            } else {
                pieces[next(pieces.len())].to_owned()
            }
        };
        let mut answered = 0;
        for round in 0..60_000 {
            let mut text = String::new();
            if round % 3 > 0 {
                // local@label.label[.label]
                for _ in 0..1 + round % 2 {
                    text.push_str(&pick(&local_pieces));
                }
                text.push('@');
                for i in 0..2 + round % 3 {
                    if i > 0 {
                        text.push('.');
                    }
                    text.push_str(&pick(&label_pieces));
                }
            } else {
                for _ in 0..1 + round % 8 {
                    text.push_str(&pick(&local_pieces));
                    text.push_str(&pick(&["@", ".", "-"]));
                }
            }
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            for lowercase in [true, false] {
                if let Some(plain) = normalize_plain(text, lowercase) {
                    answered += 1;
                    assert_eq!(
                        Some(plain),
                        full_path(text, lowercase),
                        "{text:?} {lowercase}"
                    );
                }
            }
        }
        // Long labels, long names, long addresses.
        let name = |labels: usize| vec![long_label.as_str(); labels].join(".") + ".com";
        for text in [
            format!("{long_local}@{}", name(3)),
            format!("{long_local}@{}", name(4)),
            format!("a@{}", name(3)),
            format!("a@{}", name(4)),
            format!("a@{}.co", "b".repeat(249)),
        ] {
            for lowercase in [true, false] {
                if let Some(plain) = normalize_plain(&text, lowercase) {
                    assert_eq!(Some(plain), full_path(&text, lowercase), "{text:?}");
                }
            }
        }
        assert!(answered > 5_000, "the plain path answered {answered} times");
    }

    #[test]
    fn the_common_address_takes_the_plain_path() {
        assert_eq!(
            normalize_plain("Ada.Lovelace7@Example.COM", true).as_deref(),
            Some("ada.lovelace7@example.com")
        );
        assert_eq!(
            normalize_plain("Ada.Lovelace7@Example.COM", false).as_deref(),
            Some("Ada.Lovelace7@example.com")
        );
        assert_eq!(
            normalize_plain("Postmaster@Example.COM", false).as_deref(),
            Some("postmaster@example.com")
        );
        for other in [
            "a@xn--mnchen-3ya.de",
            "a@b.local",
            "a..b@c.com",
            "a@b",
            "a@b.c1",
        ] {
            assert_eq!(normalize_plain(other, true), None, "{other}");
        }
    }
}
