//! The simulator's state and request handling.
//!
//! Every request goes through one axum fallback handler, [`handle`]: it
//! buffers the body (413 over 1 MiB), then [`State::respond`] classifies the
//! route, applies authentication, scopes and injected faults to `/crm/...`
//! routes, and dispatches. Handling is synchronous under the state lock, so
//! each request is applied atomically and the fault counters are deterministic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::util::{
    base64_decode, base64_encode, format_iso_ms, looks_like_email, parse_form, parse_timestamp_ms,
    percent_encode, system_now_ms,
};
use crate::{Contact, Faults, RequestLog, SimConfig};

#[path = "generic.rs"]
pub(crate) mod generic;

/// Scope needed by list, get and search.
pub(crate) const READ_SCOPE: &str = "crm.objects.contacts.read";
/// Scope needed by batch create/update/upsert and delete.
pub(crate) const WRITE_SCOPE: &str = "crm.objects.contacts.write";

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;
/// Bodies are drained up to this size so the 413 reaches the client cleanly.
const DRAIN_CAP: usize = 64 << 20;
const MAX_LIST_LIMIT: usize = 100;
const MAX_SEARCH_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 10;
const MAX_BATCH: usize = 100;
const MAX_NAME_LEN: usize = 100;
const MAX_VALUE_LEN: usize = 65_536;

const CONTACTS: &str = "/crm/v3/objects/contacts";

/// Contact properties every portal has.
const STANDARD_PROPERTIES: [&str; 7] = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "lifecyclestage",
];
/// Read-only properties computed by the simulator.
const SYSTEM_PROPERTIES: [&str; 3] = ["createdate", "hs_object_id", "lastmodifieddate"];
/// Properties returned by list/get/search when `properties` is not given.
const DEFAULT_READ_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];
const LIFECYCLE_STAGES: [&str; 8] = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];

pub(crate) fn router(state: Arc<Mutex<State>>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// The single handler: buffer, respond, record.
async fn handle(AxState(state): AxState<Arc<Mutex<State>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, DRAIN_CAP).await;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    let (response, body_text) = match bytes {
        Ok(b) if b.len() <= MAX_BODY => (
            st.respond(
                &parts.method,
                parts.uri.path(),
                parts.uri.query(),
                &parts.headers,
                &b,
            ),
            String::from_utf8_lossy(&b).into_owned(),
        ),
        Ok(b) => (
            st.too_large(Some(b.len())),
            format!("<{} bytes omitted: over the 1 MiB limit>", b.len()),
        ),
        Err(_) => (
            st.too_large(None),
            format!("<body omitted: unreadable or over {DRAIN_CAP} bytes>"),
        ),
    };
    st.requests.push(RequestLog {
        method: parts.method.as_str().to_owned(),
        path: path_and_query,
        headers,
        body: body_text,
        status: response.status().as_u16(),
    });
    response
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Token,
    List,
    Get(String),
    Search,
    Batch(BatchKind),
    Archive(String),
    WrongMethod,
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchKind {
    Create,
    Update,
    Upsert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let only = |m: Method, route: Route| {
            if *method == m {
                route
            } else {
                Route::WrongMethod
            }
        };
        match path {
            "/oauth/v1/token" => only(Method::POST, Route::Token),
            CONTACTS => only(Method::GET, Route::List),
            "/crm/v3/objects/contacts/search" => only(Method::POST, Route::Search),
            "/crm/v3/objects/contacts/batch/create" => {
                only(Method::POST, Route::Batch(BatchKind::Create))
            }
            "/crm/v3/objects/contacts/batch/update" => {
                only(Method::POST, Route::Batch(BatchKind::Update))
            }
            "/crm/v3/objects/contacts/batch/upsert" => {
                only(Method::POST, Route::Batch(BatchKind::Upsert))
            }
            _ => match path.strip_prefix("/crm/v3/objects/contacts/") {
                Some(id) if !id.is_empty() && !id.contains('/') && id != "batch" => match *method {
                    Method::GET => Route::Get(id.to_owned()),
                    Method::DELETE => Route::Archive(id.to_owned()),
                    _ => Route::WrongMethod,
                },
                _ => Route::NotFound,
            },
        }
    }

    /// The counter the every-Nth faults use.
    fn family(&self) -> &'static str {
        match self {
            Route::Token => "oauth.token",
            Route::List => "contacts.list",
            Route::Get(_) => "contacts.get",
            Route::Search => "contacts.search",
            Route::Batch(BatchKind::Create) => "contacts.batch.create",
            Route::Batch(BatchKind::Update) => "contacts.batch.update",
            Route::Batch(BatchKind::Upsert) => "contacts.batch.upsert",
            Route::Archive(_) => "contacts.archive",
            Route::WrongMethod | Route::NotFound => "other",
        }
    }

    fn access(&self) -> Option<Access> {
        match self {
            Route::List | Route::Get(_) | Route::Search => Some(Access::Read),
            Route::Batch(_) | Route::Archive(_) => Some(Access::Write),
            Route::Token | Route::WrongMethod | Route::NotFound => None,
        }
    }
}

#[derive(Debug)]
struct AccessToken {
    seq: u64,
    /// `None`: never expires (TTL too large to represent).
    expires_at: Option<Instant>,
}

#[derive(Debug, Clone)]
struct StoredContact {
    properties: Map<String, Value>,
    created_ms: u64,
    updated_ms: u64,
    archived: bool,
    archived_ms: Option<u64>,
}

/// Which properties to render.
#[derive(Debug, Clone, Copy)]
enum Selection<'a> {
    All,
    Only(&'a [String]),
}

/// One failed batch input, before it is given its index.
#[derive(Debug)]
struct InputError {
    category: &'static str,
    sub_category: Option<&'static str>,
    message: String,
    context: Map<String, Value>,
    errors: Vec<Value>,
}

/// A normalised property write: `None` clears the property.
type Writes = Vec<(String, Option<String>)>;

