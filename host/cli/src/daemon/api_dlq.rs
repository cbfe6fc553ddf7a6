//! The dead-letter queue over the API: `GET /v1/dlq` (entries, filtered),
//! `GET /v1/dlq/{id}` (one, with its payloads) and `POST /v1/dlq/replay`
//! (selected entries re-enter their pipeline; `dry_run` says what would).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice::errors::Category;
use sluice::model::{Disposition, DlqStatus, Stage};
use sluice::runlog::{DlqEntry, DlqFilter, RunLog, RunLogError, Since, StatusFilter};

use super::api::{MAX_LIMIT, error, json, log_error, query, refusal};
use super::service::Shared;

/// The routes.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/dlq", get(list))
        .route("/v1/dlq/replay", post(replay))
        .route("/v1/dlq/{id}", get(entry))
}

/// Most bytes of a replay request's body.
const MAX_BODY: usize = 64 * 1024;

/// The filters both the list and a replay take.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Selector {
    /// Only entries of this pipeline.
    #[serde(default)]
    pipeline: Option<String>,
    /// Only entries of this job's pipeline.
    #[serde(default)]
    job: Option<String>,
    /// Only entries whose last failure was in this run (id or `last`).
    #[serde(default)]
    run: Option<String>,
    /// Only this entity.
    #[serde(default)]
    entity: Option<String>,
    /// Only entries that failed at this stage.
    #[serde(default)]
    stage: Option<String>,
    /// Only this error category.
    #[serde(default)]
    category: Option<String>,
    /// Only this error code.
    #[serde(default)]
    code: Option<String>,
    /// Only errors about this field.
    #[serde(default)]
    field: Option<String>,
    /// Only entries updated since (a date, an RFC 3339 time, or `7d`).
    #[serde(default)]
    since: Option<String>,
    /// `failed`, `held-back` or `review`.
    #[serde(default)]
    disposition: Option<String>,
}

/// `POST /v1/dlq/replay`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    /// Only these entries.
    #[serde(default)]
    ids: Vec<i64>,
    /// Say what would be replayed; replay nothing.
    #[serde(default)]
    dry_run: bool,
    /// Replay every open entry when no filter and no id is given.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    job: Option<String>,
    #[serde(default)]
    run: Option<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    disposition: Option<String>,
}

impl ReplayRequest {
    fn selector(&self) -> Selector {
        Selector {
            pipeline: self.pipeline.clone(),
            job: self.job.clone(),
            run: self.run.clone(),
            entity: self.entity.clone(),
            stage: self.stage.clone(),
            category: self.category.clone(),
            code: self.code.clone(),
            field: self.field.clone(),
            since: self.since.clone(),
            disposition: self.disposition.clone(),
        }
    }
}

impl Selector {
    fn is_empty(&self) -> bool {
        [
            &self.pipeline,
            &self.job,
            &self.run,
            &self.entity,
            &self.stage,
            &self.category,
            &self.code,
            &self.field,
            &self.since,
            &self.disposition,
        ]
        .iter()
        .all(|v| v.is_none())
    }

    /// The filter, with the job resolved to its pipeline and the run and
    /// `since` resolved in `log`; a 400 or 404 (and why) when a value is
    /// wrong.
    fn filter(&self, shared: &Shared, log: &RunLog) -> Result<DlqFilter, Refusal> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, m);
        let log_refusal = |e: RunLogError| match e {
            RunLogError::NoSuchRun(_) => (StatusCode::NOT_FOUND, e.to_string()),
            e => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let pipeline = match (&self.job, &self.pipeline) {
            (Some(_), Some(_)) => return Err(bad("give `job` or `pipeline`, not both".into())),
            (Some(j), None) => match shared.lock().project.job(j) {
                Some(job) => Some(job.pipeline.pipeline.name.clone()),
                None => {
                    return Err((
                        StatusCode::NOT_FOUND,
                        format!("no job `{j}` in the project"),
                    ));
                }
            },
            (None, p) => p.clone(),
        };
        let run_id = match &self.run {
            Some(r) => Some(log.resolve_run(r).map_err(log_refusal)?),
            None => None,
        };
        let since = match &self.since {
            Some(s) => {
                let parsed = s.parse::<Since>().map_err(|e| bad(e.to_string()))?;
                Some(log.resolve_since(&parsed).map_err(log_refusal)?)
            }
            None => None,
        };
        let stage = match &self.stage {
            Some(s) => Some(
                s.parse::<Stage>()
                    .map_err(|_| bad(format!("`{s}` is not a stage")))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let category = match &self.category {
            Some(c) => Some(
                c.parse::<Category>()
                    .map_err(|_| bad(format!("`{c}` is not an error category")))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let disposition = match &self.disposition {
            Some(d) => Some(d.parse::<Disposition>().map_err(|_| {
                bad(format!(
                    "`{d}` is not a disposition (failed, held-back, review)"
                ))
            })?),
            None => None,
        };
        Ok(DlqFilter {
            pipeline,
            run_id,
            entity: self.entity.clone(),
            stage,
            category,
            code: self.code.clone(),
            field: self.field.clone(),
            since,
            disposition,
            ..DlqFilter::default()
        })
    }
}

/// An answer refusing a request: its status and why.
type Refusal = (StatusCode, String);

/// An entry without its payloads (which `GET /v1/dlq/{id}` shows).
fn summary(e: &DlqEntry) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("payload");
        o.remove("source_payload");
    }
    v
}

async fn list(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let mut q: HashMap<String, String> = query(raw);
    let limit = match q.remove("limit").map(|l| l.parse::<u64>()) {
        None => 100,
        Some(Ok(l)) if (1..=u64::from(MAX_LIMIT)).contains(&l) => l,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`limit` must be a number from 1 to {MAX_LIMIT}"),
            );
        }
    };
    let status = match q.remove("status").as_deref() {
        None | Some("open") => StatusFilter::Only(DlqStatus::Open),
        Some("any") => StatusFilter::Any,
        Some(s) => match s.parse::<DlqStatus>() {
            Ok(st) => StatusFilter::Only(st),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "`status` is one of open, resolved, discarded, any",
                );
            }
        },
    };
    let selector: Selector = match serde_json::to_value(&q).and_then(serde_json::from_value) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{e}; filters: pipeline, job, run, entity, stage, category, code, field, since, disposition, status, limit"
                ),
            );
        }
    };
    let log = match shared.sluice.run_log() {
        Ok(l) => l,
        Err(e) => return log_error(e),
    };
    let mut filter = match selector.filter(&shared, &log) {
        Ok(f) => f,
        Err((code, why)) => return error(code, why),
    };
    filter.status = status;
    filter.include_review = true;
    // One more than asked, to say whether there are more.
    filter.limit = Some(limit + 1);
    match log.dlq_entries(&filter) {
        Ok(mut entries) => {
            let more = entries.len() as u64 > limit;
            entries.truncate(limit as usize);
            json(
                StatusCode::OK,
                json!({
                    "entries": entries.iter().map(summary).collect::<Vec<_>>(),
                    "more": more,
                }),
            )
        }
        Err(e) => log_error(e),
    }
}

