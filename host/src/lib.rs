//! Sluice: a data-sync engine whose transformers, normalizers and
//! connectors are sandboxed WebAssembly components.
//!
//! Records move `ingest → normalize → transform → execute → finalize`
//! ([`stages`]); every plugin call runs in a [`plugin::Sandbox`] under fuel,
//! memory, time and output limits; every outcome lands in the SQLite
//! [`runlog`]. The `sluice` binary (crate `sluice-cli`, `host/cli/`) is a
//! thin layer over [`Sluice`].

pub mod audit;
pub mod bindings;
pub mod config;
pub mod connection;
pub mod daemon;
pub mod errors;
pub mod model;
pub mod notify;
pub mod plugin;
pub mod private_file;
pub mod project;
pub mod record;
pub mod replay;
pub mod run;
pub mod runlog;
pub mod schedule;
pub mod stages;
pub mod store;
pub mod strategy;
pub mod text;

use std::path::{Path, PathBuf};

pub use config::{LoadedPipeline, load_pipeline};
pub use run::{RunError, RunSummary};

use plugin::{Registry, Runtime};
use runlog::{RunLog, RunLogError};

/// Where Sluice keeps its state, and which plugins it can find.
#[derive(Debug, Clone)]
pub struct SluiceOptions {
    /// The data directory: run log, compile cache, installed plugins.
    pub data_dir: PathBuf,
    /// Where compiled components are cached (default `<data_dir>/cache`).
    pub cache_dir: Option<PathBuf>,
    /// Extra directories searched for `<name>.wasm` plugins, before
    /// `<data_dir>/plugins`.
    pub plugin_path: Vec<PathBuf>,
    /// Who is acting, for the audit log (default: the OS user).
    pub actor: Option<String>,
}

impl SluiceOptions {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SluiceOptions {
            data_dir: data_dir.into(),
            cache_dir: None,
            plugin_path: Vec::new(),
            actor: None,
        }
    }
}

/// Sluice could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The WebAssembly engine could not be created.
    #[error("cannot start the WebAssembly runtime: {0}")]
    Runtime(String),
    /// The data directory could not be created.
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An open Sluice installation: the runtime, the plugin registry and the run log.
#[derive(Debug)]
pub struct Sluice {
    data_dir: PathBuf,
    actor: String,
    runtime: Runtime,
    registry: Registry,
    /// Runs wait for a busy pipeline or target instead of being refused.
    wait: std::sync::atomic::AtomicBool,
}

impl Sluice {
    /// Open (creating if needed) the data directory and start the runtime.
    pub fn open(options: SluiceOptions) -> Result<Self, SetupError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|source| SetupError::DataDir {
            path: options.data_dir.clone(),
            source,
        })?;
        let cache_dir = options
            .cache_dir
            .unwrap_or_else(|| options.data_dir.join("cache"));
        let mut runtime =
            Runtime::new(Some(cache_dir)).map_err(|e| SetupError::Runtime(format!("{e:#}")))?;
        runtime.protect(
            &options.data_dir,
            "Sluice's data directory (run log, compile cache, installed plugins)",
        );
        let mut search = options.plugin_path;
        search.push(options.data_dir.join("plugins"));
        let actor = options.actor.unwrap_or_else(os_user);
        let registry = store::registry_with_store(search, &options.data_dir);
        Ok(Sluice {
            actor,
            data_dir: options.data_dir,
            runtime,
            registry,
            wait: Default::default(),
        })
    }

    /// Make runs (and replays and reruns) started from here wait while
    /// another run holds their pipeline or one of their targets, instead
    /// of failing with [`run::lock::LockError::Busy`].
    pub fn set_wait(&self, wait: bool) {
        self.wait.store(wait, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether runs wait for a busy pipeline or target.
    pub fn waits(&self) -> bool {
        self.wait.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Who is acting: `--actor`, or the OS user.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The run log database file.
    pub fn run_log_path(&self) -> PathBuf {
        self.data_dir.join("runs.db")
    }

    /// Open the run log.
    pub fn run_log(&self) -> Result<RunLog, RunLogError> {
        RunLog::open(&self.run_log_path())
    }

    /// The WebAssembly runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The WebAssembly runtime, to adjust how it compiles.
    pub fn runtime_mut(&mut self) -> &mut Runtime {
        &mut self.runtime
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Run a pipeline to completion.
    pub fn run(&self, pipeline: &LoadedPipeline) -> Result<RunSummary, RunError> {
        run::run_pipeline(self, pipeline, Default::default())
    }

    /// Run a pipeline to completion, updating `progress` as batches finish.
    pub fn run_with_progress(
        &self,
        pipeline: &LoadedPipeline,
        progress: std::sync::Arc<run::Progress>,
    ) -> Result<RunSummary, RunError> {
        run::run_pipeline(self, pipeline, progress)
    }

    /// Run a pipeline that `stop` can end early: a drain stops reading and
    /// lets what was read through to the target, a halt stops every stage
    /// at its next batch boundary and holds the rest back in the
    /// dead-letter queue. A run stopped either way ends `interrupted`.
    pub fn run_stoppable(
        &self,
        pipeline: &LoadedPipeline,
        progress: std::sync::Arc<run::Progress>,
        stop: std::sync::Arc<model::StopSignal>,
    ) -> Result<RunSummary, RunError> {
        let mut request = run::RunRequest::source();
        request.stop = Some(stop);
        run::run_with(self, pipeline, request, progress)
    }
}

/// The OS user running this process, for the audit log.
fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}
