//! `GET /runs/live`: server-sent events, one a second, listing the runs in
//! progress. Under the daemon each carries its counts so far; under
//! `sluice ui` (another process runs them) the run log's running runs.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sluice::runlog::RunFilter;

use crate::ui::state::UiState;

/// Time between two events.
const EVERY: Duration = Duration::from_secs(1);

/// The runs in progress now.
async fn snapshot(state: &Arc<UiState>) -> Vec<Value> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(daemon) = &st.daemon {
            return daemon.active_runs();
        }
        let running = st.log().and_then(|log| {
            log.runs_matching(&RunFilter {
                status: Some("running".into()),
                limit: 100,
                ..RunFilter::default()
            })
        });
        match running {
            Ok(runs) => runs
                .into_iter()
                .map(|r| json!({ "run_id": r.id, "pipeline": r.pipeline, "started_at": r.started_at }))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the runs in progress.");
                Vec::new()
            }
        }
    })
    .await
    .unwrap_or_default()
}

/// `GET /runs/live`.
pub async fn stream(State(state): State<Arc<UiState>>) -> Response {
    let events = futures_util::stream::unfold((state, true), |(state, first)| async move {
        if !first {
            tokio::time::sleep(EVERY).await;
        }
        let runs = snapshot(&state).await;
        let event = Event::default().data(Value::from(runs).to_string());
        Some((Ok::<_, Infallible>(event), (state, false)))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
