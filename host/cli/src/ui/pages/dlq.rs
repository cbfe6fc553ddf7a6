//! The dead-letter queue: search by record key, filter, select entries,
//! replay them after a dry run, or discard them with a reason.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Serialize;
use sluice::model::DlqStatus;
use sluice::replay::ReplayOutcome;
use sluice::runlog::{DlqEntry, DlqFilter, StatusFilter, pretty_payload, unified_diff};

use super::blocking;
use super::run::diff;
use crate::ui::auth::{refusal, signed_in};
use crate::ui::layout::{csrf_field, digest, page, status, time};
use crate::ui::respond::{Form, error_page, param, query, respond, url_encode};
use crate::ui::state::UiState;

/// Most entries one page lists.
const PAGE: u64 = 200;

/// The filters of the list, as typed in the form.
const FILTERS: &[(&str, &str)] = &[
    ("key", "Record key contains"),
    ("pipeline", "Pipeline"),
    ("entity", "Entity"),
    ("stage", "Stage"),
    ("category", "Category"),
    ("code", "Code"),
    ("plugin", "Plugin"),
    ("run", "Last failed in run"),
    ("older_than_days", "Older than (days)"),
];

fn filter_from(q: &std::collections::HashMap<String, String>) -> Result<DlqFilter, String> {
    let text = |name: &str| param(q, name).map(str::to_owned);
    let mut filter = DlqFilter {
        key_contains: text("key"),
        pipeline: text("pipeline"),
        entity: text("entity"),
        stage: text("stage"),
        category: text("category"),
        code: text("code"),
        plugin: text("plugin"),
        limit: Some(PAGE),
        ..DlqFilter::default()
    };
    if let Some(run) = param(q, "run") {
        filter.run_id = Some(
            run.trim_start_matches('#')
                .parse()
                .map_err(|_| format!("`run`: `{run}` is not a run number"))?,
        );
    }
    if let Some(days) = param(q, "older_than_days") {
        let days: u32 = days
            .parse()
            .map_err(|_| format!("`older_than_days`: `{days}` is not a whole number of days"))?;
        let before = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .map_err(|e| format!("`older_than_days`: {e}"))?;
        filter.created_before = Some(before.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    }
    match param(q, "status") {
        None | Some("open") => {}
        Some("any") => filter.status = StatusFilter::Any,
        Some(s) => {
            filter.status =
                StatusFilter::Only(s.parse::<DlqStatus>().map_err(|_| {
                    format!("`status`: `{s}` is not open, resolved, discarded or any")
                })?)
        }
    }
    Ok(filter)
}

#[derive(Serialize)]
struct DlqPage {
    entries: Vec<DlqEntry>,
    /// Whether the list was cut at the page size.
    more: bool,
}

/// `GET /dlq?key=&pipeline=&entity=&stage=&category=&code=&plugin=&run=&older_than_days=&status=`.
pub async fn list(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(raw);
    let filter = match filter_from(&q) {
        Ok(f) => f,
        Err(problem) => return error_page(&headers, StatusCode::BAD_REQUEST, &problem),
    };
    let st = state.clone();
    let data = blocking(&headers, move || {
        let mut entries = st.log()?.dlq_entries(&DlqFilter {
            limit: Some(PAGE + 1),
            ..filter
        })?;
        let more = entries.len() as u64 > PAGE;
        entries.truncate(PAGE as usize);
        Ok::<_, sluice::runlog::RunLogError>(DlqPage { entries, more })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let session = signed_in(&state, &headers);
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Dead-letter queue" }
            form.filters method="get" action="/dlq" {
                @for (name, label) in FILTERS {
                    label { (label) input type="text" name=(name) value=(param(&q, name).unwrap_or("")) size="14"; }
                }
                label { "Status" select name="status" {
                    @for s in ["open", "resolved", "discarded", "any"] {
                        option value=(s) selected[param(&q, "status").unwrap_or("open") == s] { (s) }
                    }
                } }
                button type="submit" { "Search" }
            }
            @if data.entries.is_empty() {
                p.muted { "No entries match." }
            } @else {
                form method="post" action="/dlq/replay" {
                    (csrf_field(&state))
                    table {
                        thead { tr {
                            th { "" } th { "Entry" } th { "Pipeline" } th { "Entity" } th { "Record" } th { "Stage" }
                            th { "Error" } th { "Plugin" } th { "Failures" } th { "Status" } th { "In queue since (UTC)" }
                        } }
                        tbody { @for e in &data.entries { tr {
                            td { @if e.status == DlqStatus::Open { input type="checkbox" name="id" value=(e.id) aria-label={ "select entry " (e.id) }; } }
                            td { (e.id) }
                            td { (e.pipeline) }
                            td { (e.entity) }
                            td { code { (e.record_key) } }
                            td { (e.stage.as_str()) }
                            td { strong { (e.category.as_str()) " · " (e.code) } @if let Some(f) = &e.field { " · " code { (f) } } br; (e.message) }
                            td { @if let Some(p) = &e.plugin { (p) } @if let Some(d) = &e.plugin_digest { br; (digest(d)) } }
                            td.num { (e.failures) }
                            td { (status(e.status.as_str())) " " span.muted { (e.disposition.as_str()) } }
                            td { (time(&e.created_at)) br; a href={ "/runs/" (e.last_run_id) } { "run #" (e.last_run_id) } }
                        } } }
                    }
                    @if data.more { p.muted { "Showing the first " (PAGE) " entries: narrow the search to see the rest." } }
                    @if session {
                        div.actions {
                            button type="submit" name="mode" value="dry-run" { "Dry run: what would a replay do?" }
                        }
                        div.actions {
                            label { "Reason " input type="text" name="reason" size="40" placeholder="why these records will never be loaded"; }
                            button.danger type="submit" formaction="/dlq/discard" { "Discard selected" }
                        }
                    } @else {
                        p.muted { a href={ "/login?next=" (url_encode("/dlq")) } { "Sign in" } " to replay or discard entries." }
                    }
                }
            }
        };
        page(&state, &headers, "Dead-letter queue", body)
    })
}

