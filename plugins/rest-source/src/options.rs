//! The source's options.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_rest_fields::{check_name, check_path, check_pointer, scalar_text};
use sluice_sdk::{Options, PluginError};

/// The source's options, validated.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceOptions {
    /// The endpoint, relative to the connection's base URL.
    pub(crate) path: String,
    /// Extra query parameters, sent with every request built from `path`.
    #[serde(default)]
    pub(crate) query: BTreeMap<String, Json>,
    /// JSON pointer to the array of records; empty: the body is the array.
    #[serde(default)]
    pub(crate) records: String,
    /// The field of a record used as its key.
    #[serde(default = "default_key")]
    pub(crate) key: String,
    /// How pages follow each other.
    #[serde(default)]
    pub(crate) pagination: Pagination,
    /// The high-water mark field and the filter parameter, when reads can
    /// be incremental.
    #[serde(default)]
    pub(crate) incremental: Option<Incremental>,
}

/// How pages follow each other.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Pagination {
    /// The body carries the token of the next page.
    Cursor {
        /// JSON pointer to the next page's token in the body.
        next: String,
        /// The query parameter the token is sent as.
        #[serde(default = "default_after")]
        param: String,
    },
    /// `?offset=N&limit=M`; done at a page shorter than `page_size`.
    Offset {
        /// The offset parameter.
        #[serde(default = "default_offset")]
        param: String,
        /// The page size parameter.
        #[serde(default = "default_limit")]
        limit_param: String,
        /// Records asked per page.
        #[serde(default = "default_page_size")]
        page_size: u64,
    },
    /// `?page=N&per_page=M`; done at a page shorter than `page_size`.
    Page {
        /// The page number parameter.
        #[serde(default = "default_page")]
        param: String,
        /// The number of the first page.
        #[serde(default = "default_start")]
        start: u64,
        /// The page size parameter.
        #[serde(default = "default_per_page")]
        page_size_param: String,
        /// Records asked per page.
        #[serde(default = "default_page_size")]
        page_size: u64,
    },
    /// RFC 8288 `Link: <url>; rel="next"` response header.
    Link,
    /// One request returns everything.
    #[default]
    None,
}

/// Incremental reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Incremental {
    /// The record field whose greatest value is the high-water mark.
    pub(crate) field: String,
    /// The query parameter the mark is sent as.
    pub(crate) param: String,
}

fn default_key() -> String {
    "id".to_owned()
}
fn default_after() -> String {
    "after".to_owned()
}
fn default_offset() -> String {
    "offset".to_owned()
}
fn default_limit() -> String {
    "limit".to_owned()
}
fn default_page() -> String {
    "page".to_owned()
}
fn default_per_page() -> String {
    "per_page".to_owned()
}
fn default_start() -> u64 {
    1
}
fn default_page_size() -> u64 {
    100
}

impl SourceOptions {
    /// Parses and checks the options. Every problem is a `config` error
    /// with code `invalid-options` naming the option.
    pub(crate) fn parse(options: &Options) -> Result<Self, PluginError> {
        let options: SourceOptions = options.parse()?;
        check_path("path", &options.path)?;
        check_pointer("records", &options.records)?;
        check_name("key", &options.key)?;
        let mut params: Vec<(&str, &str)> = Vec::new();
        for (name, value) in &options.query {
            check_name("query", name)?;
            if scalar_text(value).is_none() {
                return Err(PluginError::config(format!(
                    "`query.{name}` must be a string, number or boolean"
                ))
                .with_field("query"));
            }
            params.push(("query", name));
        }
        match &options.pagination {
            Pagination::Cursor { next, param } => {
                check_pointer("pagination.next", next)?;
                if next.is_empty() {
                    return Err(PluginError::config(
                        "`pagination.next` must point into the body, such as \"/paging/next/after\"",
                    )
                    .with_field("pagination.next"));
                }
                check_name("pagination.param", param)?;
                params.push(("pagination.param", param));
            }
            Pagination::Offset {
                param,
                limit_param,
                page_size,
            } => {
                check_name("pagination.param", param)?;
                check_name("pagination.limit_param", limit_param)?;
                check_page_size(*page_size)?;
                params.push(("pagination.param", param));
                params.push(("pagination.limit_param", limit_param));
            }
            Pagination::Page {
                param,
                page_size_param,
                page_size,
                ..
            } => {
                check_name("pagination.param", param)?;
                check_name("pagination.page_size_param", page_size_param)?;
                check_page_size(*page_size)?;
                params.push(("pagination.param", param));
                params.push(("pagination.page_size_param", page_size_param));
            }
            Pagination::Link | Pagination::None => {}
        }
        if let Some(incremental) = &options.incremental {
            check_name("incremental.field", &incremental.field)?;
            check_name("incremental.param", &incremental.param)?;
            params.push(("incremental.param", &incremental.param));
        }
        for (i, (option, name)) in params.iter().enumerate() {
            if let Some((other, _)) = params[..i].iter().find(|(_, n)| n == name) {
                return Err(PluginError::config(format!(
                    "`{option}` and `{other}` both use the query parameter `{name}`"
                ))
                .with_field(*option));
            }
        }
        Ok(options)
    }