/// The whole simulator state, behind one mutex.
#[derive(Debug)]
pub(crate) struct State {
    config: SimConfig,
    base_url: String,
    faults: Faults,
    counters: HashMap<&'static str, u64>,
    tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashSet<String>,
    token_seq: u64,
    /// Tokens with `seq <= expired_through` are expired (`expire_tokens_now`).
    expired_through: u64,
    expired_at: Option<Instant>,
    contacts: BTreeMap<u64, StoredContact>,
    next_id: u64,
    custom_properties: BTreeSet<String>,
    clock_ms: u64,
    correlation_seq: u64,
    pub(crate) requests: Vec<RequestLog>,
    /// Strict mode: the requests that did not conform to the document.
    pub(crate) spec_violations: Vec<String>,
    items: generic::Items,
}

impl State {
    pub(crate) fn new(config: SimConfig, base_url: String) -> State {
        let seeds = config.seed_contacts.clone();
        let mut st = State {
            config,
            base_url,
            faults: Faults::default(),
            counters: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            token_seq: 0,
            expired_through: 0,
            expired_at: None,
            contacts: BTreeMap::new(),
            next_id: 1,
            custom_properties: BTreeSet::new(),
            clock_ms: 0,
            correlation_seq: 0,
            requests: Vec::new(),
            spec_violations: Vec::new(),
            items: generic::Items::default(),
        };
        for seed in seeds {
            let writes: Writes = seed
                .into_iter()
                .filter(|(name, _)| !SYSTEM_PROPERTIES.contains(&name.as_str()))
                .filter_map(|(name, value)| {
                    let text = match value {
                        Value::Null => return None,
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let text = if name == "email" {
                        text.trim().to_lowercase()
                    } else {
                        text
                    };
                    Some((name, Some(text)))
                })
                .collect();
            let custom = writes
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !STANDARD_PROPERTIES.contains(&n.as_str()))
                .collect();
            st.insert(&writes, custom);
        }
        st
    }

    pub(crate) fn contacts(&self, include_archived: bool) -> Vec<Contact> {
        self.contacts
            .iter()
            .filter(|(_, c)| include_archived || !c.archived)
            .map(|(id, c)| Contact {
                id: id.to_string(),
                properties: c.properties.clone(),
                created_at: format_iso_ms(c.created_ms),
                updated_at: format_iso_ms(c.updated_ms),
                archived: c.archived,
            })
            .collect()
    }

    pub(crate) fn set_faults(&mut self, faults: Faults) {
        if faults.expire_tokens_now {
            self.expired_through = self.token_seq;
            self.expired_at = Some(Instant::now());
        }
        self.counters.clear();
        self.faults = faults;
    }

    /// A strictly increasing timestamp (ms): wall clock, bumped past the last.
    fn tick(&mut self) -> u64 {
        self.clock_ms = system_now_ms().max(self.clock_ms + 1);
        self.clock_ms
    }

    fn correlation_id(&mut self) -> String {
        self.correlation_seq += 1;
        format!("5eed0000-c0de-4000-8000-{:012x}", self.correlation_seq)
    }

    // ---- responses -------------------------------------------------------

    fn error_body(&mut self, category: &str, message: impl Into<String>) -> Value {
        json!({
            "status": "error",
            "message": message.into(),
            "correlationId": self.correlation_id(),
            "category": category,
        })
    }

    fn error(&mut self, status: u16, category: &str, message: impl Into<String>) -> Response {
        let body = self.error_body(category, message);
        json_response(status, &body)
    }

    fn validation_error(&mut self, message: impl Into<String>) -> Response {
        self.error(400, "VALIDATION_ERROR", message)
    }

    fn too_large(&mut self, size: Option<usize>) -> Response {
        let size = size.map_or_else(|| "more than 64 MiB".to_owned(), |n| format!("{n} bytes"));
        self.error(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is too large ({size}); the limit is 1 MiB (1048576 bytes)."),
        )
    }

    // ---- the pipeline ----------------------------------------------------

    pub(crate) fn respond(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        if path.starts_with("/api/") {
            return self.respond_generic(method, path, query.unwrap_or(""), headers, body);
        }
        let route = Route::parse(method, path);
        if path.starts_with("/crm/") {
            if let Some(response) = self.reject_credentials(headers) {
                return response;
            }
            if let Some(access) = route.access()
                && let Some(response) = self.reject_scopes(access)
            {
                return response;
            }
            if let Some(response) = self.reject_nonconforming(method, path, query, body) {
                return response;
            }
            if let Some(response) = self.inject_transient(route.family()) {
                return response;
            }
        }
        let query = query.unwrap_or("");
        match route {
            Route::Token => self.token(headers, body),
            Route::List => self.list(query),
            Route::Get(id) => self.get(&id, query),
            Route::Search => self.search(body),
            Route::Batch(kind) => self.batch(kind, body),
            Route::Archive(id) => self.archive(&id),
            Route::WrongMethod => self.error(
                405,
                "METHOD_NOT_ALLOWED",
                format!("Method {method} is not allowed on {path}."),
            ),
            Route::NotFound => self.error(
                404,
                "OBJECT_NOT_FOUND",
                format!("No such endpoint: {method} {path}."),
            ),
        }
    }

    fn auth_error(&mut self, category: &str, message: impl Into<String>) -> Response {
        self.error(401, category, message)
    }

    fn credentials_not_found(&mut self) -> Response {
        self.auth_error(
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             (Authorization: Bearer <access token>) and private app keys (X-Api-Key).",
        )
    }

