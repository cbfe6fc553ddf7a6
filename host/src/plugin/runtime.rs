use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, OptLevel};

use super::cache::CompileCache;
use super::compile::Compiler;
use super::host_state::HostState;
use super::inspect::{Inspection, StaticBounds, inspect};
use super::protected::ProtectedPaths;
use super::registry::{Artifact, PluginKind};
use crate::bindings::{ContractVersion, http, log, split_contract_name, v0_1_0};

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
    /// The component imports things the host does not provide or grant;
    /// every such import is named, grouped by the reason it is refused.
    #[error("plugin `{plugin}` {}", denied_text(refused))]
    CapabilityDenied {
        /// The plugin's name.
        plugin: String,
        /// The refused imports, grouped: imports refused for the same
        /// reason, and why (with how to grant them, if they can be).
        refused: Vec<(Vec<String>, String)>,
    },
    /// The component was built for another version of the contract.
    #[error(
        "plugin `{plugin}` was built for sluice:plugin@{version} (it names `{item}`); this host implements {}",
        ContractVersion::supported()
    )]
    OtherContract {
        /// The plugin's name.
        plugin: String,
        /// The import or export naming the other version.
        item: String,
        /// The version it was built for.
        version: String,
    },
    /// The component does not implement the world it is used as.
    #[error("plugin `{plugin}` does not implement the `{world}` world of {version}: {reason}")]
    WrongWorld {
        /// The plugin's name.
        plugin: String,
        /// The contract version its exports name.
        version: ContractVersion,
        /// The world the pipeline uses it as.
        world: &'static str,
        /// What is missing or mismatched.
        reason: String,
    },
}

/// "imports `a` and `b`, which are not granted: why; it also imports `c`,
/// which is not granted: why".
fn denied_text(refused: &[(Vec<String>, String)]) -> String {
    let mut text = String::new();
    for (n, (imports, reason)) in refused.iter().enumerate() {
        let names: Vec<String> = imports.iter().map(|i| format!("`{i}`")).collect();
        let (names, verb) = match names.as_slice() {
            [one] => (one.clone(), "is"),
            [rest @ .., last] => (format!("{} and {last}", rest.join(", ")), "are"),
            [] => ("nothing".to_owned(), "is"),
        };
        if n > 0 {
            text.push_str("; it also ");
        }
        text.push_str(&format!(
            "imports {names}, which {verb} not granted: {reason}"
        ));
    }
    text
}

impl LoadError {
    /// The stable code recorded for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Invalid { .. } => "invalid-component",
            LoadError::CapabilityDenied { .. } => "capability-denied",
            LoadError::OtherContract { .. } | LoadError::WrongWorld { .. } => "contract-violation",
        }
    }
}

