use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store, Trap, WasmBacktrace};

use super::capabilities::{self, ImportPolicy, ImportRefusal};
use super::describe::{self as describing, ValidOptions};
use super::failure::{FailureKind, PluginFailure};
use super::host_state::{Grants, HostState};
use super::limits::Limits;
use super::registry::{Artifact, Origin, PluginKind};
use super::runtime::{EPOCH_TICK, LoadError, Runtime};
use crate::bindings::{ContractVersion, Descriptor, PluginError};
use crate::connection::HttpExchange;
use crate::model::PluginId;

/// Glue between the generic [`Sandbox`] and one world's generated bindings.
pub trait WorldBinding: Sized + Send + 'static {
    /// The generated, pre-linked form of the world (`*Pre`).
    type Pre: Clone + Send + Sync + 'static;
    /// The role this world plays.
    const KIND: PluginKind;
    /// Type-check a pre-linked component against the world at `version`.
    fn pre(
        instance_pre: InstancePre<HostState>,
        version: ContractVersion,
    ) -> wasmtime::Result<Self::Pre>;
    /// Instantiate.
    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self>;
    /// Call the world's `describe` (`None`: its contract version has none).
    fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<Option<Descriptor>>;
    /// Call the world's `configure`.
    fn configure(
        &self,
        store: &mut Store<HostState>,
        options: &str,
    ) -> wasmtime::Result<Result<(), PluginError>>;
}

