//! The HTTP API (JSON), documented in docs/API.md. Reads are open to
//! anyone who can reach the address; changes need the token
//! (`Authorization: Bearer …`). Requests must name the daemon by an IP
//! address or `localhost` in their `Host` header, so a web page cannot
//! read the API through a domain name rebound to 127.0.0.1.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use sluice::daemon::Action;
use sluice::runlog::{ErrorFilter, RunLogError};

use super::service::{self, Shared};
use crate::http::token;

/// Most runs one list returns.
pub(super) const MAX_LIMIT: u32 = 1000;

/// The API's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ready", get(ready))
        .route("/v1/jobs", get(jobs))
        .route("/v1/jobs/{name}", get(job))
        .route("/v1/jobs/{name}/trigger", post(trigger))
        .route("/v1/jobs/{name}/pause", post(pause))
        .route("/v1/jobs/{name}/resume", post(resume))
        .route("/v1/runs", get(runs))
        .route("/v1/runs/{id}", get(run))
        .route("/v1/runs/{id}/errors", get(run_errors))
        .route("/v1/events", get(events))
        .route("/v1/reload", post(reload))
        .merge(super::api_webhooks::routes())
        .merge(super::api_dlq::routes())
        .merge(super::api_plugins::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::http::host_guard))
        .with_state(shared)
}

pub(super) fn json(status: StatusCode, value: impl Serialize) -> Response {
    match serde_json::to_vec(&value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {e}"),
        ),
    }
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({ "error": message.into() }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn log_error(e: RunLogError) -> Response {
    match e {
        RunLogError::NoSuchRun(_) => error(StatusCode::NOT_FOUND, e.to_string()),
        e => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The refusal of a change without the right token, if it has not.
pub(super) fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if token::matches(&shared.token, t.trim()) => None,
        Some(_) => Some(error(
            StatusCode::UNAUTHORIZED,
            "the API token is not the daemon's",
        )),
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "this request changes the daemon: send its API token as `Authorization: Bearer <token>`",
        )),
    }
}

pub(super) use crate::http::query;

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    json(
        StatusCode::OK,
        json!({ "status": "ok", "pid": std::process::id(), "started_at": shared.started_at }),
    )
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    match state.stopping {
        None => json(
            StatusCode::OK,
            json!({ "ready": true, "jobs": state.project.jobs.len(), "runs_in_progress": state.runs.len() }),
        ),
        Some(level) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "ready": false, "stopping": format!("{level:?}").to_lowercase(), "runs_in_progress": state.runs.len() }),
        ),
    }
}

/// Runs in progress of `job` (all when `None`).
pub(super) fn active(state: &service::State, job: Option<&str>) -> Vec<serde_json::Value> {
    let mut runs: Vec<_> = state
        .runs
        .iter()
        .filter(|(_, r)| job.is_none_or(|j| r.fire.job == j))
        .map(|(ticket, r)| {
            json!({
                "ticket": ticket,
                "job": r.fire.job,
                "reason": r.fire.reason.as_text(),
                "scheduled_for": r.fire.scheduled_for,
                "started_at": r.started_at,
                "progress": r.progress.snapshot(),
                "stopping": r.stop.level() != sluice::model::StopLevel::None,
            })
        })
        .collect();
    runs.sort_by_key(|r| r["ticket"].as_u64());
    runs
}

async fn jobs(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let jobs: Vec<_> = state
        .scheduler
        .jobs()
        .into_iter()
        .map(|j| {
            let runs = active(&state, Some(&j.name));
            json!({ "job": j, "active": runs })
        })
        .collect();
    json(
        StatusCode::OK,
        json!({ "project": shared.project_key, "jobs": jobs }),
    )
}

async fn job(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let state = shared.lock();
    let Some(view) = state.scheduler.job(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no job `{name}` in the project"),
        );
    };
    let recent = match state.log().job_runs(&shared.project_key, Some(&name), 20) {
        Ok(r) => r,
        Err(e) => return log_error(e),
    };
    let pipeline = state
        .project
        .job(&name)
        .map(|j| j.pipeline.path.display().to_string());
    json(
        StatusCode::OK,
        json!({ "job": view, "pipeline": pipeline, "active": active(&state, Some(&name)), "recent_runs": recent }),
    )
}

