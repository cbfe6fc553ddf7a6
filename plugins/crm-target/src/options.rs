//! The target's options.

use crate::names::check_name;
use serde::Deserialize;
use sluice_sdk::{Options, PluginError};

/// The most inputs the CRM takes per batch request.
pub(crate) const MAX_BATCH_SIZE: usize = 100;

/// How records are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// `batch/create`: every record is a new object.
    Insert,
    /// `batch/update`: by the record's `id` field (the CRM id).
    Update,
    /// `batch/upsert`: by `id_property`; created when missing, updated
    /// otherwise.
    #[default]
    Upsert,
    /// Search by `id_property`, then `batch/create` only the missing ones;
    /// existing objects are left as they are (`unchanged`).
    CreateIfMissing,
}

/// The target's options, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetOptions {
    /// The CRM object type: the path segment of `/crm/v3/objects/{object}`.
    #[serde(default = "default_object")]
    pub(crate) object: String,
    /// How records are written.
    #[serde(default)]
    pub(crate) mode: Mode,
    /// The correlation key: the unique property records are matched by.
    #[serde(default = "default_id_property")]
    pub(crate) id_property: String,
    /// When given, only these fields of a record are written.
    #[serde(default)]
    pub(crate) properties: Option<Vec<String>>,
    /// Inputs per request, 1 to 100.
    #[serde(default = "default_batch_size")]
    pub(crate) batch_size: usize,
}

fn default_object() -> String {
    "contacts".to_owned()
}

fn default_id_property() -> String {
    "email".to_owned()
}

fn default_batch_size() -> usize {
    MAX_BATCH_SIZE
}

impl TargetOptions {
    /// Parses and checks the options. Every problem is a `config` error
    /// with code `invalid-options` naming the option.
    pub(crate) fn parse(options: &Options) -> Result<Self, PluginError> {
        let options: TargetOptions = options.parse()?;
        check_name("object", &options.object)?;
        check_name("id_property", &options.id_property)?;
        if options.id_property == "id" {
            return Err(PluginError::config(
                "`id_property` cannot be `id`: that is the CRM's own id; use `mode = \"update\"` to write by it",
            )
            .with_field("id_property"));
        }
        if let Some(properties) = &options.properties {
            if properties.is_empty() {
                return Err(PluginError::config(
                    "`properties` is empty: nothing would be written (leave it out to write every field)",
                )
                .with_field("properties"));
            }
            for property in properties {
                check_name("properties", property)?;
            }
        }
        if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
            return Err(PluginError::config(format!(
                "`batch_size` must be between 1 and {MAX_BATCH_SIZE}, got {}",
                options.batch_size
            ))
            .with_field("batch_size"));
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;

    fn parse(text: &str) -> Result<TargetOptions, PluginError> {
        TargetOptions::parse(&Options::from_json(text)?)
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse("{}").unwrap(),
            TargetOptions {
                object: "contacts".into(),
                mode: Mode::Upsert,
                id_property: "email".into(),
                properties: None,
                batch_size: 100,
            }
        );
    }

    #[test]
    fn modes() {
        for (text, mode) in [
            ("insert", Mode::Insert),
            ("update", Mode::Update),
            ("upsert", Mode::Upsert),
            ("create-if-missing", Mode::CreateIfMissing),
        ] {
            let options = parse(&format!(r#"{{"mode": "{text}"}}"#)).unwrap();
            assert_eq!(options.mode, mode);
        }
    }

    #[test]
    fn rejects_bad_options() {
        for (text, message) in [
            (r#"{"mode": "replace"}"#, "unknown variant `replace`"),
            (r#"{"mode": "create_if_missing"}"#, "unknown variant"),
            (r#"{"id_property": ""}"#, "`id_property`"),
            (r#"{"id_property": "id"}"#, "cannot be `id`"),
            (r#"{"object": "contacts/batch"}"#, "`object`"),
            (r#"{"properties": []}"#, "`properties` is empty"),
            (r#"{"properties": ["first name"]}"#, "`properties`"),
            (r#"{"batch_size": 0}"#, "between 1 and 100"),
            (r#"{"batch_size": 250}"#, "between 1 and 100"),
            (r#"{"idProperty": "email"}"#, "unknown field `idProperty`"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{text}");
            assert_eq!(error.code, "invalid-options", "{text}");
            assert!(error.message.contains(message), "{text}: {}", error.message);
        }
    }
}
