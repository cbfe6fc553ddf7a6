use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, OptLevel};

use super::cache::CompileCache;
use super::host_state::HostState;
use super::registry::Artifact;
use crate::bindings::current::{http, log};

/// How often the engine's epoch advances; the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a valid WebAssembly component.
    #[error("plugin `{plugin}` is not a valid WebAssembly component: {reason}")]
    Invalid {
        /// The plugin's name.
        plugin: String,
        /// What the compiler said.
        reason: String,
    },
    /// The component imports something the host does not provide or grant.
    #[error("plugin `{plugin}` needs an import the host does not grant: {reason}")]
    CapabilityDenied {
        /// The plugin's name.
        plugin: String,
        /// The import and why it was refused.
        reason: String,
    },
    /// The component does not implement the world it is used as.
    #[error(
        "plugin `{plugin}` does not implement the `{world}` world of sluice:plugin@0.1.0: {reason}"
    )]
    WrongWorld {
        /// The plugin's name.
        plugin: String,
        /// The world the pipeline uses it as.
        world: &'static str,
        /// What is missing or mismatched.
        reason: String,
    },
}

/// The process-wide WebAssembly runtime: one engine, the linkers that define
/// what plugins may import, and the compile cache.
pub struct Runtime {
    engine: Engine,
    compute_linker: Linker<HostState>,
    connector_linker: Linker<HostState>,
    cache: Option<CompileCache>,
    compiled: Mutex<HashMap<Arc<str>, Component>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime caching compiled components in `cache_dir` (none: no disk cache).
    pub fn new(cache_dir: Option<PathBuf>) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)?;
        spawn_epoch_ticker(&engine);

        // Field transformers and normalizers compute only: WASI with nothing
        // granted, plus `log`.
        let mut compute_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut compute_linker)?;
        log::add_to_linker::<_, HasSelf<_>>(&mut compute_linker, |s| s)?;
        // Connectors may also reach the host's `http`.
        let mut connector_linker = compute_linker.clone();
        http::add_to_linker::<_, HasSelf<_>>(&mut connector_linker, |s| s)?;

        let cache = cache_dir.map(|dir| CompileCache::new(dir, &engine));
        Ok(Runtime {
            engine,
            compute_linker,
            connector_linker,
            cache,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker for a world: connectors get `http`, the rest do not.
    pub(super) fn linker(&self, connector: bool) -> &Linker<HostState> {
        if connector {
            &self.connector_linker
        } else {
            &self.compute_linker
        }
    }

    /// Compile `artifact`, or load it from memory or the disk cache.
    pub fn component(&self, artifact: &Artifact) -> Result<Component, LoadError> {
        let digest = artifact.id.digest.clone();
        if let Some(c) = self
            .compiled
            .lock()
            .expect("compile map poisoned")
            .get(&digest)
        {
            return Ok(c.clone());
        }
        let component = match self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, &digest))
        {
            Some(c) => c,
            None => {
                let started = std::time::Instant::now();
                let serialized =
                    self.engine
                        .precompile_component(&artifact.bytes)
                        .map_err(|e| LoadError::Invalid {
                            plugin: artifact.id.name.to_string(),
                            reason: format!("{e:#}"),
                        })?;
                tracing::debug!(plugin = %artifact.id, elapsed_ms = started.elapsed().as_millis() as u64, "Compiled plugin.");
                if let Some(cache) = &self.cache {
                    cache.store(&digest, &serialized);
                }
                deserialize_own(&self.engine, &serialized).map_err(|e| LoadError::Invalid {
                    plugin: artifact.id.name.to_string(),
                    reason: format!("{e:#}"),
                })?
            }
        };
        self.compiled
            .lock()
            .expect("compile map poisoned")
            .insert(digest, component.clone());
        Ok(component)
    }
}

#[allow(unsafe_code)]
fn deserialize_own(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `bytes` was produced by `precompile_component` on this very
    // engine a moment ago.
    unsafe { Component::deserialize(engine, bytes) }
}

/// Advance the engine's epoch forever from a background thread; call
/// deadlines are counted in these ticks.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    thread::Builder::new()
        .name("sluice-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch thread");
}