    /// The 401 for a request whose credentials are refused, if they are.
    fn reject_credentials(&mut self, headers: &HeaderMap) -> Option<Response> {
        if self.faults.reject_all_auth {
            return Some(self.auth_error(
                "INVALID_AUTHENTICATION",
                "The access token or API key used to make this call has been revoked. \
                 Reconnect the app to grant access again.",
            ));
        }
        if let Some(key) = headers.get("x-api-key") {
            return match &self.config.api_key {
                Some(k) if key.as_bytes() == k.as_bytes() => None,
                _ => Some(self.auth_error(
                    "INVALID_AUTHENTICATION",
                    "The API key provided is invalid. View or manage your API key in your \
                     account settings.",
                )),
            };
        }
        let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Some(self.credentials_not_found());
        };
        let token = match auth.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => auth[7..].trim(),
            _ => return Some(self.credentials_not_found()),
        };
        if self.config.api_key.as_deref() == Some(token) {
            return None;
        }
        let now = Instant::now();
        let expired_for = match self.tokens.get(token) {
            None => return Some(self.credentials_not_found()),
            Some(t) if t.seq <= self.expired_through => Some(
                self.expired_at
                    .map_or(0, |at| now.duration_since(at).as_secs()),
            ),
            Some(t) => match t.expires_at {
                Some(at) if now >= at => Some(now.duration_since(at).as_secs()),
                _ => None,
            },
        };
        expired_for.map(|secs| {
            self.auth_error(
                "EXPIRED_AUTHENTICATION",
                format!("The OAuth token used to make this call expired {secs} second(s) ago."),
            )
        })
    }

    /// The 403 for a request whose credential lacks a needed scope, if it does.
    fn reject_scopes(&mut self, access: Access) -> Option<Response> {
        let required = match access {
            Access::Read => READ_SCOPE,
            Access::Write => WRITE_SCOPE,
        };
        let mut missing: Vec<String> = Vec::new();
        if !self.config.granted_scopes.iter().any(|s| s == required) {
            missing.push(required.to_owned());
        }
        if access == Access::Write
            && let Some(scope) = &self.faults.missing_scope
            && !missing.contains(scope)
        {
            missing.push(scope.clone());
        }
        if missing.is_empty() {
            return None;
        }
        let body = json!({
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. \
                        Ask an admin to reinstall the app with the scopes listed in errors[].context.requiredGranularScopes.",
            "correlationId": self.correlation_id(),
            "errors": [{
                "message": "One or more of the following scopes are required.",
                "context": { "requiredGranularScopes": missing },
            }],
            "category": "MISSING_SCOPES",
        });
        Some(json_response(403, &body))
    }

    /// Strict mode: the 400 for a request that does not conform to the
    /// OpenAPI document, in HubSpot's shape, if it does not.
    fn reject_nonconforming(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Option<Response> {
        let spec = self.config.openapi.clone()?;
        let problems = spec.check(method.as_str(), path, query, body);
        if problems.is_empty() {
            return None;
        }
        for problem in &problems {
            self.spec_violations
                .push(format!("{method} {path}: {problem}"));
        }
        let mut body = self.error_body(
            "VALIDATION_ERROR",
            format!(
                "Invalid input JSON: the request does not conform to the API: {}",
                problems.join("; ")
            ),
        );
        body["context"] = json!({ "problems": problems });
        Some(json_response(400, &body))
    }

    fn inject_transient(&mut self, family: &'static str) -> Option<Response> {
        let n = {
            let count = self.counters.entry(family).or_insert(0);
            *count += 1;
            *count
        };
        let hits = |every: Option<u32>| every.is_some_and(|k| k > 0 && n % u64::from(k) == 0);
        if hits(self.faults.rate_limit_every) {
            let policy = self
                .faults
                .rate_limit_policy
                .clone()
                .unwrap_or_else(|| "SECONDLY".to_owned());
            let daily = policy == "DAILY";
            let message = if daily {
                "You have reached your daily limit.".to_owned()
            } else {
                format!("You have reached your {} limit.", policy.to_lowercase())
            };
            let body = json!({
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": self.correlation_id(),
                "policyName": policy,
                "category": "RATE_LIMITS",
            });
            if daily {
                return Some(json_response(429, &body));
            }
            let mut response = json_response(429, &body);
            let h = response.headers_mut();
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.faults.retry_after_secs),
            );
            h.insert(
                "x-hubspot-ratelimit-secondly",
                HeaderValue::from_static("10"),
            );
            h.insert(
                "x-hubspot-ratelimit-secondly-remaining",
                HeaderValue::from_static("0"),
            );
            return Some(response);
        }
        if family.starts_with("contacts.batch.") {
            let n = {
                let count = self.counters.entry("contacts.batch").or_insert(0);
                *count += 1;
                *count
            };
            if self
                .faults
                .cancel_batch_every
                .is_some_and(|k| k > 0 && n % u64::from(k) == 0)
            {
                let now = format_iso_ms(system_now_ms());
                let body = json!({
                    "status": "CANCELED", "results": [], "startedAt": now, "completedAt": now,
                });
                return Some(json_response(200, &body));
            }
        }
        if hits(self.faults.bad_gateway_every) {
            let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>sluice-crm-sim \
                        edge</center>\r\n</body>\r\n</html>\r\n";
            return Some(response(502, "text/html; charset=utf-8", html.to_owned()));
        }
        None
    }

    // ---- OAuth -----------------------------------------------------------

    fn token(&mut self, headers: &HeaderMap, body: &[u8]) -> Response {
        let form = parse_form(&String::from_utf8_lossy(body));
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| match v.get(..6) {
                Some(scheme) if scheme.eq_ignore_ascii_case("basic ") => base64_decode(&v[6..]),
                _ => None,
            })
            .and_then(|raw| {
                let text = String::from_utf8(raw).ok()?;
                let (id, secret) = text.split_once(':')?;
                Some((id.to_owned(), secret.to_owned()))
            });
        let client_id = field("client_id").or_else(|| basic.as_ref().map(|b| b.0.clone()));
        let client_secret = field("client_secret").or_else(|| basic.as_ref().map(|b| b.1.clone()));
        if client_id.as_deref() != Some(self.config.client_id.as_str()) {
            return self.oauth_error("BAD_CLIENT_ID", "missing or unknown client id");
        }
        if client_secret.as_deref() != Some(self.config.client_secret.as_str()) {
            return self.oauth_error(
                "BAD_CLIENT_ID",
                "client secret does not match the client id",
            );
        }
        match field("grant_type").as_deref() {
            Some("client_credentials") => {
                let refresh = format!("sim-rt-{}", self.token_seq + 1);
                self.refresh_tokens.insert(refresh.clone());
                self.issue_token(refresh)
            }
            Some("refresh_token") => match field("refresh_token") {
                Some(rt) if self.refresh_tokens.contains(&rt) => self.issue_token(rt),
                _ => self.oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token"),
            },
            Some(other) => {
                self.oauth_error("BAD_GRANT_TYPE", format!("unsupported grant_type: {other}"))
            }
            None => self.oauth_error("BAD_GRANT_TYPE", "missing grant_type"),
        }
    }

    fn oauth_error(&mut self, status: &str, message: impl Into<String>) -> Response {
        let body = json!({
            "status": status,
            "message": message.into(),
            "correlationId": self.correlation_id(),
        });
        json_response(400, &body)
    }

    fn issue_token(&mut self, refresh_token: String) -> Response {
        self.token_seq += 1;
        let access = format!("sim-at-{}", self.token_seq);
        let ttl = self.config.token_ttl_secs;
        let expires_at = Instant::now().checked_add(Duration::from_secs(ttl));
        self.tokens.insert(
            access.clone(),
            AccessToken {
                seq: self.token_seq,
                expires_at,
            },
        );
        json_response(
            200,
            &json!({
                "token_type": "bearer",
                "access_token": access,
                "refresh_token": refresh_token,
                "expires_in": ttl,
            }),
        )
    }

    // ---- reads -----------------------------------------------------------

    fn render(&self, id: u64, c: &StoredContact, selection: Selection<'_>) -> Value {
        let mut props = Map::new();
        match selection {
            Selection::All => props.extend(c.properties.clone()),
            Selection::Only(names) => {
                for name in names {
                    let value = c.properties.get(name).cloned().unwrap_or(Value::Null);
                    props.insert(name.clone(), value);
                }
            }
        }
        props.insert("createdate".into(), format_iso_ms(c.created_ms).into());
        props.insert(
            "lastmodifieddate".into(),
            format_iso_ms(c.updated_ms).into(),
        );
        props.insert("hs_object_id".into(), id.to_string().into());
        let mut out = json!({
            "id": id.to_string(),
            "properties": props,
            "createdAt": format_iso_ms(c.created_ms),
            "updatedAt": format_iso_ms(c.updated_ms),
            "archived": c.archived,
        });
        if let Some(ms) = c.archived_ms {
            out["archivedAt"] = format_iso_ms(ms).into();
        }
        out
    }

    fn list(&mut self, query: &str) -> Response {
        let mut limit = DEFAULT_LIMIT;
        let mut after: Option<u64> = None;
        let mut properties: Vec<String> = Vec::new();
        let mut archived = false;
        for (key, value) in parse_form(query) {
            match key.as_str() {
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIST_LIMIT).contains(&n) => limit = n,
                    _ => {
                        return self.validation_error(format!(
                            "limit must be a number from 1 to {MAX_LIST_LIMIT}; got {value:?}."
                        ));
                    }
                },
                "after" => match decode_list_token(&value) {
                    Some(n) => after = Some(n),
                    None => {
                        return self.validation_error(format!(
                            "after must be the paging.next.after value of a previous page; got {value:?}."
                        ));
                    }
                },
                "properties" => properties.extend(split_names(&value)),
                "archived" => archived = value == "true",
                _ => {}
            }
        }
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let start = match after {
            None => 0,
            Some(a) => a.saturating_add(1),
        };
        let page: Vec<(u64, &StoredContact)> = self
            .contacts
            .range(start..)
            .filter(|(_, c)| c.archived == archived)
            .take(limit + 1)
            .map(|(id, c)| (*id, c))
            .collect();
        let more = page.len() > limit;
        let results: Vec<Value> = page
            .iter()
            .take(limit)
            .map(|(id, c)| self.render(*id, c, selection))
            .collect();
        let mut body = json!({ "results": results });
        if more && let Some((last, _)) = page.get(limit - 1) {
            let token = list_token(*last);
            let mut link = format!("{}{CONTACTS}?limit={limit}&after={token}", self.base_url);
            if !properties.is_empty() {
                link.push_str("&properties=");
                link.push_str(&percent_encode(&properties.join(",")));
            }
            if archived {
                link.push_str("&archived=true");
            }
            body["paging"] = json!({ "next": { "after": token, "link": link } });
        }
        json_response(200, &body)
    }

    fn get(&mut self, id: &str, query: &str) -> Response {
        let mut properties = Vec::new();
        let mut by_email = false;
        let mut archived = false;
        for (key, value) in parse_form(query) {
            match key.as_str() {
                "properties" => properties.extend(split_names(&value)),
                "idProperty" => match value.as_str() {
                    "email" => by_email = true,
                    "hs_object_id" => {}
                    other => {
                        return self.validation_error(format!(
                            "idProperty {other:?} is not supported; use email or hs_object_id."
                        ));
                    }
                },
                "archived" => archived = value == "true",
                _ => {}
            }
        }
        let found = if by_email {
            self.find_live_by_email(&id.to_lowercase())
        } else {
            id.parse::<u64>()
                .ok()
                .filter(|n| self.contacts.get(n).is_some_and(|c| c.archived == archived))
        };
        let Some(n) = found else {
            let mut body = self.error_body(
                "OBJECT_NOT_FOUND",
                format!("Object not found. Contact {id} does not exist or was deleted (archived)."),
            );
            body["context"] = json!({ "id": [id] });
            return json_response(404, &body);
        };
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let body = self.render(n, &self.contacts[&n], selection);
        json_response(200, &body)
    }

    fn search(&mut self, body: &[u8]) -> Response {
        let request = match parse_json_object(body) {
            Ok(v) => v,
            Err(message) => return self.validation_error(message),
        };
        let limit = match request.get("limit") {
            None | Some(Value::Null) => DEFAULT_LIMIT,
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (1..=MAX_SEARCH_LIMIT).contains(&n) => n,
                _ => {
                    return self.validation_error(format!(
                        "limit must be a number from 1 to {MAX_SEARCH_LIMIT}; got {v}."
                    ));
                }
            },
        };
        let offset = match request.get("after") {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) if s.is_empty() => 0,
            Some(v) => match value_text(v).and_then(|s| s.parse::<usize>().ok()) {
                Some(n) => n,
                None => {
                    return self.validation_error(format!(
                        "after must be the paging.next.after value of a previous page; got {v}."
                    ));
                }
            },
        };
        if request.get("query").is_some_and(|q| !q.is_null()) {
            return self.validation_error(
                "Full-text query is not supported by the simulator; use filterGroups.",
            );
        }
        let properties: Vec<String> = match request.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => return self.validation_error("properties must be an array of names."),
        };
        let groups = match parse_filter_groups(request.get("filterGroups")) {
            Ok(g) => g,
            Err(message) => return self.validation_error(message),
        };
        let sort = match parse_sort(request.get("sorts")) {
            Ok(s) => s,
            Err(message) => return self.validation_error(message),
        };
        let mut hits: Vec<(u64, &StoredContact)> = self
            .contacts
            .iter()
            .filter(|(_, c)| !c.archived)
            .filter(|(id, c)| {
                groups.is_empty()
                    || groups
                        .iter()
                        .any(|group| group.iter().all(|f| f.matches(**id, c)))
            })
            .map(|(id, c)| (*id, c))
            .collect();
        hits.sort_by(|a, b| {
            let key = |(id, c): &(u64, &StoredContact)| match sort.0 {
                SortKey::Id => *id,
                SortKey::Created => c.created_ms,
                SortKey::Updated => c.updated_ms,
            };
            let ord = key(a).cmp(&key(b)).then(a.0.cmp(&b.0));
            if sort.1 { ord } else { ord.reverse() }
        });
        let total = hits.len();
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let results: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(id, c)| self.render(*id, c, selection))
            .collect();
        let mut body = json!({ "total": total, "results": results });
        if offset.saturating_add(limit) < total {
            body["paging"] = json!({ "next": { "after": (offset + limit).to_string() } });
        }
        json_response(200, &body)
    }

    fn find_live_by_email(&self, email: &str) -> Option<u64> {
        self.contacts
            .iter()
            .find(|(_, c)| {
                !c.archived && c.properties.get("email").and_then(Value::as_str) == Some(email)
            })
            .map(|(id, _)| *id)
    }

    // ---- writes ----------------------------------------------------------

    fn archive(&mut self, id: &str) -> Response {
        if let Ok(n) = id.parse::<u64>()
            && self.contacts.get(&n).is_some_and(|c| !c.archived)
        {
            let now = self.tick();
            if let Some(c) = self.contacts.get_mut(&n) {
                c.archived = true;
                c.archived_ms = Some(now);
                c.updated_ms = now;
            }
        }
        response(204, "", String::new())
    }

    fn insert(&mut self, writes: &Writes, new_custom: Vec<String>) -> u64 {
        let now = self.tick();
        let id = self.next_id;
        self.next_id += 1;
        self.custom_properties.extend(new_custom);
        let mut properties = Map::new();
        apply_writes(&mut properties, writes);
        self.contacts.insert(
            id,
            StoredContact {
                properties,
                created_ms: now,
                updated_ms: now,
                archived: false,
                archived_ms: None,
            },
        );
        id
    }

    fn update(&mut self, id: u64, writes: &Writes, new_custom: Vec<String>) {
        let now = self.tick();
        self.custom_properties.extend(new_custom);
        if let Some(c) = self.contacts.get_mut(&id) {
            apply_writes(&mut c.properties, writes);
            c.updated_ms = now;
        }
    }

    fn batch(&mut self, kind: BatchKind, body: &[u8]) -> Response {
        let request = match parse_json_object(body) {
            Ok(v) => v,
            Err(message) => return self.validation_error(message),
        };
        let Some(inputs) = request.get("inputs").and_then(Value::as_array) else {
            return self.validation_error("inputs is required and must be an array.");
        };
        if inputs.len() > MAX_BATCH {
            let mut body = self.error_body(
                "VALIDATION_ERROR",
                format!(
                    "Too many inputs: {} were sent; a batch may have at most {MAX_BATCH}.",
                    inputs.len()
                ),
            );
            body["context"] =
                json!({ "limit": [MAX_BATCH.to_string()], "size": [inputs.len().to_string()] });
            return json_response(400, &body);
        }
        if kind != BatchKind::Create {
            let mut seen = HashSet::new();
            let mut dups = BTreeSet::new();
            for input in inputs {
                if let Some(id) = input.get("id").and_then(value_text) {
                    let key = if kind == BatchKind::Upsert {
                        id.to_lowercase()
                    } else {
                        id
                    };
                    if !seen.insert(key.clone()) {
                        dups.insert(key);
                    }
                }
            }
            if !dups.is_empty() {
                let dups: Vec<String> = dups.into_iter().collect();
                let mut body = self.error_body(
                    "VALIDATION_ERROR",
                    format!("Duplicate IDs found in batch input: {dups:?}. IDs must be unique."),
                );
                body["context"] = json!({ "ids": dups });
                return json_response(400, &body);
            }
        }
        // Like HubSpot, a property that does not exist refuses the whole
        // batch, with the details embedded in the message.
        let unknown: BTreeSet<String> = inputs
            .iter()
            .filter_map(|input| input.get("properties").and_then(Value::as_object))
            .flat_map(|properties| properties.keys())
            .filter(|name| {
                !valid_property_name(name) && !SYSTEM_PROPERTIES.contains(&name.as_str())
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let problems = unknown
                .into_iter()
                .map(|name| {
                    let message = format!("Property \"{name}\" does not exist");
                    (name, "PROPERTY_DOESNT_EXIST", message)
                })
                .collect();
            let e = validation(problems);
            let body = json!({
                "status": "error",
                "message": e.message,
                "correlationId": self.correlation_id(),
                "category": "VALIDATION_ERROR",
            });
            return json_response(400, &body);
        }
        let started = format_iso_ms(system_now_ms());
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for input in inputs {
            let outcome = match kind {
                BatchKind::Create => self.create_one(input),
                BatchKind::Update => self.update_one(input),
                BatchKind::Upsert => self.upsert_one(input),
            };
            match outcome {
                Ok(mut result) => {
                    if let Some(trace) = input.get("objectWriteTraceId").and_then(value_text) {
                        result["objectWriteTraceId"] = trace.into();
                    }
                    results.push(result);
                }
                Err(e) => errors.push(input_error_json(e, input)),
            }
        }
        let mut body = json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": format_iso_ms(system_now_ms()),
        });
        let status = if !errors.is_empty() {
            body["numErrors"] = errors.len().into();
            body["errors"] = errors.into();
            207
        } else if kind == BatchKind::Create {
            201
        } else {
            200
        };
        json_response(status, &body)
    }

    fn create_one(&mut self, input: &Value) -> Result<Value, InputError> {
        let props = input_properties(input)?;
        let (writes, new_custom) = self.validate_properties(props)?;
        if let Some(email) = written(&writes, "email")
            && let Some(existing) = self.find_live_by_email(email)
        {
            return Err(already_exists(existing));
        }
        self.check_custom_limit(&new_custom)?;
        let id = self.insert(&writes, new_custom);
        Ok(self.render(id, &self.contacts[&id], Selection::All))
    }

    fn update_one(&mut self, input: &Value) -> Result<Value, InputError> {
        let Some(raw_id) = input.get("id").and_then(value_text) else {
            return Err(required_field("id"));
        };
        let id = raw_id
            .parse::<u64>()
            .ok()
            .filter(|n| self.contacts.get(n).is_some_and(|c| !c.archived))
            .ok_or_else(|| not_found(&raw_id))?;
        let props = input_properties(input)?;
        let (writes, new_custom) = self.validate_properties(props)?;
        if let Some(email) = written(&writes, "email")
            && let Some(existing) = self.find_live_by_email(email)
            && existing != id
        {
            return Err(already_exists(existing));
        }
        self.check_custom_limit(&new_custom)?;
        self.update(id, &writes, new_custom);
        Ok(self.render(id, &self.contacts[&id], Selection::All))
    }

    fn upsert_one(&mut self, input: &Value) -> Result<Value, InputError> {
        match input.get("idProperty").and_then(Value::as_str) {
            Some("email") => {}
            other => {
                let message = format!(
                    "idProperty must be \"email\" (the only unique property the simulator supports); got {}.",
                    other.map_or_else(|| "nothing".to_owned(), |s| format!("{s:?}"))
                );
                return Err(validation(vec![(
                    "idProperty".to_owned(),
                    "INVALID_ID_PROPERTY",
                    message,
                )]));
            }
        }
        let Some(raw_id) = input.get("id").and_then(value_text) else {
            return Err(required_field("id"));
        };
        let email = raw_id.trim().to_lowercase();
        if !looks_like_email(&email) {
            return Err(validation(vec![(
                "email".to_owned(),
                "INVALID_EMAIL",
                format!("Email address {raw_id} is invalid"),
            )]));
        }
        let mut props = input_properties(input)?.clone();
        props.insert("email".into(), Value::String(email.clone()));
        let (writes, new_custom) = self.validate_properties(&props)?;
        self.check_custom_limit(&new_custom)?;
        let (id, new) = match self.find_live_by_email(&email) {
            Some(id) => {
                self.update(id, &writes, new_custom);
                (id, false)
            }
            None => (self.insert(&writes, new_custom), true),
        };
        let mut result = self.render(id, &self.contacts[&id], Selection::All);
        result["new"] = new.into();
        Ok(result)
    }

    /// Checks every property of one input; returns the normalised writes and
    /// the custom property names it would create.
    fn validate_properties(
        &self,
        props: &Map<String, Value>,
    ) -> Result<(Writes, Vec<String>), InputError> {
        let mut problems: Vec<(String, &'static str, String)> = Vec::new();
        let mut writes = Vec::new();
        let mut new_custom = Vec::new();
        for (name, value) in props {
            if SYSTEM_PROPERTIES.contains(&name.as_str()) {
                problems.push((
                    name.clone(),
                    "READ_ONLY_VALUE",
                    format!("{name} is a read-only property; its value cannot be set."),
                ));
                continue;
            }
            if !valid_property_name(name) {
                problems.push((
                    name.clone(),
                    "PROPERTY_DOESNT_EXIST",
                    format!("Property \"{name}\" does not exist"),
                ));
                continue;
            }
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Array(_) | Value::Object(_) => {
                    problems.push((
                        name.clone(),
                        "INVALID_PROPERTY_VALUE",
                        format!("{name} must be a string, number or boolean, not {value}"),
                    ));
                    continue;
                }
            }
            .filter(|s| !s.is_empty());
            let standard = STANDARD_PROPERTIES.contains(&name.as_str());
            if let Some(s) = &text {
                let chars = s.chars().count();
                if chars > MAX_VALUE_LEN {
                    problems.push((
                        name.clone(),
                        "TOO_LONG",
                        format!(
                            "{name} is {chars} characters long; the maximum is {MAX_VALUE_LEN}."
                        ),
                    ));
                    continue;
                }
                match name.as_str() {
                    "email" if !looks_like_email(s.trim()) => {
                        problems.push((
                            name.clone(),
                            "INVALID_EMAIL",
                            format!("Email address {s} is invalid"),
                        ));
                        continue;
                    }
                    "firstname" | "lastname" if chars > MAX_NAME_LEN => {
                        problems.push((
                            name.clone(),
                            "TOO_LONG",
                            format!(
                                "{name} is {chars} characters long; the maximum is {MAX_NAME_LEN}."
                            ),
                        ));
                        continue;
                    }
                    "lifecyclestage" if !LIFECYCLE_STAGES.contains(&s.as_str()) => {
                        problems.push((
                            name.clone(),
                            "INVALID_OPTION",
                            format!(
                                "{s} was not one of the allowed options: [{}]",
                                LIFECYCLE_STAGES.join(", ")
                            ),
                        ));
                        continue;
                    }
                    _ => {}
                }
                if !standard && !self.custom_properties.contains(name) {
                    new_custom.push(name.clone());
                }
            }
            let text = if name == "email" {
                text.map(|s| s.trim().to_lowercase())
            } else {
                text
            };
            writes.push((name.clone(), text));
        }
        if problems.is_empty() {
            Ok((writes, new_custom))
        } else {
            Err(validation(problems))
        }
    }

    fn check_custom_limit(&self, new_custom: &[String]) -> Result<(), InputError> {
        let Some(max) = self.config.max_custom_properties else {
            return Ok(());
        };
        let existing = self.custom_properties.len();
        if new_custom.is_empty() || existing + new_custom.len() <= max {
            return Ok(());
        }
        let message = format!(
            "Custom property limit reached: this plan allows {max} custom contact properties and \
             {existing} exist; cannot create {}. Upgrade the plan or delete unused properties.",
            new_custom.join(", ")
        );
        let mut context = Map::new();
        context.insert("propertyName".into(), json!(new_custom));
        context.insert("limit".into(), json!([max.to_string()]));
        Err(InputError {
            category: "LIMIT_EXCEEDED",
            sub_category: Some("CUSTOM_PROPERTY_LIMIT"),
            message: message.clone(),
            context,
            errors: new_custom
                .iter()
                .map(|name| {
                    json!({
                        "message": format!("Property \"{name}\" cannot be created: the custom property limit ({max}) is reached."),
                        "code": "PROPERTY_LIMIT_REACHED",
                        "context": { "propertyName": [name] },
                    })
                })
                .collect(),
        })
    }
}

