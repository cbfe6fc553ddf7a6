//! The review queue: records parked for a person. Edit a record's fields
//! (each value is JSON, checked before anything is saved), approve it
//! (it is replayed from the stage it stopped at), or discard it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Serialize;
use serde_json::Value;
use sluice::model::{Disposition, DlqStatus};
use sluice::runlog::{
    DlqEntry, DlqFilter, PayloadEdit, PayloadVersion, RunLogError, pretty_payload,
};

use super::blocking;
use super::run::diff;
use crate::ui::auth::{refusal, signed_in};
use crate::ui::layout::{csrf_field, page, status, time};
use crate::ui::respond::{Form, error_page, respond};
use crate::ui::state::UiState;

/// The prefix of a field's input name in the edit form.
const FIELD: &str = "field.";

#[derive(Serialize)]
struct ReviewList {
    entries: Vec<DlqEntry>,
}

/// `GET /review`.
pub async fn list(State(state): State<Arc<UiState>>, headers: HeaderMap) -> Response {
    let st = state.clone();
    let data = blocking(&headers, move || {
        st.log()?
            .dlq_entries(&DlqFilter {
                disposition: Some(Disposition::Review),
                include_review: true,
                limit: Some(500),
                ..DlqFilter::default()
            })
            .map(|entries| ReviewList { entries })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Review queue" }
            @if data.entries.is_empty() {
                p.muted { "Nothing waits for review." }
            } @else {
                table {
                    thead { tr { th { "Entry" } th { "Pipeline" } th { "Entity" } th { "Record" } th { "Stage" } th { "Why it is here" } th { "Since (UTC)" } } }
                    tbody { @for e in &data.entries { tr {
                        td { a href={ "/review/" (e.id) } { (e.id) } }
                        td { (e.pipeline) } td { (e.entity) } td { code { (e.record_key) } } td { (e.stage.as_str()) }
                        td { strong { (e.category.as_str()) " · " (e.code) } br; (e.message) }
                        td { (time(&e.created_at)) }
                    } } }
                }
            }
        };
        page(&state, &headers, "Review queue", body)
    })
}

#[derive(Serialize)]
struct ReviewPage {
    entry: DlqEntry,
    versions: Vec<PayloadVersion>,
}

