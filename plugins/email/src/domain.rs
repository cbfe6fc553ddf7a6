//! The part after the "@": a domain name, normalized as email-validator
//! does (UTS #46 mapping, IDNA 2008 labels, Unicode form for display).

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::chars::{check_unsafe, is_hostname_char, is_idna2008_char, is_uts46_valid};
use crate::invalid::Invalid;

/// The longest domain, in octets (RFC 1035 2.3.4, less the root label).
const MAX_LENGTH: usize = 253;
/// The longest label, in octets (RFC 1035 2.3.1).
const MAX_LABEL_LENGTH: usize = 63;

/// Special-use names (IANA registry, RFC 6761, 6762, 7686) that cannot
/// receive mail: the names themselves and every name under them.
const SPECIAL_USE: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];

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
    if domain.is_empty() {
        return Err(Invalid::DomainEmpty);
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Err(Invalid::DomainLiteral);
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

    let uts46 = Uts46::new();
    let ascii = if is_plain_ascii(domain) {
        // What UTS #46 makes of it (see `is_plain_ascii`), without the
        // mapping tables.
        let lowercase = domain.to_ascii_lowercase();
        check_labels(&lowercase)?;
        lowercase
    } else {
        // UTS #46 mapping: case folding, NFC, full-width forms and
        // ideographic full stops to ASCII.
        let (mapped, result) =
            uts46.to_unicode(domain.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
        if result.is_err() {
            return Err(Invalid::DomainNotIdna);
        }
        if !mapped.chars().all(is_hostname_char) {
            return Err(Invalid::DomainCharacters);
        }
        check_labels(&mapped)?;

        uts46
            .to_ascii(
                mapped.as_bytes(),
                AsciiDenyList::EMPTY,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .map_err(|_| Invalid::DomainNotIdna)?
            .into_owned()
    };
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

    /// The long way: UTS #46 on every name.
    fn by_uts46(domain: &str) -> Result<String, Invalid> {
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
        Ok(uts46
            .to_ascii(
                mapped.as_bytes(),
                AsciiDenyList::EMPTY,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .map_err(|_| Invalid::DomainNotIdna)?
            .into_owned())
    }

    #[test]
    fn plain_ascii_names_are_what_uts46_makes_of_them() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "example",
            "EXAMPLE",
            "com",
            "0",
            "9",
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
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut checked = 0;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut domain = String::new();
            let mut bits = state;
            for _ in 0..(bits % 6) + 1 {
                bits /= 7;
                domain.push_str(PIECES[(bits % PIECES.len() as u64) as usize]);
                bits /= PIECES.len() as u64;
            }
            if !is_plain_ascii(&domain) {
                continue;
            }
            checked += 1;
            let fast = {
                let lowercase = domain.to_ascii_lowercase();
                check_labels(&lowercase).map(|()| lowercase)
            };
            assert_eq!(
                format!("{fast:?}"),
                format!("{:?}", by_uts46(&domain)),
                "{domain:?}"
            );
        }
        assert!(checked > 10_000, "only {checked} names were plain ASCII");
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
