//! The part after the "@": a domain name, normalized as email-validator
//! does (UTS #46 mapping, IDNA 2008 labels, Unicode form for display).

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::chars::{check_unsafe, is_hostname_char, is_idna2008_char, is_uts46_valid};
use crate::invalid::Invalid;

/// The longest domain, in octets (RFC 1035 2.3.4, less the root label).
pub(crate) const MAX_LENGTH: usize = 253;
/// The longest label, in octets (RFC 1035 2.3.1).
pub(crate) const MAX_LABEL_LENGTH: usize = 63;

/// Special-use names (IANA registry, RFC 6761, 6762, 7686) that cannot
/// receive mail: the names themselves and every name under them.
pub(crate) const SPECIAL_USE: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];

/// A valid domain in its two forms.
#[derive(Debug)]
pub struct Domain {
    /// As sent on the wire: lowercase ASCII, Punycode for international
    /// labels.
    pub ascii: String,
    /// For people and storage: lowercase, international labels in Unicode.
    pub unicode: String,
}

/// Validates and normalizes a domain name. IP addresses, bracketed or not,
/// and names without a top-level domain that ends with a letter are refused.
pub fn validate(domain: &str) -> Result<Domain, Invalid> {
    validate_with(domain, true)
}

/// [`validate`], with or without the path for plain ASCII names (see
/// [`validate_plain`]).
fn validate_with(domain: &str, plain_path: bool) -> Result<Domain, Invalid> {
    if domain.is_empty() {
        return Err(Invalid::DomainEmpty);
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Err(Invalid::DomainLiteral);
    }
    if plain_path && is_plain_ascii(domain) {
        if domain.len() > MAX_LENGTH {
            return Err(Invalid::DomainTooLong);
        }
        return validate_plain(domain);
    }
    if domain.chars().count() > MAX_LENGTH {
        return Err(Invalid::DomainTooLong);
    }
    if !domain.chars().all(is_hostname_char) {
        return Err(Invalid::DomainCharacters);
    }
    check_unsafe(domain, false)?;
    if !domain.chars().all(is_uts46_valid) {
        return Err(Invalid::DomainCharacters);
    }

    // UTS #46 mapping: case folding, NFC, full-width forms and ideographic
    // full stops to ASCII.
    let uts46 = Uts46::new();
    let (mapped, result) =
        uts46.to_unicode(domain.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
    if result.is_err() {
        return Err(Invalid::DomainNotIdna);
    }
    if !mapped.chars().all(is_hostname_char) {
        return Err(Invalid::DomainCharacters);
    }
    check_labels(&mapped)?;

    let ascii = uts46
        .to_ascii(
            mapped.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| Invalid::DomainNotIdna)?
        .into_owned();
    if !ascii.split('.').all(is_ldh_label) {
        return Err(Invalid::DomainCharacters);
    }
    if ascii.len() > MAX_LENGTH {
        return Err(Invalid::DomainTooLong);
    }
    if ascii.split('.').any(|label| label.len() > MAX_LABEL_LENGTH) {
        return Err(Invalid::DomainLabelTooLong);
    }
    if !ascii.contains('.') {
        return Err(Invalid::NoTopLevelDomain);
    }
    // Every top-level domain ends with a letter: this refuses IP addresses
    // (`192.0.2.1`) and numeric TLDs (`example.123`).
    if !ascii.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(Invalid::TopLevelDomainNotLetters);
    }
    finish(ascii)
}

/// The checks every valid name ends with: not a special-use name, and
/// Punycode labels that decode to what IDNA 2008 allows.
fn finish(ascii: String) -> Result<Domain, Invalid> {
    if SPECIAL_USE
        .iter()
        .any(|name| ascii == *name || ascii.strip_suffix(name).is_some_and(|r| r.ends_with('.')))
    {
        return Err(Invalid::SpecialUseDomain);
    }
    if !ascii.contains("xn--") {
        return Ok(Domain {
            unicode: ascii.clone(),
            ascii,
        });
    }

    let uts46 = Uts46::new();
    let (unicode, result) =
        uts46.to_unicode(ascii.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
    if result.is_err() || !unicode.chars().all(is_hostname_char) {
        return Err(Invalid::DomainNotIdna);
    }
    check_unsafe(&unicode, false)?;
    if !unicode.chars().all(|c| c == '.' || is_idna2008_char(c)) {
        return Err(Invalid::DomainNotIdna);
    }
    Ok(Domain {
        unicode: unicode.into_owned(),
        ascii,
    })
}

/// [`validate`] for a plain ASCII name (see [`is_plain_ascii`]) no longer
/// than [`MAX_LENGTH`], with the same answer: every character is a
/// hostname character, safe and valid for UTS #46, which maps the name
/// to its lowercase; its labels are then checked in one pass of bytes.
/// Test `plain_ascii_names_are_validated_as_the_long_way_does`.
fn validate_plain(domain: &str) -> Result<Domain, Invalid> {
    let ascii = domain.to_ascii_lowercase();
    let longest = check_plain_labels(&ascii)?;
    // Every label is letters, digits and hyphens, and neither starts nor
    // ends with a hyphen (`check_plain_labels`), and the name is as long
    // as the domain: two checks of the long way always pass here.
    if longest > MAX_LABEL_LENGTH {
        return Err(Invalid::DomainLabelTooLong);
    }
    if !ascii.bytes().any(|b| b == b'.') {
        return Err(Invalid::NoTopLevelDomain);
    }
    if !ascii
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return Err(Invalid::TopLevelDomainNotLetters);
    }
    finish(ascii)
}

