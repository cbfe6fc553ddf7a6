//! The audit log: who changed what, newest first.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use serde::Serialize;
use sluice::runlog::{AuditFilter, AuditRow, Since};

use super::blocking;
use super::run::diff;
use crate::ui::layout::{page, time};
use crate::ui::respond::{error_page, param, query, respond};
use crate::ui::state::UiState;

/// Most entries one page lists.
const PAGE: u64 = 200;

#[derive(Serialize)]
struct AuditPage {
    entries: Vec<AuditRow>,
    more: bool,
}

/// `GET /audit?pipeline=&action=&since=` (`since`: a date, a UTC time or
/// a duration such as `7d`).
pub async fn list(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(raw);
    let since = match param(&q, "since").map(str::parse::<Since>).transpose() {
        Ok(s) => s,
        Err(e) => return error_page(&headers, StatusCode::BAD_REQUEST, &format!("`since`: {e}")),
    };
    let filter = AuditFilter {
        pipeline: param(&q, "pipeline").map(str::to_owned),
        action: param(&q, "action").map(str::to_owned),
        since,
        limit: Some(PAGE + 1),
    };
    let st = state.clone();
    let data = blocking(&headers, move || {
        let mut entries = st.log()?.audit_entries(&filter)?;
        let more = entries.len() as u64 > PAGE;
        entries.truncate(PAGE as usize);
        Ok::<_, sluice::runlog::RunLogError>(AuditPage { entries, more })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Audit log" }
            form.filters method="get" action="/audit" {
                label { "Pipeline" input type="text" name="pipeline" value=(param(&q, "pipeline").unwrap_or("")); }
                label { "Action" input type="text" name="action" value=(param(&q, "action").unwrap_or("")) placeholder="config-changed"; }
                label { "Since" input type="text" name="since" value=(param(&q, "since").unwrap_or("")) placeholder="7d or 2026-11-01"; }
                button type="submit" { "Filter" }
            }
            @if data.entries.is_empty() { p.muted { "No entries match." } }
            @for a in &data.entries {
                div.group {
                    strong { (a.action) }
                    @if let Some(s) = &a.subject { " " code { (s) } }
                    " by " (a.actor) " " span.muted { (time(&a.at)) }
                    @if let Some(p) = &a.pipeline { " · " (p) }
                    @if let Some(r) = a.run_id { " · " a href={ "/runs/" (r) } { "run #" (r) } }
                    @if let Some(d) = &a.diff { (diff(d)) }
                    @else if a.before.is_some() || a.after.is_some() {
                        p { code { (a.before.as_deref().unwrap_or("—")) } " → " code { (a.after.as_deref().unwrap_or("—")) } }
                    }
                }
            }
            @if data.more { p.muted { "Showing the newest " (PAGE) " entries: narrow the filter to see older ones." } }
        };
        page(&state, &headers, "Audit log", body)
    })
}
