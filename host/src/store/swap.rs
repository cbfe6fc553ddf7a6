//! Live swap: a pipeline step that names a stored plugin by name (not
//! pinned) follows the name's current version while a run is in progress.
//!
//! - A watcher thread per run ([`watch`]) polls the store's generation
//!   counter of every such name (one indexed read per name every
//!   [`POLL`]). When a name's current version changes, it builds and
//!   starts a sandbox of the new version for each step using the name,
//!   off the data path, and leaves it in the step's [`SwapSlot`].
//! - The step ([`LiveStep`]) takes it at its next batch boundary
//!   ([`LiveStep::begin_batch`], called by the stage before a batch's
//!   first call): a batch never mixes versions, the batch in flight ends
//!   on the version it started on, and no record is dropped or run twice,
//!   since only the instance changes between two batches.
//! - Every stretch of batches on one version is kept ([`StepVersionRow`])
//!   and written to `run_step_versions` when the run ends; errors name the
//!   version that failed them, as every error names its plugin's digest.
//! - A version switched to during the run is on probation for its first
//!   `window` records: when its failure rate in the step crosses the
//!   [`RollbackSettings`], the watcher rolls the name back, quarantines
//!   the version and emits [`StoreEvent::RolledBack`]; the step then
//!   swaps back at its next batch boundary like any other promotion.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{PluginStore, RollbackSettings, StoreEvent, emit};
use crate::plugin::{
    Artifact, Grants, Limits, PluginFailure, PluginId, Runtime, Sandbox, WorldBinding,
};
use crate::runlog::{OpenPromotion, StepVersionRow};

/// How often a run's watcher looks at the store.
pub const POLL: Duration = Duration::from_millis(5);

/// Where a step's next version waits for the step's next batch boundary.
pub struct SwapSlot<W: WorldBinding> {
    name: String,
    role: String,
    limits: Limits,
    grants: Grants,
    options: String,
    /// A started sandbox of the version to switch to, and whether it goes
    /// on probation (a promotion; not a rollback).
    pending: Mutex<Option<(Sandbox<W>, bool)>>,
    /// `pending` holds a sandbox: the one atomic the step reads per batch.
    ready: AtomicBool,
    /// The version the step runs or is about to run.
    wanted: Mutex<String>,
    /// The run, for events.
    run_id: AtomicI64,
    probation: Mutex<Option<Probation>>,
}

/// A version switched to during the run, watched for failures.
#[derive(Debug, Clone)]
struct Probation {
    digest: String,
    /// The version the step ran before it.
    previous: String,
    records: u64,
    failed: u64,
    /// The outcome is settled (rolled back, or the window passed).
    settled: bool,
}

impl<W: WorldBinding> std::fmt::Debug for SwapSlot<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwapSlot")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A version on probation in a step, as the watcher sees it.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The version.
    pub digest: String,
    /// The version the step ran before it.
    pub previous: String,
    /// Records it was given so far.
    pub records: u64,
    /// Records that failed in the step on it.
    pub failed: u64,
}

/// What the watcher needs of a slot, whatever its world.
pub trait Prepare: Send + Sync + std::fmt::Debug {
    /// The store name the step follows.
    fn name(&self) -> &str;
    /// The step's role.
    fn role(&self) -> &str;
    /// The version the step runs or is about to run.
    fn wanted(&self) -> String;
    /// Build and start `artifact` for the step and leave it for the step's
    /// next batch boundary; `probation`: watch its failures once it runs.
    fn prepare(
        &self,
        runtime: &Runtime,
        artifact: &Artifact,
        probation: bool,
    ) -> Result<(), String>;
    /// Tell the slot which run it serves.
    fn set_run(&self, run_id: i64);
    /// The version on probation with its records and failures so far, if
    /// one is and its outcome is not settled.
    fn probation(&self) -> Option<Watched>;
    /// Settle the probation of `digest`.
    fn settle(&self, digest: &str);
    /// Put `digest`, promoted before this run from `previous`, on probation
    /// with the records and failures earlier runs counted, if the step
    /// runs it and is not watching another version.
    fn resume_probation(&self, digest: &str, previous: &str, records: u64, failed: u64);
}

