//! `name@sha256:<hex>` references and digest prefixes.

use super::error::StoreError;
use crate::runlog::StoreVersionRow;

/// Fewest hex digits a digest prefix may have.
pub const MIN_PREFIX: usize = 12;

/// Split `name@sha256:<hex>` into the name and the lowercase hex (a
/// prefix of at least [`MIN_PREFIX`] digits, or all 64); a reference
/// without `@` is a name alone.
pub fn parse(reference: &str) -> Result<(&str, Option<String>), StoreError> {
    let Some((name, digest)) = reference.split_once('@') else {
        return Ok((reference, None));
    };
    Ok((name, Some(parse_digest(digest)?)))
}

/// `sha256:<hex>` (or a prefix of it) as lowercase hex.
pub fn parse_digest(digest: &str) -> Result<String, StoreError> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        StoreError::BadReference(format!(
            "`{}` is not a digest: write sha256:<hex> (at least {MIN_PREFIX} hex digits)",
            crate::text::escape(digest)
        ))
    })?;
    if hex.len() < MIN_PREFIX || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::BadReference(format!(
            "`{}` is not a digest: sha256: must be followed by {MIN_PREFIX} to 64 hex digits",
            crate::text::escape(digest)
        )));
    }
    Ok(hex.to_ascii_lowercase())
}

/// The version of `name` whose digest starts with `sha256:<hex>`.
pub fn find<'a>(
    name: &str,
    versions: &'a [StoreVersionRow],
    hex: &str,
) -> Result<&'a StoreVersionRow, StoreError> {
    let wanted = format!("sha256:{hex}");
    let matches: Vec<&StoreVersionRow> = versions
        .iter()
        .filter(|v| v.digest.starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let digests: Vec<String> = versions.iter().map(|v| v.digest.clone()).collect();
            let suggestion = closest(&wanted, &digests)
                .map(|d| format!(", did you mean {}?", short(d)))
                .unwrap_or_default();
            Err(StoreError::UnknownDigest {
                name: name.to_owned(),
                digest: wanted,
                suggestion,
                installed: if digests.is_empty() {
                    "none".to_owned()
                } else {
                    digests
                        .iter()
                        .map(|d| short(d))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
        }
        many => Err(StoreError::AmbiguousDigest {
            name: name.to_owned(),
            digest: wanted,
            count: many.len(),
            matches: many
                .iter()
                .map(|v| short(&v.digest))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// `sha256:` and the first 12 hex digits.
pub fn short(digest: &str) -> String {
    digest.chars().take(7 + MIN_PREFIX).collect()
}

/// The candidate closest to `wanted` by edit distance, if close enough to
/// be a typo (compared on as many characters as `wanted` has).
pub fn closest<'a>(wanted: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            let head: String = c.chars().take(wanted.chars().count()).collect();
            (strsim::levenshtein(wanted, &head), c)
        })
        .filter(|(d, c)| *d <= 2.max(c.len().min(wanted.len()) / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(digest: &str) -> StoreVersionRow {
        StoreVersionRow {
            name: "x".into(),
            digest: digest.into(),
            kind: "field-transformer".into(),
            version: None,
            contract: "0.2.0".into(),
            size: 1,
            installed_by: "me".into(),
            installed_at: "now".into(),
            has_cases: false,
            quarantined_at: None,
            quarantine_reason: None,
        }
    }

    #[test]
    fn prefixes_must_be_long_enough_and_unambiguous() {
        let a = format!("sha256:{}", "ab".repeat(32));
        let b = format!("sha256:abababababab{}", "cd".repeat(26));
        let versions = vec![row(&a), row(&b)];
        assert!(matches!(
            parse_digest("sha256:abab"),
            Err(StoreError::BadReference(_))
        ));
        assert!(matches!(
            find(
                "x",
                &versions,
                &parse_digest("sha256:ABABABABABAB").unwrap()
            ),
            Err(StoreError::AmbiguousDigest { count: 2, .. })
        ));
        let hex = parse_digest(&format!("sha256:abababababab{}", "cd")).unwrap();
        assert_eq!(find("x", &versions, &hex).unwrap().digest, b);
        let typo = parse_digest(&format!("sha256:abababababab{}", "ce")).unwrap();
        let err = find("x", &versions, &typo).unwrap_err().to_string();
        assert!(err.contains("did you mean sha256:abababababab"), "{err}");
        let reference = a.replace("sha256:", "x@sha256:");
        let (name, hex) = parse(&reference).unwrap();
        assert_eq!((name, hex.unwrap()), ("x", "ab".repeat(32)));
    }
}
