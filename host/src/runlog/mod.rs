//! The run log: an SQLite database of runs, stage counts, record errors,
//! retries, skips and the plugins each run used. Operators may query it
//! directly; the schema is documented in `docs/RUNLOG.md`.

mod audit;
mod dlq;
mod groups;
mod queries;
mod stats;
mod store;
mod writer;

pub use audit::AuditEntry;
pub use dlq::{DlqEntry, DlqFilter};
#[cfg(test)]
pub(crate) use groups::fixture;
pub use groups::{ErrorExample, ErrorGroup, ErrorGroups, RetryGroup};
pub use queries::{ErrorFilter, ErrorRow, PluginUseRow, RunRow, StageRow};
#[cfg(test)]
pub(crate) use stats::fixture as stats_fixture;
pub use stats::{
    DayErrors, DayRetries, InvalidSince, PipelineStats, RetryTotals, Since, Stats, StatsFilter,
    StatusCount, ratio,
};
pub use store::{PluginUse, RunLog, RunLogError};
pub use writer::{LogEvent, RunContext, WriterHandle, spawn_writer};