impl<W: WorldBinding> SwapSlot<W> {
    /// A slot for `role`, following `name`, whose sandboxes get these
    /// limits, grants and options (as the step's first one did).
    pub fn new(
        name: &str,
        role: &str,
        limits: Limits,
        grants: Grants,
        options: String,
        running: &str,
    ) -> Arc<Self> {
        Arc::new(SwapSlot {
            name: name.to_owned(),
            role: role.to_owned(),
            limits,
            grants,
            options,
            pending: Mutex::new(None),
            ready: AtomicBool::new(false),
            wanted: Mutex::new(running.to_owned()),
            run_id: AtomicI64::new(0),
            probation: Mutex::new(None),
        })
    }
}

impl<W: WorldBinding> Prepare for SwapSlot<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn role(&self) -> &str {
        &self.role
    }

    fn wanted(&self) -> String {
        self.wanted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn prepare(
        &self,
        runtime: &Runtime,
        artifact: &Artifact,
        probation: bool,
    ) -> Result<(), String> {
        let mut sandbox = Sandbox::<W>::new(
            runtime,
            artifact,
            self.limits,
            self.grants.clone(),
            self.options.clone(),
        )
        .map_err(|e| e.to_string())?;
        sandbox.start().map_err(|f| f.to_string())?;
        *self.wanted.lock().unwrap_or_else(|p| p.into_inner()) = artifact.id.digest.to_string();
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some((sandbox, probation));
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    fn set_run(&self, run_id: i64) {
        self.run_id.store(run_id, Ordering::Relaxed);
    }

    fn probation(&self) -> Option<Watched> {
        let p = self.probation.lock().unwrap_or_else(|p| p.into_inner());
        p.as_ref().filter(|p| !p.settled).map(|p| Watched {
            digest: p.digest.clone(),
            previous: p.previous.clone(),
            records: p.records,
            failed: p.failed,
        })
    }

    fn resume_probation(&self, digest: &str, previous: &str, records: u64, failed: u64) {
        if self.wanted() != digest {
            return;
        }
        let mut p = self.probation.lock().unwrap_or_else(|p| p.into_inner());
        if p.is_none() {
            *p = Some(Probation {
                digest: digest.to_owned(),
                previous: previous.to_owned(),
                records,
                failed,
                settled: false,
            });
        }
    }

    fn settle(&self, digest: &str) {
        if let Some(p) = self
            .probation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .filter(|p| p.digest == digest)
        {
            p.settled = true;
        }
    }
}

/// A step that follows a store name: its sandbox, the slot its next
/// version arrives in, and which version ran which of its batches.
pub struct LiveStep<W: WorldBinding> {
    sandbox: Sandbox<W>,
    slot: Arc<SwapSlot<W>>,
    /// Batches begun so far.
    batch: u64,
    segments: Vec<StepVersionRow>,
}

impl<W: WorldBinding> std::fmt::Debug for LiveStep<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveStep")
            .field("plugin", self.sandbox.id())
            .field("role", &self.slot.role)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<W: WorldBinding> LiveStep<W> {
    /// A live step starting on `sandbox`, fed by `slot`.
    pub fn new(sandbox: Sandbox<W>, slot: Arc<SwapSlot<W>>) -> Self {
        LiveStep {
            sandbox,
            slot,
            batch: 0,
            segments: Vec::new(),
        }
    }

    /// The version running now.
    pub fn sandbox(&self) -> &Sandbox<W> {
        &self.sandbox
    }

    /// The slot, for the run's watcher.
    pub fn slot(&self) -> Arc<dyn Prepare>
    where
        W: 'static,
    {
        self.slot.clone()
    }

    /// The plugin running now.
    pub fn id(&self) -> &PluginId {
        self.sandbox.id()
    }

    /// A batch of `records` begins: switch to a version waiting in the
    /// slot, then count the batch on the version that will process it.
    pub fn begin_batch(&mut self, records: usize) {
        self.take_next();
        self.count_batch(records);
    }

    /// A version waits in the slot for this step's next boundary.
    pub fn next_ready(&self) -> bool {
        self.slot.ready.load(Ordering::Acquire)
    }

    /// Switch to the version waiting in the slot, if one is; whether the
    /// step switched. Steps whose boundaries are not every batch (targets)
    /// call this at the boundaries they choose, then [`Self::count_batch`].
    pub fn take_next(&mut self) -> bool {
        if !self.slot.ready.swap(false, Ordering::AcqRel) {
            return false;
        }
        let Some((next, probation)) = self
            .slot
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return false;
        };
        let from = self.sandbox.id().digest.to_string();
        let to = next.id().digest.to_string();
        self.sandbox = next;
        tracing::info!(role = %self.slot.role, %from, %to, batch = self.batch, "Switched plugin version at a batch boundary.");
        // A version a rollback returned to is not watched: rolling it
        // back in turn would walk the history back on its own.
        *self
            .slot
            .probation
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = probation.then(|| Probation {
            digest: to.clone(),
            previous: from.clone(),
            records: 0,
            failed: 0,
            settled: false,
        });
        emit(&StoreEvent::Swapped {
            run_id: self.slot.run_id.load(Ordering::Relaxed),
            role: self.slot.role.clone(),
            from,
            to,
            first_batch: self.batch,
        });
        true
    }

    /// Count a batch of `records` on the version running now.
    pub fn count_batch(&mut self, records: usize) {
        let digest = self.sandbox.id().digest.to_string();
        match self.segments.last_mut() {
            Some(s) if s.digest == digest => {
                s.batches += 1;
                s.records += records as u64;
            }
            _ => self.segments.push(StepVersionRow {
                role: self.slot.role.clone(),
                seq: self.segments.len() as u32,
                digest,
                first_batch: self.batch,
                batches: 1,
                records: records as u64,
                failed: 0,
            }),
        }
        self.batch += 1;
        self.on_probation(|p| p.records += records as u64);
    }

    /// A call that handles no records on its own (a source's read) failed:
    /// it counts as one failed record for the version's probation, so a
    /// version whose every read fails is rolled back like one whose records
    /// fail.
    pub fn count_failed_call(&mut self) {
        self.on_probation(|p| p.records += 1);
        self.count_failed(1);
    }

    /// Count the records that failed in this step in a call's outcome:
    /// errors it returned, or a failed call that is not split further (a
    /// single record, or a failure that is never bisected).
    pub fn count_failures<T, E>(
        &mut self,
        records: usize,
        outcome: &Result<Vec<Result<T, E>>, PluginFailure>,
    ) {
        let failed = match outcome {
            Ok(results) => results.iter().filter(|r| r.is_err()).count(),
            Err(f) if records == 1 || !f.kind.is_isolatable() => records,
            Err(_) => 0,
        } as u64;
        self.count_failed(failed);
    }

    /// Count `failed` records of the current batch as failed on the
    /// version running now.
    pub fn count_failed(&mut self, failed: u64) {
        if failed == 0 {
            return;
        }
        if let Some(s) = self.segments.last_mut() {
            s.failed += failed;
        }
        self.on_probation(|p| p.failed += failed);
    }

    /// Update the probation of the version running now, if it is on one.
    fn on_probation(&self, update: impl FnOnce(&mut Probation)) {
        if let Some(p) = self
            .slot
            .probation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .filter(|p| !p.settled && *p.digest == *self.sandbox.id().digest)
        {
            update(p);
        }
    }

    /// The sandbox, to call it.
    pub fn sandbox_mut(&mut self) -> &mut Sandbox<W> {
        &mut self.sandbox
    }

    /// Which version ran which batches.
    pub fn segments(&self) -> &[StepVersionRow] {
        &self.segments
    }
}