// ---- search filters --------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Id,
    Created,
    Updated,
}

#[derive(Debug)]
enum Filter {
    Time { key: SortKey, op: Op, value: u64 },
    EmailEq(String),
    EmailIn(Vec<String>),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
}

impl Filter {
    fn matches(&self, id: u64, c: &StoredContact) -> bool {
        match self {
            Filter::Time { key, op, value } => {
                let actual = match key {
                    SortKey::Id => id,
                    SortKey::Created => c.created_ms,
                    SortKey::Updated => c.updated_ms,
                };
                match op {
                    Op::Gt => actual > *value,
                    Op::Gte => actual >= *value,
                    Op::Lt => actual < *value,
                    Op::Lte => actual <= *value,
                    Op::Eq => actual == *value,
                }
            }
            Filter::EmailEq(email) => {
                c.properties.get("email").and_then(Value::as_str) == Some(email.as_str())
            }
            Filter::EmailIn(emails) => c
                .properties
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|email| emails.iter().any(|e| e == email)),
        }
    }
}

const FILTER_HELP: &str = "The simulator supports filters on lastmodifieddate, createdate and \
                           hs_object_id (operators GT, GTE, LT, LTE, EQ) and on email (EQ, IN).";

/// The most values of an `IN` filter.
const MAX_IN_VALUES: usize = 100;