async fn entry(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`{id}` is not a dead-letter entry id"),
        );
    };
    let log = match shared.sluice.run_log() {
        Ok(l) => l,
        Err(e) => return log_error(e),
    };
    match log.dlq_entry(id) {
        Ok(e) => json(StatusCode::OK, json!({ "entry": e })),
        Err(e @ RunLogError::NoSuchDlqEntry(_)) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => log_error(e),
    }
}

async fn replay(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    if body.len() > MAX_BODY {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_BODY} bytes"),
        );
    }
    let request: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not a replay request: {e}"),
                );
            }
        }
    };
    let selector = request.selector();
    if selector.is_empty() && request.ids.is_empty() && !request.all {
        return error(
            StatusCode::BAD_REQUEST,
            "name the entries to replay (`ids`, or filters such as `job`, `run`, `code`), or send `\"all\": true`",
        );
    }
    if selector.disposition.as_deref() == Some("review") {
        return error(
            StatusCode::BAD_REQUEST,
            "entries in review are replayed by approving them (sluice review approve ID)",
        );
    }
    if shared.lock().stopping.is_some() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping");
    }
    let log = match shared.sluice.run_log() {
        Ok(l) => l,
        Err(e) => return log_error(e),
    };
    let mut filter = match selector.filter(&shared, &log) {
        Ok(f) => f,
        Err((code, why)) => return error(code, why),
    };
    filter.ids = request.ids.clone();
    // Named entries that cannot be replayed are refused, each with why.
    let matched = match log.dlq_entries(&filter) {
        Ok(m) => m,
        Err(e) => return log_error(e),
    };
    let mut refused = Vec::new();
    for &id in &request.ids {
        if matched.iter().any(|e| e.id == id) {
            continue;
        }
        refused.push(match log.dlq_entry(id) {
            Err(_) => json!({ "id": id, "why": "does not exist" }),
            Ok(e) if e.status != DlqStatus::Open => {
                json!({ "id": id, "why": format!("is {}", e.status) })
            }
            Ok(e) if e.disposition == Disposition::Review => {
                json!({ "id": id, "why": "is in review" })
            }
            Ok(_) => json!({ "id": id, "why": "does not match the filters" }),
        });
    }
    if !refused.is_empty() {
        return json(
            StatusCode::CONFLICT,
            json!({ "error": "some named entries cannot be replayed; nothing was replayed", "refused": refused }),
        );
    }
    drop(log);
    let sluice = shared.sluice.clone();
    let dry_run = request.dry_run;
    // A replay is a run: on a blocking thread. It waits for a run of the
    // same pipeline in progress to end.
    let outcomes = tokio::task::spawn_blocking(move || sluice.replay(&filter, dry_run)).await;
    let outcomes = match outcomes {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the replay crashed: {e}"),
            );
        }
    };
    tracing::info!(
        pipelines = outcomes.len(),
        dry_run,
        "Dead-letter entries replayed over the API."
    );
    let pipelines: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "pipeline": o.pipeline,
                "pipeline_path": o.pipeline_path,
                "entries": o.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
                "by_stage": o.by_stage.iter().map(|(entity, stage, n)| json!({ "entity": entity, "stage": stage, "count": n })).collect::<Vec<_>>(),
                "config_changed": o.config_changed,
                "unknown_entity": o.unknown_entity,
                "run": o.run,
                "resolved": o.resolved,
                "still_failing": o.still_failing,
            })
        })
        .collect();
    json(
        StatusCode::OK,
        json!({ "dry_run": dry_run, "pipelines": pipelines }),
    )
}
