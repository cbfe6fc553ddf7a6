//! One answer, two shapes: HTML for browsers, JSON for `Accept:
//! application/json`. Also form and query parsing.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::json;

/// Whether the client asked for JSON rather than HTML.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = accept.find("application/json");
    let html = accept.find("text/html");
    match (json, html) {
        (Some(j), Some(h)) => j < h,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `data` as JSON when asked for, else the page `html` renders.
pub fn respond<T: Serialize>(
    headers: &HeaderMap,
    data: &T,
    html: impl FnOnce() -> Markup,
) -> Response {
    if wants_json(headers) {
        json_response(StatusCode::OK, data)
    } else {
        html_response(StatusCode::OK, html())
    }
}

/// A JSON answer.
pub fn json_response(status: StatusCode, data: &impl Serialize) -> Response {
    match serde_json::to_vec(data) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {e}"),
        )
            .into_response(),
    }
}

/// An HTML answer.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Scripts only from the dashboard's own files (no inline
            // script), no framing: every plugin-supplied string is
            // escaped, and this makes sure of it.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Not `no-referrer`: with it, browsers send `Origin: null` on
            // the forms' POSTs, and the origin check refuses them.
            (header::REFERRER_POLICY, "same-origin"),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// An error, as a small page or `{"error": …}`.
pub fn error_page(headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    if wants_json(headers) {
        return json_response(status, &json!({ "error": message }));
    }
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Sluice — " (status.as_u16()) } link rel="stylesheet" href="/static/style.css"; }
            body { main {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.problem { (message) }
                p { a href="/runs" { "Runs" } " · " a href="/dlq" { "Dead-letter queue" } }
            } }
        }
    };
    html_response(status, body)
}

/// Unknown pages.
pub async fn not_found(headers: HeaderMap) -> Response {
    error_page(&headers, StatusCode::NOT_FOUND, "No such page.")
}

/// The answer for a failure to read or write the run log.
pub fn internal(headers: &HeaderMap, e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "Dashboard request failed.");
    error_page(headers, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

pub use crate::http::query;

/// A query parameter, `None` when missing or blank.
pub fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parse a body (anything unreadable is dropped).
    pub fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// `text` encoded for a URL's query.
pub fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_answered_when_preferred() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h));
        for (accept, json) in [
            ("application/json", true),
            (
                "text/html,application/xhtml+xml,application/json;q=0.9",
                false,
            ),
            ("application/json, text/html", true),
            ("*/*", false),
        ] {
            h.insert(header::ACCEPT, accept.parse().unwrap());
            assert_eq!(wants_json(&h), json, "{accept}");
        }
    }

    #[test]
    fn forms_keep_repeated_fields() {
        let f = Form::parse(b"id=3&id=7&reason=wrong+owner&csrf=x%26y");
        assert_eq!(f.all("id").collect::<Vec<_>>(), vec!["3", "7"]);
        assert_eq!(f.get("reason"), Some("wrong owner"));
        assert_eq!(f.get("csrf"), Some("x&y"));
        assert_eq!(url_encode("a b&c"), "a+b%26c");
    }
}
