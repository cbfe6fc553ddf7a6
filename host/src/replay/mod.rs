//! Getting failed records through once their cause is fixed: replaying
//! dead-letter entries with the current configuration and plugins, and
//! re-running failed or aborted runs.

mod rerun;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use rerun::RerunError;

use crate::Sluice;
use crate::config::{ConfigError, load_pipeline};
use crate::model::DlqStatus;
use crate::run::lock::RunLocks;
use crate::run::{Feed, RunError, RunKind, RunRequest, RunSummary, run_with};
use crate::runlog::{DlqEntry, DlqFilter, RunLogError, StatusFilter};

/// What a replay of one pipeline's entries would do, or did.
#[derive(Debug, Serialize)]
pub struct ReplayOutcome {
    /// The pipeline.
    pub pipeline: String,
    /// Its file, as recorded by its most recent run and loaded again now.
    pub pipeline_path: PathBuf,
    /// The entries selected.
    pub entries: Vec<DlqEntry>,
    /// Where they re-enter: (entity, stage, count).
    pub by_stage: Vec<(String, String, u64)>,
    /// Entries that failed under another configuration than the current one.
    pub config_changed: u64,
    /// Entries of entities the pipeline no longer has; left in the queue.
    pub unknown_entity: u64,
    /// The replay run; `None` for a dry run.
    pub run: Option<RunSummary>,
    /// Entries this replay resolved.
    pub resolved: u64,
    /// Entries that failed again (they stay open, updated).
    pub still_failing: u64,
}

/// A replay could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The run log could not be read or written.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    /// The pipeline of some entries has no recorded file.
    #[error("no run of pipeline `{0}` records its file; run it once with `sluice run FILE`")]
    UnknownPipeline(String),
    /// The pipeline file no longer loads.
    #[error("cannot replay pipeline `{pipeline}`: its file {} does not load", path.display())]
    Config {
        /// The pipeline.
        pipeline: String,
        /// Its file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<ConfigError>,
    },
    /// The file now defines another pipeline.
    #[error("{} now defines pipeline `{found}`, not `{pipeline}`; replay from the right file", path.display())]
    Renamed {
        /// The pipeline of the entries.
        pipeline: String,
        /// The file.
        path: PathBuf,
        /// The name found in it.
        found: String,
    },
    /// The replay run failed to start or to be recorded.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl Sluice {
    /// Replay the open dead-letter entries `filter` selects: each pipeline's
    /// entries become one new run (kind `replay`, linked to the most recent
    /// run they failed in) that uses the pipeline file and plugins as they
    /// are now. Each record re-enters at the stage it failed in, with the
    /// payload it had there (as edited in review, if it was). Loaded or
    /// skipped records resolve their entries; failures update them. Entries
    /// already resolved are never selected, so replaying twice loads nothing
    /// twice. With `dry_run`, nothing runs and the outcomes say what would.
    pub fn replay(
        &self,
        filter: &DlqFilter,
        dry_run: bool,
    ) -> Result<Vec<ReplayOutcome>, ReplayError> {
        let log = self.run_log()?;
        if filter.status != StatusFilter::Only(DlqStatus::Open) {
            // Only open entries can be replayed.
            return Ok(Vec::new());
        }
        let mut by_pipeline: BTreeMap<String, Vec<DlqEntry>> = BTreeMap::new();
        for entry in log.dlq_entries(filter)? {
            by_pipeline
                .entry(entry.pipeline.clone())
                .or_default()
                .push(entry);
        }
        let mut outcomes = Vec::new();
        for (pipeline, entries) in by_pipeline {
            let path = log
                .latest_pipeline_path(&pipeline)?
                .ok_or_else(|| ReplayError::UnknownPipeline(pipeline.clone()))?;
            let path = PathBuf::from(path);
            let loaded = load_pipeline(&path).map_err(|source| ReplayError::Config {
                pipeline: pipeline.clone(),
                path: path.clone(),
                source: Box::new(source),
            })?;
            if loaded.pipeline.name != pipeline {
                return Err(ReplayError::Renamed {
                    pipeline,
                    path,
                    found: loaded.pipeline.name.clone(),
                });
            }
            // Take the pipeline's locks before choosing the entries, so that
            // a run or replay of it that ends meanwhile cannot leave us
            // replaying entries it resolved; then select them again.
            let (locks, entries) = if dry_run {
                (None, entries)
            } else {
                let locks = RunLocks::acquire(
                    self.data_dir(),
                    &loaded,
                    RunKind::Replay,
                    self.waits(),
                    None,
                )
                .map_err(RunError::from)?;
                let mut of_pipeline = filter.clone();
                of_pipeline.pipeline = Some(pipeline.clone());
                (Some(locks), log.dlq_entries(&of_pipeline)?)
            };
            let entities: Vec<&str> = loaded
                .pipeline
                .entities
                .iter()
                .map(|e| e.name.get_ref().as_str())
                .collect();
            let (entries, unknown): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|e| entities.contains(&e.entity.as_str()));
            let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
            for e in &entries {
                *counts
                    .entry((e.entity.clone(), e.stage.to_string()))
                    .or_default() += 1;
            }
            let config_changed = entries
                .iter()
                .filter(|e| e.config_hash != loaded.config_hash)
                .count() as u64;
            let mut outcome = ReplayOutcome {
                pipeline,
                pipeline_path: path,
                by_stage: counts.into_iter().map(|((e, s), n)| (e, s, n)).collect(),
                config_changed,
                unknown_entity: unknown.len() as u64,
                run: None,
                resolved: 0,
                still_failing: 0,
                entries,
            };
            if !dry_run && !outcome.entries.is_empty() {
                let parent = outcome.entries.iter().map(|e| e.last_run_id).max();
                let request = RunRequest {
                    kind: RunKind::Replay,
                    parent,
                    feed: Feed::Replay(outcome.entries.clone()),
                    locks,
                    stop: None,
                };
                let summary = run_with(self, &loaded, request, Default::default())?;
                let ids: Vec<i64> = outcome.entries.iter().map(|e| e.id).collect();
                outcome.resolved = log.count_resolved_by(summary.run_id, &ids)?;
                outcome.still_failing = outcome.entries.len() as u64 - outcome.resolved;
                outcome.run = Some(summary);
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}