/// What one call used.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallReport {
    /// Records in the call.
    pub records: usize,
    /// Fuel consumed.
    pub fuel: u64,
    /// Fuel the call was given.
    pub fuel_limit: u64,
    /// Wall time.
    pub wall: Duration,
    /// Largest total of all linear memories of the instance so far, in bytes.
    pub peak_memory_bytes: usize,
    /// Bytes of output returned (0 when the call failed).
    pub output_bytes: u64,
    /// Log lines dropped by the log cap.
    pub log_lines_dropped: u32,
    /// How the call failed, if it did (reported in full by callers).
    #[serde(skip_serializing)]
    pub failure: Option<FailureKind>,
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
    /// Largest total of all linear memories of an instance seen, in bytes.
    pub peak_memory_bytes: usize,
    /// Instances created (the first plus one per replacement after a failure).
    pub instantiations: u64,
    /// Time spent creating those instances (store, WASI context, linear
    /// memory, start functions), not counting `configure`.
    pub instantiate_wall: Duration,
    /// Time spent in `configure` on those instances.
    pub configure_wall: Duration,
    /// Failed calls.
    pub failures: u64,
    /// Failed calls by kind.
    pub failures_by_kind: BTreeMap<FailureKind, u64>,
    /// Log lines dropped by the log cap.
    pub log_lines_dropped: u64,
    /// Why the plugin was quarantined, if it was.
    pub quarantined: Option<String>,
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
    version: ContractVersion,
    /// What `describe` said, once asked (`Some(None)`: the plugin's
    /// contract version has no `describe`).
    descriptor: Option<Option<Descriptor>>,
    /// The options were checked against the plugin's option schema.
    options_checked: bool,
    live: Option<Live<W>>,
    stats: CallStats,
    last_call: CallReport,
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
    /// What this plugin is granted.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The Retry-After its connection last received, taken.
    pub fn connection_retry_after(&self) -> Option<Duration> {
        self.grants
            .connection
            .as_ref()
            .and_then(|c| c.take_retry_after())
    }

    /// The HTTP exchanges its connection captured, taken.
    pub fn connection_captures(&self) -> Vec<HttpExchange> {
        self.grants
            .connection
            .as_ref()
            .map(|c| c.take_captured())
            .unwrap_or_default()
    }

    /// Compile (or load from cache), link and type-check `artifact` as a
    /// `W` plugin. Nothing runs yet.
    pub fn new(
        runtime: &Runtime,
        artifact: &Artifact,
        limits: Limits,
        grants: Grants,
        options: String,
    ) -> Result<Self, LoadError> {
        let plugin = artifact.id.name.to_string();
        // Imports are checked from the bytes, before anything compiles them.
        let found = runtime.inspect(artifact)?;
        let version = capabilities::contract_version(&found.exports)
            .map_err(|refusal| refusal_error(&plugin, vec![refusal]).expect("one refusal"))?;
        let policy = ImportPolicy {
            has_data_dir: grants.data_dir.is_some(),
            allow: grants.allow.clone(),
            grant_via: grants.grant_via,
        };
        let refusals =
            capabilities::check_all(W::KIND, version, &policy, &found.imports, &found.exports);
        if let Some(error) = refusal_error(&plugin, refusals) {
            return Err(error);
        }
        let component = runtime.component(artifact)?;
        let connector = matches!(W::KIND, PluginKind::Source | PluginKind::Target);
        let instance_pre = runtime
            .linker(connector)
            .instantiate_pre(&component)
            .map_err(|e| LoadError::CapabilityDenied {
                plugin: plugin.clone(),
                refused: vec![(vec!["(unresolved)".to_owned()], format!("{e:#}"))],
            })?;
        let pre = W::pre(instance_pre, version).map_err(|e| LoadError::WrongWorld {
            plugin: artifact.id.name.to_string(),
            version,
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
            version,
            descriptor: None,
            options_checked: false,
            live: None,
            stats: CallStats::default(),
            last_call: CallReport::default(),
        })
    }

    /// The plugin's identity.
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    /// The contract version the plugin was built for.
    pub fn contract(&self) -> ContractVersion {
        self.version
    }

    /// What the plugin says about itself (`None`: it was built for a
    /// contract version without `describe`). Asked once, on an instance
    /// that is not configured; the answer is bounded and checked.
    pub fn describe(&mut self) -> Result<Option<&Descriptor>, PluginFailure> {
        if self.descriptor.is_none() {
            let (mut store, bindings) = self.instantiate_bare()?;
            self.describe_with(&mut store, &bindings)?;
        }
        Ok(self.descriptor.as_ref().and_then(Option::as_ref))
    }

    fn describe_with(
        &mut self,
        store: &mut Store<HostState>,
        bindings: &W,
    ) -> Result<(), PluginFailure> {
        if self.descriptor.is_some() {
            return Ok(());
        }
        store
            .set_fuel(describing::DESCRIBE_FUEL)
            .expect("fuel is enabled on the engine");
        let answer = match bindings.describe(store) {
            Ok(answer) => answer,
            Err(e) => return Err(classify(&self.id, &self.limits, 0, store, e, "describe")),
        };
        let answer = answer
            .map(|d| describing::check(&self.id.name, W::KIND, d))
            .transpose()?;
        self.descriptor = Some(answer);
        Ok(())
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

    /// What the most recent call used.
    pub fn last_call(&self) -> &CallReport {
        &self.last_call
    }

    /// Record that an answer broke the contract (checked by the caller after
    /// the call returned), and hand the failure back.
    pub(crate) fn contract_failure(&mut self, failure: PluginFailure) -> PluginFailure {
        self.last_call.failure = Some(failure.kind);
        self.record_failure(failure.kind);
        failure
    }

    /// Count a failed call, and quarantine the plugin if it fails too often.
    fn record_failure(&mut self, kind: FailureKind) {
        self.stats.failures += 1;
        *self.stats.failures_by_kind.entry(kind).or_default() += 1;
        let (failures, calls) = (self.stats.failures, self.stats.calls.max(1));
        if self.stats.quarantined.is_none()
            && failures >= self.limits.quarantine_after_failures
            && failures * 100 >= u64::from(self.limits.quarantine_failure_percent) * calls
        {
            let reason = format!(
                "plugin `{}` was quarantined for the rest of the run after {failures} of its {calls} calls failed (last: {kind})",
                self.id.name
            );
            tracing::warn!(plugin = %self.id, failures, calls, "Plugin quarantined for the rest of the run.");
            self.stats.quarantined = Some(reason);
            self.live = None;
        }
    }

    /// Drop the live instance; the next call or [`Sandbox::start`] makes a
    /// fresh one (benchmarks measure instantiation this way).
    pub fn discard_instance(&mut self) {
        self.live = None;
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
        let started = Instant::now();
        let (mut store, bindings) = self.instantiate_bare()?;
        let instantiated = started.elapsed();
        if !self.options_checked {
            // Options are checked against the plugin's own schema before
            // `configure` ever sees them.
            self.describe_with(&mut store, &bindings)?;
            if let Some(Some(descriptor)) = &self.descriptor {
                match describing::check_options(descriptor, &self.options) {
                    ValidOptions::Yes => {}
                    ValidOptions::No(why) => {
                        return Err(PluginFailure::new(
                            FailureKind::ConfigRejected,
                            format!("plugin `{}` rejected its options: {why}", self.id.name),
                        ));
                    }
                }
            }
            self.options_checked = true;
            self.arm(&mut store, 0);
        }
        let configured = bindings.configure(&mut store, &self.options);
        self.stats.configure_wall += started.elapsed() - instantiated;
        match configured {
            Ok(Ok(())) => Ok(Live { store, bindings }),
            Ok(Err(e)) => Err(PluginFailure::new(
                FailureKind::ConfigRejected,
                format!(
                    "plugin `{}` rejected its options: {}",
                    self.id.name, e.message
                ),
            )
            .with_plugin_code(&e.code)),
            Err(e) => Err(classify(&self.id, &self.limits, 0, &store, e, "configure")),
        }
    }

    /// A fresh instance, not configured.
    fn instantiate_bare(&mut self) -> Result<(Store<HostState>, W), PluginFailure> {
        self.stats.instantiations += 1;
        let started = Instant::now();
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
        self.stats.instantiate_wall += started.elapsed();
        Ok((store, bindings))
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
        state.deadline = Some(Instant::now() + self.limits.timeout);
        state.deadline_hit = false;
        state.limiter.hit = false;
        state.limiter.table_hit = false;
        state.log.reset();
    }

    /// The last call handled `records` records, not the number it was
    /// armed for (a source's read is armed for the items it may return).
    pub(crate) fn recount_last_call(&mut self, records: usize) {
        self.stats.records = self
            .stats
            .records
            .saturating_sub(self.last_call.records as u64)
            + records as u64;
        self.last_call.records = records;
    }

    /// Call into the plugin for a batch of `records` records. `output_size`
    /// measures the answer so oversized output is refused.
    pub fn call<R>(
        &mut self,
        records: usize,
        output_size: impl FnOnce(&R) -> u64,
        f: impl FnOnce(&W, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginFailure> {
        if let Some(reason) = &self.stats.quarantined {
            return Err(PluginFailure::new(FailureKind::Quarantined, reason.clone()));
        }
        let mut live = match self.live.take() {
            Some(live) => live,
            None => match self.instantiate() {
                Ok(live) => live,
                Err(failure) => {
                    self.stats.calls += 1;
                    self.record_failure(failure.kind);
                    return Err(failure);
                }
            },
        };
        self.arm(&mut live.store, records);
        let fuel_before = live.store.get_fuel().unwrap_or(0);
        let started = Instant::now();
        let result = f(&live.bindings, &mut live.store);
        let elapsed = started.elapsed();
        let fuel = fuel_before.saturating_sub(live.store.get_fuel().unwrap_or(0));
        let state = live.store.data();
        self.stats.calls += 1;
        self.stats.records += records as u64;
        self.stats.wall += elapsed;
        self.stats.fuel += fuel;
        self.stats.peak_memory_bytes = self.stats.peak_memory_bytes.max(state.limiter.peak_bytes);
        self.stats.log_lines_dropped += u64::from(state.log.dropped);
        self.last_call = CallReport {
            records,
            fuel,
            fuel_limit: fuel_before,
            wall: elapsed,
            peak_memory_bytes: state.limiter.peak_bytes,
            output_bytes: 0,
            log_lines_dropped: state.log.dropped,
            failure: None,
        };
        match result {
            Ok(answer) => {
                let size = output_size(&answer);
                self.last_call.output_bytes = size;
                // The instance is healthy either way; keep it.
                self.live = Some(live);
                let allowed = self.limits.output_for(records);
                if size > allowed {
                    self.last_call.failure = Some(FailureKind::OutputTooLarge);
                    self.record_failure(FailureKind::OutputTooLarge);
                    return Err(PluginFailure::new(
                        FailureKind::OutputTooLarge,
                        format!(
                            "plugin `{}` returned {size} bytes for {records} record(s), more than the {allowed} allowed; raise `limits.output_bytes_per_record` if this is expected",
                            self.id.name
                        ),
                    ));
                }
                Ok(answer)
            }
            Err(e) => {
                let failure = classify(&self.id, &self.limits, records, &live.store, e, "call");
                tracing::warn!(plugin = %self.id, kind = %failure.kind, error = %failure.message, "Plugin call failed; the instance will be replaced.");
                self.last_call.failure = Some(failure.kind);
                self.record_failure(failure.kind);
                Err(failure)
            }
        }
    }
}

/// The load error for a component's refused imports and exports: a refusal
/// by another contract version wins; otherwise every refused import is
/// named, those refused for the same reason together.
fn refusal_error(plugin: &str, refusals: Vec<ImportRefusal>) -> Option<LoadError> {
    let mut refused: Vec<(Vec<String>, String)> = Vec::new();
    for refusal in refusals {
        match refusal {
            ImportRefusal::OtherContract { item, version } => {
                return Some(LoadError::OtherContract {
                    plugin: plugin.to_owned(),
                    item,
                    version,
                });
            }
            ImportRefusal::Denied { import, reason } => {
                match refused.iter_mut().find(|(_, why)| *why == reason) {
                    Some((imports, _)) => imports.push(import),
                    None => refused.push((vec![import], reason)),
                }
            }
        }
    }
    (!refused.is_empty()).then(|| LoadError::CapabilityDenied {
        plugin: plugin.to_owned(),
        refused,
    })
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
    let pool_full = e
        .chain()
        .find_map(|c| c.downcast_ref::<wasmtime::PoolConcurrencyLimitError>());
    // The store's count limits (memories, tables, instances) fail
    // instantiation with this text; wasmtime has no typed error for it.
    let count_limit = e
        .chain()
        .map(|c| c.to_string())
        .find(|t| t.starts_with("resource limit exceeded:"));
    let (kind, mut message) = if let Some(full) = pool_full {
        (
            FailureKind::InstancePoolFull,
            format!(
                "plugin `{name}` could not be started during {during}: {full}; more plugin instances are live in this process than the pool holds (SLUICE_INSTANCE_POOL)"
            ),
        )
    } else if state.deadline_hit {
        (
            FailureKind::Timeout,
            format!(
                "plugin `{name}` did not finish within {} ms during {during} (it was still waiting in a blocking host call); raise `limits.timeout_ms` if it is legitimately slow",
                limits.timeout.as_millis()
            ),
        )
    } else if super::failure::is_oversized_answer(&e) {
        (
            FailureKind::OutputTooLarge,
            format!(
                "plugin `{name}` answered with more data than the host copies out of a plugin in one call during {during} ({e:#}); its answer for {records} record(s) may be at most {} bytes (`limits.output_bytes_per_record`)",
                limits.output_for(records)
            ),
        )
    } else if state.limiter.hit {
        (
            FailureKind::MemoryLimit,
            format!(
                "plugin `{name}` tried to grow its memory past the {} MiB limit (the total of all its linear memories) during {during}; raise `limits.memory_mb` if the plugin legitimately needs more",
                limits.memory_bytes >> 20
            ),
        )
    } else if state.limiter.table_hit {
        (
            FailureKind::MemoryLimit,
            format!(
                "plugin `{name}` tried to grow its tables past {} elements (all its tables together) during {during}; raise `limits.max_table_elements` if the plugin legitimately needs more",
                limits.max_table_elements
            ),
        )
    } else if let Some(text) = count_limit {
        (
            FailureKind::MemoryLimit,
            format!(
                "plugin `{name}` creates too many memories, tables or instances ({text}; the limits are {} linear memories and {} core instances and tables) during {during}; raise `limits.max_memories` or `limits.max_instances` if it legitimately needs more",
                limits.max_memories, limits.max_instances
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