/// The entry ids a form selected.
fn selected(form: &Form) -> Result<Vec<i64>, String> {
    let ids = form
        .all("id")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| format!("`{v}` is not an entry id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err("Select at least one entry.".to_owned());
    }
    Ok(ids)
}

#[derive(Serialize)]
struct ReplayPage {
    dry_run: bool,
    outcomes: Vec<ReplayOutcome>,
}

/// `POST /dlq/replay` (`id`…, `mode=dry-run|replay`): a dry run says what a
/// replay would do and offers to do it; a replay runs it.
pub async fn replay(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let ids = match selected(&form) {
        Ok(ids) => ids,
        Err(problem) => return error_page(&headers, StatusCode::BAD_REQUEST, &problem),
    };
    let dry_run = form.get("mode") != Some("replay");
    let st = state.clone();
    let selected_ids = ids.clone();
    let outcomes = blocking(&headers, move || {
        st.sluice.replay(
            &DlqFilter {
                ids: selected_ids,
                ..DlqFilter::default()
            },
            dry_run,
        )
    })
    .await;
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let data = ReplayPage { dry_run, outcomes };
    let title = if dry_run {
        "Replay — dry run"
    } else {
        "Replay"
    };
    respond(&headers, &data, || {
        let found: usize = data.outcomes.iter().map(|o| o.entries.len()).sum();
        let body = html! {
            h1 { (title) }
            @if found < ids.len() {
                p.problem { (ids.len() - found) " of the selected entries are no longer open (resolved or discarded since): they are left out." }
            }
            @for o in &data.outcomes { (outcome(o, dry_run)) }
            @if dry_run && found > 0 {
                form method="post" action="/dlq/replay" {
                    (csrf_field(&state))
                    input type="hidden" name="mode" value="replay";
                    @for o in &data.outcomes { @for e in &o.entries { input type="hidden" name="id" value=(e.id); } }
                    div.actions {
                        button type="submit" { "Replay these " (found) " entries" }
                        a href="/dlq" { "Cancel" }
                    }
                }
            }
            @if !dry_run { p { a href="/dlq" { "Back to the queue" } } }
        };
        page(&state, &headers, title, body)
    })
}

fn outcome(o: &ReplayOutcome, dry_run: bool) -> Markup {
    html! {
        h2 { "Pipeline " (o.pipeline) " — " (o.entries.len()) " entries" }
        p.muted { "Uses the pipeline file as it is now: " code { (o.pipeline_path.display()) } }
        @if o.config_changed > 0 {
            p.problem { (o.config_changed) " entries failed under another configuration than the current one." }
        }
        @if o.unknown_entity > 0 {
            p.problem { (o.unknown_entity) " entries are of entities the pipeline no longer has: they stay in the queue." }
        }
        table {
            thead { tr { th { "Entity" } th { "Re-enters at" } th.num { "Entries" } } }
            tbody { @for (entity, stage, n) in &o.by_stage { tr { td { (entity) } td { (stage) } td.num { (n) } } } }
        }
        @if let Some(run) = &o.run {
            p.notice {
                "Replay run " a href={ "/runs/" (run.run_id) } { "#" (run.run_id) } ": "
                (o.resolved) " resolved, " (o.still_failing) " failing again."
            }
        }
        @if dry_run {
            @for e in &o.entries {
                h2 { "Entry " (e.id) " — " code { (e.record_key) } " re-enters at " (e.stage.as_str()) }
                (entry_payload(e))
            }
        }
    }
}

/// What will be replayed for an entry: its payload, and how it differs
/// from what the source produced.
fn entry_payload(e: &DlqEntry) -> Markup {
    match (&e.source_payload, &e.payload) {
        (Some(source), Some(payload)) if source != payload => diff(&unified_diff(
            &pretty_payload(source),
            &pretty_payload(payload),
            "from the source",
            &format!("at {}", e.stage.as_str()),
        )),
        (_, Some(payload)) => html! { pre { (pretty_payload(payload)) } },
        (_, None) => {
            html! { p.problem { "No payload was kept for this entry: a replay cannot send it again." } }
        }
    }
}

#[derive(Serialize)]
struct DiscardPage {
    discarded: Vec<DlqEntry>,
}

/// `POST /dlq/discard` (`id`…, `reason`).
pub async fn discard(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let ids = match selected(&form) {
        Ok(ids) => ids,
        Err(problem) => return error_page(&headers, StatusCode::BAD_REQUEST, &problem),
    };
    let Some(reason) = form
        .get("reason")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
    else {
        return error_page(
            &headers,
            StatusCode::BAD_REQUEST,
            "Say why these records will never be loaded: discarding needs a reason (it goes to the audit log).",
        );
    };
    let st = state.clone();
    let discarded = blocking(&headers, move || {
        st.log()?.discard_dlq_entries(&ids, &reason, &st.actor())
    })
    .await;
    let data = match discarded {
        Ok(d) => DiscardPage { discarded: d },
        Err(r) => return *r,
    };
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Discarded" }
            p.notice { (data.discarded.len()) " entries discarded; the audit log records who and why." }
            ul { @for e in &data.discarded { li { (e.id) " — " code { (e.record_key) } } } }
            p { a href="/dlq" { "Back to the queue" } }
        };
        page(&state, &headers, "Discarded", body)
    })
}
