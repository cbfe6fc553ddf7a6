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
//!   oversized answers;
//! - `text_answer` (optional): break the packed answer of `transform-text`
//!   (the host calls it for batches of text) for a batch holding the
//!   trigger: `past-end` (an end offset past the text), `inside-char` (an
//!   end offset inside a character), `missing-end` (one end offset fewer than values) or `bad-index` (an
//!   `others` index past the last value). `transform` is not affected.
//!
//! With neither `error` nor `json`, the trigger passes through too.
//!
//! Unlike other plugins it implements the generated `transform` interface
//! itself (through the SDK's glue) so that it can break `transform-text`.

use std::cell::Cell;

use serde::Deserialize;
use sluice_sdk::__private::field_transformer::exports::sluice::plugin::transform::{
    Guest, TextAnswer, TextBatch,
};
use sluice_sdk::__private::{Slot, transform_glue};
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
    text_answer: Option<Breakage>,
}

/// How to break the answer of `transform-text`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Breakage {
    PastEnd,
    InsideChar,
    MissingEnd,
    BadIndex,
}

impl Breakage {
    /// Break a valid answer.
    fn apply(self, answer: &mut TextAnswer) {
        match self {
            Breakage::PastEnd => {
                if let Some(last) = answer.ends.last_mut() {
                    *last += 1;
                }
            }
            Breakage::InsideChar => {
                answer.text.push('é');
                if let Some(last) = answer.ends.last_mut() {
                    *last = answer.text.len() as u32 - 1;
                }
            }
            Breakage::MissingEnd => {
                answer.ends.pop();
            }
            Breakage::BadIndex => {
                let past = answer.ends.len() as u32;
                answer.others.push((past, Ok(Value::Null)));
            }
        }
    }
}

thread_local! {
    /// The breakage the current `transform-text` call should apply: set by
    /// `transform_batch` when the batch holds the trigger.
    static BREAK_TEXT_ANSWER: Cell<Option<Breakage>> = const { Cell::new(None) };
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
    text_answer: Option<Breakage>,
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
            text_answer: options.text_answer,
        })
    }

    fn transform_batch(&self, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        let hit = values
            .iter()
            .any(|v| v.as_text() == Some(self.trigger.as_str()));
        let mut results: Vec<_> = values.into_iter().map(|v| self.transform(v)).collect();
        if hit {
            results.extend((0..self.extra_results).map(|_| Ok(Value::Null)));
            BREAK_TEXT_ANSWER.set(self.text_answer);
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

thread_local! {
    static INSTANCE: Slot<Forger> = const { Slot::new() };
}

/// The component's `transform` interface: the SDK's glue, with
/// `transform-text`'s answer broken on request.
struct Export;

impl Guest for Export {
    sluice_sdk::__sluice_describe!(Forger, FieldTransformer, "field-transformer");

    fn configure(options: String) -> Result<(), PluginError> {
        transform_glue::configure::<Forger>(&INSTANCE, options)
    }

    fn transform(values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        BREAK_TEXT_ANSWER.set(None);
        transform_glue::transform::<Forger>(&INSTANCE, values)
    }

    fn transform_text(batch: TextBatch) -> TextAnswer {
        BREAK_TEXT_ANSWER.set(None);
        let mut answer = transform_glue::transform_text::<Forger>(&INSTANCE, batch);
        if let Some(breakage) = BREAK_TEXT_ANSWER.take() {
            breakage.apply(&mut answer);
        }
        answer
    }
}

sluice_sdk::__private::field_transformer::export_field_transformer_world!(
    Export with_types_in sluice_sdk::__private::field_transformer
);