/// Watch the store for the names `slots` follow until `done` is set:
/// prepare each new current version for its steps, and roll back a
/// version on probation whose failures cross the settings.
pub fn watch(
    runtime: &Runtime,
    store: &PluginStore,
    slots: &[Arc<dyn Prepare>],
    run_id: i64,
    done: &AtomicBool,
) {
    for slot in slots {
        slot.set_run(run_id);
    }
    let mut names: Vec<String> = slots.iter().map(|s| s.name().to_owned()).collect();
    names.sort();
    names.dedup();
    let settings = store.rollback_settings().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "Cannot read the plugin store's settings; using the defaults.");
        RollbackSettings::default()
    });
    let log = match store.run_log() {
        Ok(log) => log,
        Err(e) => {
            tracing::warn!(error = %e, "Cannot open the plugin store: steps keep their versions.");
            return;
        }
    };
    // A version promoted before this run, and not yet through its window
    // in the runs since, is on probation here too.
    for name in &names {
        match log.store_open_promotion(name) {
            Ok(Some(OpenPromotion {
                digest,
                previous: Some(previous),
                records,
                failed,
            })) if records < settings.window => {
                for slot in slots.iter().filter(|s| s.name() == name) {
                    slot.resume_probation(&digest, &previous, records, failed);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(name, error = %e, "Cannot read the name's promotion."),
        }
    }
    let mut seen: HashMap<String, i64> = HashMap::new();
    loop {
        // Once the run has ended, the probations are looked at one last
        // time: a breach counted in the last batches still rolls back.
        let finished = done.load(Ordering::Acquire);
        if !finished {
            match log.store_generations(&names) {
                Ok(rows) => {
                    for (name, current, generation) in rows {
                        if seen.get(&name) == Some(&generation) {
                            continue;
                        }
                        seen.insert(name.clone(), generation);
                        let Some(current) = current else { continue };
                        // Only a promotion puts the version on probation.
                        let promoted = log
                            .store_last_action(&name)
                            .ok()
                            .flatten()
                            .is_some_and(|a| a == "promote");
                        follow(runtime, store, slots, &name, &current, promoted);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Cannot read the plugin store."),
            }
        }
        for slot in slots {
            let Some(Watched {
                digest,
                previous,
                records,
                failed,
            }) = slot.probation()
            else {
                continue;
            };
            if settings.breached(records, failed) {
                slot.settle(&digest);
                let reason = format!(
                    "{failed} of the first {records} records failed in {} of run {run_id} (rollback.failure_rate {})",
                    slot.role(),
                    settings.failure_rate
                );
                if !finished {
                    // This run goes back at once, before the store records
                    // it (which can wait for the run log's write lock): the
                    // steps on the failing version take the one they ran
                    // before at their next batch. Other runs follow the
                    // store's record.
                    back_off(runtime, store, slots, slot.name(), &digest, &previous);
                } else {
                    for other in slots.iter().filter(|s| s.name() == slot.name()) {
                        other.settle(&digest);
                    }
                }
                // Look at the name's current version again afterwards,
                // whoever changed it.
                seen.remove(slot.name());
                match store.rollback(
                    slot.name(),
                    "sluice",
                    Some(&reason),
                    Some((&digest, Some(run_id))),
                ) {
                    Ok(p) => {
                        tracing::warn!(name = slot.name(), from = %digest, to = %p.digest, %reason, "Rolled back a newly promoted plugin version and quarantined it.")
                    }
                    Err(e) => {
                        tracing::warn!(name = slot.name(), error = %e, "Automatic rollback not recorded.")
                    }
                }
            } else if records >= settings.window {
                slot.settle(&digest);
            }
        }
        if finished {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// Put the steps following `name` that run or await `failing` back on
/// `previous`, without probation.
fn back_off(
    runtime: &Runtime,
    store: &PluginStore,
    slots: &[Arc<dyn Prepare>],
    name: &str,
    failing: &str,
    previous: &str,
) {
    let artifact = match store.artifact(name, previous) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(name, error = %e, "Cannot load the version to go back to.");
            return;
        }
    };
    for slot in slots
        .iter()
        .filter(|s| s.name() == name && s.wanted() == failing)
    {
        slot.settle(failing);
        if let Err(why) = slot.prepare(runtime, &artifact, false) {
            tracing::warn!(role = slot.role(), error = %why, "Cannot go back to the previous version.");
        }
    }
}

/// Prepare `current` for every slot following `name` that does not run it.
fn follow(
    runtime: &Runtime,
    store: &PluginStore,
    slots: &[Arc<dyn Prepare>],
    name: &str,
    current: &str,
    probation: bool,
) {
    let mut artifact = None;
    for slot in slots
        .iter()
        .filter(|s| s.name() == name && s.wanted() != current)
    {
        if artifact.is_none() {
            match store.artifact(name, current) {
                Ok(a) => artifact = Some(a),
                Err(e) => {
                    tracing::warn!(name, error = %e, "Cannot load the promoted version; steps keep theirs.");
                    return;
                }
            }
        }
        let a = artifact.as_ref().expect("loaded above");
        if let Err(why) = slot.prepare(runtime, a, probation) {
            tracing::warn!(role = slot.role(), version = current, error = %why, "The promoted version cannot run in this step; it keeps its version.");
        }
    }
}
