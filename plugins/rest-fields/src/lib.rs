//! What the `rest` source and target share: record fields (JSON pointers
//! and dotted paths), keys as text, option checks for pointers, names and
//! paths, and URL building. A plain library, compiled into both plugins
//! (wasm32-wasip2) and run natively by its tests.

use serde_json::Value as Json;
use sluice_sdk::PluginError;
use sluice_sdk::http::Response;

/// A field of a record: a JSON pointer when the name starts with `/`
/// (`/address/city`); otherwise a top-level member by name, or, when there
/// is none and the name has dots, the dotted path into nested objects
/// (`address.city`): pointers and dotted paths alike.
pub fn field<'a>(record: &'a Json, name: &str) -> Option<&'a Json> {
    if name.starts_with('/') {
        return record.pointer(name);
    }
    if let Some(value) = record.get(name) {
        return Some(value);
    }
    // A dotted path (`properties.email`) into nested objects.
    if name.contains('.') {
        return name
            .split('.')
            .try_fold(record, |value, segment| value.get(segment));
    }
    None
}

/// A key as text: a non-blank string (trimmed), a number or a boolean.
pub fn key_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Checks that an option is a JSON pointer: empty (the whole document) or
/// starting with `/`.
pub fn check_pointer(option: &str, pointer: &str) -> Result<(), PluginError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(PluginError::config(format!(
            "`{option}` must be a JSON pointer such as \"/data\" (or \"\" for the whole body), got {pointer:?}"
        ))
        .with_field(option))
    }
}

/// Checks that an option is a non-empty name without spaces or control
/// characters (a field, a query parameter).
pub fn check_name(option: &str, name: &str) -> Result<(), PluginError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(
            PluginError::config(format!("`{option}` must be a non-empty name, got {name:?}"))
                .with_field(option),
        )
    } else {
        Ok(())
    }
}

/// Checks an endpoint path: non-empty, without spaces, and not an absolute
/// URL (requests go to the connection's base URL).
pub fn check_path(option: &str, path: &str) -> Result<(), PluginError> {
    if path.is_empty() || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PluginError::config(format!(
            "`{option}` must be a path such as \"/items\", got {path:?}"
        ))
        .with_field(option));
    }
    if path.contains("://") {
        return Err(PluginError::config(format!(
            "`{option}` must be relative to the connection's base URL, not a full URL: {path:?}"
        ))
        .with_field(option));
    }
    Ok(())
}

/// Percent-encodes a query or path value (RFC 3986 unreserved characters
/// pass).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with `name=value` appended to its query (both percent-encoded).
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}{}={}",
        percent_encode(name),
        percent_encode(value)
    )
}

/// A scalar JSON value as query text; `None` for arrays, objects and null.
pub fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The `mapping` error for a 2xx response that is not what was expected.
pub fn malformed(response: &Response, why: &str) -> PluginError {
    PluginError::mapping(
        "malformed-response",
        format!(
            "the response is not as expected ({why}): {}",
            sluice_sdk::describe_response(response.status, &response.headers, &response.body)
        ),
    )
}
