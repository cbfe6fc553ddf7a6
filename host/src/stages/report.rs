use std::sync::Arc;

use crossbeam_channel::Sender;
use serde::Serialize;

use super::{Stage, StageCounts};
use crate::errors::RecordError;
use crate::plugin::PluginId;
use crate::run::Progress;
use crate::runlog::LogEvent;

/// A record deliberately not synced, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkipRecord {
    /// Where it was skipped.
    pub stage: Stage,
    /// Its entity.
    pub entity: String,
    /// Its key.
    pub record_key: String,
    /// Where it came from in the source.
    pub source_position: String,
    /// Why it was skipped.
    pub reason: String,
    /// The plugin that decided.
    pub plugin: Option<PluginId>,
}

/// Hands a stage's errors and skips to the run log writer, one message per
/// batch so the writer can commit them in one transaction.
#[derive(Debug, Clone)]
pub struct Reporter {
    tx: Sender<LogEvent>,
    progress: Arc<Progress>,
}

impl Reporter {
    /// A reporter sending to the run log writer and updating `progress`.
    pub fn new(tx: Sender<LogEvent>, progress: Arc<Progress>) -> Self {
        Reporter { tx, progress }
    }

    /// Live counts, for progress displays.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Record errors.
    pub fn errors(&self, errors: Vec<RecordError>) {
        if !errors.is_empty() {
            // The writer outlives every stage; a send can only fail if it
            // died, which the run reports when joining it.
            let _ = self.tx.send(LogEvent::Errors(errors));
        }
    }

    /// Record skips.
    pub fn skips(&self, skips: Vec<SkipRecord>) {
        if !skips.is_empty() {
            let _ = self.tx.send(LogEvent::Skips(skips));
        }
    }
}

/// What a stage thread hands back when it is done.
#[derive(Debug, Clone)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// Counts per entity, indexed like the pipeline's entities.
    pub counts: Vec<StageCounts>,
    /// Entity streams that failed as a whole in this stage.
    pub stream_failures: u32,
}

impl StageReport {
    /// An empty report for `entities` entities.
    pub fn new(stage: Stage, entities: usize) -> Self {
        StageReport {
            stage,
            counts: vec![StageCounts::default(); entities],
            stream_failures: 0,
        }
    }
}