/// `GET /review/{id}`.
pub async fn show(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let st = state.clone();
    let data = blocking(
        &headers,
        move || -> Result<Option<ReviewPage>, RunLogError> {
            let log = st.log()?;
            let entry = match log.dlq_entry(id) {
                Ok(e) => e,
                Err(RunLogError::NoSuchDlqEntry(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            Ok(Some(ReviewPage {
                versions: log.payload_versions(id)?,
                entry,
            }))
        },
    )
    .await;
    let data = match data {
        Ok(Some(d)) => d,
        Ok(None) => {
            return error_page(
                &headers,
                StatusCode::NOT_FOUND,
                &format!("No DLQ entry {id}."),
            );
        }
        Err(r) => return *r,
    };
    let session = signed_in(&state, &headers);
    respond(&headers, &data, || {
        let e = &data.entry;
        let fields: Vec<(String, String)> = e
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Map<String, Value>>(p).ok())
            .map(|m| m.into_iter().map(|(k, v)| (k, v.to_string())).collect())
            .unwrap_or_default();
        let open_review = e.status == DlqStatus::Open && e.disposition == Disposition::Review;
        let body = html! {
            h1 { "Entry " (e.id) " — " code { (e.record_key) } " " (status(e.status.as_str())) }
            p { strong { (e.category.as_str()) " · " (e.code) } @if let Some(f) = &e.field { " · field " code { (f) } } ": " (e.message) }
            p.muted { (e.pipeline) " / " (e.entity) ", stopped at " (e.stage.as_str()) ", run " a href={ "/runs/" (e.last_run_id) } { "#" (e.last_run_id) } }
            @if !open_review {
                p.muted { "This entry is not open for review (" (e.disposition.as_str()) ", " (e.status.as_str()) "): it can only be read." }
                pre { (e.payload.as_deref().map(pretty_payload).unwrap_or_default()) }
            } @else if !session {
                pre { (e.payload.as_deref().map(pretty_payload).unwrap_or_default()) }
                p.muted { a href={ "/login?next=/review/" (e.id) } { "Sign in" } " to edit, approve or discard it." }
            } @else {
                h2 { "Fields" }
                p.muted { "Each value is JSON: quote text (\"Lyon\"), write numbers bare (42), null to empty a field." }
                form method="post" action={ "/review/" (e.id) "/edit" } {
                    (csrf_field(&state))
                    input type="hidden" name="version" value=(e.payload_version);
                    table {
                        thead { tr { th { "Field" } th { "Value (JSON)" } } }
                        tbody {
                            @for (name, value) in &fields { tr {
                                td { code { (name) } }
                                td { input type="text" name={ (FIELD) (name) } value=(value) size="60"; }
                            } }
                            tr {
                                td { input type="text" name="new_field" placeholder="new field" size="16"; }
                                td { input type="text" name="new_value" placeholder="its JSON value" size="60"; }
                            }
                        }
                    }
                    div.actions {
                        label { "Note " input type="text" name="note" size="40" placeholder="why (goes to the audit log)"; }
                        button type="submit" { "Save a new version" }
                    }
                }
                div.actions {
                    form.inline method="post" action={ "/review/" (e.id) "/approve" } {
                        (csrf_field(&state))
                        button type="submit" { "Approve: replay from " (e.stage.as_str()) }
                    }
                    form.inline method="post" action={ "/review/" (e.id) "/discard" } {
                        (csrf_field(&state))
                        input type="text" name="reason" size="30" placeholder="reason for discarding";
                        " " button.danger type="submit" { "Discard" }
                    }
                }
            }
            @if data.versions.len() > 1 {
                h2 { "Versions" }
                @for pair in data.versions.windows(2) {
                    h2 { "Version " (pair[1].version) " by " (pair[1].actor) " " span.muted { (time(&pair[1].created_at)) }
                        @if let Some(n) = &pair[1].note { " — " (n) } }
                    (diff(&sluice::runlog::unified_diff(
                        &pair[0].payload.as_deref().map(pretty_payload).unwrap_or_default(),
                        &pair[1].payload.as_deref().map(pretty_payload).unwrap_or_default(),
                        &format!("version {}", pair[0].version),
                        &format!("version {}", pair[1].version),
                    )))
                }
            }
        };
        page(&state, &headers, &format!("Review entry {id}"), body)
    })
}

/// The field changes a submitted form makes to `payload`, each value read
/// as JSON; the first value that is not JSON is an error naming its field.
fn edits(form: &Form, payload: Option<&str>) -> Result<Vec<(String, Value)>, String> {
    let current: serde_json::Map<String, Value> = payload
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let read = |name: &str, text: &str| {
        serde_json::from_str::<Value>(text.trim()).map_err(|e| {
            format!("Field `{name}`: `{text}` is not a JSON value ({e}). Quote text: \"{text}\".")
        })
    };
    let mut changes = Vec::new();
    for (input, text) in form.pairs() {
        let Some(name) = input.strip_prefix(FIELD) else {
            continue;
        };
        let value = read(name, text)?;
        if current.get(name) != Some(&value) {
            changes.push((name.to_owned(), value));
        }
    }
    let new_field = form.get("new_field").map(str::trim).unwrap_or("");
    if !new_field.is_empty() {
        let text = form.get("new_value").unwrap_or("");
        changes.push((new_field.to_owned(), read(new_field, text)?));
    }
    Ok(changes)
}

/// `POST /review/{id}/edit`.
pub async fn edit(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let note = form
        .get("note")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let version: Option<i64> = form.get("version").and_then(|v| v.parse().ok());
    let st = state.clone();
    let outcome = blocking(&headers, move || -> Result<Result<(), (StatusCode, String)>, RunLogError> {
        let mut log = st.log()?;
        let entry = match log.dlq_entry(id) {
            Ok(e) => e,
            Err(RunLogError::NoSuchDlqEntry(_)) => {
                return Ok(Err((StatusCode::NOT_FOUND, format!("No DLQ entry {id}."))));
            }
            Err(e) => return Err(e),
        };
        if version.is_some_and(|v| v != entry.payload_version) {
            return Ok(Err((
                StatusCode::CONFLICT,
                format!(
                    "Entry {id} changed while you edited it (now version {}): reload the page and make your change again.",
                    entry.payload_version
                ),
            )));
        }
        let changes = match edits(&form, entry.payload.as_deref()) {
            Ok(c) if c.is_empty() => return Ok(Err((StatusCode::BAD_REQUEST, "Nothing changed.".to_owned()))),
            Ok(c) => c,
            Err(problem) => return Ok(Err((StatusCode::BAD_REQUEST, problem))),
        };
        match log.edit_review_payload(id, &PayloadEdit::Set(changes), &st.actor(), note.as_deref()) {
            Ok(_) => Ok(Ok(())),
            Err(sluice::runlog::ReviewError::RunLog(e)) => Err(e),
            Err(e) => Ok(Err((StatusCode::CONFLICT, e.to_string()))),
        }
    })
    .await;
    match outcome {
        Ok(Ok(())) => Redirect::to(&format!("/review/{id}")).into_response(),
        Ok(Err((code, problem))) => error_page(&headers, code, &problem),
        Err(r) => *r,
    }
}

/// `POST /review/{id}/approve`: replay the entry (audited as approved).
pub async fn approve(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Some(denied) = refusal(&state, &headers, &Form::parse(&body)) {
        return denied;
    }
    let st = state.clone();
    let outcome = blocking(
        &headers,
        move || -> Result<Result<Option<i64>, String>, RunLogError> {
            let mut log = st.log()?;
            if let Err(e) = log.review_entry(id) {
                return match e {
                    sluice::runlog::ReviewError::RunLog(e) => Err(e),
                    e => Ok(Err(e.to_string())),
                };
            }
            let filter = DlqFilter {
                ids: vec![id],
                disposition: Some(Disposition::Review),
                include_review: true,
                ..DlqFilter::default()
            };
            let outcomes = match st.sluice.replay(&filter, false) {
                Ok(o) => o,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let mut run = None;
            for o in &outcomes {
                run = o.run.as_ref().map(|r| r.run_id);
                if let Err(e) = log.record_review_approvals(&o.entries, &st.actor(), run) {
                    return Ok(Err(e.to_string()));
                }
            }
            Ok(Ok(run))
        },
    )
    .await;
    match outcome {
        Ok(Ok(Some(run))) => Redirect::to(&format!("/runs/{run}")).into_response(),
        Ok(Ok(None)) => Redirect::to(&format!("/review/{id}")).into_response(),
        Ok(Err(problem)) => error_page(&headers, StatusCode::CONFLICT, &problem),
        Err(r) => *r,
    }
}

/// `POST /review/{id}/discard` (`reason`).
pub async fn discard(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if let Some(denied) = refusal(&state, &headers, &form) {
        return denied;
    }
    let Some(reason) = form
        .get("reason")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
    else {
        return error_page(
            &headers,
            StatusCode::BAD_REQUEST,
            "Discarding needs a reason (it goes to the audit log).",
        );
    };
    let st = state.clone();
    let outcome = blocking(
        &headers,
        move || -> Result<Result<(), String>, RunLogError> {
            match st
                .log()?
                .discard_review_entries(&[id], &reason, &st.actor())
            {
                Ok(_) => Ok(Ok(())),
                Err(sluice::runlog::ReviewError::RunLog(e)) => Err(e),
                Err(e) => Ok(Err(e.to_string())),
            }
        },
    )
    .await;
    match outcome {
        Ok(Ok(())) => Redirect::to("/review").into_response(),
        Ok(Err(problem)) => error_page(&headers, StatusCode::CONFLICT, &problem),
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_json_and_only_what_changed() {
        let payload = r#"{"email":"ana@example","age":41}"#;
        let form = Form::parse(
            b"field.email=%22ana%40example.com%22&field.age=41&new_field=city&new_value=%22Lyon%22",
        );
        assert_eq!(
            edits(&form, Some(payload)).unwrap(),
            vec![
                ("email".to_owned(), Value::from("ana@example.com")),
                ("city".to_owned(), Value::from("Lyon")),
            ]
        );
        let bad = Form::parse(b"field.email=ana%40example.com");
        let e = edits(&bad, Some(payload)).unwrap_err();
        assert!(
            e.starts_with("Field `email`: `ana@example.com` is not a JSON value"),
            "{e}"
        );
    }
}
