use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store, Trap, WasmBacktrace};

use super::failure::{FailureKind, PluginFailure};
use super::host_state::{Grants, HostState};
use super::id::PluginId;
use super::limits::Limits;
use super::registry::{Artifact, Origin, PluginKind};
use super::runtime::{EPOCH_TICK, LoadError, Runtime};
use crate::bindings::current::PluginError;

/// Glue between the generic [`Sandbox`] and one world's generated bindings.
pub trait WorldBinding: Sized + Send + 'static {
    /// The generated, pre-linked form of the world (`*Pre`).
    type Pre: Clone + Send + Sync + 'static;
    /// The role this world plays.
    const KIND: PluginKind;
    /// Type-check a pre-linked component against the world.
    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre>;
    /// Instantiate.
    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self>;
    /// Call the world's `configure`.
    fn configure(
        &self,
        store: &mut Store<HostState>,
        options: &str,
    ) -> wasmtime::Result<Result<(), PluginError>>;
}

/// Resource use of one plugin instance over a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallStats {
    /// Calls made (not counting `configure`).
    pub calls: u64,
    /// Records passed in those calls.
    pub records: u64,
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall time spent inside the plugin.
    pub wall: Duration,
    /// Largest linear memory seen, in bytes.
    pub peak_memory_bytes: usize,
    /// Instances created (the first plus one per replacement after a failure).
    pub instantiations: u64,
    /// Failed calls.
    pub failures: u64,
}

struct Live<W> {
    store: Store<HostState>,
    bindings: W,
}

/// One plugin instance under limits. A call that traps or hits a limit
/// discards the instance; the next call gets a fresh, re-configured one.
pub struct Sandbox<W: WorldBinding> {
    id: PluginId,
    origin: Origin,
    engine: Engine,
    pre: W::Pre,
    limits: Limits,
    grants: Grants,
    options: String,
    live: Option<Live<W>>,
    stats: CallStats,
}

impl<W: WorldBinding> std::fmt::Debug for Sandbox<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("plugin", &self.id)
            .field("kind", &W::KIND)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<W: WorldBinding> Sandbox<W> {
    /// Compile (or load from cache), link and type-check `artifact` as a
    /// `W` plugin. Nothing runs yet.
    pub fn new(
        runtime: &Runtime,
        artifact: &Artifact,
        limits: Limits,
        grants: Grants,
        options: String,
    ) -> Result<Self, LoadError> {
        let component = runtime.component(artifact)?;
        let connector = matches!(W::KIND, PluginKind::Source | PluginKind::Target);
        let instance_pre = runtime
            .linker(connector)
            .instantiate_pre(&component)
            .map_err(|e| LoadError::CapabilityDenied {
                plugin: artifact.id.name.to_string(),
                reason: format!("{e:#}"),
            })?;
        let pre = W::pre(instance_pre).map_err(|e| LoadError::WrongWorld {
            plugin: artifact.id.name.to_string(),
            world: W::KIND.world(),
            reason: format!("{e:#}"),
        })?;
        Ok(Sandbox {
            id: artifact.id.clone(),
            origin: artifact.origin.clone(),
            engine: runtime.engine().clone(),
            pre,
            limits,
            grants,
            options,
            live: None,
            stats: CallStats::default(),
        })
    }

    /// The plugin's identity.
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    /// Where the plugin's bytes came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Resource use so far.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// Instantiate and configure now, so bad options fail before any record
    /// is touched. Calls do this on demand too.
    pub fn start(&mut self) -> Result<(), PluginFailure> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        Ok(())
    }

    fn instantiate(&mut self) -> Result<Live<W>, PluginFailure> {
        self.stats.instantiations += 1;
        let state =
            HostState::new(self.id.name.clone(), &self.grants, &self.limits).map_err(|e| {
                PluginFailure::new(
                    FailureKind::CapabilityDenied,
                    format!(
                        "plugin `{}`: cannot grant its directory: {e:#}",
                        self.id.name
                    ),
                )
            })?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        self.arm(&mut store, 0);
        let bindings = match W::instantiate(&self.pre, &mut store) {
            Ok(b) => b,
            Err(e) => {
                return Err(classify(
                    &self.id,
                    &self.limits,
                    0,
                    &store,
                    e,
                    "instantiating",
                ));
            }
        };
        match bindings.configure(&mut store, &self.options) {
            Ok(Ok(())) => Ok(Live { store, bindings }),
            Ok(Err(e)) => Err(PluginFailure::new(
                FailureKind::ConfigRejected,
                format!(
                    "plugin `{}` rejected its options: {}",
                    self.id.name, e.message
                ),
            )),
            Err(e) => Err(classify(&self.id, &self.limits, 0, &store, e, "configure")),
        }
    }

    fn arm(&self, store: &mut Store<HostState>, records: usize) {
        store
            .set_fuel(self.limits.fuel_for(records))
            .expect("fuel is enabled on the engine");
        let ticks = self
            .limits
            .timeout
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros()) as u64
            + 1;
        store.set_epoch_deadline(ticks);
        let state = store.data_mut();
        state.limiter.hit = false;
        state.log.reset();
    }

    /// Call into the plugin for a batch of `records` records. `output_size`
    /// measures the answer so oversized output is refused.
    pub fn call<R>(
        &mut self,
        records: usize,
        output_size: impl FnOnce(&R) -> u64,
        f: impl FnOnce(&W, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginFailure> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self
                .instantiate()
                .inspect_err(|_| self.stats.failures += 1)?,
        };
        self.arm(&mut live.store, records);
        let fuel_before = live.store.get_fuel().unwrap_or(0);
        let started = Instant::now();
        let result = f(&live.bindings, &mut live.store);
        let elapsed = started.elapsed();
        self.stats.calls += 1;
        self.stats.records += records as u64;
        self.stats.wall += elapsed;
        self.stats.fuel += fuel_before.saturating_sub(live.store.get_fuel().unwrap_or(0));
        self.stats.peak_memory_bytes = self
            .stats
            .peak_memory_bytes
            .max(live.store.data().limiter.peak_bytes);
        match result {
            Ok(answer) => {
                let size = output_size(&answer);
                let allowed = self.limits.output_for(records);
                if size > allowed {
                    self.stats.failures += 1;
                    // The instance is healthy; keep it.
                    self.live = Some(live);
                    return Err(PluginFailure::new(
                        FailureKind::OutputTooLarge,
                        format!(
                            "plugin `{}` returned {size} bytes for {records} record(s), more than the {allowed} allowed; raise `limits.output_bytes_per_record` if this is expected",
                            self.id.name
                        ),
                    ));
                }
                self.live = Some(live);
                Ok(answer)
            }
            Err(e) => {
                self.stats.failures += 1;
                let failure = classify(&self.id, &self.limits, records, &live.store, e, "call");
                tracing::warn!(plugin = %self.id, kind = %failure.kind, error = %failure.message, "Plugin call failed; the instance will be replaced.");
                Err(failure)
            }
        }
    }
}

