//! A field transformer that lies on purpose, for the host's hostile-plugin
//! tests: on the values equal to its `trigger`, it returns what its options
//! say; every other value passes through unchanged.
//!
//! Options:
//!
//! - `trigger` (required text): the value that makes it misbehave;
//! - `error` (optional): return this error: `category` (a contract category
//!   name such as `auth` or `validation`), `code`, `message`, optional
//!   `field`, `retryable` (default false) and `retry_after_ms`, as given,
//!   control characters included;
//! - `json` (optional text): return a `json` value with this text, JSON or
//!   not;
//! - `decimal` (optional text): return a `decimal` value with this text;
//! - `extra_results` (default 0): a batch holding the trigger gets this
//!   many more results (nulls) than it has values, for the tests of
//!   oversized answers.
//!
//! With neither `error` nor `json`, the trigger passes through too.

use serde::Deserialize;
use sluice_sdk::{ErrorCategory, FieldTransformer, Options, PluginError, Value};

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgerOptions {
    trigger: String,
    error: Option<ForgedError>,
    json: Option<String>,
    decimal: Option<String>,
    #[serde(default)]
    extra_results: u32,
}

/// The error to return.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgedError {
    category: String,
    code: String,
    message: String,
    field: Option<String>,
    #[serde(default)]
    retryable: bool,
    retry_after_ms: Option<u32>,
}

/// The `forger` test plugin.
#[derive(Debug)]
pub struct Forger {
    trigger: String,
    error: Option<PluginError>,
    json: Option<String>,
    decimal: Option<String>,
    extra_results: u32,
}

fn category(name: &str) -> Result<ErrorCategory, PluginError> {
    Ok(match name {
        "auth" => ErrorCategory::Auth,
        "permissions" => ErrorCategory::Permissions,
        "plan-quota" => ErrorCategory::PlanQuota,
        "validation" => ErrorCategory::Validation,
        "transient" => ErrorCategory::Transient,
        "connectivity" => ErrorCategory::Connectivity,
        "dependency-not-ready" => ErrorCategory::DependencyNotReady,
        "correlation" => ErrorCategory::Correlation,
        "mapping" => ErrorCategory::Mapping,
        "config" => ErrorCategory::Config,
        other => return Err(PluginError::config(format!("unknown category `{other}`"))),
    })
}

impl FieldTransformer for Forger {
    type Options = sluice_sdk::serde_json::Value;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: ForgerOptions = options.parse()?;
        let error = match options.error {
            None => None,
            Some(e) => Some(PluginError {
                category: category(&e.category)?,
                code: e.code,
                message: e.message,
                field: e.field,
                retryable: e.retryable,
                retry_after_ms: e.retry_after_ms,
            }),
        };
        Ok(Forger {
            trigger: options.trigger,
            error,
            json: options.json,
            decimal: options.decimal,
            extra_results: options.extra_results,
        })
    }

    fn transform_batch(&self, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        let hit = values
            .iter()
            .any(|v| v.as_text() == Some(self.trigger.as_str()));
        let mut results: Vec<_> = values.into_iter().map(|v| self.transform(v)).collect();
        if hit {
            results.extend((0..self.extra_results).map(|_| Ok(Value::Null)));
        }
        results
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        if value.as_text() != Some(self.trigger.as_str()) {
            return Ok(value);
        }
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if let Some(json) = &self.json {
            return Ok(Value::Json(json.clone()));
        }
        if let Some(decimal) = &self.decimal {
            return Ok(Value::Decimal(decimal.clone()));
        }
        Ok(value)
    }
}

sluice_sdk::export_field_transformer!(Forger);