/// The most filter groups of a search (HubSpot's limit).
const MAX_FILTER_GROUPS: usize = 5;

fn parse_filter_groups(value: Option<&Value>) -> Result<Vec<Vec<Filter>>, String> {
    let groups = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(groups)) => groups,
        Some(_) => return Err("filterGroups must be an array.".to_owned()),
    };
    if groups.len() > MAX_FILTER_GROUPS {
        return Err(format!(
            "Too many filter groups: {}; a search takes at most {MAX_FILTER_GROUPS}.",
            groups.len()
        ));
    }
    groups
        .iter()
        .map(|group| {
            let filters = group
                .get("filters")
                .and_then(Value::as_array)
                .ok_or("each filterGroup needs a filters array.")?;
            filters.iter().map(parse_filter).collect()
        })
        .collect()
}

fn parse_filter(filter: &Value) -> Result<Filter, String> {
    let name = filter
        .get("propertyName")
        .and_then(Value::as_str)
        .ok_or("each filter needs a propertyName.")?;
    let op_text = filter
        .get("operator")
        .and_then(Value::as_str)
        .ok_or("each filter needs an operator.")?;
    if op_text == "IN" {
        if name != "email" {
            return Err(format!(
                "Unsupported filter on {name:?} (IN). {FILTER_HELP}"
            ));
        }
        let values = filter
            .get("values")
            .and_then(Value::as_array)
            .ok_or("an IN filter needs a values array.")?;
        if values.len() > MAX_IN_VALUES {
            return Err(format!(
                "an IN filter takes at most {MAX_IN_VALUES} values; got {}.",
                values.len()
            ));
        }
        return Ok(Filter::EmailIn(
            values
                .iter()
                .filter_map(value_text)
                .map(|v| v.trim().to_lowercase())
                .collect(),
        ));
    }
    let op = match op_text {
        "GT" => Op::Gt,
        "GTE" => Op::Gte,
        "LT" => Op::Lt,
        "LTE" => Op::Lte,
        "EQ" => Op::Eq,
        other => return Err(format!("Unsupported operator {other:?}. {FILTER_HELP}")),
    };
    let value = filter.get("value").and_then(value_text).unwrap_or_default();
    let key = match name {
        "lastmodifieddate" | "hs_lastmodifieddate" => SortKey::Updated,
        "createdate" => SortKey::Created,
        "hs_object_id" => SortKey::Id,
        "email" if matches!(op, Op::Eq) => {
            return Ok(Filter::EmailEq(value.trim().to_lowercase()));
        }
        other => {
            return Err(format!(
                "Unsupported filter on {other:?} ({op_text}). {FILTER_HELP}"
            ));
        }
    };
    let parsed = if key == SortKey::Id {
        value.parse::<u64>().ok()
    } else {
        parse_timestamp_ms(&value)
    };
    let value = parsed.ok_or_else(|| {
        format!("{value:?} is not a valid value for {name}: use epoch milliseconds or an ISO 8601 date-time.")
    })?;
    Ok(Filter::Time { key, op, value })
}