/// Turn a wasmtime error into the failure kind an operator can act on.
fn classify(
    id: &PluginId,
    limits: &Limits,
    records: usize,
    store: &Store<HostState>,
    e: wasmtime::Error,
    during: &str,
) -> PluginFailure {
    let name = &id.name;
    let state = store.data();
    let trap = e.chain().find_map(|c| c.downcast_ref::<Trap>().copied());
    let (kind, mut message) = if state.limiter.hit {
        (
            FailureKind::MemoryLimit,
            format!(
                "plugin `{name}` tried to grow its memory past the {} MiB limit during {during}; raise `limits.memory_mb` if the plugin legitimately needs more",
                limits.memory_bytes >> 20
            ),
        )
    } else {
        match trap {
            Some(Trap::OutOfFuel) => (
                FailureKind::FuelExhausted,
                format!(
                    "plugin `{name}` ran out of fuel ({} units for {records} record(s)) during {during}; it may loop forever, or need a higher `limits.fuel_per_record`",
                    limits.fuel_for(records)
                ),
            ),
            Some(Trap::Interrupt) => (
                FailureKind::Timeout,
                format!(
                    "plugin `{name}` did not finish within {} ms during {during}; raise `limits.timeout_ms` if it is legitimately slow",
                    limits.timeout.as_millis()
                ),
            ),
            Some(Trap::StackOverflow) => (
                FailureKind::Trap,
                format!(
                    "plugin `{name}` overflowed its stack during {during} (runaway recursion?)"
                ),
            ),
            Some(t) => (
                FailureKind::Trap,
                format!("plugin `{name}` trapped during {during}: {t}"),
            ),
            None => (
                FailureKind::Trap,
                format!("plugin `{name}` failed during {during}: {e:#}"),
            ),
        }
    };
    if kind == FailureKind::Trap {
        if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
            let frames: Vec<String> = bt
                .frames()
                .iter()
                .take(6)
                .map(|f| f.func_name().unwrap_or("<unknown>").to_owned())
                .collect();
            if !frames.is_empty() {
                message.push_str(&format!("; backtrace: {}", frames.join(" <- ")));
            }
        }
        if let Some(stderr) = state.stderr_tail() {
            message.push_str(&format!("; plugin stderr: {stderr}"));
        }
    }
    PluginFailure::new(kind, message)
}
