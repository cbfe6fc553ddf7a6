//! `sluice daemon`: run a project's jobs on their schedules and serve the
//! HTTP API; `sluice daemon reload`: ask the running daemon to reload its
//! project and print what changed.
//!
//! The scheduling rules live in the library (`sluice::daemon::Scheduler`);
//! this module is the process around them: the tokio runtime, the API
//! (`api.rs`), runs on blocking threads (`service.rs`), signals
//! (`signals.rs`) and the reload client
//! (`client.rs`).

mod api;
mod api_dlq;
mod api_plugins;
mod api_webhooks;
mod client;
mod dashboard_control;
mod rollback_watch;
mod service;
mod signals;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use sluice::SluiceOptions;
use sluice::project::{PROJECT_FILE, load_project};

use super::Exit;

/// Default address of the API.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";

/// The file in the data directory naming the running daemon's address.
pub const DAEMON_FILE: &str = "daemon.json";

/// `sluice daemon`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DaemonArgs {
    /// The project directory (holding `sluice.toml`) or file.
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Address of the HTTP API (default: the project's `[daemon] listen`,
    /// else 127.0.0.1:7420; port 0 picks a free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<DaemonCommand>,
}

#[derive(Debug, Subcommand)]
enum DaemonCommand {
    /// Ask the running daemon to reload its project; prints what changed,
    /// or why the file was refused (the daemon then keeps the old one).
    Reload(ReloadArgs),
}

/// `sluice daemon reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The project directory (holding `sluice.toml`) or file.
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Print the daemon's answer as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the data directory is: `--data-dir` / `SLUICE_DATA_DIR` when given,
/// else the project's `data_dir`.
fn data_dir(options: &SluiceOptions, explicit: bool, project_data_dir: &Path) -> PathBuf {
    if explicit {
        options.data_dir.clone()
    } else {
        project_data_dir.to_owned()
    }
}

/// The project file for `--project`.
fn project_file(project: &Path) -> PathBuf {
    if project.is_dir() {
        project.join(PROJECT_FILE)
    } else {
        project.to_owned()
    }
}

/// Run `sluice daemon` or `sluice daemon reload`.
pub fn daemon(
    options: SluiceOptions,
    data_dir_explicit: bool,
    args: &DaemonArgs,
) -> anyhow::Result<Exit> {
    if let Some(DaemonCommand::Reload(reload)) = &args.command {
        return client::reload(&options, data_dir_explicit, reload);
    }
    let file = project_file(&args.project);
    let project = load_project(&file)?;
    let mut options = options;
    options.data_dir = data_dir(&options, data_dir_explicit, &project.data_dir);
    let listen = match (args.listen, &project.listen) {
        (Some(l), _) => l,
        (None, Some(l)) => l.parse().context("[daemon] listen")?,
        (None, None) => DEFAULT_LISTEN.parse().expect("a valid default address"),
    };
    if !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "The API listens beyond this machine: reads need no token, so anyone who can reach {listen} sees run history and record keys. Put it behind a proxy that authenticates, or listen on 127.0.0.1."
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("sluice-daemon")
        .build()
        .context("cannot start the daemon's runtime")?;
    runtime.block_on(service::serve(options, file, project, listen))
}