/// The first sort (key, ascending?); by id ascending when none is given.
fn parse_sort(value: Option<&Value>) -> Result<(SortKey, bool), String> {
    let first = match value {
        None | Some(Value::Null) => return Ok((SortKey::Id, true)),
        Some(Value::Array(sorts)) => match sorts.first() {
            None => return Ok((SortKey::Id, true)),
            Some(s) => s,
        },
        Some(_) => return Err("sorts must be an array.".to_owned()),
    };
    let (name, ascending) = match first {
        Value::String(s) => match s.strip_prefix('-') {
            Some(name) => (name.to_owned(), false),
            None => (s.clone(), true),
        },
        Value::Object(o) => {
            let name = o
                .get("propertyName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let ascending = match o.get("direction").and_then(Value::as_str) {
                None | Some("ASCENDING") => true,
                Some("DESCENDING") => false,
                Some(other) => return Err(format!("Unsupported sort direction {other:?}.")),
            };
            (name, ascending)
        }
        _ => return Err("each sort must be an object {propertyName, direction}.".to_owned()),
    };
    let key = match name.as_str() {
        "hs_object_id" | "id" => SortKey::Id,
        "createdate" => SortKey::Created,
        "lastmodifieddate" | "hs_lastmodifieddate" => SortKey::Updated,
        other => {
            return Err(format!(
                "Unsupported sort on {other:?}: the simulator sorts by hs_object_id, createdate or lastmodifieddate."
            ));
        }
    };
    Ok((key, ascending))
}