    /// `path` with the `query` parameters.
    pub(crate) fn base_url(&self) -> String {
        let mut url = self.path.clone();
        for (name, value) in &self.query {
            if let Some(text) = scalar_text(value) {
                url = sluice_rest_fields::with_param(&url, name, &text);
            }
        }
        url
    }
}

fn check_page_size(page_size: u64) -> Result<(), PluginError> {
    if (1..=10_000).contains(&page_size) {
        Ok(())
    } else {
        Err(PluginError::config(format!(
            "`pagination.page_size` must be between 1 and 10000, got {page_size}"
        ))
        .with_field("pagination.page_size"))
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
        let options = parse(r#"{"path": "/items"}"#).unwrap();
        assert_eq!(options.records, "");
        assert_eq!(options.key, "id");
        assert_eq!(options.pagination, Pagination::None);
        assert_eq!(options.incremental, None);
        assert_eq!(options.base_url(), "/items");
    }

    #[test]
    fn pagination_kinds_have_defaults() {
        let offset = parse(r#"{"path": "/x", "pagination": {"kind": "offset"}}"#).unwrap();
        assert_eq!(
            offset.pagination,
            Pagination::Offset {
                param: "offset".into(),
                limit_param: "limit".into(),
                page_size: 100
            }
        );
        let page = parse(r#"{"path": "/x", "pagination": {"kind": "page", "start": 0}}"#).unwrap();
        assert_eq!(
            page.pagination,
            Pagination::Page {
                param: "page".into(),
                start: 0,
                page_size_param: "per_page".into(),
                page_size: 100
            }
        );
        let cursor =
            parse(r#"{"path": "/x", "pagination": {"kind": "cursor", "next": "/next"}}"#).unwrap();
        assert_eq!(
            cursor.pagination,
            Pagination::Cursor {
                next: "/next".into(),
                param: "after".into()
            }
        );
        let link = parse(r#"{"path": "/x", "pagination": {"kind": "link"}}"#).unwrap();
        assert_eq!(link.pagination, Pagination::Link);
    }

    #[test]
    fn query_parameters_are_appended_in_order() {
        let options =
            parse(r#"{"path": "/x?fixed=1", "query": {"b": "two words", "a": 3, "c": true}}"#)
                .unwrap();
        assert_eq!(options.base_url(), "/x?fixed=1&a=3&b=two%20words&c=true");
    }

    #[test]
    fn rejects_bad_options() {
        for (text, message) in [
            (r#"{}"#, "missing field `path`"),
            (r#"{"path": ""}"#, "`path`"),
            (r#"{"path": "https://evil.example/x"}"#, "relative"),
            (r#"{"path": "/x", "records": "data"}"#, "JSON pointer"),
            (r#"{"path": "/x", "key": ""}"#, "`key`"),
            (r#"{"path": "/x", "query": {"a": [1]}}"#, "`query.a`"),
            (
                r#"{"path": "/x", "pagination": {"kind": "cursor"}}"#,
                "missing field `next`",
            ),
            (
                r#"{"path": "/x", "pagination": {"kind": "cursor", "next": ""}}"#,
                "`pagination.next`",
            ),
            (
                r#"{"path": "/x", "pagination": {"kind": "offset", "page_size": 0}}"#,
                "between 1 and 10000",
            ),
            (
                r#"{"path": "/x", "pagination": {"kind": "offset", "size": 10}}"#,
                "unknown field `size`",
            ),
            (
                r#"{"path": "/x", "pagination": {"kind": "scroll"}}"#,
                "unknown variant `scroll`",
            ),
            (
                r#"{"path": "/x", "pagination": {"kind": "page", "param": "p", "page_size_param": "p"}}"#,
                "both use the query parameter `p`",
            ),
            (
                r#"{"path": "/x", "query": {"offset": 1}, "pagination": {"kind": "offset"}}"#,
                "both use the query parameter `offset`",
            ),
            (
                r#"{"path": "/x", "incremental": {"field": "updatedAt"}}"#,
                "missing field `param`",
            ),
            (r#"{"path": "/x", "paging": {}}"#, "unknown field `paging`"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{text}");
            assert_eq!(error.code, "invalid-options", "{text}");
            assert!(error.message.contains(message), "{text}: {}", error.message);
        }
    }
}
