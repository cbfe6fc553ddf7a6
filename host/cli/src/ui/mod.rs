//! `sluice ui`: the operator dashboard, server-rendered HTML over the run
//! log of a data directory. The same pages are served by `sluice daemon`.
//!
//! Every page also answers JSON (`Accept: application/json`). Reads are open
//! to whoever can reach the address (127.0.0.1 by default); actions (replay,
//! discard, review edits) need a session opened with the API token
//! (`auth.rs`). Every string from the run log — plugin messages, record
//! keys, payloads — is escaped by the templates (`maud`).

mod auth;
mod layout;
mod pages;
mod respond;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use clap::Args;
use sluice::Sluice;

pub use state::{DaemonControl, JobAction, UiState};

use crate::Exit;
use crate::http::token;

/// Default address of `sluice ui`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7421";

/// `sluice ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
}

/// The dashboard of `sluice ui`: its pages, and a page for unknown paths.
pub fn router(state: Arc<UiState>) -> Router {
    routes(state).fallback(respond::not_found)
}

/// The dashboard's pages without a fallback, for `sluice daemon` to merge
/// beside its API.
pub fn routes(state: Arc<UiState>) -> Router {
    Router::new()
        .route("/", get(pages::runs::index))
        .route("/runs", get(pages::runs::list))
        .route("/runs/live", get(pages::live::stream))
        .route("/runs/{id}", get(pages::run::show))
        .route("/runs/{id}/captures/{phase}", get(pages::run::captures))
        .route("/runs/{id}/record", get(pages::run::record))
        .route("/dlq", get(pages::dlq::list))
        .route("/dlq/replay", post(pages::dlq::replay))
        .route("/dlq/discard", post(pages::dlq::discard))
        .route("/review", get(pages::review::list))
        .route("/review/{id}", get(pages::review::show))
        .route("/review/{id}/edit", post(pages::review::edit))
        .route("/review/{id}/approve", post(pages::review::approve))
        .route("/review/{id}/discard", post(pages::review::discard))
        .route("/audit", get(pages::audit::list))
        .route("/jobs", get(pages::jobs::list))
        .route("/plugins", get(pages::plugins::list))
        .route("/plugins/{name}", get(pages::plugins::show))
        .route("/plugins/{name}/promote", post(pages::plugins::promote))
        .route("/plugins/{name}/rollback", post(pages::plugins::rollback))
        .route("/jobs/{name}/{action}", post(pages::jobs::act))
        .route("/pipelines/{name}/timeline", get(pages::timeline::show))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/static/style.css", get(layout::stylesheet))
        .route("/static/live.js", get(layout::live_script))
        .layer(axum::middleware::from_fn(crate::http::host_guard))
        .with_state(state)
}

/// Run `sluice ui` until interrupted.
pub fn ui(sluice: Sluice, args: &UiArgs) -> anyhow::Result<Exit> {
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %args.listen,
            "The dashboard listens beyond this machine: pages need no token to be read, so anyone who can reach it sees run history, record keys and payloads."
        );
    }
    let (token, from) = token::load_or_create(None, sluice.data_dir())?;
    let state = Arc::new(UiState::new(Arc::new(sluice), &token, None));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sluice-ui")
        .build()
        .context("cannot start the dashboard's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        outln!("Dashboard: http://{addr}/");
        outln!(
            "Actions (replay, discard, review) need a session: http://{addr}/login?token={token} (the token is in {from})"
        );
        axum::serve(listener, router(state))
            .await
            .context("the dashboard's server stopped")
    })?;
    Ok(Exit::Success)
}