// ---- helpers ---------------------------------------------------------------

fn response(status: u16, content_type: &str, body: String) -> Response {
    let mut builder = Response::builder().status(status);
    if !content_type.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn json_response(status: u16, body: &Value) -> Response {
    response(status, "application/json;charset=utf-8", body.to_string())
}

/// The `paging.next.after` of a list page ending at contact `last`, in
/// HubSpot's form: base64 text, percent-encoded already (`AAAAAAAAAAI%3D`).
/// A client sends it back as it is; encoding it again breaks it.
fn list_token(last: u64) -> String {
    percent_encode(&base64_encode(&last.to_be_bytes()))
}

/// The contact id a list token (as the query decodes it) stands for.
fn decode_list_token(token: &str) -> Option<u64> {
    let bytes: [u8; 8] = base64_decode(token)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn default_names() -> Vec<String> {
    DEFAULT_READ_PROPERTIES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn split_names(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A string, or a number/bool as text.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("Invalid input JSON: expected an object.".to_owned()),
        Err(e) => Err(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        )),
    }
}

/// HubSpot property names: a lowercase letter, then lowercase letters, digits
/// and underscores.
fn valid_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn written<'a>(writes: &'a Writes, name: &str) -> Option<&'a str> {
    writes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
}

fn apply_writes(properties: &mut Map<String, Value>, writes: &Writes) {
    for (name, value) in writes {
        match value {
            Some(v) => {
                properties.insert(name.clone(), Value::String(v.clone()));
            }
            None => {
                properties.remove(name);
            }
        }
    }
}

