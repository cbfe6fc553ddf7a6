//! Classification of the errors of a HubSpot-style CRM v3 API, from the
//! error body rather than the status alone.
//!
//! Shared by the crm source and the crm target: the target includes this
//! file with `#[path = "../../crm-source/src/crm_errors.rs"]`, so both
//! classify the CRM's errors the same way.
//!
//! | CRM error (`category`, ...)                          | Category      | Code                      |
//! |------------------------------------------------------|---------------|---------------------------|
//! | `EXPIRED_AUTHENTICATION`                             | `auth`        | `expired-authentication`  |
//! | `INVALID_AUTHENTICATION`                             | `auth`        | `invalid-authentication`  |
//! | `MISSING_SCOPES` (message names the scopes)          | `permissions` | `missing-scopes`          |
//! | `RATE_LIMITS` / `errorType: RATE_LIMIT` / status 429 | `transient`   | `rate-limited` (retryable)|
//! | a plan or property limit (see [`limit_kind`])        | `plan-quota`  | `property-limit` / `plan-limit` |
//! | `VALIDATION_ERROR` (field: the property named)       | `validation`  | the nested error code (else `subCategory`), kebab-cased (`invalid-email`), else `invalid-value` |
//! | `OBJECT_ALREADY_EXISTS`, `CONFLICT`                  | `correlation` | `duplicate`               |
//! | `OBJECT_NOT_FOUND`                                   | `correlation` | `not-found`               |
//! | anything else                                        | by status: [`sluice_sdk::classify_response`] |

use serde_json::Value as Json;
use sluice_sdk::http::Response;
use sluice_sdk::{ErrorCategory, PluginError, body_excerpt, classify_response};

/// Classifies a response that failed as a whole (any status but the
/// successes the caller handles).
pub(crate) fn classify_failure(response: &Response) -> PluginError {
    let body = serde_json::from_slice::<Json>(&response.body)
        .ok()
        .filter(Json::is_object);
    let refined = body
        .as_ref()
        .and_then(|error| classify_error(Some(response.status), error));
    match refined {
        Some(error) => error,
        None if response.status == 429 => {
            rate_limited(response.status, body.as_ref().unwrap_or(&Json::Null))
        }
        None => response.error(),
    }
}

/// Classifies one error object of the CRM (a whole-response error body, or
/// one entry of a batch response's `errors`) by its `category` and
/// details. `None` when the object does not say more than its status.
pub(crate) fn classify_error(status: Option<u16>, error: &Json) -> Option<PluginError> {
    let category = text(error, "category").unwrap_or_default();
    let error_type = text(error, "errorType").unwrap_or_default();
    let refined = if let Some(limit) = limit_kind(error) {
        let quota = PluginError::new(
            ErrorCategory::PlanQuota,
            limit,
            message(status, error, "a plan limit of the CRM account was reached"),
        );
        match property_name(error) {
            Some(field) => quota.with_field(field),
            None => quota,
        }
    } else {
        match category {
            "EXPIRED_AUTHENTICATION" => PluginError::new(
                ErrorCategory::Auth,
                "expired-authentication",
                message(
                    status,
                    error,
                    "the access token has expired; reconnect the CRM connection",
                ),
            ),
            "INVALID_AUTHENTICATION" => PluginError::new(
                ErrorCategory::Auth,
                "invalid-authentication",
                message(
                    status,
                    error,
                    "the credentials were rejected; reconnect the CRM connection",
                ),
            ),
            "MISSING_SCOPES" => {
                let scopes = scopes(error);
                let lead = if scopes.is_empty() {
                    "the connection lacks a required scope".to_owned()
                } else {
                    format!("the connection lacks the scope {}", scopes.join(", "))
                };
                PluginError::new(
                    ErrorCategory::Permissions,
                    "missing-scopes",
                    format!("{lead}: {}", message(status, error, "")),
                )
            }
            "RATE_LIMITS" => rate_limited(status.unwrap_or(429), error),
            _ if error_type == "RATE_LIMIT" => rate_limited(status.unwrap_or(429), error),
            "VALIDATION_ERROR" => validation(status, error),
            "OBJECT_ALREADY_EXISTS" | "CONFLICT" => {
                let duplicate = PluginError::new(
                    ErrorCategory::Correlation,
                    "duplicate",
                    message(status, error, "the object already exists"),
                );
                let nested = error.get("errors").and_then(Json::as_array);
                let field = nested
                    .and_then(|errors| errors.iter().find_map(property_name))
                    .or_else(|| property_name(error));
                match field {
                    Some(field) => duplicate.with_field(field),
                    None => duplicate,
                }
            }
            "OBJECT_NOT_FOUND" => PluginError::new(
                ErrorCategory::Correlation,
                "not-found",
                message(status, error, "the object does not exist"),
            ),
            _ => return None,
        }
    };
    Some(refined)
}

