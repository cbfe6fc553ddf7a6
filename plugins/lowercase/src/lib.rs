//! `lowercase`: a field transformer that converts text to lowercase using the
//! Unicode case mappings (`str::to_lowercase`). Other values pass through
//! unchanged. It takes no options.

use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `lowercase` plugin.
#[derive(Debug)]
pub struct Lowercase;

impl FieldTransformer for Lowercase {
    type Options = sluice_sdk::NoOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        options.none()?;
        Ok(Lowercase)
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        Ok(convert(value))
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        // ASCII text without a letter to change is its own result.
        let unchanged = text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase());
        Some(Ok(if unchanged {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(text.to_lowercase())
        }))
    }
}

/// Converts text to lowercase; other values pass through.
fn convert(value: Value) -> Value {
    match value {
        Value::Text(text) => Value::Text(text.to_lowercase()),
        other => other,
    }
}

sluice_sdk::export_field_transformer!(Lowercase);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    #[test]
    fn converts_text() {
        assert_eq!(convert(Value::from("JANE Doe")), Value::from("jane doe"));
        assert_eq!(convert(Value::from("ÉCOLE İ")), Value::from("école i̇"));
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
        assert!(Lowercase::configure(Options::empty()).is_ok());
        let error =
            Lowercase::configure(Options::from_json(r#"{"locale": "tr"}"#).unwrap()).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert!(error.message.contains("`locale`"));
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        assert_lent_text_agrees(&Lowercase, SAMPLE_TEXTS, |_| false);
    }
}
