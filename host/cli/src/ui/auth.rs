//! Sessions and the checks on actions.
//!
//! Reading pages needs nothing. An action needs either the API token as
//! `Authorization: Bearer …` (scripts), or a session: a cookie set by
//! `/login` (HttpOnly, SameSite=Strict, derived from the token) together
//! with the form's hidden `csrf` field, from a page of the same origin.
//! SameSite keeps other sites' pages from sending the cookie, the field
//! keeps them from forging a form, the `Origin` check covers old browsers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::layout::page;
use super::respond::{Form, error_page, html_response, query};
use super::state::UiState;
use crate::http::token;

/// The session cookie's name.
const COOKIE: &str = "sluice_session";

/// Whether the request carries the dashboard's session cookie.
pub fn signed_in(state: &UiState, headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && token::matches(&state.session, value))
}

/// `None` when the request may change something; else the refusal.
pub fn refusal(state: &UiState, headers: &HeaderMap, form: &Form) -> Option<Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(t) = bearer {
        return (!token::matches(&state.token, t.trim())).then(|| {
            error_page(
                headers,
                StatusCode::UNAUTHORIZED,
                "The token is not this data directory's API token.",
            )
        });
    }
    if !signed_in(state, headers) {
        return Some(error_page(
            headers,
            StatusCode::UNAUTHORIZED,
            "Sign in first (/login, with the API token): reading needs nothing, changing needs a session.",
        ));
    }
    let csrf_ok = form
        .get("csrf")
        .is_some_and(|v| token::matches(&state.csrf, v));
    if !csrf_ok || !same_origin(headers) {
        return Some(error_page(
            headers,
            StatusCode::FORBIDDEN,
            "This form did not come from a dashboard page (missing or wrong form token, or another origin). Reload the page and try again.",
        ));
    }
    None
}

/// Whether the `Origin` header, when a browser sends one, names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// A local path to go back to after signing in (never another site).
fn next_path(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.clone(),
        _ => "/runs".to_owned(),
    }
}

/// `GET /login`: the form, or (`?token=…`, the link `sluice ui` prints)
/// the sign-in itself.
pub async fn login_page(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query(raw);
    if let Some(t) = q.get("token") {
        return sign_in(&state, &headers, t, next_path(q.get("next")));
    }
    login_form(&state, &headers, &next_path(q.get("next")), None)
}

/// `POST /login`: check the token, open a session.
pub async fn login(State(state): State<Arc<UiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let next = next_path(form.get("next").map(str::to_owned).as_ref());
    sign_in(&state, &headers, form.get("token").unwrap_or(""), next)
}

fn sign_in(state: &UiState, headers: &HeaderMap, presented: &str, next: String) -> Response {
    if !token::matches(&state.token, presented.trim()) {
        return login_form(
            state,
            headers,
            &next,
            Some("That is not the API token of this data directory."),
        );
    }
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        state.session
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<Arc<UiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(denied) = refusal(&state, &headers, &Form::parse(&body)) {
        return denied;
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/runs")).into_response()
}

fn login_form(state: &UiState, headers: &HeaderMap, next: &str, problem: Option<&str>) -> Response {
    let status = if problem.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "Sign in" }
        @if let Some(p) = problem { p.problem { (p) } }
        p { "Pages can be read without signing in. Replaying, discarding and editing records need the API token: "
            code { "$SLUICE_API_TOKEN" } ", or the file " code { "daemon.token" } " in the data directory." }
        form method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label { "API token " input type="password" name="token" autocomplete="off" autofocus; }
            " " button type="submit" { "Sign in" }
        }
    };
    html_response(status, page(state, headers, "Sign in", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_local_pages() {
        for (next, to) in [
            (Some("/dlq?key=a"), "/dlq?key=a"),
            (Some("//evil.example/x"), "/runs"),
            (Some("https://evil.example/"), "/runs"),
            (Some("/\\evil.example"), "/runs"),
            (None, "/runs"),
        ] {
            assert_eq!(next_path(next.map(str::to_owned).as_ref()), to, "{next:?}");
        }
    }

    #[test]
    fn origin_must_be_the_host_when_sent() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:7421".parse().unwrap());
        assert!(
            same_origin(&h),
            "no Origin (not a browser, or a same-origin GET)"
        );
        h.insert(header::ORIGIN, "http://127.0.0.1:7421".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
