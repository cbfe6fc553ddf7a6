//! The target's options.

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sluice_rest_fields::{check_name, check_path, check_pointer};
use sluice_sdk::http::Method;
use sluice_sdk::{Options, PluginError};

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// Every record is created.
    Insert,
    /// Existing records are updated; a missing one is `not-found`.
    Update,
    /// Updated when found by the correlation key, created otherwise.
    Upsert,
    /// Created when not found; existing records are left `unchanged`.
    CreateIfMissing,
}

/// The HTTP method of a write endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum WriteMethod {
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
}

impl WriteMethod {
    /// The method as the `http` import names it.
    pub(crate) fn method(self) -> Method {
        match self {
            WriteMethod::Post => Method::Post,
            WriteMethod::Put => Method::Put,
            WriteMethod::Patch => Method::Patch,
        }
    }
}

/// A single-record write endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Endpoint {
    /// The method.
    pub(crate) method: WriteMethod,
    /// The path, with `{id}` / `{key}` placeholders.
    pub(crate) path: String,
}

/// How a remote id is found by correlation key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lookup {
    /// The path of the `GET`, with an optional `{key}` placeholder.
    pub(crate) path: String,
    /// The query parameter the key is sent as, if any.
    #[serde(default)]
    pub(crate) param: Option<String>,
    /// JSON pointer to the matches (an array, or one object) in the answer.
    #[serde(default)]
    pub(crate) records: String,
    /// JSON pointer to the id in a match; default: `id_pointer`.
    #[serde(default)]
    pub(crate) id: Option<String>,
}

/// A batch create endpoint with per-record results.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Batch {
    /// The path.
    pub(crate) path: String,
    /// The method.
    #[serde(default = "default_post")]
    pub(crate) method: WriteMethod,
    /// Where the records go in the request body; `""`: the body is the array.
    #[serde(default = "default_inputs")]
    pub(crate) inputs: String,
    /// Where the per-record results are in the answer.
    #[serde(default = "default_results")]
    pub(crate) results: String,
    /// Where the per-record errors are in the answer.
    #[serde(default = "default_errors")]
    pub(crate) errors: String,
    /// Where the input index is in a result (and in an error, unless
    /// `error_index` says otherwise): a number or numeric text, the
    /// input's position in the request; with `trace`, the trace id.
    #[serde(default = "default_index")]
    pub(crate) index: String,
    /// Where the input index (or trace id) is in an error, when not at
    /// `index` (HubSpot: `/context/objectWriteTraceId/0`).
    #[serde(default)]
    pub(crate) error_index: Option<String>,
    /// A member added to every input with a trace id (its position in the
    /// `write`, as text) that the API echoes on results and errors
    /// (HubSpot: `objectWriteTraceId`); `index`/`error_index` then point
    /// at the echoed trace id.
    #[serde(default)]
    pub(crate) trace: Option<String>,
    /// The most records per request.
    #[serde(default = "default_size")]
    pub(crate) size: usize,
}

/// The target's options, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetOptions {
    /// How records are written.
    pub(crate) mode: Mode,
    /// The record field identifying the remote record.
    #[serde(default)]
    pub(crate) correlation_key: Option<String>,
    /// The endpoint that creates one record.
    #[serde(default)]
    pub(crate) create: Option<Endpoint>,
    /// The endpoint that updates one record.
    #[serde(default)]
    pub(crate) update: Option<Endpoint>,
    /// How a remote id is found by correlation key.
    #[serde(default)]
    pub(crate) lookup: Option<Lookup>,
    /// A batch create endpoint (insert mode), instead of `create`.
    #[serde(default)]
    pub(crate) batch: Option<Batch>,
    /// JSON pointer to the remote id in a write's answer (and a lookup's
    /// match).
    #[serde(default = "default_id_pointer")]
    pub(crate) id_pointer: String,
    /// How a record becomes a request body (and a batch input).
    #[serde(default)]
    pub(crate) body: BodyShape,
}

