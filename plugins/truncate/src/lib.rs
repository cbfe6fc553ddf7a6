//! `truncate`: a field transformer that shortens text to at most
//! `max_length` characters (Unicode scalar values, not bytes). Other values
//! pass through unchanged.
//!
//! Options:
//!
//! - `max_length` (required): an integer >= 1, e.g. `{ "max_length": 80 }`.

use serde::Deserialize;
use std::borrow::Cow;

use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The `truncate` plugin.
#[derive(Debug)]
pub struct Truncate {
    max_length: usize,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncateOptions {
    /// The most characters (Unicode scalar values) kept; at least 1.
    #[schemars(range(min = 1))]
    max_length: usize,
}

impl FieldTransformer for Truncate {
    type Options = TruncateOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: TruncateOptions = options.parse()?;
        if options.max_length == 0 {
            return Err(PluginError::config("`max_length` must be at least 1"));
        }
        Ok(Truncate {
            max_length: options.max_length,
        })
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        Ok(truncate(value, self.max_length))
    }

    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        let end = text
            .char_indices()
            .nth(self.max_length)
            .map_or(text.len(), |(end, _)| end);
        Some(Ok(Cow::Borrowed(&text[..end])))
    }
}

/// Keeps the first `max_length` characters of text; other values pass
/// through.
fn truncate(value: Value, max_length: usize) -> Value {
    match value {
        Value::Text(mut text) => {
            if let Some((end, _)) = text.char_indices().nth(max_length) {
                text.truncate(end);
            }
            Value::Text(text)
        }
        other => other,
    }
}

sluice_sdk::export_field_transformer!(Truncate);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;
    use sluice_sdk::testing::{SAMPLE_TEXTS, assert_lent_text_agrees};

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(
            truncate(Value::from("héllo wörld"), 5),
            Value::from("héllo")
        );
        assert_eq!(
            truncate(Value::from("日本語テキスト"), 3),
            Value::from("日本語")
        );
        assert_eq!(truncate(Value::from("short"), 5), Value::from("short"));
        assert_eq!(truncate(Value::from("short"), 50), Value::from("short"));
        assert_eq!(truncate(Value::from(""), 1), Value::from(""));
    }

    #[test]
    fn other_values_pass_through() {
        assert_eq!(truncate(Value::Null, 1), Value::Null);
        assert_eq!(
            truncate(Value::Integer(123_456), 2),
            Value::Integer(123_456)
        );
        assert_eq!(
            truncate(Value::Json("[1,2,3]".into()), 2),
            Value::Json("[1,2,3]".into())
        );
    }

    #[test]
    fn validates_max_length() {
        let configure = |json: &str| Truncate::configure(Options::from_json(json).unwrap());
        assert_eq!(configure(r#"{"max_length": 3}"#).unwrap().max_length, 3);
        for (json, message) in [
            ("{}", "missing field `max_length`"),
            (r#"{"max_length": 0}"#, "at least 1"),
            (r#"{"max_length": -1}"#, "invalid value"),
            (r#"{"max_length": "3"}"#, "invalid type"),
            (
                r#"{"max_length": 3, "ellipsis": true}"#,
                "unknown field `ellipsis`",
            ),
        ] {
            let error = configure(json).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config);
            assert!(error.message.contains(message), "{json}: {}", error.message);
        }
    }

    /// Text lent to the plugin comes out as `transform` makes it.
    #[test]
    fn lent_text_is_transformed_as_owned_text() {
        let plugin = Truncate { max_length: 3 };
        assert_lent_text_agrees(&plugin, SAMPLE_TEXTS, |_| false);
    }
}
