//! Plugins: the store's names with their current versions; per name every
//! version (digest, who installed it and when, quarantine), the history of
//! promotions and rollbacks, the runs that used it, and its options as its
//! `describe` gives them; promote a version or roll back.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::Value as Json;
use sluice::plugin::{PluginKind, describe_artifact};
use sluice::runlog::PluginRunRow;
use sluice::store::{NameSummary, PluginStore, StoreError, Versions};

use crate::http::store_status;
use crate::ui::auth::{refusal, signed_in};
use crate::ui::layout::{csrf_field, digest, page, status, time};
use crate::ui::respond::{Form, error_page, internal, respond, url_encode};
use crate::ui::state::UiState;

/// Runs listed under "used by".
const USED_BY: u64 = 20;

#[derive(Serialize)]
struct PluginsPage {
    installed: Vec<NameSummary>,
    builtins: Vec<&'static str>,
}

/// `GET /plugins`.
pub async fn list(State(state): State<Arc<UiState>>, headers: HeaderMap) -> Response {
    let store = PluginStore::new(state.sluice.data_dir());
    let names = match tokio::task::spawn_blocking(move || store.names()).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return error_page(&headers, store_status(&e), &e.to_string()),
        Err(e) => return internal(&headers, e),
    };
    let data = PluginsPage {
        installed: names,
        builtins: sluice::plugin::Registry::builtins()
            .iter()
            .map(|b| b.name)
            .collect(),
    };
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Plugins" }
            h2 { "Installed" }
            @if data.installed.is_empty() {
                p.muted { "Nothing installed in this data directory's store: " code { "sluice plugin install FILE --name NAME" } "." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Kind" } th { "Current version" } th.num { "Versions" } th { "Changed (UTC)" } } }
                    tbody { @for n in &data.installed { tr {
                        td { a href={ "/plugins/" (url_encode(&n.name)) } { (n.name) } }
                        td { (n.kind.as_deref().unwrap_or("—")) }
                        td { @if let Some(c) = &n.current { (digest(c)) } @else { span.muted { "none promoted" } } }
                        td.num { (n.versions) }
                        td { (time(&n.updated_at)) }
                    } } }
                }
            }
            h2 { "Built in" }
            p { @for (i, b) in data.builtins.iter().enumerate() { @if i > 0 { ", " } code { (b) } } }
        };
        page(&state, &headers, "Plugins", body)
    })
}

#[derive(Serialize)]
struct PluginPage {
    versions: Versions,
    used_by: Vec<PluginRunRow>,
    /// The current version's options as JSON Schema, when it describes them.
    options_schema: Option<Json>,
    /// What the current version says it does.
    description: Option<String>,
}

/// `GET /plugins/{name}`.
pub async fn show(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let st = state.clone();
    let n = name.clone();
    let data = tokio::task::spawn_blocking(move || -> Result<PluginPage, StoreError> {
        let store = PluginStore::new(st.sluice.data_dir());
        let versions = store.versions(&n)?;
        let used_by = st.log()?.plugin_runs(&n, USED_BY)?;
        let mut page = PluginPage {
            versions,
            used_by,
            options_schema: None,
            description: None,
        };
        let current = page
            .versions
            .current
            .as_ref()
            .and_then(|c| page.versions.versions.iter().find(|v| &v.digest == c));
        if let Some(v) = current
            && let Ok(artifact) = store.artifact(&n, &v.digest)
            && let Some(kind) = PluginKind::ALL.into_iter().find(|k| k.world() == v.kind)
            && let Ok(Some(d)) = describe_artifact(st.sluice.runtime(), &artifact, kind)
        {
            page.options_schema = serde_json::from_str(&d.options_schema).ok();
            page.description = Some(d.description);
        }
        Ok(page)
    })
    .await;
    let data = match data {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return error_page(&headers, store_status(&e), &e.to_string()),
        Err(e) => return internal(&headers, e),
    };
    let session = signed_in(&state, &headers);
    respond(&headers, &data, || {
        let v = &data.versions;
        let body = html! {
            h1 { "Plugin " (v.name) }
            @if let Some(d) = &data.description { p { (d) } }
            h2 { "Versions" }
            table {
                thead { tr { th { "Digest" } th { "Version" } th { "Kind" } th { "Contract" } th.num { "Size" } th { "Installed by" } th { "At (UTC)" } th { "State" } @if session { th { "" } } } }
                tbody { @for ver in &v.versions { tr {
                    td { (digest(&ver.digest)) }
                    td { (ver.version.as_deref().unwrap_or("—")) }
                    td { (ver.kind) } td { (ver.contract) }
                    td.num { (ver.size / 1024) " KiB" }
                    td { (ver.installed_by) } td { (time(&ver.installed_at)) }
                    td {
                        @if v.current.as_deref() == Some(ver.digest.as_str()) { (status("current")) " " }
                        @if let Some(why) = &ver.quarantine_reason { span.status.bad title=(why) { "quarantined" } br; span.muted { (why) } }
                    }
                    @if session { td {
                        @if v.current.as_deref() != Some(ver.digest.as_str()) {
                            form.inline method="post" action={ "/plugins/" (url_encode(&v.name)) "/promote" } {
                                (csrf_field(&state))
                                input type="hidden" name="digest" value=(ver.digest);
                                @if ver.quarantine_reason.is_some() { input type="hidden" name="force" value="1"; }
                                button.secondary type="submit" { "Promote" }
                            }
                        }
                    } }
                } } }
            }
            @if session && v.current.is_some() {
                form.actions method="post" action={ "/plugins/" (url_encode(&v.name)) "/rollback" } {
                    (csrf_field(&state))
                    input type="text" name="reason" size="40" placeholder="why (goes to the audit log)";
                    button.danger type="submit" { "Roll back to the previous version" }
                }
            }
            h2 { "Options" }
            (options(data.options_schema.as_ref()))
            h2 { "History" }
            @if v.history.is_empty() { p.muted { "No version made current yet." } }
            table {
                tbody { @for h in v.history.iter().rev() { tr {
                    td { (time(&h.at)) } td { strong { (h.action) } } td { (digest(&h.digest)) }
                    td { @if let Some(p) = &h.previous { "from " (digest(p)) } }
                    td { (h.actor) } td { (h.reason.as_deref().unwrap_or("")) }
                } } }
            }
            h2 { "Used by" }
            @if data.used_by.is_empty() { p.muted { "No run used it yet." } }
            table {
                tbody { @for u in &data.used_by { tr {
                    td { a href={ "/runs/" (u.run_id) } { "#" (u.run_id) } } td { (u.pipeline) } td { code { (u.role) } }
                    td { (digest(&u.digest)) } td { (time(&u.started_at)) }
                } } }
            }
        };
        page(&state, &headers, &format!("Plugin {}", v.name), body)
    })
}

