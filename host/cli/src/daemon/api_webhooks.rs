//! `GET /v1/webhooks/deliveries[/{id}]`: what the daemon sent to its
//! webhooks, with every attempt.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use sluice::runlog::DeliveryFilter;

use super::api::{MAX_LIMIT, error, json, log_error, query};
use super::service::Shared;
use crate::webhooks_cmd::{DeliveryView, delivery_views};

/// The routes.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/webhooks/deliveries", get(deliveries))
        .route("/v1/webhooks/deliveries/{id}", get(delivery))
}

async fn deliveries(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw);
    let limit = match q.get("limit").map(|l| l.parse::<u32>()) {
        None => 100,
        Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`limit` must be a number from 1 to {MAX_LIMIT}"),
            );
        }
    };
    if let Some(s) = q.get("status")
        && !["pending", "delivered", "failed", "abandoned"].contains(&s.as_str())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "`status` is one of pending, delivered, failed, abandoned",
        );
    }
    let filter = DeliveryFilter {
        project: Some(shared.project_key.clone()),
        job: q.get("job").cloned(),
        status: q.get("status").cloned(),
        limit: Some(limit),
    };
    let state = shared.lock();
    match delivery_views(state.log(), &filter) {
        Ok(views) => json(StatusCode::OK, json!({ "deliveries": views })),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn delivery(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`{id}` is not a delivery id"),
        );
    };
    let state = shared.lock();
    let found = match state.log().delivery(id) {
        Ok(d) => d.filter(|d| d.project == shared.project_key),
        Err(e) => return log_error(e),
    };
    let Some(delivery) = found else {
        return error(StatusCode::NOT_FOUND, format!("no webhook delivery {id}"));
    };
    let attempts = match state.log().delivery_attempts(id) {
        Ok(a) => a,
        Err(e) => return log_error(e),
    };
    let payload: serde_json::Value =
        serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null);
    json(
        StatusCode::OK,
        json!({
            "delivery": DeliveryView { delivery, attempts_made: attempts },
            "payload": payload,
        }),
    )
}
