//! The plugin store over the API (docs/API.md, "Plugins"): list names and
//! versions (open), promote and roll back (token required). Promotion
//! runs the same checks as `sluice plugin promote`, case file included;
//! runs in progress switch at their next batch.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sluice::store::{PluginStore, StoreError};

use super::api::{error, json, refusal};
use super::service::Shared;

/// Largest request body accepted by these routes.
const MAX_BODY: usize = 64 * 1024;

/// The plugin routes, merged into the API's router.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/plugins", get(names))
        .route("/v1/plugins/{name}/versions", get(versions))
        .route("/v1/plugins/{name}/promote", post(promote))
        .route("/v1/plugins/{name}/rollback", post(rollback))
}

/// `POST /v1/plugins/{name}/promote`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    /// `sha256:<hex>`: at least 12 hex digits if unambiguous.
    digest: String,
    /// Promote a quarantined version.
    #[serde(default)]
    force: bool,
    /// Interfaces the plugin may import beyond the default.
    #[serde(default)]
    allow: Vec<String>,
}

/// `POST /v1/plugins/{name}/rollback`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    /// Why, for the audit log.
    #[serde(default)]
    reason: Option<String>,
}

fn store_error(e: StoreError) -> Response {
    error(crate::http::store_status(&e), e.to_string())
}

/// A JSON body (empty: the type's default, when it has one); the
/// refusal's status and message.
fn body<T: serde::de::DeserializeOwned>(
    bytes: &Bytes,
    empty: Option<T>,
) -> Result<T, (StatusCode, String)> {
    if bytes.len() > MAX_BODY {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body may have at most {MAX_BODY} bytes"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace)
        && let Some(default) = empty
    {
        return Ok(default);
    }
    serde_json::from_slice(bytes)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

/// Run store work (it reads the run log, compiles, runs cases) off the
/// async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(store_error(e)),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn names(State(shared): State<Arc<Shared>>) -> Response {
    let store = PluginStore::new(shared.sluice.data_dir());
    match blocking(move || store.names()).await {
        Ok(names) => json(StatusCode::OK, json!({ "plugins": names })),
        Err(r) => r,
    }
}

async fn versions(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let store = PluginStore::new(shared.sluice.data_dir());
    match blocking(move || store.versions(&name)).await {
        Ok(v) => json(StatusCode::OK, v),
        Err(r) => r,
    }
}

async fn promote(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let b: PromoteBody = match body(&bytes, None) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let sluice = shared.sluice.clone();
    let done = blocking(move || {
        let store = PluginStore::new(sluice.data_dir());
        let gate = crate::plugin_store_cmd::case_gate(&sluice, &b.allow, true);
        store.promote(
            sluice.runtime(),
            &name,
            &b.digest,
            "api",
            b.force,
            &b.allow,
            &gate,
        )
    })
    .await;
    match done {
        Ok(p) => json(StatusCode::OK, p),
        Err(r) => r,
    }
}

async fn rollback(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let b: RollbackBody = match body(&bytes, Some(RollbackBody::default())) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message),
    };
    let data_dir = shared.sluice.data_dir().to_owned();
    let done = blocking(move || {
        PluginStore::new(&data_dir).rollback(&name, "api", b.reason.as_deref(), None)
    })
    .await;
    match done {
        Ok(p) => json(StatusCode::OK, p),
        Err(r) => r,
    }
}
