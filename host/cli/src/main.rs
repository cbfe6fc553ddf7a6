//! The `sluice` command line. Library errors are typed; here, at the edge,
//! they become `anyhow` chains printed for people, and exit codes.

#[macro_use]
mod output;

mod audit_cmd;
mod connection_cmd;
mod cursor_cmd;
mod daemon;
mod dlq;
mod errors_cmd;
mod exit;
mod http;
mod plugin_bench;
mod plugin_cases;
mod plugin_cmd;
mod plugin_doctor;
mod plugin_new;
mod plugin_store_cmd;
mod plugins_cmd;
mod render;
mod review_cmd;
mod run_cmd;
mod runs_cmd;
mod runs_export_cmd;
mod stats_cmd;
mod test_sync;
mod time;
mod ui;
mod webhooks_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use exit::Exit;

use sluice::{Sluice, SluiceOptions, text};

/// Sluice moves records from a source to a target through sandboxed
/// WebAssembly plugins, and records every outcome in a run log.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, max_term_width = 100)]
pub struct Cli {
    /// Data directory: run log, compile cache, installed plugins.
    #[arg(
        long,
        global = true,
        env = "SLUICE_DATA_DIR",
        default_value = ".sluice"
    )]
    data_dir: PathBuf,
    /// Directories searched for `<name>.wasm` plugins (`:`-separated).
    #[arg(long, global = true, env = "SLUICE_PLUGIN_PATH", value_delimiter = ':')]
    plugin_path: Vec<PathBuf>,
    /// Compile cache directory (default: `<data-dir>/cache`).
    #[arg(long, global = true, env = "SLUICE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Who is acting, recorded in the audit log (default: the OS user).
    #[arg(long, global = true, env = "SLUICE_ACTOR")]
    actor: Option<String>,
    /// More logging (-v info, -vv debug, -vvv trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline end to end.
    Run(run_cmd::RunArgs),
    /// Check a pipeline file and its plugins without reading any record.
    Validate(run_cmd::ValidateArgs),
    /// Run history, or one run in detail with `runs show RUN`.
    Runs(runs_cmd::RunsArgs),
    /// Errors of a run, grouped by cause or (`--rows`) one per record.
    Errors(errors_cmd::ErrorsArgs),
    /// Error metrics over the run log: runs by status, error rates, errors
    /// per day, retry success rate.
    Stats(stats_cmd::StatsArgs),
    /// Who changed what, and when: configuration and plugin changes seen
    /// at run start, cursor resets, DLQ discards, review edits.
    Audit(audit_cmd::AuditArgs),
    /// Plugins Sluice can load: built-in and installed.
    Plugins(plugins_cmd::PluginsArgs),
    /// Work on one plugin: `plugin test` runs it over sample input.
    Plugin(plugin_cmd::PluginArgs),
    /// The dead-letter queue: list, show, replay or discard failed records.
    Dlq(dlq::DlqArgs),
    /// Records parked for manual review: list, show, edit, approve, discard.
    Review(review_cmd::ReviewArgs),
    /// Run the pipeline of a failed, aborted or interrupted run again, with its current file.
    Rerun(run_cmd::RerunArgs),
    /// Sync cursors of incremental entities: `cursor show`, `cursor reset`.
    Cursor(cursor_cmd::CursorArgs),
    /// Connection profiles: `connection list`, `connection test NAME`.
    Connection(connection_cmd::ConnectionArgs),
    /// Run a project's jobs on their schedules with an HTTP API;
    /// `daemon reload` reloads the running daemon's project.
    Daemon(daemon::DaemonArgs),
    /// The operator dashboard in the browser: runs, errors, the DLQ, the
    /// review queue and the audit log of the data directory.
    Ui(ui::UiArgs),
    /// What the daemon sent to its webhooks: `webhooks deliveries`.
    Webhooks(webhooks_cmd::WebhooksArgs),
}

/// `--json` for read commands.
#[derive(Debug, Clone, Copy, Args)]
struct Format {
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Parse the command line, run the command, and return the exit code.
fn main() -> ExitCode {
    // The bounded compiler process (see `plugin::Compiler`): no data
    // directory, no logging, nothing but compiling stdin to stdout.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == sluice::plugin::COMPILE_SUBCOMMAND)
    {
        let args: Vec<String> = std::env::args_os()
            .skip(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return sluice::plugin::compiler_main(&args);
    }
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|mut m| Ok((Cli::from_arg_matches_mut(&mut m)?, m)));
    let (cli, data_dir_explicit) = match parsed {
        Ok((cli, m)) => (
            cli,
            m.value_source("data_dir") != Some(clap::parser::ValueSource::DefaultValue),
        ),
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    init_tracing(cli.verbose);
    match dispatch(cli, data_dir_explicit) {
        Ok(exit) => exit.into(),
        Err(e) => {
            // Errors can quote plugins and remote systems: escaped.
            eprintln!("error: {}", text::escape_keeping_newlines(&e.to_string()));
            let mut shown = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                // Typed errors often repeat their source's message.
                if !shown.contains(&text) {
                    eprintln!("  caused by: {}", text::escape_keeping_newlines(&text));
                    shown = text;
                }
            }
            Exit::for_error(&e).into()
        }
    }
}

/// `data_dir_explicit`: `--data-dir` or `SLUICE_DATA_DIR` was given (the
/// daemon otherwise takes its project's `data_dir`).
fn dispatch(cli: Cli, data_dir_explicit: bool) -> anyhow::Result<Exit> {
    let options = SluiceOptions {
        data_dir: cli.data_dir,
        cache_dir: cli.cache_dir,
        plugin_path: cli.plugin_path,
        actor: cli.actor,
    };
    let open = || Sluice::open(options.clone()).map_err(anyhow::Error::from);
    match cli.command {
        Command::Run(args) => run_cmd::run(&open()?, &args),
        Command::Validate(args) => run_cmd::validate(&open()?, &args),
        Command::Runs(args) => match runs_cmd::import_args(&args) {
            Some(import) => runs_export_cmd::import(import),
            None => runs_cmd::runs(&open()?, &args),
        },
        Command::Errors(args) => errors_cmd::errors(&open()?, &args),
        Command::Stats(args) => stats_cmd::stats(&open()?, &args),
        Command::Audit(args) => audit_cmd::audit(&open()?, &args),
        Command::Plugins(args) => plugins_cmd::plugins(&open()?, &args),
        Command::Plugin(args) => plugin_cmd::plugin(open, &args),
        Command::Dlq(args) => dlq::dlq(&open()?, &args),
        Command::Review(args) => review_cmd::review(&open()?, &args),
        Command::Rerun(args) => run_cmd::rerun(&open()?, &args),
        Command::Cursor(args) => cursor_cmd::cursor(&open()?, &args),
        Command::Connection(args) => connection_cmd::connection(&open()?, &args),
        Command::Daemon(args) => daemon::daemon(options, data_dir_explicit, &args),
        Command::Ui(args) => ui::ui(open()?, &args),
        Command::Webhooks(args) => webhooks_cmd::webhooks(&open()?, &args),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},cranelift=warn,wasmtime=warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