/// A `describe` options schema as a table.
fn options(schema: Option<&Json>) -> Markup {
    let Some(schema) = schema else {
        return html! { p.muted { "The current version does not describe its options (contract 0.1.0, or nothing current)." } };
    };
    let props = schema
        .get("properties")
        .and_then(Json::as_object)
        .filter(|p| !p.is_empty());
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    html! {
        @match props {
            None => p.muted { "Takes no options." },
            Some(props) => table {
                thead { tr { th { "Option" } th { "Type" } th { "Required" } th { "Default" } th { "Description" } } }
                tbody { @for (name, prop) in props { tr {
                    td { code { (name) } }
                    td { (crate::plugin_cmd::type_of(schema, prop)) }
                    td { @if required.contains(&name.as_str()) { "yes" } @else { "no" } }
                    td { @if let Some(d) = prop.get("default") { code { (d.to_string()) } } }
                    td { (prop.get("description").and_then(Json::as_str).unwrap_or("")) }
                } } }
            },
        }
    }
}

/// `POST /plugins/{name}/promote` (`digest`, `force`).
pub async fn promote(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let Some(digest) = form.get("digest").map(str::to_owned) else {
        return error_page(
            &headers,
            StatusCode::BAD_REQUEST,
            "`digest`: name the version to promote.",
        );
    };
    let force = form.get("force").is_some();
    let st = state.clone();
    let n = name.clone();
    let done = tokio::task::spawn_blocking(move || {
        let store = PluginStore::new(st.sluice.data_dir());
        let gate = crate::plugin_store_cmd::case_gate(&st.sluice, &[], true);
        store.promote(
            st.sluice.runtime(),
            &n,
            &digest,
            &st.actor(),
            force,
            &[],
            &gate,
        )
    })
    .await;
    match done {
        Ok(Ok(_)) => Redirect::to(&format!("/plugins/{}", url_encode(&name))).into_response(),
        Ok(Err(e)) => error_page(&headers, store_status(&e), &e.to_string()),
        Err(e) => internal(&headers, e),
    }
}

/// `POST /plugins/{name}/rollback` (`reason`).
pub async fn rollback(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let reason = form
        .get("reason")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let st = state.clone();
    let n = name.clone();
    let done = tokio::task::spawn_blocking(move || {
        PluginStore::new(st.sluice.data_dir()).rollback(&n, &st.actor(), reason.as_deref(), None)
    })
    .await;
    match done {
        Ok(Ok(_)) => Redirect::to(&format!("/plugins/{}", url_encode(&name))).into_response(),
        Ok(Err(e)) => error_page(&headers, store_status(&e), &e.to_string()),
        Err(e) => internal(&headers, e),
    }
}
