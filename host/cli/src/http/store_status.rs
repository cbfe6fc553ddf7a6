//! The HTTP status of a plugin store error, for the API and the dashboard.

use axum::http::StatusCode;
use sluice::runlog::RunLogError;
use sluice::store::StoreError;

/// 404 for an unknown name or version, 400 for a malformed reference, 409
/// for a refusal (checks, quarantine, a lost race), 500 otherwise.
pub fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::UnknownName { .. } | StoreError::UnknownDigest { .. } => StatusCode::NOT_FOUND,
        StoreError::AmbiguousDigest { .. }
        | StoreError::BadReference(_)
        | StoreError::BadName(_) => StatusCode::BAD_REQUEST,
        StoreError::Refused(_)
        | StoreError::Invalid { .. }
        | StoreError::RunLog(RunLogError::Conflict(_)) => StatusCode::CONFLICT,
        StoreError::Io { .. } | StoreError::RunLog(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
