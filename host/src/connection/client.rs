//! A live connection: the host side of the `http` import for one profile.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::Client;
use serde::Serialize;
use url::Url;

use super::allow::AllowRule;
use super::profile::{AuthConfig, ConnectionProfile, Connections};
use super::rate::RateLimiter;
use super::redact::Redactor;
use crate::bindings::http::{HttpError, Method, Request, Response};

/// Default time one request may take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest response body.
const DEFAULT_MAX_RESPONSE: u64 = 16 << 20;
/// Bytes of a captured body kept.
const CAPTURE_BODY_BYTES: usize = 64 << 10;

/// One request and its outcome, redacted, as captured.
#[derive(Debug, Clone, Serialize)]
pub struct HttpExchange {
    /// The connection.
    pub connection: String,
    /// `GET`, `POST`...
    pub method: String,
    /// The URL (secrets redacted).
    pub url: String,
    /// Request headers as sent, credentials redacted.
    pub request_headers: Vec<(String, String)>,
    /// Request body (redacted, cut to 64 KiB).
    pub request_body: Option<String>,
    /// Response status, if there was a response.
    pub status: Option<u16>,
    /// Response headers, redacted.
    pub response_headers: Vec<(String, String)>,
    /// Response body (redacted, cut to 64 KiB).
    pub response_body: Option<String>,
    /// Why there was no response.
    pub error: Option<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Credentials with their secret values read.
#[derive(Clone)]
enum Credentials {
    None,
    Bearer(String),
    ApiKey {
        header: String,
        key: String,
    },
    Basic {
        username: String,
        password: String,
    },
    OAuth2 {
        token_url: String,
        form: Vec<(String, String)>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret values.
        f.write_str(match self {
            Credentials::None => "None",
            Credentials::Bearer(_) => "Bearer",
            Credentials::ApiKey { .. } => "ApiKey",
            Credentials::Basic { .. } => "Basic",
            Credentials::OAuth2 { .. } => "OAuth2",
        })
    }
}

#[derive(Debug, Clone)]
struct Token {
    access: String,
    expires: Option<Instant>,
}

/// A connection opened from a profile: the allow-list, the credentials,
/// the HTTP client, an access token cache, a rate limiter, the last
/// Retry-After the remote system sent, and captured exchanges.
#[derive(Debug)]
pub struct Connection {
    name: String,
    base: Url,
    allow: Vec<AllowRule>,
    credentials: Credentials,
    client: Client,
    /// The profile's per-request timeout (the client's default).
    timeout: Duration,
    max_response: u64,
    rate: Option<RateLimiter>,
    token: Mutex<Option<Token>>,
    retry_after: Mutex<Option<Duration>>,
    redactor: Mutex<Redactor>,
    capture: bool,
    captured: Mutex<Vec<HttpExchange>>,
}

/// A connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No profile of that name.
    #[error("no connection `{name}` in {file}; it defines: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The connections file.
        file: String,
        /// The names it defines.
        known: String,
    },
    /// A secret could not be read.
    #[error("connection `{name}`: {message}")]
    Secret {
        /// The connection.
        name: String,
        /// What is wrong (never the value).
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("connection `{name}`: cannot build the HTTP client: {message}")]
    Client {
        /// The connection.
        name: String,
        /// Why.
        message: String,
    },
}

