use std::path::PathBuf;

use crate::Sluice;
use crate::config::{ConfigError, load_pipeline};
use crate::run::{Feed, RunError, RunKind, RunRequest, RunSummary, run_with};
use crate::runlog::RunLogError;

/// A run could not be re-run.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    /// The run log could not be read or written.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    /// Only failed, aborted and interrupted runs are re-run.
    #[error(
        "run {run} is `{status}`; only failed, aborted or interrupted runs are re-run (for a partial run, replay its failed records: sluice dlq replay --run {run})"
    )]
    NotRerunnable {
        /// The run.
        run: i64,
        /// Its status.
        status: String,
    },
    /// Replays are replayed, not re-run.
    #[error(
        "run {run} is a replay; replay its failed entries again with: sluice dlq replay --run {run}"
    )]
    Replay {
        /// The run.
        run: i64,
    },
    /// The pipeline file no longer loads.
    #[error("cannot re-run run {run}: its pipeline file {} does not load", path.display())]
    Config {
        /// The run.
        run: i64,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<ConfigError>,
    },
    /// The new run failed to start or to be recorded.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl Sluice {
    /// Run again, with the pipeline file and plugins as they are now, the
    /// pipeline of run `run_id`, which must have ended `failed`, `aborted`
    /// or `interrupted` (a run still marked `running` whose process is gone
    /// is marked `interrupted` first). The new run (kind `rerun`; `test`
    /// with the same sample, seed and dry run for a test sync) names
    /// `run_id` as its parent.
    pub fn rerun(&self, run_id: i64) -> Result<RunSummary, RerunError> {
        let log = self.run_log()?;
        let run = log.run(run_id)?;
        if run.status == "running" {
            self.mark_interrupted_runs(Some(&run.pipeline), "`sluice rerun`")?;
        }
        let run = log.run(run_id)?;
        let kind = log.run_kind(run_id)?;
        if kind == "replay" {
            return Err(RerunError::Replay { run: run_id });
        }
        if !matches!(run.status.as_str(), "failed" | "aborted" | "interrupted") {
            return Err(RerunError::NotRerunnable {
                run: run_id,
                status: run.status,
            });
        }
        let path = PathBuf::from(&run.pipeline_path);
        let loaded = load_pipeline(&path).map_err(|source| RerunError::Config {
            run: run_id,
            path: path.clone(),
            source: Box::new(source),
        })?;
        // A test sync is re-run as the same test sync (the same sample, the
        // same seed, a dry run again): never as a real run that would move
        // cursors and write everything to the target.
        let request = if kind == "test" {
            RunRequest {
                parent: Some(run_id),
                ..RunRequest::sample(
                    run.sample_records.map(|n| n.max(0) as u64),
                    run.sample_seed.as_deref().and_then(|s| s.parse().ok()),
                    run.dry_run,
                )
            }
        } else {
            RunRequest {
                kind: RunKind::Rerun,
                parent: Some(run_id),
                feed: Feed::Source,
                locks: None,
                stop: None,
            }
        };
        Ok(run_with(self, &loaded, request, Default::default())?)
    }
}
