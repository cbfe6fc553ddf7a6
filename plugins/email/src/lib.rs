//! `email`: a field transformer that validates and normalizes email
//! addresses.
//!
//! Text is trimmed, then parsed with the `email_address` crate. A valid
//! address comes out as `local@domain` with the domain lowercased (and the
//! local part too, unless `lowercase_local_part` is false). Empty text
//! becomes `null`. Only bare addresses are accepted: display names
//! (`Jane <jane@example.com>`), IP-address domains and domains without a
//! top-level domain (`jane@localhost`) are rejected. An invalid address is
//! a `validation` error with code `invalid-email` saying why. Values that
//! are not text pass through unchanged.
//!
//! Options:
//!
//! - `lowercase_local_part` (default `true`): lowercase the part before
//!   the `@` too. Strictly, the local part is case-sensitive; in practice
//!   mail systems treat it case-insensitively.

use email_address::{EmailAddress, Error as EmailError};
use serde::Deserialize;
use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `email` plugin.
#[derive(Debug)]
pub struct Email {
    lowercase_local_part: bool,
}

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailOptions {
    #[serde(default = "yes")]
    lowercase_local_part: bool,
}

fn yes() -> bool {
    true
}

impl FieldTransformer for Email {
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
}

/// Validates and normalizes one address. Empty text becomes `null`.
fn normalize(text: &str, lowercase_local_part: bool) -> Result<Value, PluginError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Value::Null);
    }
    let parse_options = email_address::Options::default()
        .with_required_tld()
        .without_display_text()
        .without_domain_literal();
    let address = EmailAddress::parse_with_options(trimmed, parse_options).map_err(|error| {
        PluginError::validation(
            "invalid-email",
            format!(
                "{trimmed:?} is not a valid email address: {}",
                reason(&error)
            ),
        )
    })?;
    let local_part = if lowercase_local_part {
        address.local_part().to_lowercase()
    } else {
        address.local_part().to_owned()
    };
    let domain = address.domain().to_lowercase();
    Ok(Value::Text(format!("{local_part}@{domain}")))
}

/// Why an address is invalid, for people.
fn reason(error: &EmailError) -> &'static str {
    match error {
        EmailError::InvalidCharacter => "it contains a character that is not allowed",
        EmailError::MissingSeparator => "missing \"@\"",
        EmailError::LocalPartEmpty => "missing the part before the \"@\"",
        EmailError::LocalPartTooLong => "the part before the \"@\" is longer than 64 characters",
        EmailError::DomainEmpty => "missing domain",
        EmailError::DomainTooLong => "the domain is longer than 254 characters",
        EmailError::SubDomainEmpty => "the domain has an empty part (two dots in a row?)",
        EmailError::SubDomainTooLong => "a part of the domain is longer than 63 characters",
        EmailError::DomainTooFew => "the domain has no top-level domain such as \".com\"",
        EmailError::DomainInvalidSeparator => "the domain starts or ends with a dot",
        EmailError::UnbalancedQuotes => "unbalanced quotes before the \"@\"",
        EmailError::InvalidComment => "a comment in parentheses is malformed",
        EmailError::InvalidIPAddress | EmailError::UnsupportedDomainLiteral => {
            "IP-address domains are not accepted"
        }
        EmailError::UnsupportedDisplayName | EmailError::MissingDisplayName => {
            "only a bare address is accepted, without a display name or angle brackets"
        }
        EmailError::MissingEndBracket => "missing the closing \">\"",
    }
}

sluice_sdk::export_field_transformer!(Email);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;

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
}
