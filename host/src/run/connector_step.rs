//! Source and target steps: a connector pinned for the whole run, or one
//! that follows its store name's current version (live swap).
//!
//! - A source switches before any `read`: every read carries the cursor,
//!   so the new version picks up exactly where the old one stopped.
//! - A target's `begin` … `commit` may be one transaction (a file it
//!   truncates on `begin`, a staging table it swaps in on `commit`), so by
//!   default it switches only where an instance would begin afresh anyway:
//!   before the first `begin` of its entity. With
//!   [`LiveSwap::Batch`](crate::config::LiveSwap) it switches at the next
//!   batch boundary: the execute stage commits what the old version wrote,
//!   then begins the entity on the new one.

use std::time::Duration;

use crate::bindings::{ExtractBatch, Outgoing, PluginError, WriteOutcome};
use crate::config::LiveSwap;
use crate::connection::HttpExchange;
use crate::plugin::worlds::{Source, Target};
use crate::plugin::{PluginFailure, PluginId, SourcePlugin, TargetPlugin};
use crate::stages::execute::RecordTarget;
use crate::stages::ingest::RecordSource;
use crate::store::swap::LiveStep;

/// A source connector step.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SourceStep {
    /// Pinned for the run.
    Plugin(SourcePlugin),
    /// Named by store name, following its current version.
    Live(LiveStep<Source>),
}

/// A target connector step.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum TargetStep {
    /// Pinned for the run.
    Plugin(TargetPlugin),
    /// Named by store name, following its current version.
    Live {
        /// The step.
        step: LiveStep<Target>,
        /// Where a new version may take over.
        swap: LiveSwap,
        /// `begin` was called on the running instance.
        begun: bool,
    },
}

impl SourceStep {
    /// The sandbox running now.
    pub fn sandbox(&self) -> &SourcePlugin {
        match self {
            SourceStep::Plugin(p) => p,
            SourceStep::Live(p) => p.sandbox(),
        }
    }

    fn sandbox_mut(&mut self) -> &mut SourcePlugin {
        match self {
            SourceStep::Plugin(p) => p,
            SourceStep::Live(p) => p.sandbox_mut(),
        }
    }
}

impl TargetStep {
    /// The sandbox running now.
    pub fn sandbox(&self) -> &TargetPlugin {
        match self {
            TargetStep::Plugin(p) => p,
            TargetStep::Live { step, .. } => step.sandbox(),
        }
    }

    fn sandbox_mut(&mut self) -> &mut TargetPlugin {
        match self {
            TargetStep::Plugin(p) => p,
            TargetStep::Live { step, .. } => step.sandbox_mut(),
        }
    }
}

impl RecordSource for SourceStep {
    fn plugin(&self) -> &PluginId {
        self.sandbox().id()
    }

    fn read(
        &mut self,
        entity: &str,
        cursor: Option<&str>,
        max: u32,
    ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure> {
        match self {
            SourceStep::Plugin(p) => p.read(entity, cursor, max),
            SourceStep::Live(p) => {
                p.take_next();
                let answer = p.sandbox_mut().read(entity, cursor, max);
                match &answer {
                    Ok(Ok(batch)) => {
                        p.count_batch(batch.items.len());
                        p.count_failed(batch.items.iter().filter(|i| i.is_err()).count() as u64);
                    }
                    Ok(Err(_)) | Err(_) => p.count_failed_call(),
                }
                answer
            }
        }
    }

    fn retry_after(&mut self) -> Option<Duration> {
        self.sandbox_mut().retry_after()
    }

    fn take_http(&mut self) -> Vec<HttpExchange> {
        self.sandbox_mut().take_http()
    }
}

impl RecordTarget for TargetStep {
    fn plugin(&self) -> &PluginId {
        self.sandbox().id()
    }

    fn begin(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        if let TargetStep::Live { step, begun, .. } = self {
            if !*begun {
                step.take_next();
            }
            *begun = true;
        }
        self.sandbox_mut().begin(entity)
    }

    fn write(
        &mut self,
        entity: &str,
        records: &[Outgoing],
    ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure> {
        RecordTarget::write(self.sandbox_mut(), entity, records)
    }

    fn commit(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        RecordTarget::commit(self.sandbox_mut(), entity)
    }

    fn retry_after(&mut self) -> Option<Duration> {
        RecordTarget::retry_after(self.sandbox_mut())
    }

    fn take_http(&mut self) -> Vec<HttpExchange> {
        RecordTarget::take_http(self.sandbox_mut())
    }

    fn switch_waiting(&self) -> bool {
        match self {
            TargetStep::Live {
                step,
                swap: LiveSwap::Batch,
                begun: true,
            } => step.next_ready(),
            _ => false,
        }
    }

    fn switch(&mut self) {
        if let TargetStep::Live { step, begun, .. } = self
            && step.take_next()
        {
            *begun = false;
        }
    }

    fn begin_batch(&mut self, records: usize) {
        if let TargetStep::Live { step, .. } = self {
            step.count_batch(records);
        }
    }

    fn end_batch(&mut self, failed: u64) {
        if let TargetStep::Live { step, .. } = self {
            step.count_failed(failed);
        }
    }
}
