//! The adapter from `sluice:plugin@0.1.0` to the current contract.
//!
//! The host works in the current version's types only. A component built
//! for 0.1.0 is called through the 0.1.0 bindings; what it returns is
//! converted here into the current types, and what the host passes it is
//! converted back. Everything 0.1.0 could say, the current version can say
//! too, so answers convert without loss; inputs only 0.2.0 can express
//! (`decimal`, `timestamp` values) reach a 0.1.0 plugin as their text.

use super::v0_1_0 as old;
use super::{
    ErrorCategory, ExtractBatch, ExtractFailure, Extracted, Normalized, Outgoing, PluginError,
    Value, WriteOutcome, http, log,
};

impl From<old::Value> for Value {
    fn from(v: old::Value) -> Self {
        match v {
            old::Value::Null => Value::Null,
            old::Value::Boolean(b) => Value::Boolean(b),
            old::Value::Integer(i) => Value::Integer(i),
            old::Value::Float(f) => Value::Float(f),
            old::Value::Text(s) => Value::Text(s),
            old::Value::Json(s) => Value::Json(s),
        }
    }
}

impl From<&Value> for old::Value {
    /// A 0.1.0 plugin has no `decimal` or `timestamp`: it gets their text.
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => old::Value::Null,
            Value::Boolean(b) => old::Value::Boolean(*b),
            Value::Integer(i) => old::Value::Integer(*i),
            Value::Float(f) => old::Value::Float(*f),
            Value::Text(s) | Value::Decimal(s) | Value::Timestamp(s) => old::Value::Text(s.clone()),
            Value::Json(s) => old::Value::Json(s.clone()),
        }
    }
}

impl From<old::ErrorCategory> for ErrorCategory {
    fn from(c: old::ErrorCategory) -> Self {
        match c {
            old::ErrorCategory::Auth => ErrorCategory::Auth,
            old::ErrorCategory::Permissions => ErrorCategory::Permissions,
            old::ErrorCategory::PlanQuota => ErrorCategory::PlanQuota,
            old::ErrorCategory::Validation => ErrorCategory::Validation,
            old::ErrorCategory::Transient => ErrorCategory::Transient,
            old::ErrorCategory::Connectivity => ErrorCategory::Connectivity,
            old::ErrorCategory::DependencyNotReady => ErrorCategory::DependencyNotReady,
            old::ErrorCategory::Correlation => ErrorCategory::Correlation,
            old::ErrorCategory::Mapping => ErrorCategory::Mapping,
            old::ErrorCategory::Config => ErrorCategory::Config,
        }
    }
}

impl From<old::PluginError> for PluginError {
    /// 0.1.0 has no `retry-after-ms`: none.
    fn from(e: old::PluginError) -> Self {
        PluginError {
            category: e.category.into(),
            code: e.code,
            message: e.message,
            field: e.field,
            retryable: e.retryable,
            retry_after_ms: None,
        }
    }
}

/// Convert a 0.1.0 result into the current types.
pub fn result<T, U: From<T>>(r: Result<T, old::PluginError>) -> Result<U, PluginError> {
    r.map(U::from).map_err(PluginError::from)
}

/// Convert a 0.1.0 list of per-item results into the current types.
pub fn results<T, U: From<T>>(
    items: Vec<Result<T, old::PluginError>>,
) -> Vec<Result<U, PluginError>> {
    items.into_iter().map(result).collect()
}

impl From<old::Normalized> for Normalized {
    fn from(n: old::Normalized) -> Self {
        match n {
            old::Normalized::Keep(s) => Normalized::Keep(s),
            old::Normalized::Skip(s) => Normalized::Skip(s),
        }
    }
}

impl From<old::ExtractBatch> for ExtractBatch {
    #[allow(
        clippy::result_large_err,
        reason = "the item type is the contract's, as generated"
    )]
    fn from(b: old::ExtractBatch) -> Self {
        ExtractBatch {
            items: b
                .items
                .into_iter()
                .map(|item| match item {
                    Ok(x) => Ok(Extracted {
                        key: x.key,
                        body: x.body,
                    }),
                    Err(f) => Err(ExtractFailure {
                        key: f.key,
                        raw: f.raw,
                        error: f.error.into(),
                    }),
                })
                .collect(),
            cursor: b.cursor,
            done: b.done,
        }
    }
}

impl From<&Outgoing> for old::Outgoing {
    fn from(o: &Outgoing) -> Self {
        old::Outgoing {
            key: o.key.clone(),
            body: o.body.clone(),
        }
    }
}

impl From<old::WriteOutcome> for WriteOutcome {
    fn from(o: old::WriteOutcome) -> Self {
        match o {
            old::WriteOutcome::Created(id) => WriteOutcome::Created(id),
            old::WriteOutcome::Updated(id) => WriteOutcome::Updated(id),
            old::WriteOutcome::Unchanged => WriteOutcome::Unchanged,
            old::WriteOutcome::Skip(s) => WriteOutcome::Skip(s),
        }
    }
}

impl From<old::log::Level> for log::Level {
    fn from(l: old::log::Level) -> Self {
        match l {
            old::log::Level::Trace => log::Level::Trace,
            old::log::Level::Debug => log::Level::Debug,
            old::log::Level::Info => log::Level::Info,
            old::log::Level::Warn => log::Level::Warn,
            old::log::Level::Error => log::Level::Error,
        }
    }
}

impl From<old::http::Method> for http::Method {
    fn from(m: old::http::Method) -> Self {
        match m {
            old::http::Method::Get => http::Method::Get,
            old::http::Method::Post => http::Method::Post,
            old::http::Method::Put => http::Method::Put,
            old::http::Method::Patch => http::Method::Patch,
            old::http::Method::Delete => http::Method::Delete,
            old::http::Method::Head => http::Method::Head,
        }
    }
}

impl From<old::http::Request> for http::Request {
    fn from(r: old::http::Request) -> Self {
        http::Request {
            method: r.method.into(),
            url: r.url,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<http::Response> for old::http::Response {
    fn from(r: http::Response) -> Self {
        old::http::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<http::HttpError> for old::http::HttpError {
    fn from(e: http::HttpError) -> Self {
        match e {
            http::HttpError::Denied(s) => old::http::HttpError::Denied(s),
            http::HttpError::Timeout => old::http::HttpError::Timeout,
            http::HttpError::Connect(s) => old::http::HttpError::Connect(s),
            http::HttpError::TooLarge => old::http::HttpError::TooLarge,
            http::HttpError::Other(s) => old::http::HttpError::Other(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_errors_gain_no_retry_after() {
        let e: PluginError = old::PluginError {
            category: old::ErrorCategory::Transient,
            code: "busy".into(),
            message: "later".into(),
            field: Some("email".into()),
            retryable: true,
        }
        .into();
        assert_eq!(e.category, ErrorCategory::Transient);
        assert!(e.retryable);
        assert_eq!(e.retry_after_ms, None);
        assert_eq!(e.field.as_deref(), Some("email"));
    }

    #[test]
    fn new_values_reach_old_plugins_as_text() {
        let d = Value::Decimal("12345678901234567890.10".into());
        assert!(
            matches!(old::Value::from(&d), old::Value::Text(t) if t == "12345678901234567890.10")
        );
        let t = Value::Timestamp("2024-05-01T12:30:00Z".into());
        assert!(matches!(old::Value::from(&t), old::Value::Text(s) if s == "2024-05-01T12:30:00Z"));
        assert!(matches!(
            Value::from(old::Value::Integer(3)),
            Value::Integer(3)
        ));
    }
}
