#![doc = include_str!("../README.md")]

mod openapi;
mod server;
mod util;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde_json::{Map, Value};

pub use crate::openapi::OpenApi;
use crate::server::State;
pub use crate::server::generic::Item;

/// How a simulator is set up when it starts.
///
/// Build one with struct-update syntax over [`SimConfig::default`]:
///
/// ```
/// let config = sluice_crm_sim::SimConfig {
///     max_custom_properties: Some(2),
///     ..Default::default()
/// };
/// assert_eq!(config.client_id, "sluice-sim-client");
/// ```
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The OAuth client id `POST /oauth/v1/token` accepts.
    pub client_id: String,
    /// The OAuth client secret `POST /oauth/v1/token` accepts.
    pub client_secret: String,
    /// A static private-app key. When set, `/crm/...` calls may authenticate
    /// with header `X-Api-Key: <key>` (or `Authorization: Bearer <key>`); the
    /// key never expires.
    pub api_key: Option<String>,
    /// Lifetime of issued access tokens, reported as `expires_in`. `0` issues
    /// tokens that are already expired.
    pub token_ttl_secs: u64,
    /// Scopes every token (and the API key) carries. Reads (list, get, search)
    /// need `crm.objects.contacts.read`; writes (batch create/update/upsert,
    /// delete) need `crm.objects.contacts.write`. A missing one gives 403
    /// `MISSING_SCOPES`.
    pub granted_scopes: Vec<String>,
    /// Contacts that exist at start, given as their properties. They get ids
    /// `1`, `2`, ... in order; their property names not among the standard
    /// ones become custom properties (and count towards
    /// `max_custom_properties`, without being refused by it).
    pub seed_contacts: Vec<Map<String, Value>>,
    /// How many distinct custom (non-standard) contact properties the
    /// simulated plan allows; `None` is unlimited.
    pub max_custom_properties: Option<usize>,
    /// Strict mode: every `/crm/...` request (after authentication) is
    /// checked against this OpenAPI document; one that does not conform
    /// gets HubSpot's 400 `VALIDATION_ERROR` naming the problems, and is
    /// recorded in [`CrmSim::spec_violations`].
    pub openapi: Option<Arc<OpenApi>>,
}

impl Default for SimConfig {
    /// Client `sluice-sim-client` / `sluice-sim-secret`, no API key, 30-minute
    /// tokens, read and write scopes, no contacts, unlimited custom properties.
    fn default() -> Self {
        SimConfig {
            client_id: "sluice-sim-client".to_owned(),
            client_secret: "sluice-sim-secret".to_owned(),
            api_key: None,
            token_ttl_secs: 1800,
            granted_scopes: vec![
                server::READ_SCOPE.to_owned(),
                server::WRITE_SCOPE.to_owned(),
            ],
            seed_contacts: Vec::new(),
            max_custom_properties: None,
            openapi: None,
        }
    }
}

/// Failures to inject into `/crm/...` requests, changed at run time with
/// [`CrmSim::set_faults`].
///
/// They are checked in this order, before normal handling: authentication
/// (`reject_all_auth`, expired tokens), scopes (`missing_scope`), then the
/// every-Nth counters (`rate_limit_every`, then `bad_gateway_every`). The
/// counters are kept per route family (see the crate docs), count only the
/// requests that got past authentication and scopes, and restart at zero on
/// every [`CrmSim::set_faults`] call. `Some(0)` disables a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// When `set_faults` is called with this set, every access token issued
    /// so far becomes expired (401 `EXPIRED_AUTHENTICATION`); tokens issued
    /// afterwards (client credentials or refresh) are valid.
    pub expire_tokens_now: bool,
    /// Every `/crm/...` call gets 401 `INVALID_AUTHENTICATION`, as if the
    /// app's access had been revoked. The token endpoint still works.
    pub reject_all_auth: bool,
    /// Every Nth request of a route family gets 429 with a `Retry-After`
    /// header and a `RATE_LIMITS` body.
    pub rate_limit_every: Option<u32>,
    /// The `Retry-After` value in seconds (default 1; 0 is allowed, for fast
    /// tests).
    pub retry_after_secs: u64,
    /// Every Nth request of a route family gets 502 with an HTML body (when
    /// the same request is not already rate-limited).
    pub bad_gateway_every: Option<u32>,
    /// Writes require this scope, which no token has: 403 `MISSING_SCOPES`
    /// naming it in `requiredGranularScopes`.
    pub missing_scope: Option<String>,
    /// The `policyName` of the injected 429s: `None` is `SECONDLY`;
    /// `DAILY` says the account's daily quota is used up (HubSpot's
    /// message, no `Retry-After`).
    pub rate_limit_policy: Option<String>,
    /// Every Nth batch write (create, update, upsert; counted together)
    /// is answered 200 with `"status": "CANCELED"` and no results, and
    /// writes nothing.
    pub cancel_batch_every: Option<u32>,
}

