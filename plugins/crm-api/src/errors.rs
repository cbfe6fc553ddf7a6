//! Classification of the errors of a HubSpot-style CRM v3 API: the HTTP
//! status decides the category, the error body refines it (code, field,
//! message).
//!
//! Shared by the crm source and the crm target (both depend on this crate),
//! so both classify the CRM's errors the same way. The bodies are HubSpot's `Error`
//! / `StandardError` shapes (`category`, `message`, `context`,
//! `errors[]` of `ErrorDetail`, `policyName` on rate limits).
//!
//! A response that failed as a whole:
//!
//! | Status | Body                                              | Category      | Code |
//! |--------|---------------------------------------------------|---------------|------|
//! | 401    | `EXPIRED_AUTHENTICATION` / `INVALID_AUTHENTICATION` / other | `auth` | `expired-authentication` / `invalid-authentication` / `unauthorized` |
//! | 403    | `MISSING_SCOPES` (scopes from `requiredScopes`, `requiredGranularScopes`, `missingScopes`) | `permissions` | `missing-scopes` |
//! | 403    | an authentication category                        | `auth`        | as for 401 |
//! | 403    | other                                             | `permissions` | `forbidden` |
//! | 429    | `policyName` `DAILY`                              | `plan-quota`  | `daily-limit` (not retried: the daily quota resets at midnight, account time zone) |
//! | 429    | other                                             | `transient`   | `rate-limited` (retryable) |
//! | 5xx    | anything                                          | `transient`   | by status (retryable) |
//! | other 4xx | as for one error object (below); an authentication, scope or rate-limit category there does not change the status's category | | |
//!
//! One error object (a 4xx body, or an entry of a batch response's
//! `errors`):
//!
//! | CRM error (`category`, details)                      | Category      | Code |
//! |------------------------------------------------------|---------------|------|
//! | a detail `PROPERTY_DOESNT_EXIST` (field: the property) | `config`    | `property-doesnt-exist` |
//! | a plan or property limit (see [`limit_kind`])        | `plan-quota`  | `property-limit` / `plan-limit` |
//! | `VALIDATION_ERROR` (field: the property named)       | `validation`  | the detail's code, kebab-cased (`invalid-email`), else `invalid-value` |
//! | `OBJECT_ALREADY_EXISTS`, `CONFLICT`                  | `correlation` | `duplicate`               |
//! | `OBJECT_NOT_FOUND`                                   | `correlation` | `not-found`               |
//! | batch entries only: `RATE_LIMITS`; auth categories; `MISSING_SCOPES` | as for 429, 401, 403 | |
//! | anything else                                        | by status: [`sluice_sdk::classify_response`] |
//!
//! Details come from the nested `errors[]` (`code`, `message`,
//! `context.propertyName`) and from the JSON list HubSpot embeds in the
//! `message` of a `VALIDATION_ERROR` (`Property values were not valid:
//! [{"isValid":false,"message":"…","error":"INVALID_EMAIL","name":"email"}]`).

use serde_json::Value as Json;
use sluice_sdk::http::Response;
use sluice_sdk::{ErrorCategory, PluginError, body_excerpt, classify_response};

/// What the daily-limit error tells the operator.
pub const DAILY_HINT: &str = "the daily quota resets at midnight (account time zone)";

/// One detail of an error: what is wrong with which property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Detail {
    /// The CRM's code (`INVALID_EMAIL`, `PROPERTY_DOESNT_EXIST`...).
    code: Option<String>,
    /// The property concerned.
    field: Option<String>,
    /// The CRM's message.
    message: Option<String>,
}

/// Classifies a response that failed as a whole (any status but the
/// successes the caller handles): the status decides the category, the
/// body refines it.
pub fn classify_failure(response: &Response) -> PluginError {
    let status = response.status;
    let body = serde_json::from_slice::<Json>(&response.body)
        .ok()
        .filter(Json::is_object);
    let by_status = || response.error();
    let Some(error) = body.as_ref() else {
        return match status {
            429 => rate_limited(status, &Json::Null),
            _ => by_status(),
        };
    };
    let category = text(error, "category").unwrap_or_default();
    match status {
        401 => authentication(Some(status), error).unwrap_or_else(|| {
            PluginError::new(
                ErrorCategory::Auth,
                "unauthorized",
                message(Some(status), error, "the credentials were rejected"),
            )
        }),
        403 => {
            if let Some(auth) = authentication(Some(status), error) {
                auth
            } else if category == "MISSING_SCOPES" || !scopes(error).is_empty() {
                missing_scopes(Some(status), error)
            } else {
                PluginError::new(
                    ErrorCategory::Permissions,
                    "forbidden",
                    message(Some(status), error, "the CRM refused access"),
                )
            }
        }
        429 => rate_limited(status, error),
        500..=599 => {
            let mut classified = by_status();
            if let Some(crm_message) = text(error, "message") {
                classified.message = message(Some(status), error, crm_message);
            }
            classified
        }
        _ => match classify_error(Some(status), error) {
            Some(refined)
                if matches!(
                    refined.category,
                    ErrorCategory::Validation
                        | ErrorCategory::Correlation
                        | ErrorCategory::PlanQuota
                        | ErrorCategory::Config
                ) =>
            {
                refined
            }
            _ => {
                let mut classified = by_status();
                if let Some(crm_message) = text(error, "message") {
                    classified.message = message(Some(status), error, crm_message);
                }
                classified
            }
        },
    }
}

