//! Default classification of HTTP failures into [`PluginError`]s.
//!
//! Network connectors call [`classify_response`] for a response whose status
//! they do not handle themselves, and [`classify_http_error`] when the host
//! could not produce a response at all. Connectors refine the result from
//! the body when the remote system says more (a CRM's own error category),
//! and fall back to these functions otherwise.
//!
//! Responses are classified by status:
//!
//! | Status      | Category     | Code                  | Retryable |
//! |-------------|--------------|-----------------------|-----------|
//! | 400         | `validation` | `bad-request`         | no        |
//! | 401         | `auth`       | `unauthorized`        | no        |
//! | 402         | `plan-quota` | `payment-required`    | no        |
//! | 403         | `permissions`| `forbidden`           | no        |
//! | 404         | `correlation`| `not-found`           | no        |
//! | 408         | `transient`  | `request-timeout`     | yes       |
//! | 409         | `correlation`| `conflict`            | no        |
//! | 410         | `correlation`| `gone`                | no        |
//! | 413         | `validation` | `payload-too-large`   | no        |
//! | 422         | `validation` | `unprocessable`       | no        |
//! | 429         | `transient`  | `rate-limited`        | yes       |
//! | other 4xx   | `validation` | `client-error`        | no        |
//! | 500         | `transient`  | `server-error`        | yes       |
//! | 502         | `transient`  | `bad-gateway`         | yes       |
//! | 503         | `transient`  | `service-unavailable` | yes       |
//! | 504         | `transient`  | `gateway-timeout`     | yes       |
//! | other 5xx   | `transient`  | `server-error`        | yes       |
//! | below 400   | `mapping`    | `unexpected-status`   | no        |
//!
//! The message names the status and carries a short excerpt of the body on
//! one line (at most [`EXCERPT_CHARS`] characters; the `<title>` or the text
//! of an HTML page), never a header: headers may carry credentials. The
//! host reads `Retry-After` itself, so a rate-limited error needs nothing
//! more than its category to be retried at the right time.
//!
//! Failures without a response ([`HttpError`]):
//!
//! | Error      | Category       | Code                 | Retryable |
//! |------------|----------------|----------------------|-----------|
//! | `timeout`  | `transient`    | `timeout`            | yes       |
//! | `connect`  | `connectivity` | `connect-failed`     | yes       |
//! | `denied`   | `config`       | `capability-denied`  | no        |
//! | `too-large`| `mapping`      | `response-too-large` | no        |
//! | `other`    | `transient`    | `request-failed`     | yes       |

use crate::bindings::imports::sluice::plugin::http::HttpError;
use crate::{ErrorCategory, PluginError};

/// The longest body excerpt in a message, in characters.
pub const EXCERPT_CHARS: usize = 300;

/// How much of a body is looked at to make an excerpt, in bytes.
const SCAN_BYTES: usize = 16 * 1024;

/// Classifies a failed HTTP response by its status (see the [module
/// documentation](self) for the table). `headers` are only used to tell
/// an HTML page from other bodies; they never appear in the message.
pub fn classify_response(status: u16, headers: &[(String, String)], body: &[u8]) -> PluginError {
    use ErrorCategory as C;
    let (category, code) = match status {
        400 => (C::Validation, "bad-request"),
        401 => (C::Auth, "unauthorized"),
        402 => (C::PlanQuota, "payment-required"),
        403 => (C::Permissions, "forbidden"),
        404 => (C::Correlation, "not-found"),
        408 => (C::Transient, "request-timeout"),
        409 => (C::Correlation, "conflict"),
        410 => (C::Correlation, "gone"),
        413 => (C::Validation, "payload-too-large"),
        422 => (C::Validation, "unprocessable"),
        429 => (C::Transient, "rate-limited"),
        _ if (400..500).contains(&status) => (C::Validation, "client-error"),
        502 => (C::Transient, "bad-gateway"),
        503 => (C::Transient, "service-unavailable"),
        504 => (C::Transient, "gateway-timeout"),
        _ if (500..600).contains(&status) => (C::Transient, "server-error"),
        _ => (C::Mapping, "unexpected-status"),
    };
    with_retry_flag(PluginError::new(
        category,
        code,
        describe_response(status, headers, body),
    ))
}

/// Classifies a request that produced no response (see the [module
/// documentation](self) for the table).
pub fn classify_http_error(error: &HttpError) -> PluginError {
    let error = match error {
        HttpError::Timeout => {
            PluginError::new(ErrorCategory::Transient, "timeout", "the request timed out")
        }
        HttpError::Connect(why) => PluginError::new(
            ErrorCategory::Connectivity,
            "connect-failed",
            format!("could not reach the remote system: {}", one_line(why)),
        ),
        HttpError::Denied(why) => PluginError::new(
            ErrorCategory::Config,
            "capability-denied",
            format!("the host refused the request: {}", one_line(why)),
        ),
        HttpError::TooLarge => PluginError::new(
            ErrorCategory::Mapping,
            "response-too-large",
            "the response exceeded the host's size cap",
        ),
        HttpError::Other(why) => PluginError::new(
            ErrorCategory::Transient,
            "request-failed",
            format!("the request failed: {}", one_line(why)),
        ),
    };
    with_retry_flag(error)
}

