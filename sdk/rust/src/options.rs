//! [`Options`], the JSON object a plugin instance is configured with.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use crate::{Descriptor, PluginError};

/// A plugin's options type: what its options object deserializes into, and
/// the JSON Schema `describe` hands the host, which checks a pipeline's
/// options against it before `configure`. Derive both:
///
/// ```
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct TruncateOptions {
///     /// Longest text kept, in characters.
///     max_length: usize,
/// }
/// # fn is<T: sluice_sdk::PluginOptions>() {}
/// # is::<TruncateOptions>();
/// ```
///
/// Doc comments on fields become their descriptions in the schema (and in
/// `sluice plugin docs`); `deny_unknown_fields` becomes
/// `"additionalProperties": false`.
pub trait PluginOptions: DeserializeOwned + schemars::JsonSchema {}

impl<T: DeserializeOwned + schemars::JsonSchema> PluginOptions for T {}

/// The options type of a plugin that takes none: any key is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// The JSON Schema of `O`, as JSON text.
pub fn options_schema<O: PluginOptions>() -> String {
    serde_json::to_string(&schemars::schema_for!(O)).unwrap_or_else(|_| "{}".to_owned())
}

/// The descriptor the export macros answer `describe` with: the plugin
/// crate's package name, version and description, its world, and the
/// schema of its options type `O`.
pub fn descriptor<O: PluginOptions>(
    name: &str,
    version: &str,
    description: &str,
    world: &str,
) -> Descriptor {
    Descriptor {
        name: name.to_owned(),
        version: version.to_owned(),
        description: description.to_owned(),
        world: world.to_owned(),
        options_schema: options_schema::<O>(),
    }
}

/// The options of one plugin instance: the JSON object the host passes to
/// `configure`.
///
/// Deserialize them into your own struct with [`parse`](Self::parse); mark
/// it `#[serde(deny_unknown_fields)]` so a misspelt option is rejected
/// instead of silently ignored. A plugin without options calls
/// [`none`](Self::none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options(Map<String, Json>);

impl Options {
    /// No options.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses the options text the host passes to `configure`. Empty text
    /// and `null` mean no options; anything else must be a JSON object.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        if text.trim().is_empty() {
            return Ok(Self::empty());
        }
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(map)) => Ok(Self(map)),
            Ok(Json::Null) => Ok(Self::empty()),
            Ok(other) => Err(PluginError::config(format!(
                "options must be a JSON object, got {}",
                json_kind(&other)
            ))),
            Err(error) => Err(PluginError::config(format!(
                "options are not valid JSON: {error}"
            ))),
        }
    }

    /// Deserializes the options into `T` (usually the plugin's
    /// [`PluginOptions`] type). Any failure (a missing or unknown
    /// field, a wrong type) is a `config` error whose message is serde's,
    /// such as ``unknown field `max_len`, expected `max_length` ``.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_value(Json::Object(self.0.clone()))
            .map_err(|error| PluginError::config(error.to_string()))
    }

    /// Checks that there are no options, for plugins that take none. Any
    /// key is a `config` error naming the unknown keys.
    pub fn none(&self) -> Result<(), PluginError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let keys = self
            .0
            .keys()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if self.0.len() == 1 {
            "option"
        } else {
            "options"
        };
        Err(PluginError::config(format!(
            "unknown {noun} {keys}: this plugin takes no options"
        )))
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One option, by key.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.get(key)
    }

    /// The options as a JSON object.
    pub fn as_map(&self) -> &Map<String, Json> {
        &self.0
    }

    /// The options as a JSON object, by value.
    pub fn into_map(self) -> Map<String, Json> {
        self.0
    }
}

impl From<Map<String, Json>> for Options {
    fn from(map: Map<String, Json>) -> Self {
        Self(map)
    }
}

/// The name of a JSON value's type, for messages.
pub(crate) fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCategory;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Limits {
        max_length: u32,
        #[serde(default)]
        ellipsis: bool,
    }

    #[test]
    fn schemas_derive_from_the_options_type() {
        let schema: Json = serde_json::from_str(&options_schema::<NoOptions>()).unwrap();
        assert_eq!(schema["additionalProperties"], Json::Bool(false));
        let d = descriptor::<NoOptions>("trim", "1.0.0", "Trims.", "field-transformer");
        assert_eq!(d.world, "field-transformer");
        assert!(d.options_schema.contains("additionalProperties"));
    }

    #[test]
    fn parses_into_a_struct() {
        let options = Options::from_json(r#"{"max_length": 3}"#).unwrap();
        assert_eq!(
            options.parse::<Limits>(),
            Ok(Limits {
                max_length: 3,
                ellipsis: false
            })
        );
    }

    #[test]
    fn serde_errors_become_config_errors() {
        let options = Options::from_json(r#"{"max_len": 3}"#).unwrap();
        let error = options.parse::<Limits>().unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert!(
            error.message.starts_with("unknown field `max_len`"),
            "{}",
            error.message
        );

        let error = Options::empty().parse::<Limits>().unwrap_err();
        assert_eq!(error.message, "missing field `max_length`");
    }

    #[test]
    fn empty_text_and_null_are_no_options() {
        assert!(Options::from_json("").unwrap().is_empty());
        assert!(Options::from_json(" null ").unwrap().is_empty());
        assert!(Options::from_json("{}").unwrap().is_empty());
    }

    #[test]
    fn options_must_be_an_object() {
        let error = Options::from_json("[1]").unwrap_err();
        assert_eq!(error.message, "options must be a JSON object, got an array");
        let error = Options::from_json("{").unwrap_err();
        assert!(error.message.starts_with("options are not valid JSON"));
    }

    #[test]
    fn none_names_the_unknown_keys() {
        assert_eq!(Options::empty().none(), Ok(()));
        let error = Options::from_json(r#"{"a": 1, "b": 2}"#)
            .unwrap()
            .none()
            .unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert_eq!(
            error.message,
            "unknown options `a`, `b`: this plugin takes no options"
        );
    }
}