/// The process-wide WebAssembly runtime: one engine, the linkers that define
/// what plugins may import, and the compile cache.
pub struct Runtime {
    engine: Engine,
    compute_linker: Linker<HostState>,
    connector_linker: Linker<HostState>,
    cache: Option<CompileCache>,
    compiled: Mutex<HashMap<Arc<str>, Component>>,
    protected: ProtectedPaths,
    compiler: Option<Compiler>,
    bounds: StaticBounds,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .field("compiler", &self.compiler)
            .field("bounds", &self.bounds)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime caching compiled components in `cache_dir` (none: no disk
    /// cache), with an instance pool of `SLUICE_INSTANCE_POOL` component
    /// instances (default [`DEFAULT_INSTANCE_POOL`]; `0`: no pool).
    pub fn new(cache_dir: Option<PathBuf>) -> wasmtime::Result<Self> {
        let pool = match std::env::var("SLUICE_INSTANCE_POOL") {
            Ok(text) => text.trim().parse::<u32>().map_err(|_| {
                wasmtime::format_err!(
                    "SLUICE_INSTANCE_POOL must be a number of instances (0 turns pooling off), got {text:?}"
                )
            })?,
            Err(_) => DEFAULT_INSTANCE_POOL,
        };
        Runtime::with_instance_pool(cache_dir, pool)
    }

    /// A runtime whose pooling allocator holds `pool` component instances
    /// (0: memory is mapped per instance).
    pub fn with_instance_pool(cache_dir: Option<PathBuf>, pool: u32) -> wasmtime::Result<Self> {
        let mut config = base_config();
        // `SLUICE_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report`
        // names the plugins' compiled functions.
        if std::env::var_os("SLUICE_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = engine_with_pool(&mut config, pool)?;
        spawn_epoch_ticker(&engine);

        // Field transformers and normalizers compute only: WASI with nothing
        // granted, plus `log`. Blocking WASI waits end at the call deadline.
        let mut compute_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut compute_linker)?;
        super::deadline::add_to_linker(&mut compute_linker)?;
        // Every contract version's `log` (and, for connectors, `http`) is
        // linked; a component links against the version it was built for.
        log::add_to_linker::<_, HasSelf<_>>(&mut compute_linker, |s| s)?;
        v0_1_0::log::add_to_linker::<_, HasSelf<_>>(&mut compute_linker, |s| s)?;
        // Connectors may also reach the host's `http`.
        let mut connector_linker = compute_linker.clone();
        http::add_to_linker::<_, HasSelf<_>>(&mut connector_linker, |s| s)?;
        v0_1_0::http::add_to_linker::<_, HasSelf<_>>(&mut connector_linker, |s| s)?;

        let mut protected = ProtectedPaths::default();
        if let Some(dir) = &cache_dir {
            protected.add(dir, "the compile cache");
        }
        let cache = cache_dir.and_then(|dir| CompileCache::new(dir, &engine));
        Ok(Runtime {
            engine,
            compute_linker,
            connector_linker,
            cache,
            compiled: Mutex::new(HashMap::new()),
            protected,
            compiler: Compiler::current(),
            bounds: StaticBounds::default(),
        })
    }

    /// Never grant a plugin `path` (a directory or file holding `what`), nor
    /// any directory containing it or inside it.
    pub fn protect(&mut self, path: &std::path::Path, what: &str) {
        self.protected.add(path, what);
    }

    /// The paths no plugin may be granted.
    pub fn protected(&self) -> &ProtectedPaths {
        &self.protected
    }

    /// Compile in a child process under `compiler`'s bounds (none: in this
    /// process, bounded only by the static checks). By default a runtime in
    /// the `sluice` binary compiles in a child process.
    pub fn set_compiler(&mut self, compiler: Option<Compiler>) {
        self.compiler = compiler;
    }

    /// Replace the structural bounds checked before compiling.
    pub fn set_static_bounds(&mut self, bounds: StaticBounds) {
        self.bounds = bounds;
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

    /// Check `artifact`'s structure and read its imports and exports from
    /// its bytes, without compiling it.
    pub fn inspect(&self, artifact: &Artifact) -> Result<Inspection, LoadError> {
        inspect(&artifact.bytes, &self.bounds).map_err(|reason| LoadError::Invalid {
            plugin: artifact.id.name.to_string(),
            reason: one_line(&reason),
        })
    }

    /// Compile `artifact`, or load it from memory or the disk cache. Its
    /// structure is checked first, and compiling is bounded.
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
        self.inspect(artifact)?;
        let invalid = |reason: String| LoadError::Invalid {
            plugin: artifact.id.name.to_string(),
            reason: one_line(&reason),
        };
        let component = match self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, &digest))
        {
            Some(c) => c,
            None => {
                let started = std::time::Instant::now();
                let serialized = match &self.compiler {
                    Some(compiler) => compiler.compile(&artifact.bytes).map_err(invalid)?,
                    None => self
                        .engine
                        .precompile_component(&artifact.bytes)
                        .map_err(|e| invalid(format!("{e:#}")))?,
                };
                tracing::debug!(plugin = %artifact.id, elapsed_ms = started.elapsed().as_millis() as u64, isolated = self.compiler.is_some(), "Compiled plugin.");
                let component = deserialize_own(&self.engine, &serialized)
                    .map_err(|e| invalid(format!("{e:#}")))?;
                if let Some(cache) = &self.cache {
                    cache.store(&digest, &serialized);
                }
                component
            }
        };
        self.compiled
            .lock()
            .expect("compile map poisoned")
            .insert(digest, component.clone());
        Ok(component)
    }
}