/// Classifies one error object of the CRM (a whole-response error body, or
/// one entry of a batch response's `errors`) by its `category` and
/// details. `None` when the object does not say more than its status.
pub fn classify_error(status: Option<u16>, error: &Json) -> Option<PluginError> {
    let category = text(error, "category").unwrap_or_default();
    let error_type = text(error, "errorType").unwrap_or_default();
    let details = details(error);
    let missing: Vec<&str> = details
        .iter()
        .filter(|d| d.code.as_deref() == Some("PROPERTY_DOESNT_EXIST"))
        .filter_map(|d| d.field.as_deref())
        .collect();
    if !missing.is_empty()
        || details
            .iter()
            .any(|d| d.code.as_deref() == Some("PROPERTY_DOESNT_EXIST"))
    {
        return Some(property_doesnt_exist(status, error, &missing));
    }
    if let Some(limit) = limit_kind(error) {
        let quota = PluginError::new(
            ErrorCategory::PlanQuota,
            limit,
            message(status, error, "a plan limit of the CRM account was reached"),
        );
        return Some(match property_name(error) {
            Some(field) => quota.with_field(field),
            None => quota,
        });
    }
    if let Some(auth) = authentication(status, error) {
        return Some(auth);
    }
    let refined = match category {
        "MISSING_SCOPES" => missing_scopes(status, error),
        "RATE_LIMITS" => rate_limited(status.unwrap_or(429), error),
        _ if error_type == "RATE_LIMIT" => rate_limited(status.unwrap_or(429), error),
        "VALIDATION_ERROR" => validation(status, error, &details),
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
pub fn classify_input_error(error: &Json) -> PluginError {
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

/// An authentication error, when the body's category says which.
fn authentication(status: Option<u16>, error: &Json) -> Option<PluginError> {
    let (code, fallback) = match text(error, "category")? {
        "EXPIRED_AUTHENTICATION" => (
            "expired-authentication",
            "the access token has expired; reconnect the CRM connection",
        ),
        "INVALID_AUTHENTICATION" => (
            "invalid-authentication",
            "the credentials were rejected; reconnect the CRM connection",
        ),
        _ => return None,
    };
    Some(PluginError::new(
        ErrorCategory::Auth,
        code,
        message(status, error, fallback),
    ))
}

/// A `MISSING_SCOPES` error naming the scopes the CRM asks for.
fn missing_scopes(status: Option<u16>, error: &Json) -> PluginError {
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

/// A property the CRM does not have: a mapping problem of the whole
/// pipeline, not of one record.
fn property_doesnt_exist(status: Option<u16>, error: &Json, names: &[&str]) -> PluginError {
    let what = match names {
        [] => "a property the records carry".to_owned(),
        [one] => format!("`{one}`"),
        many => many
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let described = described(
        status,
        error,
        &format!(
            "the CRM has no property {what}: create it in the CRM, or map the field to an existing property (or drop it with the `properties` option)"
        ),
    );
    let config = PluginError::new(ErrorCategory::Config, "property-doesnt-exist", described);
    match names.first() {
        Some(field) => config.with_field(*field),
        None => config,
    }
}

/// A rate-limit error: transient and retryable (the host reads the
/// `Retry-After` header itself), except the daily limit, which no retry
/// within the day gets past.
fn rate_limited(status: u16, error: &Json) -> PluginError {
    let policy = text(error, "policyName");
    let label = policy.map(|p| format!(" (policy {p})")).unwrap_or_default();
    if policy.is_some_and(|p| p.eq_ignore_ascii_case("DAILY")) {
        return PluginError::new(
            ErrorCategory::PlanQuota,
            "daily-limit",
            format!(
                "the CRM account's daily request quota is used up{label}; {DAILY_HINT}: {}",
                message(Some(status), error, "too many requests today")
            ),
        );
    }
    PluginError::transient(
        "rate-limited",
        format!(
            "the CRM's rate limit was reached{label}: {}",
            message(Some(status), error, "too many requests")
        ),
    )
}

/// A `VALIDATION_ERROR`: the field and code are those of the first detail
/// that names them.
fn validation(status: Option<u16>, error: &Json, details: &[Detail]) -> PluginError {
    let field = details
        .iter()
        .find_map(|d| d.field.clone())
        .or_else(|| property_name(error));
    let code = details
        .iter()
        .find_map(|d| d.code.as_deref().map(kebab_case))
        .or_else(|| text(error, "subCategory").map(kebab_case))
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| "invalid-value".to_owned());
    // The details say what is wrong with which property; the top-level
    // message often only says that something is (and repeats the details
    // as JSON).
    let messages: Vec<&str> = details
        .iter()
        .filter_map(|d| d.message.as_deref())
        .collect();
    let text_message = if messages.is_empty() {
        message(status, error, "the CRM rejected a value")
    } else {
        described(status, error, &messages.join("; "))
    };
    let error = PluginError::validation(code, text_message);
    match field {
        Some(field) => error.with_field(field),
        None => error,
    }
}

/// The details of an error: its nested `errors[]`, then the list HubSpot
/// embeds as JSON in the `message` of a `VALIDATION_ERROR`.
fn details(error: &Json) -> Vec<Detail> {
    let mut found: Vec<Detail> = error
        .get("errors")
        .and_then(Json::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| Detail {
                    code: text(e, "code")
                        .or_else(|| text(e, "error"))
                        .or_else(|| text(e, "subCategory"))
                        .map(str::to_owned),
                    field: property_name(e).or_else(|| text(e, "in").map(str::to_owned)),
                    message: text(e, "message").map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default();
    for embedded in embedded_details(text(error, "message").unwrap_or_default()) {
        let known = found.iter_mut().find(|d| {
            d.field.is_some() && d.field == embedded.field
                || d.message.is_some() && d.message == embedded.message
        });
        match known {
            Some(detail) => {
                if detail.code.is_none() {
                    detail.code = embedded.code;
                }
                if detail.field.is_none() {
                    detail.field = embedded.field;
                }
            }
            None => found.push(embedded),
        }
    }
    found
}

/// The details HubSpot embeds in a message as a JSON list after the first
/// `[`: `[{"isValid":false,"message":"…","error":"INVALID_EMAIL","name":"email"}]`.
/// Empty when the message holds no such list.
fn embedded_details(message: &str) -> Vec<Detail> {
    let Some(start) = message.find("[{") else {
        return Vec::new();
    };
    let mut stream = serde_json::Deserializer::from_str(&message[start..]).into_iter::<Json>();
    let Some(Ok(Json::Array(items))) = stream.next() else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| item.is_object())
        .map(|item| Detail {
            code: text(item, "error")
                .or_else(|| text(item, "code"))
                .map(str::to_owned),
            field: text(item, "name")
                .or_else(|| text(item, "propertyName"))
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            message: text(item, "message")
                .or_else(|| text(item, "localizedErrorMessage"))
                .map(str::to_owned),
        })
        .collect()
}

/// Whether an error object is about a plan or property limit, and which:
/// `property-limit` when it mentions properties, `plan-limit` otherwise.
/// The CRM says so in `category`, `subCategory`, `errorType` or a nested
/// error's `code` (`PROPERTY_LIMIT_EXCEEDED`, `LIMIT_EXCEEDED`,
/// `PLAN_LIMIT`...): anything with `LIMIT` in it that is not a rate limit.
pub fn limit_kind(error: &Json) -> Option<&'static str> {
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
pub fn text<'a>(json: &'a Json, key: &str) -> Option<&'a str> {
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

/// Every scope an error names in a `requiredScopes`,
/// `requiredGranularScopes` or `missingScopes` member, anywhere in the
/// error except its `links` (which point at documentation, not scopes).
fn scopes(error: &Json) -> Vec<String> {
    const MEMBERS: [&str; 3] = ["requiredScopes", "requiredGranularScopes", "missingScopes"];
    fn walk(json: &Json, found: &mut Vec<String>) {
        match json {
            Json::Object(map) => {
                for (key, value) in map {
                    if key == "links" {
                        continue;
                    }
                    if MEMBERS.contains(&key.as_str()) {
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
                    } else {
                        walk(value, found);
                    }
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
pub fn kebab_case(code: &str) -> String {
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
            &json!({"category": "RATE_LIMITS", "policyName": "SECONDLY", "message": "secondly"}),
        );
        assert_eq!(
            error.message,
            "the CRM's rate limit was reached (policy SECONDLY): secondly (HTTP 429 RATE_LIMITS)"
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

    /// HubSpot's documented daily-limit answer.
    #[test]
    fn the_daily_limit_is_not_retried_and_says_when_it_resets() {
        let error = classify(
            429,
            &json!({"status": "error", "message": "You have reached your daily limit.",
                    "errorType": "RATE_LIMIT", "correlationId": "c0ffee00-0000-4000-8000-000000000001",
                    "policyName": "DAILY", "groupName": "api-calls-daily"}),
        );
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (ErrorCategory::PlanQuota, "daily-limit", false)
        );
        assert!(error.message.contains(DAILY_HINT), "{}", error.message);
        assert!(!error.message.contains("lower the request rate"));
    }

    #[test]
    fn the_status_decides_the_category_and_the_body_refines_it() {
        let body = json!({"status": "error", "message": "Invalid input", "category": "VALIDATION_ERROR",
                          "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf"});
        for (status, category, code, retryable) in [
            (401, ErrorCategory::Auth, "unauthorized", false),
            (403, ErrorCategory::Permissions, "forbidden", false),
            (429, ErrorCategory::Transient, "rate-limited", true),
            (500, ErrorCategory::Transient, "server-error", true),
            (503, ErrorCategory::Transient, "service-unavailable", true),
            (400, ErrorCategory::Validation, "invalid-value", false),
        ] {
            let error = classify(status, &body);
            assert_eq!(
                (error.category, error.code.as_str(), error.retryable),
                (category, code, retryable),
                "{status}"
            );
            assert!(error.message.contains("Invalid input"), "{}", error.message);
        }
        // A 400 that claims to be an authentication error is still a 400.
        let odd = classify(400, &json!({"category": "MISSING_SCOPES", "message": "x"}));
        assert_eq!(odd.category, ErrorCategory::Validation);
    }

    #[test]
    fn validation_details_are_parsed_from_the_message() {
        let error = classify(
            400,
            &json!({
                "status": "error",
                "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address bob@ is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\",\"localizedErrorMessage\":\"Email address bob@ is invalid\",\"portalId\":62515}]",
                "correlationId": "c0ffee00-0000-4000-8000-000000000002",
                "category": "VALIDATION_ERROR",
            }),
        );
        assert_eq!(
            (error.category, error.code.as_str(), error.field.as_deref()),
            (ErrorCategory::Validation, "invalid-email", Some("email"))
        );
        assert_eq!(
            error.message,
            "Email address bob@ is invalid (HTTP 400 VALIDATION_ERROR)"
        );
    }

    #[test]
    fn a_missing_property_is_one_configuration_error_naming_it() {
        let error = classify(
            400,
            &json!({
                "status": "error",
                "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"region\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"region\"}]",
                "correlationId": "c0ffee00-0000-4000-8000-000000000003",
                "category": "VALIDATION_ERROR",
            }),
        );
        assert_eq!(
            (error.category, error.code.as_str(), error.field.as_deref()),
            (
                ErrorCategory::Config,
                "property-doesnt-exist",
                Some("region")
            )
        );
        assert!(
            error.message.contains("no property `region`"),
            "{}",
            error.message
        );
        // As a batch entry with nested details too.
        let entry = classify_input_error(&json!({
            "status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
            "errors": [{"message": "Property \"tier\" does not exist", "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": ["tier"]}}],
            "context": {}
        }));
        assert_eq!(
            (entry.category, entry.field.as_deref()),
            (ErrorCategory::Config, Some("tier"))
        );
    }

    #[test]
    fn scopes_come_from_the_scope_members_not_from_links() {
        let error = classify(
            403,
            &json!({
                "status": "error",
                "message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                "correlationId": "c0ffee00-0000-4000-8000-000000000004",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredScopes": ["crm.objects.contacts.write"],
                                        "requiredGranularScopes": ["crm.objects.contacts.write", "crm.schemas.contacts.read"]}}],
                "links": {"scopes": "https://developers.hubspot.com/scopes"},
                "category": "MISSING_SCOPES",
            }),
        );
        assert_eq!(error.code, "missing-scopes");
        assert!(
            error.message.starts_with(
                "the connection lacks the scope crm.objects.contacts.write, crm.schemas.contacts.read:"
            ),
            "{}",
            error.message
        );
        // The spec's `Error.context` example uses `missingScopes`.
        let spec = classify(
            403,
            &json!({"category": "MISSING_SCOPES", "message": "m", "correlationId": "x",
                    "context": {"missingScopes": ["scope1", "scope2"]}}),
        );
        assert!(
            spec.message
                .starts_with("the connection lacks the scope scope1, scope2:")
        );
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
