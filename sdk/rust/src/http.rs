//! HTTP through the host, for source and target connectors.
//!
//! Connectors never open sockets themselves: the host checks every request
//! against the connection profile's allow-list, adds credentials, enforces
//! timeouts and size caps. Only the `source` and `target` worlds import
//! `http`; a field transformer or normalizer that calls [`send`] cannot be
//! instantiated by the host. [`send`] only works inside the component: in
//! native unit tests it panics.
//!
//! To keep a connector's logic testable natively, write it against the
//! [`Transport`] trait: [`Host`] sends through the host, and in tests any
//! closure `FnMut(&Request) -> Result<Response, HttpError>` stands in for
//! the remote system. [`Request::get`] and [`Request::post_json`] build
//! requests; [`Transport::fetch`] sends one and turns a failure to get a
//! response into a [`PluginError`] with
//! [`classify_http_error`];
//! [`Response::json`] parses a body and [`Response::error`] classifies a
//! failed response with [`classify_response`].

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

pub use crate::bindings::imports::sluice::plugin::http::{
    HttpError, Method, Request, Response, send,
};
use crate::classify::{classify_http_error, classify_response, describe_response};
use crate::{ErrorCategory, PluginError};

/// Something that sends HTTP requests: [`Host`] inside a component, a fake
/// in unit tests.
pub trait Transport {
    /// Sends one request and waits for its response, whatever its status.
    fn send(&mut self, request: &Request) -> Result<Response, HttpError>;

    /// Sends one request; a request that got no response becomes a
    /// [`PluginError`] (see [`classify_http_error`]).
    /// The response is returned whatever its status.
    fn fetch(&mut self, request: &Request) -> Result<Response, PluginError> {
        self.send(request).map_err(|e| classify_http_error(&e))
    }
}

/// The host's `http` import. Only works inside the component.
#[derive(Debug, Default, Clone, Copy)]
pub struct Host;

impl Transport for Host {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        send(request)
    }
}

impl<F> Transport for F
where
    F: FnMut(&Request) -> Result<Response, HttpError>,
{
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self(request)
    }
}

impl Request {
    /// A request without headers or body. `url` may be absolute or relative
    /// to the connection's base URL.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` that accepts JSON.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url).with_header("accept", "application/json")
    }

    /// A `POST` of a JSON body.
    pub fn post_json(url: impl Into<String>, body: &Json) -> Self {
        Self::new(Method::Post, url).with_json(body)
    }

    /// Sets a JSON body, with its `content-type` and an `accept` header.
    #[must_use]
    pub fn with_json(mut self, body: &Json) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.with_header("content-type", "application/json")
            .with_header("accept", "application/json")
    }

    /// Adds a header, replacing any of the same name (ignoring case).
    /// Credentials are added by the host: never set them here.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl Response {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header of that name (ignoring case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses the body as JSON into `T`. A body that does not parse is a
    /// `mapping` error with code `malformed-response`, naming the status
    /// and an excerpt of the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::new(
                ErrorCategory::Mapping,
                "malformed-response",
                format!(
                    "the response is not the JSON expected ({e}): {}",
                    describe_response(self.status, &self.headers, &self.body)
                ),
            )
        })
    }

    /// The default classification of this response as an error (see
    /// [`classify_response`]).
    pub fn error(&self) -> PluginError {
        classify_response(self.status, &self.headers, &self.body)
    }
}

/// Sends a `GET` through the host (see [`Request::get`]). Only works inside
/// the component.
pub fn get(url: impl Into<String>) -> Result<Response, PluginError> {
    Host.fetch(&Request::get(url))
}

/// Sends a `POST` of a JSON body through the host (see
/// [`Request::post_json`]). Only works inside the component.
pub fn post_json(url: impl Into<String>, body: &Json) -> Result<Response, PluginError> {
    Host.fetch(&Request::post_json(url, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn builds_json_requests() {
        let request = Request::post_json("/x", &serde_json::json!({"a": 1}));
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.body.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(
            request.headers,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("accept".to_owned(), "application/json".to_owned()),
            ]
        );
        let request = Request::get("/y").with_header("Accept", "text/plain");
        assert_eq!(
            request.headers,
            vec![("Accept".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(request.body, None);
    }

    #[test]
    fn closures_are_transports() {
        let mut seen = Vec::new();
        let mut fake = |request: &Request| {
            seen.push(request.url.clone());
            if request.url == "/down" {
                Err(HttpError::Timeout)
            } else {
                Ok(response(200, "{\"ok\":true}"))
            }
        };
        let ok = fake.fetch(&Request::get("/up")).unwrap();
        assert!(ok.is_success());
        assert_eq!(ok.header("content-type"), Some("application/json"));
        assert_eq!(ok.json::<Json>().unwrap()["ok"], true);
        let error = fake.fetch(&Request::get("/down")).unwrap_err();
        assert_eq!(error.code, "timeout");
        assert!(error.retryable);
        assert_eq!(seen, ["/up", "/down"]);
    }

    #[test]
    fn responses_classify_and_parse() {
        let bad = response(502, "<html><title>Bad gateway</title></html>");
        assert!(!bad.is_success());
        assert_eq!(bad.error().code, "bad-gateway");
        let error = bad.json::<Json>().unwrap_err();
        assert_eq!(error.code, "malformed-response");
        assert_eq!(error.category, ErrorCategory::Mapping);
        assert!(error.message.contains("HTTP 502"), "{}", error.message);
    }
}
