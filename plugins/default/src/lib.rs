//! `default`: a field transformer that replaces missing values with a
//! default.
//!
//! `null` and text that is empty or only whitespace become the configured
//! `value`; everything else passes through unchanged.
//!
//! Options:
//!
//! - `value` (required): the default, any JSON scalar (text, number or
//!   boolean), e.g. `{ "value": "unknown" }`.

use serde::Deserialize;
use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `default` plugin.
#[derive(Debug)]
pub struct DefaultValue {
    value: Value,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultOptions {
    /// The default for `null` and blank text: any JSON scalar (text,
    /// number or boolean).
    value: serde_json::Value,
}

impl FieldTransformer for DefaultValue {
    type Options = DefaultOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: DefaultOptions = options.parse()?;
        Ok(DefaultValue {
            value: default_value(options.value)?,
        })
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        Ok(apply_default(value, &self.value))
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        if !text.trim().is_empty() {
            return Some(Ok(Cow::Borrowed(text)));
        }
        match &self.value {
            Value::Text(default) => Some(Ok(Cow::Borrowed(default))),
            // A default of another kind: not text.
            _ => None,
        }
    }
}

/// Checks the `value` option: it must be a scalar other than `null`.
fn default_value(json: serde_json::Value) -> Result<Value, PluginError> {
    match json {
        serde_json::Value::Null => Err(PluginError::config(
            "`value` must be text, a number or a boolean, not null",
        )),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Err(PluginError::config(
            "`value` must be text, a number or a boolean, not an array or object",
        )),
        scalar => Ok(Value::from(scalar)),
    }
}

/// Replaces `null` and blank text with `default`.
fn apply_default(value: Value, default: &Value) -> Value {
    match value {
        Value::Null => default.clone(),
        Value::Text(text) if text.trim().is_empty() => default.clone(),
        other => other,
    }
}

sluice_sdk::export_field_transformer!(DefaultValue);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    fn configure(json: &str) -> Result<DefaultValue, PluginError> {
        DefaultValue::configure(Options::from_json(json).unwrap())
    }

    #[test]
    fn replaces_null_and_blank_text() {
        let unknown = Value::from("unknown");
        assert_eq!(apply_default(Value::Null, &unknown), unknown);
        assert_eq!(apply_default(Value::from(""), &unknown), unknown);
        assert_eq!(apply_default(Value::from(" \t\n"), &unknown), unknown);
    }

    #[test]
    fn keeps_other_values() {
        let zero = Value::Integer(0);
        assert_eq!(apply_default(Value::from(" x "), &zero), Value::from(" x "));
        assert_eq!(
            apply_default(Value::Boolean(false), &zero),
            Value::Boolean(false)
        );
        assert_eq!(
            apply_default(Value::Json("{}".into()), &zero),
            Value::Json("{}".into())
        );
    }

    #[test]
    fn accepts_any_scalar() {
        assert_eq!(
            configure(r#"{"value": "n/a"}"#).unwrap().value,
            Value::from("n/a")
        );
        assert_eq!(
            configure(r#"{"value": 0}"#).unwrap().value,
            Value::Integer(0)
        );
        assert_eq!(
            configure(r#"{"value": 2.5}"#).unwrap().value,
            Value::Float(2.5)
        );
        assert_eq!(
            configure(r#"{"value": false}"#).unwrap().value,
            Value::Boolean(false)
        );
    }

    #[test]
    fn rejects_bad_options() {
        for (json, message) in [
            ("{}", "missing field `value`"),
            (r#"{"value": null}"#, "not null"),
            (r#"{"value": [1]}"#, "not an array"),
            (r#"{"value": 1, "vaule": 2}"#, "unknown field `vaule`"),
        ] {
            let error = configure(json).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config);
            assert!(error.message.contains(message), "{json}: {}", error.message);
        }
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        for plugin in [
            DefaultValue {
                value: Value::from("unknown"),
            },
            DefaultValue {
                value: Value::Integer(0),
            },
        ] {
            assert_lent_text_agrees(&plugin, SAMPLE_TEXTS, |text| {
                text.trim().is_empty() && plugin.value == Value::Integer(0)
            });
        }
    }
}