/// What a component imports and exports, and which role it can play.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentInfo {
    /// Import names (`wasi:cli/environment@0.2.6`...).
    pub imports: Vec<String>,
    /// Export names (`sluice:plugin/transform@0.2.0`...).
    pub exports: Vec<String>,
    /// The world it implements, if any of a contract version the host implements.
    pub kind: Option<PluginKind>,
    /// The contract version its exports name, if any (known to the host or not).
    pub contract: Option<String>,
}

impl Runtime {
    /// Compile (or load) `artifact` and describe its interface.
    pub fn describe(&self, artifact: &Artifact) -> Result<ComponentInfo, LoadError> {
        Ok(self.describe_component(&self.component(artifact)?))
    }

    /// Describe `artifact`'s interface from its bytes, without compiling
    /// it: what a command needs to pick the world before the import check,
    /// which then refuses a plugin in milliseconds instead of after a
    /// compile of up to a minute (interpreted guests).
    pub fn describe_uncompiled(&self, artifact: &Artifact) -> Result<ComponentInfo, LoadError> {
        let found = self.inspect(artifact)?;
        Ok(ComponentInfo::from_names(found.imports, found.exports))
    }

    /// Describe a compiled component's interface.
    pub fn describe_component(&self, component: &Component) -> ComponentInfo {
        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        ComponentInfo::from_names(imports, exports)
    }
}

impl ComponentInfo {
    /// The info of a component with these top-level import and export names.
    fn from_names(imports: Vec<String>, exports: Vec<String>) -> ComponentInfo {
        let contract = exports
            .iter()
            .find_map(|e| split_contract_name(e).map(|(_, v)| v.to_owned()));
        let kind = exports.iter().find_map(|e| {
            let (interface, version) = split_contract_name(e)?;
            ContractVersion::from_number(version)?;
            PluginKind::from_interface(interface)
        });
        ComponentInfo {
            imports,
            exports,
            kind,
            contract,
        }
    }
}

/// The engine settings every compiled artifact depends on; the compiler
/// process and the host must agree on them.
fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(1 << 20);
    config
}

/// An engine that only compiles (no instance pool), for the compiler process.
pub(super) fn compile_engine() -> wasmtime::Result<Engine> {
    Engine::new(&base_config())
}

/// Component instances the pooling allocator holds by default
/// (`SLUICE_INSTANCE_POOL` overrides it; `0` turns pooling off).
pub const DEFAULT_INSTANCE_POOL: u32 = 256;

/// The engine, with the pooling instance allocator when it can have one.
///
/// The pool reserves its slots once (address space only: 4 GiB plus guard
/// pages per linear memory, so compiled code needs no bounds checks), and
/// an instance then takes a warm slot instead of mapping fresh memory:
/// instantiation takes about half the time, and dropping an instance only
/// resets its pages. A pipeline holds one instance per step, so the pool
/// bounds the steps live at once in this process; past it, instantiation
/// fails with `instance-pool-full`. If the reservation is refused (a
/// restricted address space), the engine maps memory per instance instead.
fn engine_with_pool(config: &mut Config, size: u32) -> wasmtime::Result<Engine> {
    if size > 0 {
        let mut pool = wasmtime::PoolingAllocationConfig::new();
        // Interpreted guests (Python) link a dozen core modules in one
        // component; compiled ones have one.
        pool.total_component_instances(size)
            .total_core_instances(size.saturating_mul(4))
            .total_memories(size)
            .total_tables(size.saturating_mul(4))
            .max_memory_size(4 << 30)
            .table_elements(1 << 20)
            .max_core_instance_size(16 << 20)
            .max_component_instance_size(16 << 20);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(config) {
            Ok(engine) => return Ok(engine),
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                pool = size,
                "Cannot reserve the instance pool; mapping memory per instance instead."
            ),
        }
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
    }
    Engine::new(config)
}

/// Collapse a multi-line error (wasmparser prints byte arrays over many
/// lines) into one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[allow(unsafe_code)]
fn deserialize_own(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `bytes` was produced a moment ago by `precompile_component`,
    // on this engine or in the compiler process (this same binary, engine
    // settings from `base_config`), and read into memory from its pipe.
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
