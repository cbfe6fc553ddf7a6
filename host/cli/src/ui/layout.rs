//! The page around every page, the stylesheet, and small pieces pages share.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::auth::signed_in;
use super::state::UiState;

/// The stylesheet (served from `/static/style.css`: the page's CSP allows
/// no inline style).
const STYLE: &str = include_str!("style.css");

/// The script of the runs page's live progress (served from
/// `/static/live.js`; the CSP allows scripts from the dashboard only).
const LIVE: &str = include_str!("live.js");

/// `GET /static/live.js`.
pub async fn live_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        LIVE,
    )
        .into_response()
}

/// `GET /static/style.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

/// A whole page: navigation, who is signed in, `body`.
pub fn page(state: &UiState, headers: &HeaderMap, title: &str, body: Markup) -> Markup {
    page_with(state, headers, title, body, None)
}

/// [`page`] that reloads itself every `refresh` seconds (runs in progress).
pub fn page_with(
    state: &UiState,
    headers: &HeaderMap,
    title: &str,
    body: Markup,
    refresh: Option<u32>,
) -> Markup {
    let session = signed_in(state, headers);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Without scripts, pages with runs in progress reload.
                @if let Some(s) = refresh { noscript { meta http-equiv="refresh" content=(s); } }
                title { (title) " — Sluice" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.top {
                    a.brand href="/runs" { "Sluice" }
                    nav {
                        a href="/runs" { "Runs" }
                        a href="/dlq" { "Dead-letter queue" }
                        a href="/review" { "Review" }
                        a href="/jobs" { "Jobs" }
                        a href="/plugins" { "Plugins" }
                        a href="/audit" { "Audit" }
                    }
                    span.muted title="data directory" {
                        (state.sluice.data_dir().display())
                        @if state.daemon.is_some() { " · daemon" }
                    }
                    span.session {
                        @if session {
                            form.inline method="post" action="/logout" {
                                (csrf_field(state))
                                "Signed in " button.link type="submit" { "Sign out" }
                            }
                        } @else {
                            a href="/login" { "Sign in" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden field every form that changes something carries.
pub fn csrf_field(state: &UiState) -> Markup {
    html! { input type="hidden" name="csrf" value=(state.csrf); }
}

/// A run or entry status as a coloured label.
pub fn status(text: &str) -> Markup {
    let class = match text {
        "succeeded" | "resolved" | "loaded" | "delivered" => "ok",
        "partial" | "running" | "review" | "held-back" | "pending" => "warn",
        "failed" | "aborted" | "interrupted" | "open" | "abandoned" => "bad",
        _ => "plain",
    };
    html! { span class={ "status " (class) } { (text) } }
}

/// The first 12 hex digits of a digest (`sha256:` dropped), the whole in a
/// tooltip.
pub fn digest(d: &str) -> Markup {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    let short: String = hex.chars().take(12).collect();
    html! { code title=(d) { (short) } }
}

/// A duration in milliseconds, for people.
pub fn duration(ms: Option<i64>) -> String {
    crate::render::duration_ms(ms)
}

/// A count with thousands separators.
pub fn count(n: i64) -> String {
    crate::render::thousands(n.max(0) as u64)
}

/// A time from the run log (`2026-11-03T10:15:02.123Z`) shortened to the
/// second, UTC.
pub fn time(at: &str) -> String {
    at.get(..19).unwrap_or(at).replace('T', " ")
}
