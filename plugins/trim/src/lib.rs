//! `trim`: a field transformer that removes leading and trailing whitespace
//! from text. Other values pass through unchanged. It takes no options.

use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `trim` plugin.
#[derive(Debug)]
pub struct Trim;

impl FieldTransformer for Trim {
    type Options = sluice_sdk::NoOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        options.none()?;
        Ok(Trim)
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        Ok(trim(value))
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        Some(Ok(Cow::Borrowed(text.trim())))
    }
}

/// Trims text; other values pass through.
fn trim(value: Value) -> Value {
    match value {
        Value::Text(text) => {
            let trimmed = text.trim();
            if trimmed.len() == text.len() {
                Value::Text(text)
            } else {
                Value::Text(trimmed.to_owned())
            }
        }
        other => other,
    }
}

sluice_sdk::export_field_transformer!(Trim);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    #[test]
    fn trims_text() {
        assert_eq!(trim(Value::from("  Jane \t\n")), Value::from("Jane"));
        assert_eq!(trim(Value::from("\u{a0}x\u{2003}")), Value::from("x"));
        assert_eq!(trim(Value::from("   ")), Value::from(""));
        assert_eq!(trim(Value::from("a b")), Value::from("a b"));
    }

    #[test]
    fn other_values_pass_through() {
        assert_eq!(trim(Value::Null), Value::Null);
        assert_eq!(trim(Value::Integer(3)), Value::Integer(3));
        assert_eq!(
            trim(Value::Json(" [1] ".into())),
            Value::Json(" [1] ".into())
        );
    }

    #[test]
    fn rejects_options() {
        assert!(Trim::configure(Options::empty()).is_ok());
        let error =
            Trim::configure(Options::from_json(r#"{"side": "left"}"#).unwrap()).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert!(error.message.contains("`side`"));
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        assert_lent_text_agrees(&Trim, SAMPLE_TEXTS, |_| false);
    }
}
