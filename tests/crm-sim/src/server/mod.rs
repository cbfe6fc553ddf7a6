//! The simulator's state and request handling.
//!
//! Every request goes through one axum fallback handler, [`handle`]: it
//! buffers the body (413 over 1 MiB), then [`State::respond`] classifies the
//! route, applies authentication, scopes and injected faults to `/crm/...`
//! routes, and dispatches. Handling is synchronous under the state lock, so
//! each request is applied atomically and the fault counters are deterministic.
//!
//! This module holds the state and the dispatch; each concept has a file:
//! [`route`] (which endpoint), [`auth`] (keys, tokens, scopes), [`oauth`]
//! (the token endpoint), [`strict`] (OpenAPI conformance), [`faults`]
//! (injected rate limits and failures), [`read`] (render, list, get),
//! [`search`] (filters, sorts, paging), [`writes`] (archive and batches),
//! [`properties`] (which properties and values are accepted),
//! [`input_errors`] (per-input batch errors), [`responses`] (error bodies
//! and JSON responses), [`input`] (reading request bodies) and [`generic`]
//! (the generic `/api/...` store beside the CRM).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::util::{format_iso_ms, system_now_ms};
use crate::{Contact, Faults, RequestLog, SimConfig};

mod auth;
mod faults;
pub(crate) mod generic;
mod input;
mod input_errors;
mod oauth;
mod properties;
mod read;
mod responses;
mod route;
mod search;
mod strict;
mod writes;

use self::auth::AccessToken;
use self::properties::Writes;
use self::route::Route;

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

#[derive(Debug, Clone)]
struct StoredContact {
    properties: Map<String, Value>,
    created_ms: u64,
    updated_ms: u64,
    archived: bool,
    archived_ms: Option<u64>,
}

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
}