/// Classifies one entry of a batch response's `errors`: as
/// [`classify_error`], else by its `status` when it is an HTTP status,
/// else as a `validation` error with code `rejected`.
#[allow(
    dead_code,
    reason = "the crm target uses it; the crm source only reads"
)]
pub(crate) fn classify_input_error(error: &Json) -> PluginError {
    let status = match error.get("status") {
        Some(Json::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Json::String(s)) => s.parse().ok(),
        _ => None,
    };
    if let Some(refined) = classify_error(status, error) {
        return refined;
    }
    match status {
        Some(status) if status >= 400 => {
            let mut classified = classify_response(status, &[], error.to_string().as_bytes());
            if let Some(crm_message) = text(error, "message") {
                classified.message = message(Some(status), error, crm_message);
            }
            classified
        }
        _ => PluginError::validation(
            "rejected",
            message(status, error, "the CRM rejected the record"),
        ),
    }
}

/// A rate-limit error: transient and retryable (the host reads the
/// `Retry-After` header itself).
fn rate_limited(status: u16, error: &Json) -> PluginError {
    let policy = text(error, "policyName")
        .map(|p| format!(" (policy {p})"))
        .unwrap_or_default();
    PluginError::transient(
        "rate-limited",
        format!(
            "the CRM's rate limit was reached{policy}: {}",
            message(Some(status), error, "too many requests")
        ),
    )
}

/// A `VALIDATION_ERROR`: the field is the property the first nested error
/// names, the code that error's code in kebab case.
fn validation(status: Option<u16>, error: &Json) -> PluginError {
    let nested: Vec<&Json> = error
        .get("errors")
        .and_then(Json::as_array)
        .map(|errors| errors.iter().collect())
        .unwrap_or_default();
    let first_with = |find: fn(&Json) -> Option<String>| nested.iter().find_map(|e| find(e));
    let field = first_with(property_name).or_else(|| property_name(error));
    let code = first_with(|e| text(e, "code").or_else(|| text(e, "error")).map(kebab_case))
        .or_else(|| text(error, "subCategory").map(kebab_case))
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| "invalid-value".to_owned());
    // The nested messages say what is wrong with which property; the
    // top-level one often only says that something is (and repeats the
    // nested ones as JSON).
    let details: Vec<&str> = nested.iter().filter_map(|e| text(e, "message")).collect();
    let text_message = if details.is_empty() {
        message(status, error, "the CRM rejected a value")
    } else {
        described(status, error, &details.join("; "))
    };
    let error = PluginError::validation(code, text_message);
    match field {
        Some(field) => error.with_field(field),
        None => error,
    }
}

/// Whether an error object is about a plan or property limit, and which:
/// `property-limit` when it mentions properties, `plan-limit` otherwise.
/// The CRM says so in `category`, `subCategory`, `errorType` or a nested
/// error's `code` (`PROPERTY_LIMIT_EXCEEDED`, `LIMIT_EXCEEDED`,
/// `PLAN_LIMIT`...): anything with `LIMIT` in it that is not a rate limit.
pub(crate) fn limit_kind(error: &Json) -> Option<&'static str> {
    let mut markers: Vec<&str> = ["category", "subCategory", "errorType"]
        .iter()
        .filter_map(|key| text(error, key))
        .collect();
    if let Some(nested) = error.get("errors").and_then(Json::as_array) {
        markers.extend(
            nested
                .iter()
                .filter_map(|e| text(e, "code").or_else(|| text(e, "subCategory"))),
        );
    }
    let limits: Vec<String> = markers
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .filter(|m| m.contains("LIMIT") && !m.contains("RATE"))
        .collect();
    if limits.is_empty() {
        None
    } else if limits.iter().any(|m| m.contains("PROPERT")) {
        Some("property-limit")
    } else {
        Some("plan-limit")
    }
}

/// `<the CRM's message> (HTTP <status> <CATEGORY>)`, on one line and
/// short; `fallback` stands in for a missing message.
fn message(status: Option<u16>, error: &Json, fallback: &str) -> String {
    described(status, error, text(error, "message").unwrap_or(fallback))
}

