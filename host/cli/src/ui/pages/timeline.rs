//! A pipeline's timeline: its runs, plugin version changes and
//! configuration changes together, newest first.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use serde::Serialize;
use sluice::runlog::{AuditFilter, RunFilter, RunLogError};

use super::blocking;
use super::run::diff;
use crate::ui::layout::{count, duration, page, status, time};
use crate::ui::respond::respond;
use crate::ui::state::UiState;

/// Most events shown.
const EVENTS: u64 = 300;

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Event {
    /// A run started.
    Run {
        at: String,
        run: sluice::runlog::RunRow,
    },
    /// A change the audit log recorded (configuration, plugin, cursor…).
    Change {
        at: String,
        entry: sluice::runlog::AuditRow,
    },
}

impl Event {
    fn at(&self) -> &str {
        match self {
            Event::Run { at, .. } | Event::Change { at, .. } => at,
        }
    }
}

#[derive(Serialize)]
struct TimelinePage {
    pipeline: String,
    events: Vec<Event>,
}

/// `GET /pipelines/{name}/timeline`.
pub async fn show(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path(pipeline): Path<String>,
) -> Response {
    let st = state.clone();
    let name = pipeline.clone();
    let data = blocking(&headers, move || -> Result<TimelinePage, RunLogError> {
        let log = st.log()?;
        let mut events: Vec<Event> = log
            .runs_matching(&RunFilter {
                pipeline: Some(name.clone()),
                limit: EVENTS,
                ..RunFilter::default()
            })?
            .into_iter()
            .map(|run| Event::Run {
                at: run.started_at.clone(),
                run,
            })
            .collect();
        events.extend(
            log.audit_entries(&AuditFilter {
                pipeline: Some(name.clone()),
                limit: Some(EVENTS),
                ..AuditFilter::default()
            })?
            .into_iter()
            .map(|entry| Event::Change {
                at: entry.at.clone(),
                entry,
            }),
        );
        events.sort_by(|a, b| b.at().cmp(a.at()));
        events.truncate(EVENTS as usize);
        Ok(TimelinePage {
            pipeline: name,
            events,
        })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Timeline of " (data.pipeline) }
            p.muted { "Runs, plugin version changes and configuration changes, newest first." }
            @if data.events.is_empty() { p.muted { "Nothing recorded for this pipeline." } }
            table {
                thead { tr { th { "When (UTC)" } th { "What" } th { "" } } }
                tbody { @for e in &data.events { tr {
                    td { (time(e.at())) }
                    @match e {
                        Event::Run { run, .. } => {
                            td { a href={ "/runs/" (run.id) } { "Run #" (run.id) } " " (status(&run.status)) }
                            td.muted { (duration(run.duration_ms)) " · " (count(run.loaded)) " loaded, " (count(run.failed)) " failed" }
                        }
                        Event::Change { entry, .. } => {
                            td { strong { (entry.action) } @if let Some(s) = &entry.subject { " " code { (s) } } " by " (entry.actor) }
                            td { @if let Some(d) = &entry.diff { (diff(d)) } @else if let (Some(b), Some(a)) = (&entry.before, &entry.after) { code { (b) } " → " code { (a) } } }
                        }
                    }
                } } }
            }
        };
        page(
            &state,
            &headers,
            &format!("Timeline of {}", data.pipeline),
            body,
        )
    })
}
