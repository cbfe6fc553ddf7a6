//! Jobs: schedules, last and next fire, recent runs; trigger, pause and
//! resume when the daemon serves the page. Without a daemon (`sluice ui`)
//! the page shows the schedule state the daemon last stored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Serialize;
use sluice::runlog::{DeliveryFilter, DeliveryRow, JobRunRow, JobScheduleRow, RunLogError};

use super::blocking;
use crate::ui::auth::{refusal, signed_in};
use crate::ui::layout::{csrf_field, page, status, time};
use crate::ui::respond::{Form, error_page, respond, url_encode};
use crate::ui::state::{JobAction, UiState};

/// Recent runs shown per job.
const RECENT: u32 = 5;

#[derive(Serialize)]
struct JobRow {
    job: String,
    /// `cron …`, `every 15m` or `manual` (known when a daemon serves the page).
    trigger: Option<String>,
    paused: bool,
    last_fire_at: Option<String>,
    next_fire_at: Option<String>,
    /// Runs in progress (known when a daemon serves the page).
    running: Option<usize>,
    recent: Vec<(JobRunRow, String)>,
    /// Its latest webhook deliveries, newest first.
    deliveries: Vec<DeliveryRow>,
}

#[derive(Serialize)]
struct ProjectJobs {
    project: String,
    jobs: Vec<JobRow>,
}

#[derive(Serialize)]
struct JobsPage {
    /// Whether a daemon serves the page (actions possible).
    live: bool,
    projects: Vec<ProjectJobs>,
}

/// Webhook deliveries shown per job.
const DELIVERIES: u32 = 5;

fn deliveries(
    log: &sluice::runlog::RunLog,
    project: &str,
    job: &str,
) -> Result<Vec<DeliveryRow>, RunLogError> {
    log.deliveries(&DeliveryFilter {
        project: Some(project.to_owned()),
        job: Some(job.to_owned()),
        limit: Some(DELIVERIES),
        ..DeliveryFilter::default()
    })
}

fn recent(
    log: &sluice::runlog::RunLog,
    project: &str,
    job: &str,
) -> Result<Vec<(JobRunRow, String)>, RunLogError> {
    log.job_runs(project, Some(job), RECENT)?
        .into_iter()
        .map(|r| {
            let status = log.run(r.run_id).map(|run| run.status).unwrap_or_default();
            Ok((r, status))
        })
        .collect()
}

/// `GET /jobs`.
pub async fn list(State(state): State<Arc<UiState>>, headers: HeaderMap) -> Response {
    let st = state.clone();
    let data = blocking(&headers, move || -> Result<JobsPage, RunLogError> {
        let log = st.log()?;
        if let Some(daemon) = &st.daemon {
            let project = daemon.project();
            let jobs = daemon
                .jobs()
                .into_iter()
                .map(|j| {
                    Ok(JobRow {
                        recent: recent(&log, &project, &j.name)?,
                        deliveries: deliveries(&log, &project, &j.name)?,
                        trigger: Some(j.trigger),
                        paused: j.paused,
                        last_fire_at: j.last_fire_at.map(|t| t.to_string()),
                        next_fire_at: j.next_fire_at.map(|t| t.to_string()),
                        running: Some(j.running),
                        job: j.name,
                    })
                })
                .collect::<Result<_, RunLogError>>()?;
            return Ok(JobsPage {
                live: true,
                projects: vec![ProjectJobs { project, jobs }],
            });
        }
        let mut projects = Vec::new();
        for project in log.job_projects()? {
            let jobs = log
                .job_schedules(&project)?
                .into_iter()
                .map(
                    |JobScheduleRow {
                         job,
                         last_fire_at,
                         next_fire_at,
                         paused,
                     }| {
                        Ok(JobRow {
                            recent: recent(&log, &project, &job)?,
                            deliveries: deliveries(&log, &project, &job)?,
                            trigger: None,
                            paused,
                            last_fire_at,
                            next_fire_at,
                            running: None,
                            job,
                        })
                    },
                )
                .collect::<Result<_, RunLogError>>()?;
            projects.push(ProjectJobs { project, jobs });
        }
        Ok(JobsPage {
            live: false,
            projects,
        })
    })
    .await;
    let data = match data {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let session = signed_in(&state, &headers);
    respond(&headers, &data, || {
        let body = html! {
            h1 { "Jobs" }
            @if !data.live {
                p.muted { "No daemon serves this page: this is the schedule state a daemon last stored. Start " code { "sluice daemon" } " to trigger, pause or resume jobs here." }
            }
            @if data.projects.is_empty() { p.muted { "No scheduled jobs in this data directory." } }
            @for p in &data.projects {
                h2 { "Project " code { (p.project) } }
                table {
                    thead { tr {
                        th { "Job" } th { "Schedule" } th { "State" } th { "Last fire (UTC)" } th { "Next fire (UTC)" } th { "Recent runs" } th { "Webhooks" }
                        @if data.live && session { th { "" } }
                    } }
                    tbody { @for j in &p.jobs { tr {
                        td { strong { (j.job) } }
                        td { (j.trigger.as_deref().unwrap_or("—")) }
                        td {
                            @if j.paused { (status("paused")) } @else { (status("scheduled")) }
                            @if let Some(n) = j.running { @if n > 0 { " " (status("running")) } }
                        }
                        td { (j.last_fire_at.as_deref().map(time).unwrap_or_default()) }
                        td { (j.next_fire_at.as_deref().map(time).unwrap_or_default()) }
                        td { @for (r, s) in &j.recent { a href={ "/runs/" (r.run_id) } { "#" (r.run_id) } " " (status(s)) " " } }
                        td { @for d in &j.deliveries {
                            span title={ (d.webhook) " → " (d.target) } { (d.event) } " " (status(&d.status))
                            @if let Some(code) = d.last_code { " " span.muted { "HTTP " (code) } }
                            @if let Some(e) = &d.last_error { " " span.muted { (e) } }
                            br;
                        } }
                        @if data.live && session { td {
                            @for (action, label) in [("trigger", "Run now"), (if j.paused { "resume" } else { "pause" }, if j.paused { "Resume" } else { "Pause" })] {
                                form.inline method="post" action={ "/jobs/" (url_encode(&j.job)) "/" (action) } {
                                    (csrf_field(&state))
                                    button.secondary type="submit" { (label) }
                                }
                                " "
                            }
                        } }
                    } } }
                }
            }
        };
        page(&state, &headers, "Jobs", body)
    })
}

/// `POST /jobs/{name}/{trigger|pause|resume}`.
pub async fn act(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(denied) = refusal(&state, &headers, &Form::parse(&body)) {
        return denied;
    }
    let action = match action.as_str() {
        "trigger" => JobAction::Trigger,
        "pause" => JobAction::Pause,
        "resume" => JobAction::Resume,
        other => {
            return error_page(
                &headers,
                StatusCode::NOT_FOUND,
                &format!("No job action `{other}`: trigger, pause or resume."),
            );
        }
    };
    let Some(daemon) = state.daemon.clone() else {
        return error_page(
            &headers,
            StatusCode::CONFLICT,
            "No daemon serves this dashboard: start `sluice daemon` to act on jobs.",
        );
    };
    match tokio::task::spawn_blocking(move || daemon.act(&name, action)).await {
        Ok(Ok(_)) => Redirect::to("/jobs").into_response(),
        Ok(Err(why)) => error_page(&headers, StatusCode::CONFLICT, &why),
        Err(e) => error_page(&headers, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
