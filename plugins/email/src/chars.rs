//! Character classes of the address syntax (RFC 5322, RFC 6531, RFC 952)
//! and the Unicode checks email-validator applies.

use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;

use crate::invalid::Invalid;

/// `atext` of RFC 5322: the ASCII characters allowed in a dot-atom.
pub fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Whether `text` is a dot-atom: non-empty runs of allowed characters
/// separated by single dots. Non-ASCII characters are allowed when
/// `international` (RFC 6531).
pub fn is_dot_atom(text: &str, international: bool) -> bool {
    !text.is_empty()
        && text.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| is_atext(c) || (international && !c.is_ascii()))
        })
}

/// A character a domain may contain before and after normalization:
/// letters, digits, hyphens, dots, and anything outside ASCII.
pub fn is_hostname_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii()
}

fn category(c: char) -> GeneralCategory {
    CodePointMapData::<GeneralCategory>::new().get(c)
}

/// Rejects characters that are unsafe in an address: separators, control,
/// format, private-use and unassigned characters, and a combining mark at
/// the start (it would combine with whatever comes before the address).
/// Spaces are allowed only where `allow_space`.
pub fn check_unsafe(text: &str, allow_space: bool) -> Result<(), Invalid> {
    use GeneralCategory as G;
    for (i, c) in text.chars().enumerate() {
        let safe = match category(c) {
            G::NonspacingMark | G::SpacingMark | G::EnclosingMark => i != 0,
            G::SpaceSeparator => allow_space,
            G::LineSeparator
            | G::ParagraphSeparator
            | G::Control
            | G::Format
            | G::PrivateUse
            | G::Surrogate
            | G::Unassigned => false,
            _ => true,
        };
        if !safe {
            return Err(Invalid::UnsafeCharacters);
        }
    }
    Ok(())
}

/// Characters UTS #46 mapping would reject (email-validator's
/// `uts46_valid_char`): C1 controls, format, unassigned and separator
/// characters, and characters that expand to a dot.
pub fn is_uts46_valid(c: char) -> bool {
    use GeneralCategory as G;
    let code = c as u32;
    if (0x80..=0x9f).contains(&code) {
        return false;
    }
    if ((0x2010..=0x2060).contains(&code)
        && !(0x2024..=0x2026).contains(&code)
        && !(0x2028..=0x202e).contains(&code))
        || matches!(code, 0x00ad | 0x2064 | 0xff0e)
        || (0x200b..=0x200d).contains(&code)
        || (0x1bca0..=0x1bca3).contains(&code)
    {
        return true;
    }
    if matches!(
        category(c),
        G::Format
            | G::Unassigned
            | G::PrivateUse
            | G::Surrogate
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    ) {
        return false;
    }
    !expands_to_dot(c)
}

/// Characters whose compatibility decomposition holds a full stop, such as
/// "⒈" (U+2488) and "․" (U+2024).
fn expands_to_dot(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut buffer = [0_u8; 4];
    let text: &str = c.encode_utf8(&mut buffer);
    icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(text)
        .contains('.')
}

/// Whether a character of a normalized internationalized domain may be
/// used in a domain label under IDNA 2008 (RFC 5892): letters, marks and
/// decimal digits, plus the few listed exceptions. Symbols and
/// punctuation (which UTS #46 alone would let through) are not.
pub fn is_idna2008_char(c: char) -> bool {
    use GeneralCategory as G;
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '-';
    }
    if matches!(
        c,
        '\u{00DF}'
            | '\u{03C2}'
            | '\u{06FD}'
            | '\u{06FE}'
            | '\u{0F0B}'
            | '\u{3007}'
            | '\u{00B7}'
            | '\u{0375}'
            | '\u{05F3}'
            | '\u{05F4}'
            | '\u{30FB}'
    ) {
        return true;
    }
    matches!(
        category(c),
        G::LowercaseLetter
            | G::OtherLetter
            | G::ModifierLetter
            | G::NonspacingMark
            | G::SpacingMark
            | G::DecimalNumber
    )
}
