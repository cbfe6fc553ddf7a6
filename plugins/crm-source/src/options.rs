//! The source's options.

use crate::names::check_name;
use serde::Deserialize;
use sluice_sdk::{Options, PluginError};

/// The most objects the CRM returns per page.
pub(crate) const MAX_PAGE_SIZE: u32 = 100;

/// The source's options, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceOptions {
    /// The CRM object type: the path segment of `/crm/v3/objects/{object}`.
    #[serde(default = "default_object")]
    pub(crate) object: String,
    /// The properties to read; empty: the CRM's default set.
    #[serde(default)]
    pub(crate) properties: Vec<String>,
    /// Objects per request, 1 to 100.
    #[serde(default = "default_page_size")]
    pub(crate) page_size: u32,
    /// The property whose value orders incremental reads.
    #[serde(default = "default_incremental_property")]
    pub(crate) incremental_property: String,
}

fn default_object() -> String {
    "contacts".to_owned()
}

fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}

fn default_incremental_property() -> String {
    "lastmodifieddate".to_owned()
}

impl SourceOptions {
    /// Parses and checks the options. Every problem is a `config` error
    /// with code `invalid-options` naming the option.
    pub(crate) fn parse(options: &Options) -> Result<Self, PluginError> {
        let options: SourceOptions = options.parse()?;
        check_name("object", &options.object)?;
        for property in &options.properties {
            check_name("properties", property)?;
        }
        check_name("incremental_property", &options.incremental_property)?;
        if !(1..=MAX_PAGE_SIZE).contains(&options.page_size) {
            return Err(PluginError::config(format!(
                "`page_size` must be between 1 and {MAX_PAGE_SIZE}, got {}",
                options.page_size
            ))
            .with_field("page_size"));
        }
        Ok(options)
    }

    /// The properties to ask for: the `properties` option plus the
    /// incremental property (so the high-water mark can be kept), or none
    /// (the CRM's default set, which includes it) when the option is empty.
    pub(crate) fn requested_properties(&self) -> Vec<String> {
        let mut properties = self.properties.clone();
        if !properties.is_empty() && !properties.contains(&self.incremental_property) {
            properties.push(self.incremental_property.clone());
        }
        properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;

    fn parse(text: &str) -> Result<SourceOptions, PluginError> {
        SourceOptions::parse(&Options::from_json(text)?)
    }

    #[test]
    fn defaults() {
        let options = parse("{}").unwrap();
        assert_eq!(
            options,
            SourceOptions {
                object: "contacts".into(),
                properties: vec![],
                page_size: 100,
                incremental_property: "lastmodifieddate".into(),
            }
        );
        assert!(options.requested_properties().is_empty());
    }

    #[test]
    fn the_incremental_property_is_always_requested() {
        let options = parse(r#"{"properties": ["email", "firstname"]}"#).unwrap();
        assert_eq!(
            options.requested_properties(),
            ["email", "firstname", "lastmodifieddate"]
        );
        let options = parse(
            r#"{"properties": ["email", "hs_updated"], "incremental_property": "hs_updated"}"#,
        )
        .unwrap();
        assert_eq!(options.requested_properties(), ["email", "hs_updated"]);
    }

    #[test]
    fn rejects_bad_options() {
        for (text, message) in [
            (
                r#"{"page_size": 0}"#,
                "`page_size` must be between 1 and 100",
            ),
            (
                r#"{"page_size": 101}"#,
                "`page_size` must be between 1 and 100",
            ),
            (r#"{"page_size": -1}"#, "invalid value"),
            (r#"{"object": ""}"#, "`object`"),
            (r#"{"object": "contacts/../owners"}"#, "`object`"),
            (r#"{"properties": ["email,phone"]}"#, "`properties`"),
            (r#"{"properties": "email"}"#, "invalid type"),
            (
                r#"{"incremental_property": "last modified"}"#,
                "`incremental_property`",
            ),
            (r#"{"pagesize": 10}"#, "unknown field `pagesize`"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{text}");
            assert_eq!(error.code, "invalid-options", "{text}");
            assert!(error.message.contains(message), "{text}: {}", error.message);
        }
    }
}
