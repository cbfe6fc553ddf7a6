//! An address: split at the "@", the part before it checked and
//! normalized, the domain handed to `domain`.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizerBorrowed;

use crate::chars::{check_unsafe, is_atext, is_dot_atom};
use crate::domain;
use crate::invalid::Invalid;

/// The longest address, in UTF-8 octets (RFC 5321 4.5.3.1.3, errata 1690).
pub(crate) const MAX_LENGTH: usize = 254;
/// The longest part before the "@", in characters (RFC 5321 4.5.3.1.1).
pub(crate) const MAX_LOCAL_PART_LENGTH: usize = 64;

/// Role mailboxes RFC 2142 defines as case-insensitive; they are
/// lowercased even when the rest of the part before the "@" keeps its case.
pub(crate) const CASE_INSENSITIVE_MAILBOXES: &[&str] = &[
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
];

/// A valid address, normalized.
#[derive(Debug)]
pub struct Address {
    /// The part before the "@", in Unicode NFC, case kept.
    pub local_part: String,
    /// The domain, lowercase, international labels in Unicode.
    pub domain: String,
}

/// Validates and normalizes one bare address (already trimmed).
pub fn parse(text: &str) -> Result<Address, Invalid> {
    // Quoted local parts and display names (`Jane <jane@…>`) are refused;
    // with neither, the first "@" separates the parts.
    if text.contains('"') {
        return Err(Invalid::Quoted);
    }
    if text.contains('<') {
        return Err(Invalid::DisplayName);
    }
    let Some((local_part, domain)) = text.split_once('@') else {
        return Err(if text.contains(['＠', '﹫']) {
            Invalid::FullWidthAt
        } else {
            Invalid::MissingAt
        });
    };

    check_local_part(local_part)?;
    // ASCII text is in NFC already.
    let nfc = if local_part.is_ascii() {
        Cow::Borrowed(local_part)
    } else {
        ComposingNormalizerBorrowed::new_nfc().normalize(local_part)
    };
    if nfc != local_part {
        check_local_part(&nfc)?;
    }
    let mut local = nfc.into_owned();
    if local.is_ascii() && CASE_INSENSITIVE_MAILBOXES.contains(&local.to_ascii_lowercase().as_str())
    {
        local.make_ascii_lowercase();
    }

    let domain_part = domain::validate(domain)?;

    for (left, right) in [
        (local_part, domain),
        (local.as_str(), domain_part.unicode.as_str()),
        (local.as_str(), domain_part.ascii.as_str()),
    ] {
        if left.len() + 1 + right.len() > MAX_LENGTH {
            return Err(Invalid::TooLong);
        }
    }
    Ok(Address {
        local_part: local,
        domain: domain_part.unicode,
    })
}

/// The part before the "@": a dot-atom of `atext` characters, or of any
/// characters outside ASCII (RFC 6531) as long as they are safe.
fn check_local_part(local: &str) -> Result<(), Invalid> {
    if local.is_empty() {
        return Err(Invalid::LocalPartEmpty);
    }
    if local.chars().count() > MAX_LOCAL_PART_LENGTH {
        return Err(Invalid::LocalPartTooLong);
    }
    if is_dot_atom(local, false) {
        return Ok(());
    }
    if is_dot_atom(local, true) {
        return check_unsafe(local, false);
    }
    if local
        .chars()
        .all(|c| c == '.' || is_atext(c) || !c.is_ascii())
    {
        Err(Invalid::LocalPartDots)
    } else {
        Err(Invalid::LocalPartCharacters)
    }
}
