//! Steps 2-3 of `reshape`: what trimming and lowercasing make of a key.
//! The record's keys, and the keys `drop` and `rename` name, go through
//! the same rules.

use crate::ascii_case::{AsciiCase, ascii_case, push_ascii_lowercase};

/// Whether keys are trimmed and lowercased.
#[derive(Debug, Clone, Copy)]
pub struct KeyRules {
    /// Trim whitespace around keys.
    pub trim: bool,
    /// Lowercase keys.
    pub lowercase: bool,
}

/// A key as steps 2-3 make it, when they change it.
#[derive(Debug)]
pub enum NewKey<'k> {
    /// A slice of the key (trimmed), lowercased when written if
    /// `ascii_lowercase` (it is ASCII then).
    Slice {
        /// The trimmed key.
        text: &'k str,
        /// Lowercase it as ASCII.
        ascii_lowercase: bool,
    },
    /// Lowercased outside ASCII.
    Lowercased(String),
}

impl NewKey<'_> {
    /// Appends the new key's UTF-8 to `out`.
    #[inline(always)]
    pub fn write_to(self, out: &mut Vec<u8>) {
        match self {
            NewKey::Slice {
                text,
                ascii_lowercase: true,
            } => push_ascii_lowercase(out, text.as_bytes()),
            NewKey::Slice {
                text,
                ascii_lowercase: false,
            } => out.extend_from_slice(text.as_bytes()),
            NewKey::Lowercased(text) => out.extend_from_slice(text.as_bytes()),
        }
    }

    /// The new key.
    pub fn into_string(self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8(out).expect("keys stay UTF-8")
    }
}

impl KeyRules {
    /// True when the rules leave every key as it is.
    pub fn keep_all(self) -> bool {
        !self.trim && !self.lowercase
    }

    /// What the rules make of `key`, or `None` when they leave it as it is
    /// (the common case). ASCII keys are trimmed and lowercased without
    /// Unicode tables.
    #[inline(always)]
    pub fn new_key(self, key: &str) -> Option<NewKey<'_>> {
        let trimmed = if self.trim { trim(key) } else { key };
        if self.lowercase {
            match ascii_case(trimmed.as_bytes()) {
                AsciiCase::HasUpper => {
                    return Some(NewKey::Slice {
                        text: trimmed,
                        ascii_lowercase: true,
                    });
                }
                AsciiCase::Lower => {}
                AsciiCase::NotAscii => {
                    let lower = trimmed.to_lowercase();
                    if lower != trimmed {
                        return Some(NewKey::Lowercased(lower));
                    }
                }
            }
        }
        (trimmed.len() != key.len()).then_some(NewKey::Slice {
            text: trimmed,
            ascii_lowercase: false,
        })
    }

    /// `key` after the rules.
    pub fn apply(self, key: &str) -> String {
        match self.new_key(key) {
            Some(new) => new.into_string(),
            None => key.to_owned(),
        }
    }
}

/// ASCII's `char::is_whitespace` (JSON's whitespace, vertical tab and form
/// feed).
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// `key.trim()`, skipping the work when the key starts and ends with ASCII
/// that is not whitespace (nearly always).
#[inline(always)]
fn trim(key: &str) -> &str {
    match (key.as_bytes().first(), key.as_bytes().last()) {
        (Some(&first), Some(&last))
            if first.is_ascii()
                && last.is_ascii()
                && !is_ascii_space(first)
                && !is_ascii_space(last) =>
        {
            key
        }
        _ => key.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &[
        "",
        " ",
        "a",
        " a",
        "a ",
        "A",
        " Ab ",
        "\u{b}a\u{c}",
        "\u{a0}a",
        "a\u{3000}",
        "é",
        " É ",
        "a b",
        "\u{1c}a",
        "ǅx",
        "İ",
        "ß",
        "ΣΑ",
    ];

    #[test]
    fn trims_like_str_trim() {
        for key in KEYS {
            assert_eq!(trim(key), key.trim(), "{key:?}");
        }
    }

    /// The rules answer what `str::trim` and `str::to_lowercase` do.
    #[test]
    fn new_keys_are_trimmed_and_lowercased_keys() {
        for trim in [false, true] {
            for lowercase in [false, true] {
                let rules = KeyRules { trim, lowercase };
                for key in KEYS {
                    let trimmed = if trim { key.trim() } else { key };
                    let expected = if lowercase {
                        trimmed.to_lowercase()
                    } else {
                        trimmed.to_owned()
                    };
                    assert_eq!(rules.apply(key), expected, "{key:?} {rules:?}");
                    assert_eq!(
                        rules.new_key(key).is_some(),
                        expected != *key,
                        "{key:?} {rules:?}"
                    );
                }
            }
        }
    }
}
