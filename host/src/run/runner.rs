use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde::Serialize;

use super::lock::{LockError, RunLocks};
use super::plan::Plan;
use super::replay_feed;
use crate::config::{ConfigError, LoadedPipeline};
use crate::errors::{Category, RecordError};
use crate::model::{Progress, StopSignal};
use crate::runlog::{
    DlqEntry, InterruptedRun, MAX_MESSAGE_BYTES, RunContext, RunLog, RunLogError, Scrubber,
    spawn_writer,
};
use crate::stages::dry_run::DryRunTarget;
use crate::stages::finalize::{RunStatus, Totals};
use crate::stages::{
    Capture, Reporter, Stage, StageCounts, StageReport, execute, ingest, normalize, transform,
};
use crate::strategy::HaltCause;
use crate::{Sluice, audit};

/// Batches in flight between two stages; bounds memory and gives back-pressure.
const CHANNEL_BATCHES: usize = 4;

/// How a run went.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's id in the run log.
    pub run_id: i64,
    /// Its status.
    pub status: RunStatus,
    /// Why it failed as a whole, if it did.
    pub status_reason: Option<String>,
    /// Totals over every entity.
    pub totals: Totals,
    /// Totals per entity.
    pub entities: Vec<(String, Totals)>,
    /// Wall time.
    pub duration: Duration,
    /// Earlier runs of the pipeline found dead when this one started, and
    /// marked `interrupted`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interrupted: Vec<InterruptedRun>,
}

/// A run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The pipeline is invalid (a plugin is unknown, rejects its options...).
    /// The run was recorded as failed with this error.
    #[error("run {run_id} failed before reading any record: {source}")]
    Setup {
        /// The run's id.
        run_id: i64,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// The run log could not be written.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    /// Another run of the pipeline, or of one of its targets, is running
    /// (or a lock file could not be used). Nothing was recorded.
    #[error("{0}")]
    Lock(#[source] LockError),
}

impl From<LockError> for RunError {
    fn from(e: LockError) -> Self {
        RunError::Lock(e)
    }
}

/// What kind of run this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunKind {
    /// A run that reads the source.
    Run,
    /// Dead-letter entries re-entered at the stage they failed in.
    Replay,
    /// A failed or aborted run executed again with the current config.
    Rerun,
    /// A test sync (`sluice run --sample N` / `--dry-run`): it moves no
    /// cursor and neither adds nor resolves dead-letter entries.
    Test,
}

impl RunKind {
    /// The name recorded in the run log.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Replay => "replay",
            RunKind::Rerun => "rerun",
            RunKind::Test => "test",
        }
    }
}

/// Where a run's records come from.
#[derive(Debug)]
pub enum Feed {
    /// The pipeline's source connector.
    Source,
    /// Dead-letter entries of this pipeline.
    Replay(Vec<DlqEntry>),
    /// A test sync from the pipeline's source: at most `records` records of
    /// each entity (all of them when `None`), the first ones or, with a
    /// `seed`, a random sample of the whole source; with `dry_run` the
    /// target's `write` is never called (every record that reaches it is
    /// skipped with what the target key ledger says the target would do).
    /// Recorded as a run of kind `test`.
    Sample {
        /// Records read per entity, at most.
        records: Option<u64>,
        /// Draw a random sample of `records` with this seed (the same
        /// records for the same seed and source data).
        seed: Option<u64>,
        /// Stop short of the target.
        dry_run: bool,
    },
}

impl Feed {
    /// Whether this feed makes a test run (no cursor, no dead-letter change).
    pub fn is_test(&self) -> bool {
        matches!(self, Feed::Sample { .. })
    }
}

/// What to run and how to record it.
#[derive(Debug)]
pub struct RunRequest {
    /// The kind of run.
    pub kind: RunKind,
    /// The run this one comes from (replays and reruns).
    pub parent: Option<i64>,
    /// Where records come from.
    pub feed: Feed,
    /// The run's locks, when the caller took them already (a replay takes
    /// them before it selects its entries); otherwise the run takes them.
    pub locks: Option<RunLocks>,
    /// Lets someone else stop the run: a drain stops reading and lets
    /// what was read through, a halt stops at the next batch boundary. A
    /// run stopped either way ends `interrupted`.
    pub stop: Option<Arc<StopSignal>>,
}