/// [`check_labels`] on a plain ASCII name, in one pass of bytes; the
/// length of its longest label.
fn check_plain_labels(domain: &str) -> Result<usize, Invalid> {
    let b = domain.as_bytes();
    if b.first() == Some(&b'.') || b.last() == Some(&b'.') || b.windows(2).any(|w| w == b"..") {
        return Err(Invalid::DomainDots);
    }
    let mut longest = 0;
    for label in b.split(|&c| c == b'.') {
        if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
            return Err(Invalid::DomainHyphens);
        }
        if label.get(2..4) == Some(b"--") && !label[..2].eq_ignore_ascii_case(b"xn") {
            return Err(Invalid::DomainReservedHyphens);
        }
        longest = longest.max(label.len());
    }
    Ok(longest)
}

/// True for a domain of ASCII letters, digits, hyphens and dots in which
/// no label starts with `xn--` (in any case). UTS #46 maps such a name to
/// its ASCII lowercase and finds nothing wrong with it: every character
/// is valid and maps to itself but for case, hyphens are allowed, and
/// there is no Punycode to decode; `to_ascii` then leaves it as it is.
/// Test `plain_ascii_names_are_what_uts46_makes_of_them`.
fn is_plain_ascii(domain: &str) -> bool {
    domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !domain.split('.').any(|label| {
            label
                .get(..4)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
        })
}

/// Dots and hyphens: no empty label, no label that starts or ends with a
/// hyphen, and no "--" in third and fourth place except in Punycode
/// ("xn--") labels (RFC 952, RFC 1123 2.1, RFC 5890 2.3.1).
fn check_labels(domain: &str) -> Result<(), Invalid> {
    if domain.split('.').any(str::is_empty) {
        return Err(Invalid::DomainDots);
    }
    for label in domain.split('.') {
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Invalid::DomainHyphens);
        }
        let mut chars = label.chars();
        let first_two: String = chars.by_ref().take(2).collect();
        let next_two: String = chars.take(2).collect();
        if next_two == "--" && !first_two.eq_ignore_ascii_case("xn") {
            return Err(Invalid::DomainReservedHyphens);
        }
    }
    Ok(())
}

/// A letters-digits-hyphens label that neither starts nor ends with a
/// hyphen.
fn is_ldh_label(label: &str) -> bool {
    !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_names_are_validated_as_the_long_way_does() {
        let long_label = "a".repeat(63);
        let longer_label = "b".repeat(64);
        let pieces: &[&str] = &[
            "a",
            "Z",
            "example",
            "EXAMPLE",
            "com",
            "0",
            "9",
            "123",
            "-",
            "--",
            ".",
            "..",
            "xn--",
            "XN--",
            "xN--",
            "xn-",
            "x",
            "n",
            "ab--cd",
            "xn--mnchen-3ya",
            "xn--a",
            "a1-b",
            "local",
            "localhost",
            "test",
            "onion",
            "arpa",
            "invalid",
            "ü",
            "_",
            " ",
            "\u{200b}",
            &long_label,
            &longer_label,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut plain = 0;
        for round in 0..60_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut domain = String::new();
            let mut bits = state;
            let count = if round % 50 == 0 { 12 } else { (bits % 6) + 1 };
            for _ in 0..count {
                bits = bits.rotate_right(7) ^ state.rotate_left(11);
                domain.push_str(pieces[(bits % pieces.len() as u64) as usize]);
            }
            plain += usize::from(is_plain_ascii(&domain));
            assert_eq!(
                format!("{:?}", validate_with(&domain, true)),
                format!("{:?}", validate_with(&domain, false)),
                "{domain:?}"
            );
        }
        assert!(plain > 10_000, "only {plain} names were plain ASCII");
        // Around the longest name.
        for length in MAX_LENGTH - 3..=MAX_LENGTH + 3 {
            let mut domain = String::new();
            while domain.len() + 64 + 5 <= length {
                domain.push_str(&long_label);
                domain.push('.');
            }
            domain.push_str(&"b".repeat(length - domain.len() - 4));
            domain.push_str(".com");
            assert_eq!(domain.len(), length);
            assert!(is_plain_ascii(&domain));
            let answer = format!("{:?}", validate_with(&domain, true));
            assert_eq!(answer, format!("{:?}", validate_with(&domain, false)));
            assert_eq!(
                length > MAX_LENGTH,
                answer.contains("DomainTooLong"),
                "{length}"
            );
        }
        for name in [
            "xn--mnchen-3ya.de",
            "a.XN--MNCHEN-3YA.de",
            "bücher.de",
            "a_b.com",
        ] {
            assert!(!is_plain_ascii(name), "{name}");
        }
    }
}