impl Connection {
    /// Open connection `name` of `connections`, reading its secrets.
    /// `capture` records raw exchanges even if the profile does not ask to.
    pub fn open(
        connections: &Connections,
        name: &str,
        capture: bool,
    ) -> Result<Connection, ConnectionError> {
        let profile = connections
            .profiles
            .get(name)
            .ok_or_else(|| ConnectionError::Unknown {
                name: name.to_owned(),
                file: connections.path.display().to_string(),
                known: connections
                    .profiles
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        Connection::from_profile(name, profile, connections.base_dir(), capture)
    }

    /// Open a connection from `profile`; secret files are relative to `base_dir`.
    pub fn from_profile(
        name: &str,
        profile: &ConnectionProfile,
        base_dir: &std::path::Path,
        capture: bool,
    ) -> Result<Connection, ConnectionError> {
        let secret = |s: &super::profile::Secret, what: &str| {
            s.resolve(base_dir)
                .map_err(|message| ConnectionError::Secret {
                    name: name.to_owned(),
                    message: format!("{what}: {message}"),
                })
        };
        let mut secrets = Vec::new();
        let mut extra_headers = Vec::new();
        let credentials = match &profile.auth {
            AuthConfig::None => Credentials::None,
            AuthConfig::Bearer { token } => {
                let t = secret(token, "token")?;
                secrets.push(t.clone());
                Credentials::Bearer(t)
            }
            AuthConfig::ApiKey { header, key } => {
                let k = secret(key, "key")?;
                secrets.push(k.clone());
                extra_headers.push(header.clone());
                Credentials::ApiKey {
                    header: header.clone(),
                    key: k,
                }
            }
            AuthConfig::Basic { username, password } => {
                let (u, p) = (secret(username, "username")?, secret(password, "password")?);
                secrets.push(p.clone());
                // What an echoing server sends back: the header's encoded form.
                secrets.push(basic_credentials(&u, &p));
                Credentials::Basic {
                    username: u,
                    password: p,
                }
            }
            AuthConfig::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                let (id, s) = (
                    secret(client_id, "client_id")?,
                    secret(client_secret, "client_secret")?,
                );
                secrets.push(s.clone());
                let mut form = vec![
                    ("grant_type".to_owned(), "client_credentials".to_owned()),
                    ("client_id".to_owned(), id),
                    ("client_secret".to_owned(), s),
                ];
                if !scopes.is_empty() {
                    form.push(("scope".to_owned(), scopes.join(" ")));
                }
                Credentials::OAuth2 {
                    token_url: token_url.clone(),
                    form,
                }
            }
            AuthConfig::Oauth2RefreshToken {
                token_url,
                client_id,
                client_secret,
                refresh_token,
            } => {
                let (id, s, r) = (
                    secret(client_id, "client_id")?,
                    secret(client_secret, "client_secret")?,
                    secret(refresh_token, "refresh_token")?,
                );
                secrets.push(s.clone());
                secrets.push(r.clone());
                Credentials::OAuth2 {
                    token_url: token_url.clone(),
                    form: vec![
                        ("grant_type".to_owned(), "refresh_token".to_owned()),
                        ("client_id".to_owned(), id),
                        ("client_secret".to_owned(), s),
                        ("refresh_token".to_owned(), r),
                    ],
                }
            }
        };
        let base = Url::parse(&profile.base_url).map_err(|e| ConnectionError::Client {
            name: name.to_owned(),
            message: format!("base_url: {e}"),
        })?;
        let mut allow =
            vec![
                AllowRule::from_url(&base).ok_or_else(|| ConnectionError::Client {
                    name: name.to_owned(),
                    message: "base_url must be an http or https URL".into(),
                })?,
            ];
        for prefix in &profile.allow {
            allow.push(
                AllowRule::parse(prefix).map_err(|message| ConnectionError::Client {
                    name: name.to_owned(),
                    message,
                })?,
            );
        }
        let timeout = profile
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // Redirects could leave the allow-list: the connector follows
            // them itself, through the host, if it wants to.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectionError::Client {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Connection {
            name: name.to_owned(),
            base,
            allow,
            credentials,
            client,
            timeout,
            max_response: profile.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE),
            rate: profile.requests_per_second.map(RateLimiter::new),
            token: Mutex::new(None),
            retry_after: Mutex::new(None),
            redactor: Mutex::new(Redactor::new(
                secrets,
                profile.sensitive_fields.clone(),
                extra_headers,
            )),
            capture: capture || profile.capture_http,
            captured: Mutex::new(Vec::new()),
        })
    }

    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The Retry-After of the last response that carried one, taken.
    pub fn take_retry_after(&self) -> Option<Duration> {
        self.retry_after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The exchanges captured so far, taken.
    pub fn take_captured(&self) -> Vec<HttpExchange> {
        std::mem::take(&mut *self.captured.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Redact secrets (and sensitive fields, for JSON) from a document.
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .body(text)
    }

    /// `text` with every secret value of this connection replaced: the
    /// credentials read from its profile (and their encoded forms) and the
    /// access and refresh tokens obtained so far. Unlike [`Connection::redact`],
    /// JSON fields are left alone.
    pub fn redact_secrets<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .secrets_in(text)
    }

    /// Whether a connector's request header `name` is one the host owns:
    /// `Authorization`, `Proxy-Authorization`, cookies, `X-Api-Key`, `Host`,
    /// and the profile's own credential header, whatever their case.
    fn is_credential_header(&self, name: &str) -> bool {
        let lower = name.trim().to_ascii_lowercase();
        super::redact::SECRET_HEADERS.contains(&lower.as_str())
            || lower == "host"
            || matches!(&self.credentials, Credentials::ApiKey { header, .. } if header.trim().eq_ignore_ascii_case(&lower))
    }

    /// Resolve `url` (absolute, or relative to the base URL) and check it
    /// against the allow-list.
    pub fn resolve(&self, url: &str) -> Result<Url, HttpError> {
        let resolved = match Url::parse(url) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                let relative = url.trim_start_matches('/');
                let mut base = self.base.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                base.join(relative)
                    .map_err(|e| HttpError::Denied(format!("`{url}` is not a valid URL: {e}")))?
            }
            Err(e) => {
                return Err(HttpError::Denied(format!(
                    "`{url}` is not a valid URL: {e}"
                )));
            }
        };
        if self.allow.iter().any(|rule| rule.allows(&resolved)) {
            Ok(resolved)
        } else {
            let allowed: Vec<String> = self.allow.iter().map(ToString::to_string).collect();
            Err(HttpError::Denied(format!(
                "{} is not on the allow-list of connection `{}` ({}); the request was not sent",
                self.redact(resolved.as_str()),
                self.name,
                allowed.join(", ")
            )))
        }
    }

    /// Send a connector's request: check the allow-list, wait for the rate
    /// limit, add credentials, send, cap the response, remember Retry-After,
    /// and on a 401 with OAuth 2 fetch a new token and try once more.
    pub fn send(&self, request: Request) -> Result<Response, HttpError> {
        self.send_before(request, None)
    }

    /// [`Connection::send`], ending by `deadline` (a plugin's call deadline)
    /// if there is one: each attempt's timeout is the smaller of the
    /// connection's and the time left, and an attempt that would start past
    /// it fails as a timeout without being sent.
    pub fn send_before(
        &self,
        request: Request,
        deadline: Option<Instant>,
    ) -> Result<Response, HttpError> {
        let url = match self.resolve(&request.url) {
            Ok(url) => url,
            Err(denied) => {
                tracing::warn!(connection = %self.name, url = %self.redact(&request.url), "HTTP request outside the allow-list denied.");
                return Err(denied);
            }
        };
        let mut refreshed = false;
        loop {
            let started = Instant::now();
            if let Some(rate) = &self.rate
                && rate.acquire_before(deadline).is_none()
            {
                tracing::warn!(connection = %self.name, "HTTP request not sent: the rate limit's next slot is past the plugin's call deadline.");
                return Err(HttpError::Timeout);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                tracing::warn!(connection = %self.name, "HTTP request not sent: the plugin's call deadline has passed.");
                return Err(HttpError::Timeout);
            }
            let result = self.send_once(&request, &url, refreshed, left);
            self.record(&request, &url, &result, started.elapsed());
            match result {
                Ok(response)
                    if response.status == 401
                        && !refreshed
                        && matches!(self.credentials, Credentials::OAuth2 { .. }) =>
                {
                    tracing::info!(connection = %self.name, "Request got 401; fetching a new access token and trying once more.");
                    *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    fn send_once(
        &self,
        request: &Request,
        url: &Url,
        fresh_token: bool,
        timeout: Option<Duration>,
    ) -> Result<Response, HttpError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Head => reqwest::Method::HEAD,
        };
        let mut builder = self.client.request(method, url.clone());
        for (name, value) in &request.headers {
            // Credentials are the host's business: a connector can neither
            // add its own nor override the profile's.
            if self.is_credential_header(name) {
                tracing::debug!(connection = %self.name, header = %name, "Dropped a credential header the connector set.");
                continue;
            }
            builder = builder.header(name, value);
        }
        builder = match &self.credentials {
            Credentials::None => builder,
            Credentials::Bearer(token) => builder.bearer_auth(token),
            Credentials::ApiKey { header, key } => builder.header(header, key),
            Credentials::Basic { username, password } => {
                builder.basic_auth(username, Some(password))
            }
            Credentials::OAuth2 { .. } => match self.access_token(fresh_token, timeout) {
                Ok(token) => builder.bearer_auth(token),
                Err(response) => return Ok(response),
            },
        };
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        if let Some(left) = timeout {
            builder = builder.timeout(left.min(self.timeout));
        }
        let response = builder.send().map_err(|e| self.transport_error(&e))?;
        self.respond(response)
    }

    /// Read a response with the size cap and remember its Retry-After.
    fn respond(&self, response: reqwest::blocking::Response) -> Result<Response, HttpError> {
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if let Some(wait) = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| parse_retry_after(v))
        {
            *self.retry_after.lock().unwrap_or_else(|e| e.into_inner()) = Some(wait);
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_response)
        {
            return Err(HttpError::TooLarge);
        }
        let mut body = Vec::new();
        response
            .take(self.max_response + 1)
            .read_to_end(&mut body)
            .map_err(|e| HttpError::Other(format!("reading the response: {e}")))?;
        if body.len() as u64 > self.max_response {
            return Err(HttpError::TooLarge);
        }
        Ok(Response {
            status,
            headers: headers
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("set-cookie"))
                .collect(),
            body,
        })
    }

    /// A cached access token, or a new one. A token endpoint that refuses
    /// becomes a 401 response the connector classifies as `auth`.
    fn access_token(&self, fresh: bool, timeout: Option<Duration>) -> Result<String, Response> {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if !fresh
            && let Some(token) = cached.as_ref()
            && token.expires.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.access.clone());
        }
        let Credentials::OAuth2 { token_url, form } = &self.credentials else {
            unreachable!("access tokens are for OAuth 2 connections");
        };
        let failed = |message: String| {
            tracing::warn!(connection = %self.name, error = %message, "Could not obtain an access token.");
            let body = serde_json::json!({
                "status": "error",
                "category": "INVALID_AUTHENTICATION",
                "message": format!("sluice could not obtain an access token for connection `{}`: {message}", self.name),
            });
            Response {
                status: 401,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-sluice-synthetic".into(), "token-request-failed".into()),
                ],
                body: body.to_string().into_bytes(),
            }
        };
        let mut token_request = self.client.post(token_url).form(form);
        if let Some(left) = timeout {
            token_request = token_request.timeout(left.min(self.timeout));
        }
        let response = token_request.send().map_err(|e| {
            failed(format!(
                "{token_url}: {}",
                self.transport_error(&e).describe()
            ))
        })?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(failed(format!(
                "{token_url} answered {status}: {}",
                self.redact(&text.chars().take(300).collect::<String>())
            )));
        }
        let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            failed(format!(
                "{token_url} answered something that is not JSON: {e}"
            ))
        })?;
        let access = parsed["access_token"]
            .as_str()
            .ok_or_else(|| failed(format!("{token_url} answered without an access_token")))?
            .to_owned();
        // Renew a little before the remote system would refuse it.
        let expires = parsed["expires_in"]
            .as_u64()
            .map(|s| Instant::now() + Duration::from_secs(s.saturating_sub(30).max(1)));
        self.redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add_secret(&access);
        if let Some(refresh) = parsed["refresh_token"].as_str() {
            self.redactor
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_secret(refresh);
        }
        *cached = Some(Token {
            access: access.clone(),
            expires,
        });
        Ok(access)
    }

    fn transport_error(&self, e: &reqwest::Error) -> HttpError {
        let message = self.redact(&error_chain(e));
        if e.is_timeout() {
            HttpError::Timeout
        } else if e.is_connect() {
            HttpError::Connect(message)
        } else {
            HttpError::Other(message)
        }
    }

    fn record(
        &self,
        request: &Request,
        url: &Url,
        result: &Result<Response, HttpError>,
        took: Duration,
    ) {
        if !self.capture {
            return;
        }
        let redactor = self
            .redactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let body = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(CAPTURE_BODY_BYTES)]);
            redactor.body(&text)
        };
        let mut request_headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), redactor.header(k, v)))
            .collect();
        match &self.credentials {
            Credentials::None => {}
            Credentials::ApiKey { header, .. } => {
                request_headers.push((header.clone(), super::redact::REDACTED.to_owned()))
            }
            _ => request_headers.push(("authorization".into(), super::redact::REDACTED.to_owned())),
        }
        let exchange = HttpExchange {
            connection: self.name.clone(),
            method: method_name(request.method).to_owned(),
            url: redactor.text(url.as_str()),
            request_headers,
            request_body: request.body.as_deref().map(body),
            status: result.as_ref().ok().map(|r| r.status),
            response_headers: result
                .as_ref()
                .map(|r| {
                    r.headers
                        .iter()
                        .map(|(k, v)| (k.clone(), redactor.header(k, v)))
                        .collect()
                })
                .unwrap_or_default(),
            response_body: result.as_ref().ok().map(|r| body(&r.body)),
            error: result.as_ref().err().map(|e| redactor.text(&e.describe())),
            duration_ms: took.as_millis() as u64,
        };
        self.captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }
}

impl HttpError {
    /// Words for a person.
    pub fn describe(&self) -> String {
        match self {
            HttpError::Denied(m) => format!("denied: {m}"),
            HttpError::Timeout => "timed out".to_owned(),
            HttpError::Connect(m) => format!("cannot connect: {m}"),
            HttpError::TooLarge => "the response is larger than the connection allows".to_owned(),
            HttpError::Other(m) => m.clone(),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The value of a Basic `Authorization` header after `Basic `.
fn basic_credentials(username: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The HTTP name of a method (`POST`), as captures show it (the WIT
/// enum's `Debug` form is `Method::Post`).
fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
