//! The OAuth token endpoint: client credentials and refresh tokens.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;

use super::State;
use super::auth::AccessToken;
use super::responses::json_response;
use crate::util::{base64_decode, parse_form};

impl State {
    pub(super) fn token(&mut self, headers: &HeaderMap, body: &[u8]) -> Response {
        let form = parse_form(&String::from_utf8_lossy(body));
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| match v.get(..6) {
                Some(scheme) if scheme.eq_ignore_ascii_case("basic ") => base64_decode(&v[6..]),
                _ => None,
            })
            .and_then(|raw| {
                let text = String::from_utf8(raw).ok()?;
                let (id, secret) = text.split_once(':')?;
                Some((id.to_owned(), secret.to_owned()))
            });
        let client_id = field("client_id").or_else(|| basic.as_ref().map(|b| b.0.clone()));
        let client_secret = field("client_secret").or_else(|| basic.as_ref().map(|b| b.1.clone()));
        if client_id.as_deref() != Some(self.config.client_id.as_str()) {
            return self.oauth_error("BAD_CLIENT_ID", "missing or unknown client id");
        }
        if client_secret.as_deref() != Some(self.config.client_secret.as_str()) {
            return self.oauth_error(
                "BAD_CLIENT_ID",
                "client secret does not match the client id",
            );
        }
        match field("grant_type").as_deref() {
            Some("client_credentials") => {
                let refresh = format!("sim-rt-{}", self.token_seq + 1);
                self.refresh_tokens.insert(refresh.clone());
                self.issue_token(refresh)
            }
            Some("refresh_token") => match field("refresh_token") {
                Some(rt) if self.refresh_tokens.contains(&rt) => self.issue_token(rt),
                _ => self.oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token"),
            },
            Some(other) => {
                self.oauth_error("BAD_GRANT_TYPE", format!("unsupported grant_type: {other}"))
            }
            None => self.oauth_error("BAD_GRANT_TYPE", "missing grant_type"),
        }
    }

    pub(super) fn oauth_error(&mut self, status: &str, message: impl Into<String>) -> Response {
        let body = json!({
            "status": status,
            "message": message.into(),
            "correlationId": self.correlation_id(),
        });
        json_response(400, &body)
    }

    pub(super) fn issue_token(&mut self, refresh_token: String) -> Response {
        self.token_seq += 1;
        let access = format!("sim-at-{}", self.token_seq);
        let ttl = self.config.token_ttl_secs;
        let expires_at = Instant::now().checked_add(Duration::from_secs(ttl));
        self.tokens.insert(
            access.clone(),
            AccessToken {
                seq: self.token_seq,
                expires_at,
            },
        );
        json_response(
            200,
            &json!({
                "token_type": "bearer",
                "access_token": access,
                "refresh_token": refresh_token,
                "expires_in": ttl,
            }),
        )
    }
}