/// `HTTP <status> <reason>: <excerpt>`, the message of a classified
/// response, for connectors that build their own errors from a response.
pub fn describe_response(status: u16, headers: &[(String, String)], body: &[u8]) -> String {
    let reason = reason_phrase(status);
    let head = if reason.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {reason}")
    };
    let excerpt = body_excerpt(headers, body);
    if excerpt.is_empty() {
        format!("{head} (empty body)")
    } else {
        format!("{head}: {excerpt}")
    }
}

/// A short excerpt of a body, on one line and at most [`EXCERPT_CHARS`]
/// characters: whitespace runs and control characters become one space;
/// an HTML page (by `Content-Type`, or a body that starts with `<!doctype`
/// or `<html`) is reduced to its `<title>`, or to its text without tags.
/// Invalid UTF-8 is replaced, not rejected.
pub fn body_excerpt(headers: &[(String, String)], body: &[u8]) -> String {
    let scanned = &body[..body.len().min(SCAN_BYTES)];
    let text = String::from_utf8_lossy(scanned);
    let text = if is_html(headers, &text) {
        html_text(&text)
    } else {
        text.into_owned()
    };
    let mut excerpt = one_line(&text);
    let cut_short = body.len() > SCAN_BYTES;
    truncate_chars(&mut excerpt, EXCERPT_CHARS, cut_short);
    excerpt
}

/// Transient and connectivity errors are retryable; nothing else is.
fn with_retry_flag(mut error: PluginError) -> PluginError {
    error.retryable = matches!(
        error.category,
        ErrorCategory::Transient | ErrorCategory::Connectivity
    );
    error
}

/// True when the body is an HTML page.
fn is_html(headers: &[(String, String)], text: &str) -> bool {
    let by_header = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-type") && value.to_ascii_lowercase().contains("html")
    });
    let start: String = text
        .trim_start()
        .chars()
        .take(9)
        .collect::<String>()
        .to_ascii_lowercase();
    by_header || start.starts_with("<!doctype") || start.starts_with("<html")
}

/// The `<title>` of an HTML page, or its text without tags, scripts and
/// styles.
fn html_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let Some(start) = lower.find("<title")
        && let Some(open_end) = lower[start..].find('>')
    {
        let from = start + open_end + 1;
        if let Some(len) = lower[from..].find("</title") {
            let title = html[from..from + len].trim();
            if !title.is_empty() {
                return title.to_owned();
            }
        }
    }
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let tag_lower = tag.get(..7).unwrap_or(tag).to_ascii_lowercase();
        let skip_to = if tag_lower.starts_with("<script") {
            find_ci(tag, "</script>")
        } else if tag_lower.starts_with("<style") {
            find_ci(tag, "</style>")
        } else {
            None
        };
        let after = match skip_to {
            Some((at, len)) => at + len,
            None => match tag.find('>') {
                Some(close) => close + 1,
                None => tag.len(),
            },
        };
        rest = &tag[after..];
    }
    text.push_str(rest);
    text
}

/// Finds `needle` (ASCII) in `haystack` ignoring ASCII case: its byte
/// offset and length.
fn find_ci(haystack: &str, needle: &str) -> Option<(usize, usize)> {
    haystack
        .to_ascii_lowercase()
        .find(needle)
        .map(|at| (at, needle.len()))
}

/// Collapses whitespace and control characters into single spaces.
pub(crate) fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    let mut space = false;
    for ch in text.chars() {
        if ch.is_whitespace() || ch.is_control() {
            space = !line.is_empty();
        } else {
            if space {
                line.push(' ');
                space = false;
            }
            line.push(ch);
        }
    }
    line
}

/// Cuts `text` to at most `max` characters, ending it with `…` when
/// anything was cut (or `more` says the text was already cut).
fn truncate_chars(text: &mut String, max: usize, more: bool) {
    let count = text.chars().count();
    if count <= max && !more {
        return;
    }
    let keep = if count < max { count } else { max - 1 };
    if let Some((at, _)) = text.char_indices().nth(keep) {
        text.truncate(at);
    }
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    text.push('…');
}