impl RunRequest {
    /// A normal run reading the source.
    pub fn source() -> Self {
        RunRequest {
            kind: RunKind::Run,
            parent: None,
            feed: Feed::Source,
            locks: None,
            stop: None,
        }
    }

    /// A test sync of at most `records` records per entity (every record
    /// when `None`), a random sample drawn with `seed` if there is one;
    /// with `dry_run`, nothing is written to the target.
    pub fn sample(records: Option<u64>, seed: Option<u64>, dry_run: bool) -> Self {
        RunRequest {
            kind: RunKind::Test,
            feed: Feed::Sample {
                records,
                seed,
                dry_run,
            },
            ..RunRequest::source()
        }
    }
}

/// Execute `loaded` and record everything in the run log;
/// `progress` is updated as batches complete.
pub fn run_pipeline(
    sluice: &Sluice,
    loaded: &LoadedPipeline,
    progress: Arc<Progress>,
) -> Result<RunSummary, RunError> {
    run_with(sluice, loaded, RunRequest::source(), progress)
}

/// Execute `loaded` as `request` says and record everything in the run log.
pub fn run_with(
    sluice: &Sluice,
    loaded: &LoadedPipeline,
    request: RunRequest,
    progress: Arc<Progress>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    // One run per pipeline and target: held until the run is recorded as
    // finished (the end of this function), or until the process dies.
    let mut locks = match request.locks {
        Some(locks) => locks,
        None => RunLocks::acquire(
            sluice.data_dir(),
            loaded,
            request.kind,
            sluice.waits(),
            request.stop.as_deref(),
        )?,
    };
    let mut log = RunLog::open(&sluice.run_log_path())?;
    let pipeline = &loaded.pipeline;
    let run_id = log.start_run(&pipeline.name, &recorded_path(loaded), &loaded.config_hash)?;
    locks.set_run_id(run_id);
    // With the pipeline's lock held, any other run of it still marked
    // running has no process any more.
    let interrupted = mark_dead_runs(&mut log, &pipeline.name, run_id)?;
    log.set_strategy(run_id, pipeline.errors().strategy.unwrap_or_default())?;
    log.set_run_origin(
        run_id,
        request.kind.as_str(),
        request.parent,
        sluice.actor(),
    )?;
    if let Feed::Sample {
        records,
        seed,
        dry_run,
    } = &request.feed
    {
        log.set_run_sample(run_id, *records, *seed, *dry_run)?;
    }
    let span = tracing::info_span!("run", run = run_id, pipeline = %pipeline.name);
    let _guard = span.enter();
    tracing::info!("Run started.");

    let mut plan = match Plan::build(loaded, sluice.runtime(), sluice.registry()) {
        Ok(plan) => plan,
        Err(source) => {
            let mut error = RecordError::new(
                Stage::Ingest,
                "*",
                Category::Config,
                source.code(),
                source.to_string(),
            );
            error.plugin = source.plugin().cloned();
            // A refusal can quote what a plugin said while starting.
            Scrubber::default().error(&mut error);
            let message = error.message.clone();
            audit::record_run_start(&log, loaded, &[], run_id, sluice.actor())?;
            log.insert_errors(run_id, &[error])?;
            log.finish_run(
                run_id,
                RunStatus::Failed,
                Some(&message),
                &Totals::default(),
                started.elapsed(),
                &[],
                &[],
            )?;
            // The caller reports the returned error; logging it at a level
            // shown by default would print it twice.
            tracing::info!(error = %message, "Run failed during setup.");
            return Err(RunError::Setup { run_id, source });
        }
    };

    let digests: Vec<(String, String)> = plan
        .plugin_uses()
        .into_iter()
        .map(|u| (u.role, u.id.digest.to_string()))
        .collect();
    let changes = audit::record_run_start(&log, loaded, &digests, run_id, sluice.actor())?;
    for change in &changes {
        tracing::info!(action = %change.action, subject = ?change.subject, "Recorded in the audit log.");
    }
    // Incremental streams resume where the last committed cursor says.
    for source in plan.ingest.iter_mut().filter(|s| s.incremental) {
        source.start_cursor = log.cursor(&pipeline.name, &source.name)?;
        if let Some(cursor) = &source.start_cursor {
            tracing::info!(entity = %source.name, cursor = %cursor, "Resuming from the committed cursor.");
        }
    }
    if let Some(stop) = request.stop {
        plan.control.set_stop(stop);
    }
    let mut summary = execute(
        sluice,
        loaded,
        &mut log,
        run_id,
        started,
        plan,
        &request.feed,
        progress,
    )?;
    summary.interrupted = interrupted;
    drop(locks);
    Ok(summary)
}