/// How a record becomes a request body, for APIs that want records
/// nested (HubSpot: `{"properties": {...}, "associations": []}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BodyShape {
    /// JSON pointer where the record's fields go (`"/properties"`); `""`
    /// (the default): the body is the record.
    #[serde(default)]
    pub(crate) record_at: String,
    /// Members every body carries besides the record (`{ associations =
    /// [] }`); the record's place (`record_at`) wins over them.
    #[serde(default)]
    pub(crate) template: Map<String, Json>,
    /// Whether record fields named with dots (`properties.email`, as a
    /// mapping's target fields may be named) become nested objects
    /// (`{"properties": {"email": ...}}`).
    #[serde(default)]
    pub(crate) nest_dotted: bool,
    /// Whether the record's scalar values are sent as text (`null` as
    /// `""`, numbers and booleans as their JSON text), for APIs whose
    /// fields are all strings (HubSpot's properties). A list or object
    /// value is then a `validation` error (`not-a-text-value`).
    #[serde(default)]
    pub(crate) text_values: bool,
}

fn default_post() -> WriteMethod {
    WriteMethod::Post
}
fn default_inputs() -> String {
    "/inputs".to_owned()
}
fn default_results() -> String {
    "/results".to_owned()
}
fn default_errors() -> String {
    "/errors".to_owned()
}
fn default_index() -> String {
    "/index".to_owned()
}
fn default_size() -> usize {
    100
}
fn default_id_pointer() -> String {
    "/id".to_owned()
}

impl TargetOptions {
    /// Parses and checks the options. Every problem is a `config` error
    /// with code `invalid-options` naming the option.
    pub(crate) fn parse(options: &Options) -> Result<Self, PluginError> {
        let options: TargetOptions = options.parse()?;
        let needs = |option: &str, what: &str| {
            PluginError::config(format!(
                "mode `{}` needs `{option}` ({what})",
                options.mode_name()
            ))
            .with_field(option)
        };
        check_pointer("id_pointer", &options.id_pointer)?;
        check_pointer("body.record_at", &options.body.record_at)?;
        if let Some(key) = &options.correlation_key {
            check_name("correlation_key", key)?;
        } else if options.mode != Mode::Insert {
            return Err(needs(
                "correlation_key",
                "the record field that identifies the remote record",
            ));
        }
        for (option, endpoint) in [("create", &options.create), ("update", &options.update)] {
            if let Some(endpoint) = endpoint {
                check_template(option, &endpoint.path)?;
            }
        }
        if let Some(lookup) = &options.lookup {
            check_template("lookup.path", &lookup.path)?;
            if lookup.path.contains("{id}") {
                return Err(PluginError::config(
                    "`lookup.path` cannot use `{id}`: the lookup is what finds it",
                )
                .with_field("lookup.path"));
            }
            if let Some(param) = &lookup.param {
                check_name("lookup.param", param)?;
            }
            check_pointer("lookup.records", &lookup.records)?;
            if let Some(id) = &lookup.id {
                check_pointer("lookup.id", id)?;
            }
            if options.correlation_key.is_none() {
                return Err(PluginError::config(
                    "`lookup` needs `correlation_key`: the field whose value is looked up",
                )
                .with_field("correlation_key"));
            }
        }
        if let Some(batch) = &options.batch {
            check_path("batch.path", &batch.path)?;
            for (option, pointer) in [
                ("batch.inputs", &batch.inputs),
                ("batch.results", &batch.results),
                ("batch.errors", &batch.errors),
                ("batch.index", &batch.index),
            ] {
                check_pointer(option, pointer)?;
            }
            if let Some(pointer) = &batch.error_index {
                check_pointer("batch.error_index", pointer)?;
            }
            if let Some(trace) = &batch.trace {
                check_name("batch.trace", trace)?;
            }
            if !(1..=1000).contains(&batch.size) {
                return Err(PluginError::config(format!(
                    "`batch.size` must be between 1 and 1000, got {}",
                    batch.size
                ))
                .with_field("batch.size"));
            }
            if options.mode != Mode::Insert {
                return Err(PluginError::config(
                    "`batch` endpoints are only supported in mode `insert`; use `create`/`update`/`lookup` for the other modes",
                )
                .with_field("batch"));
            }
            if options.create.is_some() {
                return Err(
                    PluginError::config("give either `batch` or `create`, not both")
                        .with_field("batch"),
                );
            }
        }
        let lookup = options.lookup.is_some();
        match options.mode {
            Mode::Insert => {
                if options.create.is_none() && options.batch.is_none() {
                    return Err(needs("create", "or `batch`: where records are created"));
                }
            }
            Mode::Update => {
                let Some(update) = &options.update else {
                    return Err(needs("update", "where a record is updated"));
                };
                if update.path.contains("{id}") && !lookup {
                    return Err(needs(
                        "lookup",
                        "`update.path` uses `{id}`, which the lookup finds",
                    ));
                }
            }
            Mode::Upsert => {
                if options.create.is_none() {
                    return Err(needs("create", "where missing records are created"));
                }
                if options.update.is_none() {
                    return Err(needs("update", "where existing records are updated"));
                }
                if !lookup {
                    return Err(needs("lookup", "how existing records are found"));
                }
            }
            Mode::CreateIfMissing => {
                if options.create.is_none() {
                    return Err(needs("create", "where missing records are created"));
                }
                if !lookup {
                    return Err(needs("lookup", "how existing records are found"));
                }
            }
        }
        Ok(options)
    }

