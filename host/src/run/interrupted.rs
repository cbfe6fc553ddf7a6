//! Finding runs whose process is gone.
//!
//! A run holds its pipeline's run lock (`run/lock.rs`) from before its row
//! is written until after it is marked finished, and the operating system
//! releases the lock when the process ends, however it ends. So a run
//! still marked `running` whose pipeline lock is free has no process: it
//! was killed or crashed. Commands that show or act on runs (`sluice run`,
//! `runs`, `stats`, `rerun`) mark such runs `interrupted` first.
//!
//! A run that finishes between the moment its row is read and the moment
//! its lock is found free is not marked: the lock is released only after
//! the run is marked finished, and marking changes only rows still
//! `running`.

use crate::Sluice;
use crate::runlog::{InterruptedRun, RunLogError};

use super::lock::pipeline_in_use;

impl Sluice {
    /// Mark `interrupted` every run (of `pipeline`, or of every pipeline)
    /// still marked `running` whose process is gone; `noticed_by` names
    /// the command, for the status reason. Returns the runs marked.
    pub fn mark_interrupted_runs(
        &self,
        pipeline: Option<&str>,
        noticed_by: &str,
    ) -> Result<Vec<InterruptedRun>, RunLogError> {
        let mut log = self.run_log()?;
        let mut marked = Vec::new();
        for run in log.running_runs(pipeline)? {
            match pipeline_in_use(self.data_dir(), &run.pipeline) {
                Ok(true) => {}
                Ok(false) => {
                    if let Some(m) = log.mark_interrupted(run.id, noticed_by)? {
                        tracing::info!(run = m.run_id, pid = ?m.pid, "{}", m.describe());
                        marked.push(m);
                    }
                }
                Err(e) => {
                    tracing::warn!(run = run.id, pipeline = %run.pipeline, error = %e, "Cannot tell whether the run is still alive; leaving it `running`.");
                }
            }
        }
        Ok(marked)
    }
}