/// Mark the runs of `pipeline` other than `current` that are still
/// `running` as `interrupted`. Only called with the pipeline's run lock
/// held, so none of them has a live process.
fn mark_dead_runs(
    log: &mut RunLog,
    pipeline: &str,
    current: i64,
) -> Result<Vec<InterruptedRun>, RunLogError> {
    let mut marked = Vec::new();
    for run in log.running_runs(Some(pipeline))? {
        if run.id == current {
            continue;
        }
        if let Some(m) = log.mark_interrupted(run.id, &format!("run {current}"))? {
            tracing::info!(run = m.run_id, pid = ?m.pid, "{}", m.describe());
            marked.push(m);
        }
    }
    Ok(marked)
}

/// Execute a plan already built (benchmarks build one, then swap in native
/// stand-ins) and record the run.
pub fn run_plan(
    sluice: &Sluice,
    loaded: &LoadedPipeline,
    plan: Plan,
    progress: Arc<Progress>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let mut locks = RunLocks::acquire(
        sluice.data_dir(),
        loaded,
        RunKind::Run,
        sluice.waits(),
        None,
    )?;
    let mut log = RunLog::open(&sluice.run_log_path())?;
    let run_id = log.start_run(
        &loaded.pipeline.name,
        &loaded.path.display().to_string(),
        &loaded.config_hash,
    )?;
    locks.set_run_id(run_id);
    execute(
        sluice,
        loaded,
        &mut log,
        run_id,
        started,
        plan,
        &Feed::Source,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
fn execute(
    sluice: &Sluice,
    loaded: &LoadedPipeline,
    log: &mut RunLog,
    run_id: i64,
    started: Instant,
    mut plan: Plan,
    feed: &Feed,
    progress: Arc<Progress>,
) -> Result<RunSummary, RunError> {
    let plugin_digests: serde_json::Map<String, serde_json::Value> = plan
        .plugin_uses()
        .into_iter()
        .map(|u| (u.role, u.id.digest.to_string().into()))
        .collect();
    log.set_run_plugin_digests(
        run_id,
        &serde_json::Value::Object(plugin_digests).to_string(),
    )?;
    let writer = spawn_writer(
        sluice.run_log_path(),
        RunContext {
            run_id,
            pipeline: loaded.pipeline.name.clone(),
            config_hash: loaded.config_hash.clone(),
            test: feed.is_test(),
        },
    )?;
    let open_dlq = log.open_dlq_keys(&loaded.pipeline.name)?;
    let entity_count = plan.entity_names.len();
    let names = plan.entity_names.clone();
    let batch_size = plan.batch_size;
    let (to_normalize, from_ingest) = bounded(CHANNEL_BATCHES);
    let (to_transform, from_normalize) = bounded(CHANNEL_BATCHES);
    let (to_execute, from_transform) = bounded(CHANNEL_BATCHES);
    let control = plan.control.clone();
    let scrub = Arc::new(Scrubber::new(
        plan.connections.clone(),
        loaded.pipeline.run_log.max_payload_bytes(),
    ));
    let mut reporter = Reporter::new(writer.tx.clone(), progress, control.clone());
    reporter.set_scrubber(scrub.clone());
    reporter.resolve_on_load(open_dlq);
    reporter.set_capture(Capture {
        phases: loaded
            .pipeline
            .capture
            .phases
            .unwrap_or(!plan.connections.is_empty()),
        connections: plan.connections.clone(),
    });
    drop(writer.tx);

    let mut crashed: Vec<String> = Vec::new();
    let live = plan.live_slots().to_vec();
    let swap_done = std::sync::atomic::AtomicBool::new(false);
    let reports: Vec<StageReport> = thread::scope(|s| {
        if !live.is_empty() {
            let (live, done) = (&live, &swap_done);
            let store = crate::store::PluginStore::new(sluice.data_dir());
            thread::Builder::new()
                .name("sluice-swap".to_owned())
                .spawn_scoped(s, move || {
                    crate::store::swap::watch(sluice.runtime(), &store, live, run_id, done)
                })
                .expect("the operating system refused the swap watcher thread");
        }
        let Plan {
            ingest: sources,
            normalize: chains,
            transform: mappings,
            execute: targets,
            ..
        } = &mut plan;
        let names = &names;
        let r1 = reporter.clone();
        let stage_thread = |stage: Stage| thread::Builder::new().name(format!("sluice-{stage}"));
        let h_ingest = stage_thread(Stage::Ingest).spawn_scoped(s, move || {
            let out = to_normalize;
            match feed {
                Feed::Source => ingest::run(sources, batch_size, &out, &r1),
                Feed::Sample {
                    records: Some(n),
                    seed: Some(seed),
                    ..
                } => ingest::run_random(sources, batch_size, *n, *seed, &out, &r1),
                Feed::Sample { records, .. } => {
                    ingest::run_capped(sources, batch_size, *records, &out, &r1)
                }
                Feed::Replay(entries) => replay_feed::run(entries, names, batch_size, &out, &r1),
            }
        });
        let r2 = reporter.clone();
        let h_normalize = stage_thread(Stage::Normalize).spawn_scoped(s, move || {
            let out = to_transform;
            normalize::run(chains, names, &from_ingest, &out, &r2)
        });
        let r3 = reporter.clone();
        let h_transform = stage_thread(Stage::Transform).spawn_scoped(s, move || {
            let out = to_execute;
            transform::run(mappings, names, &from_normalize, &out, &r3)
        });
        let r4 = reporter;
        let h_execute = stage_thread(Stage::Execute).spawn_scoped(s, move || {
            if let Feed::Sample { dry_run: true, .. } = feed {
                // Each entity's stand-in reads the target key ledger.
                let mut dry: Vec<DryRunTarget<'_, _>> = targets
                    .iter_mut()
                    .map(|t| match RunLog::open(&sluice.run_log_path()) {
                        Ok(log) => DryRunTarget::comparing(t, log, &loaded.pipeline.name),
                        Err(e) => {
                            tracing::warn!(error = %e, "The run log could not be opened to read the target key ledger; the dry run compares nothing.");
                            DryRunTarget::new(t)
                        }
                    })
                    .collect();
                execute::run(&mut dry, names, &from_transform, &r4)
            } else {
                execute::run(targets, names, &from_transform, &r4)
            }
        });
        let [h_ingest, h_normalize, h_transform, h_execute] =
            [h_ingest, h_normalize, h_transform, h_execute]
                .map(|h| h.expect("the operating system refused a stage thread"));
        let joined = [
            (Stage::Ingest, h_ingest.join()),
            (Stage::Normalize, h_normalize.join()),
            (Stage::Transform, h_transform.join()),
            (Stage::Execute, h_execute.join()),
        ];
        swap_done.store(true, std::sync::atomic::Ordering::Release);
        joined
            .into_iter()
            .map(|(stage, joined)| {
                joined.unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    crashed.push(format!("the {stage} stage crashed: {what}"));
                    let mut r = StageReport::new(stage, entity_count);
                    r.stream_failures = 1;
                    r
                })
            })
            .collect()
    });
    let (errors_written, skips_written) = writer
        .thread
        .join()
        .unwrap_or_else(|_| panic!("the run log writer crashed"))?;

    // Finalize: totals, conservation, status.
    let mut totals = Totals::default();
    let mut entities = Vec::new();
    let mut counts: Vec<(String, Stage, StageCounts)> = Vec::new();
    let mut reasons = crashed;
    for (i, name) in names.iter().enumerate() {
        let t = Totals::for_entity(&reports, i);
        if let Err(e) = t.check_conservation() {
            tracing::error!(entity = %name, error = %e, "Conservation check failed.");
            reasons.push(format!("entity `{name}`: {e}"));
        }
        for r in &reports {
            counts.push((name.clone(), r.stage, r.counts[i]));
        }
        counts.push((
            name.clone(),
            Stage::Finalize,
            StageCounts {
                records_in: t.extracted,
                records_out: t.loaded,
                failed: t.failed,
                skipped: t.skipped,
            },
        ));
        totals.add(&t);
        entities.push((name.clone(), t));
    }
    let stream_failures: u32 = reports.iter().map(|r| r.stream_failures).sum();
    // A crash or a broken identity makes the run `failed` whatever else
    // happened; a deliberate stop makes it `aborted`, even if the error that
    // stopped it failed a whole stream.
    let mut status = match feed {
        // Nothing is loaded by a dry run: records that reached the target
        // (skipped there) count as loaded for its status only, so a dry run
        // with rejects ends `partial` like the real run would, not `failed`.
        Feed::Sample { dry_run: true, .. } => Totals {
            loaded: totals.loaded + totals.skipped,
            ..totals
        }
        .status(stream_failures),
        _ => totals.status(stream_failures),
    };
    if !reasons.is_empty() {
        status = RunStatus::Failed;
    } else if let Some(halt) = control.halt() {
        status = if halt.cause == HaltCause::Stopped {
            RunStatus::Interrupted
        } else {
            RunStatus::Aborted
        };
        reasons.push(halt.reason);
    } else if let Some(why) = control.stopped_early() {
        status = RunStatus::Interrupted;
        reasons.push(format!(
            "stopped before the source was read to the end ({why}); every record read was loaded, failed or skipped, and the next run reads the rest (an incremental entity from its committed cursor)"
        ));
    } else if stream_failures > 0 {
        reasons.push(format!(
            "{stream_failures} entity stream(s) failed as a whole; see `sluice errors {run_id}`"
        ));
    }
    let reason = (!reasons.is_empty()).then(|| {
        let mut reason = reasons.join("; ");
        scrub.text(&mut reason, MAX_MESSAGE_BYTES);
        reason
    });
    let duration = started.elapsed();
    log.finish_run(
        run_id,
        status,
        reason.as_deref(),
        &totals,
        duration,
        &counts,
        &plan.plugin_uses(),
    )?;
    let step_versions = plan.step_versions();
    if !step_versions.is_empty() {
        log.record_step_versions(run_id, &step_versions)?;
    }
    apply_retention(log, loaded);
    tracing::info!(
        status = %status,
        extracted = totals.extracted,
        loaded = totals.loaded,
        failed = totals.failed,
        skipped = totals.skipped,
        errors_written,
        skips_written,
        elapsed_ms = duration.as_millis() as u64,
        "Run finished."
    );
    Ok(RunSummary {
        run_id,
        status,
        status_reason: reason,
        totals,
        entities,
        duration,
        interrupted: Vec::new(),
    })
}

/// Apply the pipeline's `[run_log] retention`, if any, now that a run has
/// ended. A failure is logged, never fails the run.
fn apply_retention(log: &mut RunLog, loaded: &LoadedPipeline) {
    let Some(age) = loaded.pipeline.run_log.retention else {
        return;
    };
    match log.prune(age, Some(&loaded.pipeline.name), false) {
        Ok(pruned) if pruned.runs > 0 || pruned.dlq_entries > 0 => {
            tracing::info!(retention = %age, runs = pruned.runs, dlq_entries = pruned.dlq_entries, kept_for_dlq = pruned.kept_for_dlq, "Pruned old runs.");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(retention = %age, error = %e, "Could not prune old runs.");
        }
    }
}

/// The pipeline file as recorded in the run log: absolute, so replays and
/// reruns find it from any working directory.
fn recorded_path(loaded: &LoadedPipeline) -> String {
    std::path::absolute(&loaded.path)
        .unwrap_or_else(|_| loaded.path.clone())
        .display()
        .to_string()
}
