//! `email`: a field transformer that validates and normalizes email
//! addresses.
//!
//! Text is trimmed, then checked and normalized the way Python's
//! `email-validator` does with deliverability checks off and `strict` on
//! (the reference the tests compare it with, on the committed set in
//! `tests/fixtures/validators/`). A valid address comes out as
//! `local@domain`:
//!
//! - the domain is lowercased and normalized (UTS #46: full-width forms
//!   and ideographic full stops become ASCII); international domains come
//!   out in Unicode, also when written in Punycode (`xn--mnchen-3ya.de` →
//!   `münchen.de`);
//! - the part before the `@` is put in Unicode NFC and lowercased, unless
//!   `lowercase_local_part` is false (then only the role mailboxes of RFC
//!   2142 such as `Postmaster` are lowercased).
//!
//! Empty text becomes `null`. Refused, as a `validation` error with code
//! `invalid-email` saying why:
//!
//! - anything but a bare address: display names (`Jane <jane@example.com>`),
//!   quoted local parts (`"jane doe"@example.com`), comments;
//! - IP addresses as domains, bracketed (`jane@[192.0.2.1]`) or not
//!   (`jane@192.0.2.1`), and any domain whose top-level domain does not end
//!   with a letter (`jane@example.123`);
//! - domains without a top-level domain (`jane@localhost`) and special-use
//!   names (`.local`, `.localhost`, `.test`, `.invalid`, `.onion`, `.arpa`);
//! - characters outside letters, digits and hyphens in a domain
//!   (`jane@example_com.com`), labels that start or end with a hyphen or
//!   have `--` in third and fourth place (except Punycode `xn--`), labels
//!   over 63 and domains over 253 characters, international labels IDNA
//!   2008 does not allow;
//! - a part before the `@` that is not a dot-atom (RFC 5322 characters,
//!   or any safe character outside ASCII), or longer than 64 characters;
//! - addresses over 254 bytes; spaces, control and invisible formatting
//!   characters anywhere.
//!
//! Values that are not text pass through unchanged. No DNS lookups are
//! made.
//!
//! Options:
//!
//! - `lowercase_local_part` (default `true`): lowercase the part before
//!   the `@` too. Strictly, the local part is case-sensitive; in practice
//!   mail systems treat it case-insensitively.

mod address;
mod chars;
mod domain;
mod invalid;
mod plain;
#[cfg(test)]
mod reference_tests;

use serde::Deserialize;
use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `email` plugin.
#[derive(Debug)]
pub struct Email {
    lowercase_local_part: bool,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailOptions {
    /// Lowercase the part before the `@` (off: only RFC 2142 role
    /// mailboxes such as `Postmaster` are lowercased).
    #[serde(default = "yes")]
    lowercase_local_part: bool,
}

fn yes() -> bool {
    true
}

impl FieldTransformer for Email {
    type Options = EmailOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: EmailOptions = options.parse()?;
        Ok(Email {
            lowercase_local_part: options.lowercase_local_part,
        })
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        match value {
            Value::Text(text) => normalize(&text, self.lowercase_local_part),
            other => Ok(other),
        }
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        match normalize(text, self.lowercase_local_part) {
            Ok(Value::Text(address)) => Some(Ok(Cow::Owned(address))),
            // Blank: null, not text.
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

/// Validates and normalizes one address. Empty text becomes `null`.
fn normalize(text: &str, lowercase_local_part: bool) -> Result<Value, PluginError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Value::Null);
    }
    if let Some(address) = plain::normalize_plain(trimmed, lowercase_local_part) {
        return Ok(Value::Text(address));
    }
    let address = address::parse(trimmed).map_err(|why| {
        PluginError::validation(
            "invalid-email",
            format!("{trimmed:?} is not a valid email address: {why}"),
        )
    })?;
    let local_part = if lowercase_local_part {
        address.local_part.to_lowercase()
    } else {
        address.local_part
    };
    Ok(Value::Text(format!("{local_part}@{}", address.domain)))
}

sluice_sdk::export_field_transformer!(Email);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    fn ok(text: &str) -> Value {
        normalize(text, true).unwrap()
    }

    fn invalid(text: &str) -> String {
        let error = normalize(text, true).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Validation);
        assert_eq!(error.code, "invalid-email");
        error.message
    }

    #[test]
    fn normalizes_valid_addresses() {
        assert_eq!(
            ok("  Jane.Doe@Example.COM "),
            Value::from("jane.doe@example.com")
        );
        assert_eq!(
            ok("a+tag@sub.example.org"),
            Value::from("a+tag@sub.example.org")
        );
        assert_eq!(
            normalize("Jane.Doe@Example.COM", false).unwrap(),
            Value::from("Jane.Doe@example.com")
        );
    }

    #[test]
    fn empty_text_becomes_null() {
        assert_eq!(ok(""), Value::Null);
        assert_eq!(ok("  \t"), Value::Null);
    }

    #[test]
    fn explains_invalid_addresses() {
        assert_eq!(
            invalid("jane.doe@"),
            "\"jane.doe@\" is not a valid email address: missing domain"
        );
        assert_eq!(
            invalid("jane.doe"),
            "\"jane.doe\" is not a valid email address: missing \"@\""
        );
        assert!(invalid("@example.com").ends_with("missing the part before the \"@\""));
        assert!(invalid("jane@localhost").ends_with("top-level domain such as \".com\""));
        assert!(invalid("jane@@example.com").contains("not allowed"));
        assert!(invalid("Jane <jane@example.com>").contains("display name"));
        assert!(invalid("jane@[127.0.0.1]").contains("IP-address"));
    }

    #[test]
    fn other_values_pass_through() {
        let email = Email::configure(Options::empty()).unwrap();
        assert_eq!(email.transform(Value::Null), Ok(Value::Null));
        assert_eq!(email.transform(Value::Integer(7)), Ok(Value::Integer(7)));
    }

    #[test]
    fn validates_options() {
        let configure = |json: &str| Email::configure(Options::from_json(json).unwrap());
        assert!(configure("{}").unwrap().lowercase_local_part);
        assert!(
            !configure(r#"{"lowercase_local_part": false}"#)
                .unwrap()
                .lowercase_local_part
        );
        let error = configure(r#"{"lowercase": false}"#).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert!(error.message.contains("unknown field `lowercase`"));
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        let plugin = Email {
            lowercase_local_part: true,
        };
        assert_lent_text_agrees(&plugin, SAMPLE_TEXTS, |text| text.trim().is_empty());
    }
}