impl Default for Faults {
    /// No faults, with `retry_after_secs: 1`.
    fn default() -> Self {
        Faults {
            expire_tokens_now: false,
            reject_all_auth: false,
            rate_limit_every: None,
            retry_after_secs: 1,
            bad_gateway_every: None,
            missing_scope: None,
            rate_limit_policy: None,
            cancel_batch_every: None,
        }
    }
}

/// A contact as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Numeric id as a string (`"1"`, `"2"`, ...), never reused.
    pub id: String,
    /// Properties that are set, as strings (numbers and booleans sent by
    /// clients are stored as their text; `email` is stored lowercased).
    /// System properties (`createdate`, `lastmodifieddate`, `hs_object_id`)
    /// are not included: see `created_at` / `updated_at`.
    pub properties: Map<String, Value>,
    /// Creation time, `2024-05-01T10:00:00.123Z`.
    pub created_at: String,
    /// Last modification time, same format; strictly increasing across all
    /// writes of one simulator.
    pub updated_at: String,
    /// Whether the contact was deleted (archived).
    pub archived: bool,
}

/// One HTTP request the simulator received, with the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/crm/v3/objects/contacts?limit=2`.
    pub path: String,
    /// Headers in the order received; names are lowercase (as the HTTP stack
    /// normalises them), values as sent.
    pub headers: Vec<(String, String)>,
    /// The body as (lossy) UTF-8 text; for a body over the 1 MiB limit, a
    /// `<N bytes omitted: ...>` placeholder.
    pub body: String,
    /// The HTTP status the simulator returned.
    pub status: u16,
}

impl RequestLog {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running simulator: an HTTP server on 127.0.0.1, served by a background
/// thread with its own tokio runtime. Dropping it (or [`CrmSim::stop`]) shuts
/// the server down and joins the thread.
pub struct CrmSim {
    base_url: String,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CrmSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmSim")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl CrmSim {
    /// Starts a simulator on 127.0.0.1 with an OS-assigned port.
    ///
    /// # Panics
    /// If no loopback port can be bound or the runtime cannot be built.
    pub fn start(config: SimConfig) -> CrmSim {
        match CrmSim::start_on(0, config) {
            Ok(sim) => sim,
            Err(e) => panic!("starting the CRM simulator: {e}"),
        }
    }

    /// Starts a simulator on `127.0.0.1:port` (`0` for an OS-assigned port).
    pub fn start_on(port: u16, config: SimConfig) -> std::io::Result<CrmSim> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let state = Arc::new(Mutex::new(State::new(config, base_url.clone())));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let app = server::router(Arc::clone(&state));
        let thread = std::thread::Builder::new()
            .name(format!("crm-sim-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = axum::serve(listener, app).into_future();
                    tokio::select! {
                        result = serve => {
                            if let Err(e) = result {
                                eprintln!("crm-sim: server error: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                // Dropping the runtime here cancels every connection task, so
                // open keep-alive connections are closed too.
                drop(runtime);
            })?;
        Ok(CrmSim {
            base_url,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Current contacts that are not archived, sorted by (numeric) id.
    pub fn contacts(&self) -> Vec<Contact> {
        self.lock().contacts(false)
    }

    /// Every request received so far (including rejected ones), oldest first.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.lock().requests.clone()
    }

    /// Strict mode ([`SimConfig::openapi`]): every request that did not
    /// conform to the document, as `METHOD path: problem`, oldest first.
    pub fn spec_violations(&self) -> Vec<String> {
        self.lock().spec_violations.clone()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Replaces the injected faults; restarts the every-Nth counters, and
    /// expires all current tokens if `faults.expire_tokens_now`.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().set_faults(faults);
    }

    /// Shuts the server down and joins its thread (the same as dropping it).
    pub fn stop(self) {
        drop(self);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for CrmSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