/// The reason phrase of common statuses.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        423 => "Locked",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn statuses_map_to_categories_and_codes() {
        use ErrorCategory as C;
        for (status, category, code, retryable) in [
            (400, C::Validation, "bad-request", false),
            (401, C::Auth, "unauthorized", false),
            (402, C::PlanQuota, "payment-required", false),
            (403, C::Permissions, "forbidden", false),
            (404, C::Correlation, "not-found", false),
            (405, C::Validation, "client-error", false),
            (408, C::Transient, "request-timeout", true),
            (409, C::Correlation, "conflict", false),
            (410, C::Correlation, "gone", false),
            (413, C::Validation, "payload-too-large", false),
            (422, C::Validation, "unprocessable", false),
            (429, C::Transient, "rate-limited", true),
            (500, C::Transient, "server-error", true),
            (501, C::Transient, "server-error", true),
            (502, C::Transient, "bad-gateway", true),
            (503, C::Transient, "service-unavailable", true),
            (504, C::Transient, "gateway-timeout", true),
            (599, C::Transient, "server-error", true),
            (302, C::Mapping, "unexpected-status", false),
            (200, C::Mapping, "unexpected-status", false),
        ] {
            let error = classify_response(status, &[], b"{}");
            assert_eq!(error.category, category, "{status}");
            assert_eq!(error.code, code, "{status}");
            assert_eq!(error.retryable, retryable, "{status}");
            assert_eq!(error.field, None);
            assert!(
                error.message.starts_with(&format!("HTTP {status}")),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn the_message_has_a_one_line_excerpt_and_no_headers() {
        let body =
            b"{\n  \"category\": \"EXPIRED_AUTHENTICATION\",\n\t\"message\": \"token expired\"\n}";
        let error = classify_response(
            401,
            &headers(&[
                ("Authorization", "Bearer s3cret"),
                ("WWW-Authenticate", "Bearer realm=x"),
            ]),
            body,
        );
        assert_eq!(
            error.message,
            r#"HTTP 401 Unauthorized: { "category": "EXPIRED_AUTHENTICATION", "message": "token expired" }"#
        );
        assert!(!error.message.contains("s3cret"));
        assert!(!error.message.contains("realm"));
    }

    #[test]
    fn long_bodies_are_cut_to_the_excerpt_length() {
        let body = "x".repeat(1000);
        let excerpt = body_excerpt(&[], body.as_bytes());
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS);
        assert!(excerpt.ends_with('…'));

        // Multi-byte characters are cut on a character boundary.
        let body = "é".repeat(EXCERPT_CHARS + 1);
        let excerpt = body_excerpt(&[], body.as_bytes());
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS);

        // Exactly the limit is kept whole.
        let body = "y".repeat(EXCERPT_CHARS);
        assert_eq!(body_excerpt(&[], body.as_bytes()), body);

        // A body longer than what is scanned is marked as cut even when
        // the scanned part is short once collapsed.
        let mut body = "z".to_owned();
        body.push_str(&" ".repeat(SCAN_BYTES + 10));
        assert_eq!(body_excerpt(&[], body.as_bytes()), "z…");
    }

    #[test]
    fn html_pages_are_reduced_to_their_title_or_text() {
        let page = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>\n<style>p{x:1}</style></head>\n<body><h1>502</h1></body></html>";
        let error = classify_response(502, &[], page);
        assert_eq!(error.message, "HTTP 502 Bad Gateway: 502 Bad Gateway");
        assert!(error.retryable);

        let page = b"<h1>Upstream</h1>\n<script>var a = '<b>';</script><p>is   down</p>";
        let html = headers(&[("Content-Type", "text/html; charset=utf-8")]);
        assert_eq!(body_excerpt(&html, page), "Upstream is down");
    }

    #[test]
    fn empty_and_binary_bodies() {
        assert_eq!(
            classify_response(503, &[], b"").message,
            "HTTP 503 Service Unavailable (empty body)"
        );
        assert_eq!(
            classify_response(418, &[], b"  \n ").message,
            "HTTP 418 (empty body)"
        );
        let excerpt = body_excerpt(&[], b"ok\xff\x00\x01end");
        assert_eq!(excerpt, "ok\u{fffd} end");
    }

    #[test]
    fn http_errors_are_classified() {
        let timeout = classify_http_error(&HttpError::Timeout);
        assert_eq!(
            (timeout.category, timeout.code.as_str(), timeout.retryable),
            (ErrorCategory::Transient, "timeout", true)
        );
        let connect = classify_http_error(&HttpError::Connect("dns\nfailure".into()));
        assert_eq!(
            (connect.category, connect.code.as_str(), connect.retryable),
            (ErrorCategory::Connectivity, "connect-failed", true)
        );
        assert_eq!(
            connect.message,
            "could not reach the remote system: dns failure"
        );
        let denied = classify_http_error(&HttpError::Denied("evil.example is not allowed".into()));
        assert_eq!(
            (denied.category, denied.code.as_str(), denied.retryable),
            (ErrorCategory::Config, "capability-denied", false)
        );
        assert!(denied.message.ends_with("evil.example is not allowed"));
        let large = classify_http_error(&HttpError::TooLarge);
        assert_eq!(
            (large.category, large.code.as_str(), large.retryable),
            (ErrorCategory::Mapping, "response-too-large", false)
        );
        let other = classify_http_error(&HttpError::Other("reset".into()));
        assert_eq!(
            (other.category, other.code.as_str(), other.retryable),
            (ErrorCategory::Transient, "request-failed", true)
        );
    }
}
