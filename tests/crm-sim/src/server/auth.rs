//! Authentication and scopes of `/crm/...` requests: private-app keys,
//! bearer tokens (expired on demand) and the scope a route needs.

use std::time::Instant;

use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;

use super::responses::json_response;
use super::route::Access;
use super::{READ_SCOPE, State, WRITE_SCOPE};

#[derive(Debug)]
pub(super) struct AccessToken {
    pub(super) seq: u64,
    /// `None`: never expires (TTL too large to represent).
    pub(super) expires_at: Option<Instant>,
}

impl State {
    pub(super) fn auth_error(&mut self, category: &str, message: impl Into<String>) -> Response {
        self.error(401, category, message)
    }

    pub(super) fn credentials_not_found(&mut self) -> Response {
        self.auth_error(
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             (Authorization: Bearer <access token>) and private app keys (X-Api-Key).",
        )
    }

    /// The 401 for a request whose credentials are refused, if they are.
    pub(super) fn reject_credentials(&mut self, headers: &HeaderMap) -> Option<Response> {
        if self.faults.reject_all_auth {
            return Some(self.auth_error(
                "INVALID_AUTHENTICATION",
                "The access token or API key used to make this call has been revoked. \
                 Reconnect the app to grant access again.",
            ));
        }
        if let Some(key) = headers.get("x-api-key") {
            return match &self.config.api_key {
                Some(k) if key.as_bytes() == k.as_bytes() => None,
                _ => Some(self.auth_error(
                    "INVALID_AUTHENTICATION",
                    "The API key provided is invalid. View or manage your API key in your \
                     account settings.",
                )),
            };
        }
        let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Some(self.credentials_not_found());
        };
        let token = match auth.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => auth[7..].trim(),
            _ => return Some(self.credentials_not_found()),
        };
        if self.config.api_key.as_deref() == Some(token) {
            return None;
        }
        let now = Instant::now();
        let expired_for = match self.tokens.get(token) {
            None => return Some(self.credentials_not_found()),
            Some(t) if t.seq <= self.expired_through => Some(
                self.expired_at
                    .map_or(0, |at| now.duration_since(at).as_secs()),
            ),
            Some(t) => match t.expires_at {
                Some(at) if now >= at => Some(now.duration_since(at).as_secs()),
                _ => None,
            },
        };
        expired_for.map(|secs| {
            self.auth_error(
                "EXPIRED_AUTHENTICATION",
                format!("The OAuth token used to make this call expired {secs} second(s) ago."),
            )
        })
    }

    /// The 403 for a request whose credential lacks a needed scope, if it does.
    pub(super) fn reject_scopes(&mut self, access: Access) -> Option<Response> {
        let required = match access {
            Access::Read => READ_SCOPE,
            Access::Write => WRITE_SCOPE,
        };
        let mut missing: Vec<String> = Vec::new();
        if !self.config.granted_scopes.iter().any(|s| s == required) {
            missing.push(required.to_owned());
        }
        if access == Access::Write
            && let Some(scope) = &self.faults.missing_scope
            && !missing.contains(scope)
        {
            missing.push(scope.clone());
        }
        if missing.is_empty() {
            return None;
        }
        let body = json!({
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. \
                        Ask an admin to reinstall the app with the scopes listed in errors[].context.requiredGranularScopes.",
            "correlationId": self.correlation_id(),
            "errors": [{
                "message": "One or more of the following scopes are required.",
                "context": { "requiredGranularScopes": missing },
            }],
            "category": "MISSING_SCOPES",
        });
        Some(json_response(403, &body))
    }
}
