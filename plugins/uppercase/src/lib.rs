//! `uppercase`: a field transformer that converts text to uppercase using the
//! Unicode case mappings (`str::to_uppercase`). Other values pass through
//! unchanged. It takes no options.

use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `uppercase` plugin.
#[derive(Debug)]
pub struct Uppercase;

impl FieldTransformer for Uppercase {
    type Options = sluice_sdk::NoOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        options.none()?;
        Ok(Uppercase)
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        Ok(convert(value))
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        // ASCII text without a letter to change is its own result.
        let unchanged = text.is_ascii() && !text.bytes().any(|b| b.is_ascii_lowercase());
        Some(Ok(if unchanged {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(text.to_uppercase())
        }))
    }
}

/// Converts text to uppercase; other values pass through.
fn convert(value: Value) -> Value {
    match value {
        Value::Text(text) => Value::Text(text.to_uppercase()),
        other => other,
    }
}

sluice_sdk::export_field_transformer!(Uppercase);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    #[test]
    fn converts_text() {
        assert_eq!(convert(Value::from("jane Doe")), Value::from("JANE DOE"));
        assert_eq!(convert(Value::from("straße é")), Value::from("STRASSE É"));
        assert_eq!(convert(Value::from("")), Value::from(""));
    }

    #[test]
    fn other_values_pass_through() {
        assert_eq!(convert(Value::Null), Value::Null);
        assert_eq!(convert(Value::Boolean(true)), Value::Boolean(true));
        assert_eq!(
            convert(Value::Json(r#"["A"]"#.into())),
            Value::Json(r#"["A"]"#.into())
        );
    }

    #[test]
    fn rejects_options() {
        assert!(Uppercase::configure(Options::empty()).is_ok());
        let error =
            Uppercase::configure(Options::from_json(r#"{"locale": "tr"}"#).unwrap()).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert!(error.message.contains("`locale`"));
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        assert_lent_text_agrees(&Uppercase, SAMPLE_TEXTS, |_| false);
    }
}
