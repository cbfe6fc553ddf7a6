//! Run history: filter by pipeline, status and dates; runs in progress
//! refresh the page.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Serialize;
use sluice::runlog::{RunFilter, RunRow};

use super::{blocking, date_bound};
use crate::ui::layout::{count, duration, page_with, status, time};
use crate::ui::respond::{error_page, param, query, respond, url_encode};
use crate::ui::state::UiState;

/// Most runs one page lists.
const MAX_LIMIT: u64 = 1000;
/// Statuses a run can have.
const STATUSES: &[&str] = &[
    "running",
    "succeeded",
    "partial",
    "failed",
    "aborted",
    "interrupted",
];

/// `GET /`.
pub async fn index() -> Response {
    Redirect::to("/runs").into_response()
}

#[derive(Serialize)]
struct RunsPage {
    pipelines: Vec<String>,
    runs: Vec<RunRow>,
}

/// `GET /runs?pipeline=&status=&since=&until=&limit=`.
pub async fn list(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(raw);
    let mut filter = RunFilter {
        pipeline: param(&q, "pipeline").map(str::to_owned),
        status: param(&q, "status").map(str::to_owned),
        limit: 100,
        ..RunFilter::default()
    };
    let checked = (|| {
        if let Some(s) = &filter.status
            && !STATUSES.contains(&s.as_str())
        {
            return Err(format!(
                "`status`: `{s}` is not a run status ({})",
                STATUSES.join(", ")
            ));
        }
        if let Some(v) = param(&q, "since") {
            filter.since = Some(date_bound("since", v, false)?);
        }
        if let Some(v) = param(&q, "until") {
            filter.until = Some(date_bound("until", v, true)?);
        }
        if let Some(v) = param(&q, "limit") {
            filter.limit = v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| format!("`limit`: `{v}` is not a number from 1 to {MAX_LIMIT}"))?;
        }
        Ok(())
    })();
    if let Err(problem) = checked {
        return error_page(&headers, StatusCode::BAD_REQUEST, &problem);
    }
    let st = state.clone();
    let data = match blocking(&headers, move || {
        let log = st.log()?;
        Ok::<_, sluice::runlog::RunLogError>(RunsPage {
            pipelines: log.pipeline_names()?,
            runs: log.runs_matching(&filter)?,
        })
    })
    .await
    {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let running = data.runs.iter().any(|r| r.status == "running");
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Runs" }
            section #live data-src="/runs/live" {}
            script src="/static/live.js" defer {}
            form.filters method="get" action="/runs" {
                label { "Pipeline" select name="pipeline" {
                    option value="" { "any" }
                    @for p in &data.pipelines {
                        option value=(p) selected[param(&q, "pipeline") == Some(p.as_str())] { (p) }
                    }
                } }
                label { "Status" select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES {
                        option value=(s) selected[param(&q, "status") == Some(*s)] { (s) }
                    }
                } }
                label { "Started from" input type="date" name="since" value=(param(&q, "since").unwrap_or("")); }
                label { "through" input type="date" name="until" value=(param(&q, "until").unwrap_or("")); }
                button type="submit" { "Filter" }
            }
            @if data.runs.is_empty() {
                p.muted { "No runs match." }
            } @else {
                table {
                    thead { tr {
                        th { "Run" } th { "Pipeline" } th { "Status" } th { "Started (UTC)" } th.num { "Duration" }
                        th.num { "Extracted" } th.num { "Loaded" } th.num { "Failed" } th.num { "Skipped" } th { "Strategy" }
                    } }
                    tbody {
                        @for r in &data.runs {
                            tr {
                                td { a href={ "/runs/" (r.id) } { "#" (r.id) } @if r.kind != "run" { " " span.muted { (r.kind) } } }
                                td { a href={ "/runs?pipeline=" (url_encode(&r.pipeline)) } { (r.pipeline) } }
                                td { (status(&r.status)) @if let Some(why) = &r.status_reason { br; span.muted { (why) } } }
                                td { (time(&r.started_at)) }
                                td.num { (duration(r.duration_ms)) }
                                td.num { (count(r.extracted)) }
                                td.num { (count(r.loaded)) }
                                td.num { @if r.failed > 0 { a href={ "/runs/" (r.id) "#errors" } { (count(r.failed)) } } @else { "0" } }
                                td.num { (count(r.skipped)) }
                                td { (r.strategy) }
                            }
                        }
                    }
                }

            }
        };
        page_with(&state, &headers, "Runs", body, running.then_some(5))
    })
}