/// `<what> (HTTP <status> <CATEGORY>)`, on one line and short.
fn described(status: Option<u16>, error: &Json, what: &str) -> String {
    let category = text(error, "category");
    let suffix = match (status, category) {
        (Some(status), Some(category)) => format!(" (HTTP {status} {category})"),
        (Some(status), None) => format!(" (HTTP {status})"),
        (None, Some(category)) => format!(" ({category})"),
        (None, None) => String::new(),
    };
    format!("{}{suffix}", one_line(what))
}

/// A string member of a JSON object.
pub(crate) fn text<'a>(json: &'a Json, key: &str) -> Option<&'a str> {
    json.get(key).and_then(Json::as_str)
}

/// The property an error is about: `context.propertyName` or
/// `context.field` (a string or a list of them), or `propertyName`/`name`.
fn property_name(error: &Json) -> Option<String> {
    let context = error.get("context");
    let value = context
        .and_then(|c| c.get("propertyName"))
        .or_else(|| context.and_then(|c| c.get("field")))
        .or_else(|| error.get("propertyName"))
        .or_else(|| error.get("name"))?;
    match value {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Array(items) => items
            .iter()
            .find_map(Json::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

/// Every scope an error names, in `requiredGranularScopes`,
/// `requiredScopes` or any other member whose name mentions scopes,
/// anywhere in the error.
fn scopes(error: &Json) -> Vec<String> {
    fn walk(json: &Json, found: &mut Vec<String>) {
        match json {
            Json::Object(map) => {
                for (key, value) in map {
                    if key.to_ascii_lowercase().contains("scope") {
                        let names: Vec<&str> = match value {
                            Json::String(s) => vec![s.as_str()],
                            Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                            _ => Vec::new(),
                        };
                        for name in names {
                            if !found.iter().any(|f| f == name) {
                                found.push(name.to_owned());
                            }
                        }
                    }
                    walk(value, found);
                }
            }
            Json::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(error, &mut found);
    found
}

/// `INVALID_EMAIL` → `invalid-email`, `invalidEmail` → `invalid-email`.
pub(crate) fn kebab_case(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 4);
    let mut previous_lower = false;
    for ch in code.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            if ch.is_ascii_uppercase() && previous_lower {
                out.push('-');
            }
            previous_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
            out.push(ch.to_ascii_lowercase());
        } else {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            previous_lower = false;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// One line, at most [`sluice_sdk::EXCERPT_CHARS`] characters.
fn one_line(text: &str) -> String {
    body_excerpt(&[], text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn classify(status: u16, body: &Json) -> PluginError {
        classify_failure(&response(status, &body.to_string()))
    }

    #[test]
    fn auth_errors_are_told_apart_by_the_body() {
        let expired = classify(
            401,
            &json!({"status": "error", "message": "The OAuth token used to make this call expired 2 hour(s) ago.", "category": "EXPIRED_AUTHENTICATION"}),
        );
        assert_eq!(expired.category, ErrorCategory::Auth);
        assert_eq!(expired.code, "expired-authentication");
        assert!(!expired.retryable);
        assert_eq!(
            expired.message,
            "The OAuth token used to make this call expired 2 hour(s) ago. (HTTP 401 EXPIRED_AUTHENTICATION)"
        );
        let invalid = classify(401, &json!({"category": "INVALID_AUTHENTICATION"}));
        assert_eq!(invalid.code, "invalid-authentication");
        assert!(invalid.message.starts_with("the credentials were rejected"));
        // An expired token reported with another status is still auth.
        let odd = classify(403, &json!({"category": "EXPIRED_AUTHENTICATION"}));
        assert_eq!(odd.category, ErrorCategory::Auth);
    }

    #[test]
    fn missing_scopes_name_the_scope() {
        let error = classify(
            403,
            &json!({
                "status": "error",
                "message": "This app hasn't been granted all required scopes to make this call.",
                "category": "MISSING_SCOPES",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}}]
            }),
        );
        assert_eq!(error.category, ErrorCategory::Permissions);
        assert_eq!(error.code, "missing-scopes");
        assert!(
            error
                .message
                .starts_with("the connection lacks the scope crm.objects.contacts.write: This app"),
            "{}",
            error.message
        );
        // A plain 403 without a body is the default `forbidden`.
        assert_eq!(classify_failure(&response(403, "")).code, "forbidden");
    }

    #[test]
    fn rate_limits_are_transient() {
        for body in [
            json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "category": "RATE_LIMITS"}),
            json!({"errorType": "RATE_LIMIT"}),
            json!({"unexpected": true}),
        ] {
            let error = classify(429, &body);
            assert_eq!(error.category, ErrorCategory::Transient, "{body}");
            assert_eq!(error.code, "rate-limited", "{body}");
            assert!(error.retryable);
        }
        let error = classify(
            429,
            &json!({"category": "RATE_LIMITS", "policyName": "DAILY", "message": "daily"}),
        );
        assert_eq!(
            error.message,
            "the CRM's rate limit was reached (policy DAILY): daily (HTTP 429 RATE_LIMITS)"
        );
        // Not JSON at all.
        assert_eq!(
            classify_failure(&response(429, "slow down")).code,
            "rate-limited"
        );
    }

    #[test]
    fn plan_and_property_limits_are_plan_quota() {
        for (body, code) in [
            (
                json!({"category": "VALIDATION_ERROR", "subCategory": "PROPERTY_LIMIT_EXCEEDED", "message": "limit of 1000 custom properties"}),
                "property-limit",
            ),
            (
                json!({"category": "LIMIT_EXCEEDED", "message": "contact tier limit"}),
                "plan-limit",
            ),
            (
                json!({"category": "VALIDATION_ERROR", "errors": [{"code": "CUSTOM_PROPERTY_LIMIT", "message": "x"}]}),
                "property-limit",
            ),
        ] {
            let error = classify(400, &body);
            assert_eq!(error.category, ErrorCategory::PlanQuota, "{body}");
            assert_eq!(error.code, code, "{body}");
            assert!(!error.retryable);
        }
    }

    #[test]
    fn validation_errors_name_the_property() {
        let error = classify_input_error(&json!({
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Property values were not valid",
            "context": {"objectWriteTraceId": ["3"]},
            "errors": [{"message": "Email address ada@ is invalid", "code": "INVALID_EMAIL",
                        "context": {"propertyName": ["email"]}}]
        }));
        assert_eq!(error.category, ErrorCategory::Validation);
        assert_eq!(error.code, "invalid-email");
        assert_eq!(error.field.as_deref(), Some("email"));
        assert_eq!(
            error.message,
            "Email address ada@ is invalid (VALIDATION_ERROR)"
        );
        let bare = classify_input_error(&json!({"category": "VALIDATION_ERROR"}));
        assert_eq!((bare.code.as_str(), bare.field), ("invalid-value", None));
    }

    #[test]
    fn correlation_and_unknown_errors() {
        let duplicate = classify_input_error(
            &json!({"status": "error", "category": "OBJECT_ALREADY_EXISTS", "message": "Contact already exists. Existing ID: 7"}),
        );
        assert_eq!(
            (duplicate.category, duplicate.code.as_str()),
            (ErrorCategory::Correlation, "duplicate")
        );
        let missing = classify_input_error(&json!({"status": 404, "category": "OBJECT_NOT_FOUND"}));
        assert_eq!(
            (missing.category, missing.code.as_str()),
            (ErrorCategory::Correlation, "not-found")
        );
        assert_eq!(
            missing.message,
            "the object does not exist (HTTP 404 OBJECT_NOT_FOUND)"
        );
        let server = classify_input_error(
            &json!({"status": "503", "category": "SOMETHING", "message": "later"}),
        );
        assert_eq!(server.code, "service-unavailable");
        assert!(server.retryable);
        assert_eq!(server.message, "later (HTTP 503 SOMETHING)");
        let other = classify_input_error(&json!({"status": "error", "category": "WEIRD"}));
        assert_eq!(
            (other.category, other.code.as_str()),
            (ErrorCategory::Validation, "rejected")
        );
        // Whole responses fall back to the status.
        let gateway = classify_failure(&response(
            502,
            "<html><title>502 Bad Gateway</title></html>",
        ));
        assert_eq!(gateway.code, "bad-gateway");
        assert!(gateway.retryable);
    }

    #[test]
    fn codes_are_kebab_cased() {
        for (code, kebab) in [
            ("INVALID_EMAIL", "invalid-email"),
            ("invalidEmail", "invalid-email"),
            ("INVALID_INTEGER", "invalid-integer"),
            (" Property Doesnt Exist ", "property-doesnt-exist"),
            ("__", ""),
        ] {
            assert_eq!(kebab_case(code), kebab, "{code}");
        }
    }
}