async fn trigger(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let actions = {
        let mut state = shared.lock();
        if state.stopping.is_some() {
            return error(StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping");
        }
        let now = shared.clock.now();
        match state.scheduler.trigger(&name, now) {
            Ok(a) => {
                state.persist(&shared.project_key);
                a
            }
            Err(e) => return error(StatusCode::NOT_FOUND, e.to_string()),
        }
    };
    let started: Vec<u64> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { ticket, fire } if fire.job == name => Some(*ticket),
            _ => None,
        })
        .collect();
    let skipped = actions.iter().find_map(|a| match a {
        Action::Skip { fire, why }
            if fire.job == name && fire.reason == sluice::daemon::FireReason::Manual =>
        {
            Some(why.clone())
        }
        _ => None,
    });
    let cancelling = actions
        .iter()
        .filter(|a| matches!(a, Action::Cancel { .. }))
        .count();
    service::apply(&shared, actions);
    if let Some(why) = skipped {
        return json(
            StatusCode::CONFLICT,
            json!({ "job": name, "started": false, "error": format!("not started: {why}") }),
        );
    }
    json(
        StatusCode::ACCEPTED,
        json!({
            "job": name,
            "started": !started.is_empty(),
            "tickets": started,
            "queued": started.is_empty(),
            "cancelling": cancelling,
        }),
    )
}

async fn pause(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(&shared, &name, &headers, true)
}

async fn resume(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_paused(&shared, &name, &headers, false)
}

/// Pause or resume `name`, store it, and answer with the job.
fn set_paused(shared: &Shared, name: &str, headers: &HeaderMap, paused: bool) -> Response {
    if let Some(r) = refusal(shared, headers) {
        return r;
    }
    let mut state = shared.lock();
    let changed = if paused {
        state.scheduler.pause(name)
    } else {
        state.scheduler.resume(name, shared.clock.now())
    };
    if let Err(e) = changed {
        return error(StatusCode::NOT_FOUND, e.to_string());
    }
    state.persist(&shared.project_key);
    if paused {
        tracing::info!(job = %name, "Job paused.");
    } else {
        shared.wake.notify_one();
        tracing::info!(job = %name, "Job resumed.");
    }
    json(StatusCode::OK, json!({ "job": state.scheduler.job(name) }))
}

async fn runs(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw);
    let limit = match q.get("limit").map(|l| l.parse::<u32>()) {
        None => 50,
        Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`limit` must be a number from 1 to {MAX_LIMIT}"),
            );
        }
    };
    let job = q.get("job").map(String::as_str);
    let status = q.get("status").map(String::as_str);
    if let Some(st) = status
        && st.parse::<sluice::model::RunStatus>().is_err()
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "`{st}` is not a run status (running, succeeded, partial, failed, aborted, interrupted)"
            ),
        );
    }
    let state = shared.lock();
    if let Some(j) = job
        && state.scheduler.job(j).is_none()
    {
        return error(
            StatusCode::NOT_FOUND,
            format!("no job `{j}` in the project"),
        );
    }
    // With a status, look further back and keep the newest `limit` that match.
    let scan = if status.is_some() { MAX_LIMIT } else { limit };
    let started = match state.log().job_runs(&shared.project_key, job, scan) {
        Ok(r) => r,
        Err(e) => return log_error(e),
    };
    let mut runs = Vec::new();
    for s in started {
        match state.log().run(s.run_id) {
            Ok(run) if status.is_some_and(|st| run.status != st) => {}
            Ok(run) => runs.push(json!({ "job": s.job, "reason": s.reason, "scheduled_for": s.scheduled_for, "run": run })),
            // Pruned meanwhile.
            Err(RunLogError::NoSuchRun(_)) => {}
            Err(e) => return log_error(e),
        }
    }
    runs.truncate(limit as usize);
    json(
        StatusCode::OK,
        json!({ "active": active(&state, job), "runs": runs }),
    )
}

fn bad_run_id(id: &str) -> Response {
    error(StatusCode::BAD_REQUEST, format!("`{id}` is not a run id"))
}

async fn run(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return bad_run_id(&id);
    };
    let state = shared.lock();
    let run = match state.log().run(id) {
        Ok(r) => r,
        Err(e) => return log_error(e),
    };
    let stages = match state.log().stage_counts(id) {
        Ok(s) => s,
        Err(e) => return log_error(e),
    };
    json(StatusCode::OK, json!({ "run": run, "stages": stages }))
}

async fn run_errors(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return bad_run_id(&id);
    };
    let state = shared.lock();
    if let Err(e) = state.log().run(id) {
        return log_error(e);
    }
    match state.log().error_groups(id, &ErrorFilter::default()) {
        Ok(groups) => json(StatusCode::OK, json!({ "run_id": id, "errors": groups })),
        Err(e) => log_error(e),
    }
}

async fn events(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    json(
        StatusCode::OK,
        json!({ "events": state.events, "last_reload": state.last_reload }),
    )
}

async fn reload(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let report = service::reload(&shared).await;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    json(status, report)
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; see docs/API.md (GET /v1/jobs, /v1/runs, …)",
    )
}