    /// The mode as written in options.
    pub(crate) fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Insert => "insert",
            Mode::Update => "update",
            Mode::Upsert => "upsert",
            Mode::CreateIfMissing => "create-if-missing",
        }
    }

    /// The pointer to the id in a lookup's match.
    pub(crate) fn lookup_id(&self) -> &str {
        self.lookup
            .as_ref()
            .and_then(|l| l.id.as_deref())
            .unwrap_or(&self.id_pointer)
    }
}

/// A path whose only placeholders are `{id}` and `{key}`.
fn check_template(option: &str, path: &str) -> Result<(), PluginError> {
    let option = if option.contains('.') {
        option.to_owned()
    } else {
        format!("{option}.path")
    };
    check_path(&option, path)?;
    let bare = path.replace("{id}", "").replace("{key}", "");
    if bare.contains('{') || bare.contains('}') {
        return Err(PluginError::config(format!(
            "`{option}` may only use the placeholders `{{id}}` and `{{key}}`, got {path:?}"
        ))
        .with_field(option));
    }
    Ok(())
}

/// `path` with `{id}` and `{key}` replaced by their percent-encoded values.
pub(crate) fn fill(path: &str, id: Option<&str>, key: Option<&str>) -> String {
    let encode = |value: Option<&str>| sluice_rest_fields::percent_encode(value.unwrap_or(""));
    path.replace("{id}", &encode(id))
        .replace("{key}", &encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorCategory;

    fn parse(text: &str) -> Result<TargetOptions, PluginError> {
        TargetOptions::parse(&Options::from_json(text)?)
    }

    const CREATE: &str = r#""create": {"method": "POST", "path": "/items"}"#;
    const UPDATE: &str = r#""update": {"method": "PATCH", "path": "/items/{id}"}"#;
    const LOOKUP: &str = r#""lookup": {"path": "/items", "param": "email"}"#;

    #[test]
    fn every_mode_accepts_its_endpoints() {
        let insert = parse(&format!(r#"{{"mode": "insert", {CREATE}}}"#)).unwrap();
        assert_eq!(insert.id_pointer, "/id");
        assert_eq!(insert.correlation_key, None);
        let update = parse(&format!(
            r#"{{"mode": "update", "correlation_key": "email", {UPDATE}, {LOOKUP}}}"#
        ))
        .unwrap();
        assert_eq!(update.lookup_id(), "/id");
        assert_eq!(update.update.unwrap().method, WriteMethod::Patch);
        // Updating by key needs no lookup.
        parse(
            r#"{"mode": "update", "correlation_key": "email", "update": {"method": "PUT", "path": "/items/by-email/{key}"}}"#,
        )
        .unwrap();
        parse(&format!(
            r#"{{"mode": "upsert", "correlation_key": "email", {CREATE}, {UPDATE}, {LOOKUP}}}"#
        ))
        .unwrap();
        parse(&format!(
            r#"{{"mode": "create-if-missing", "correlation_key": "email", {CREATE}, {LOOKUP}}}"#
        ))
        .unwrap();
        let batch = parse(r#"{"mode": "insert", "batch": {"path": "/items/batch"}}"#).unwrap();
        let batch = batch.batch.unwrap();
        assert_eq!(
            (
                batch.inputs.as_str(),
                batch.results.as_str(),
                batch.errors.as_str(),
                batch.index.as_str(),
                batch.size
            ),
            ("/inputs", "/results", "/errors", "/index", 100)
        );
    }

    #[test]
    fn rejects_bad_options() {
        for (text, message) in [
            (r#"{}"#.to_owned(), "missing field `mode`".to_owned()),
            (
                r#"{"mode": "merge"}"#.to_owned(),
                "unknown variant `merge`".to_owned(),
            ),
            (
                r#"{"mode": "insert"}"#.to_owned(),
                "needs `create`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "update", {UPDATE}, {LOOKUP}}}"#),
                "needs `correlation_key`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "update", "correlation_key": "email", {UPDATE}}}"#),
                "needs `lookup`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "upsert", "correlation_key": "email", {CREATE}, {LOOKUP}}}"#),
                "needs `update`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "create-if-missing", "correlation_key": "email", {CREATE}}}"#),
                "needs `lookup`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "insert", {LOOKUP}}}"#),
                "`lookup` needs `correlation_key`".to_owned(),
            ),
            (
                r#"{"mode": "insert", "create": {"method": "GET", "path": "/items"}}"#.to_owned(),
                "unknown variant `GET`".to_owned(),
            ),
            (
                r#"{"mode": "insert", "create": {"method": "POST", "path": "/items/{name}"}}"#
                    .to_owned(),
                "placeholders".to_owned(),
            ),
            (
                r#"{"mode": "insert", "create": {"method": "POST", "path": "http://x/items"}}"#
                    .to_owned(),
                "relative".to_owned(),
            ),
            (
                format!(r#"{{"mode": "insert", "batch": {{"path": "/b"}}, {CREATE}}}"#),
                "not both".to_owned(),
            ),
            (
                r#"{"mode": "insert", "batch": {"path": "/b", "size": 0}}"#.to_owned(),
                "`batch.size`".to_owned(),
            ),
            (
                format!(
                    r#"{{"mode": "upsert", "correlation_key": "email", "batch": {{"path": "/b"}}, {UPDATE}, {LOOKUP}}}"#
                ),
                "only supported in mode `insert`".to_owned(),
            ),
            (
                format!(r#"{{"mode": "insert", {CREATE}, "id_pointer": "id"}}"#),
                "JSON pointer".to_owned(),
            ),
            (
                format!(r#"{{"mode": "insert", {CREATE}, "key": "email"}}"#),
                "unknown field `key`".to_owned(),
            ),
        ] {
            let error = parse(&text).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{text}");
            assert_eq!(error.code, "invalid-options", "{text}");
            assert!(
                error.message.contains(&message),
                "{text}: {}",
                error.message
            );
        }
    }

    #[test]
    fn placeholders_are_filled_and_encoded() {
        assert_eq!(
            fill("/items/{id}/by/{key}", Some("7"), Some("a b@x.io")),
            "/items/7/by/a%20b%40x.io"
        );
        assert_eq!(fill("/items", None, None), "/items");
    }
}