fn input_properties(input: &Value) -> Result<&Map<String, Value>, InputError> {
    input
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| required_field("properties"))
}

fn validation(problems: Vec<(String, &'static str, String)>) -> InputError {
    let detail: Vec<Value> = problems
        .iter()
        .map(|(name, code, message)| {
            json!({ "isValid": false, "message": message, "error": code, "name": name })
        })
        .collect();
    let names: Vec<&String> = problems.iter().map(|(name, _, _)| name).collect();
    let mut context = Map::new();
    context.insert("propertyName".into(), json!(names));
    InputError {
        category: "VALIDATION_ERROR",
        sub_category: None,
        message: format!("Property values were not valid: {}", Value::from(detail)),
        context,
        errors: problems
            .iter()
            .map(|(name, code, message)| {
                json!({ "message": message, "code": code, "context": { "propertyName": [name] } })
            })
            .collect(),
    }
}

fn required_field(field: &str) -> InputError {
    let message = format!("{field} is required.");
    InputError {
        category: "VALIDATION_ERROR",
        sub_category: None,
        message: message.clone(),
        context: Map::new(),
        errors: vec![
            json!({ "message": message, "code": "REQUIRED_FIELD", "context": { "field": [field] } }),
        ],
    }
}

fn not_found(id: &str) -> InputError {
    let message =
        format!("Object not found. Contact {id} does not exist or was deleted (archived).");
    InputError {
        category: "OBJECT_NOT_FOUND",
        sub_category: None,
        message: message.clone(),
        context: Map::new(),
        errors: vec![json!({ "message": message, "code": "OBJECT_NOT_FOUND" })],
    }
}

fn already_exists(existing: u64) -> InputError {
    let message = format!("Contact already exists. Existing ID: {existing}");
    let mut context = Map::new();
    context.insert("existingId".into(), json!([existing.to_string()]));
    InputError {
        category: "OBJECT_ALREADY_EXISTS",
        sub_category: None,
        message: message.clone(),
        context,
        errors: vec![json!({
            "message": message,
            "code": "CONTACT_EXISTS",
            "context": { "propertyName": ["email"] },
        })],
    }
}

/// The per-input error object of a 207 body, as HubSpot ties it to its
/// input: the input's `objectWriteTraceId` (when it was sent one) and its
/// `id` (update, upsert) in `context.objectWriteTraceId` / `context.ids`.
fn input_error_json(e: InputError, input: &Value) -> Value {
    let mut context = e.context;
    if let Some(trace) = input.get("objectWriteTraceId").and_then(value_text) {
        context.insert("objectWriteTraceId".into(), json!([trace]));
    }
    if let Some(id) = input.get("id").and_then(value_text) {
        context.insert("ids".into(), json!([id]));
    }
    let mut out = json!({
        "status": "error",
        "category": e.category,
        "message": e.message,
        "context": context,
        "errors": e.errors,
        "links": {},
    });
    if let Some(sub) = e.sub_category {
        out["subCategory"] = sub.into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |m: Method, p: &str| Route::parse(&m, p);
        assert_eq!(r(Method::POST, "/oauth/v1/token"), Route::Token);
        assert_eq!(r(Method::GET, "/oauth/v1/token"), Route::WrongMethod);
        assert_eq!(r(Method::GET, "/crm/v3/objects/contacts/"), Route::List);
        assert_eq!(
            r(Method::GET, "/crm/v3/objects/contacts/12"),
            Route::Get("12".into())
        );
        assert_eq!(
            r(Method::DELETE, "/crm/v3/objects/contacts/12"),
            Route::Archive("12".into())
        );
        assert_eq!(
            r(Method::GET, "/crm/v3/objects/contacts/search"),
            Route::WrongMethod
        );
        assert_eq!(
            r(Method::POST, "/crm/v3/objects/contacts/batch/upsert"),
            Route::Batch(BatchKind::Upsert)
        );
        assert_eq!(
            r(Method::POST, "/crm/v3/objects/contacts/batch/archive"),
            Route::NotFound
        );
        assert_eq!(r(Method::GET, "/"), Route::NotFound);
    }

    #[test]
    fn property_names() {
        assert!(valid_property_name("plan_tier2"));
        for bad in ["", "Plan", "plan tier", "1st", "_x"] {
            assert!(!valid_property_name(bad), "{bad}");
        }
    }
}
