//! The run log: an SQLite database of runs, stage counts, record errors,
//! retries, skips and the plugins each run used. Operators may query it
//! directly; the schema is documented in `docs/RUNLOG.md`.

mod audit;
mod audit_queries;
mod captures;
mod context;
mod cursors;
mod deliveries;
mod dlq;
mod error;
mod export;
mod groups;
mod interrupted;
mod job_schedule;
mod ledger;
mod plugin_store;
mod queries;
mod retention;
mod review;
mod rows;
mod scrub;
mod sql_types;
mod stats;
mod store;
mod writer;

pub use audit::AuditEntry;
pub use audit_queries::{AuditFilter, AuditRow, AuditTx, KnownDigest, PriorRun};
pub use captures::CaptureRow;
pub use context::RunContext;
pub use cursors::{CursorMove, CursorReset, CursorRow};
pub use deliveries::{AttemptRow, DeliveryFilter, DeliveryRow, DeliveryState, NewDelivery};
pub use dlq::{DlqEntry, DlqFilter, OpenKeys, StatusFilter};
pub use error::RunLogError;
pub use export::{ExportError, ExportManifest, import_run, read_manifest};
#[cfg(any(test, feature = "test-fixtures"))]
pub use groups::fixture;
pub use groups::{ErrorExample, ErrorGroup, ErrorGroups, RetryGroup, StreamFailure};
pub use interrupted::{InterruptedRun, RunningRun};
pub use job_schedule::{JobRunRow, JobScheduleRow};
pub use ledger::{
    BodyDigest, DRY_RUN_REASON, DryRunOutcomes, DryRunRecord, KnownKey, LedgerEntry, LoadOutcome,
    MAX_TARGET_ID_BYTES, WOULD_BE_UNCHANGED, WOULD_CREATE, WOULD_UPDATE, Would, body_digest,
};
pub use plugin_store::{
    CurrentChange, NewStoreVersion, OpenPromotion, StepVersionRow, StoreHistoryRow, StoreNameRow,
    StoreVersionRow,
};
pub use queries::{ErrorFilter, ErrorRow, PluginRunRow, PluginUseRow, RunFilter, RunRow, StageRow};
pub use retention::{Age, PruneReport};
#[cfg(any(test, feature = "test-fixtures"))]
pub use review::fixture as review_fixture;
pub use review::{
    PayloadEdit, PayloadEdited, PayloadVersion, ReviewError, SYSTEM_ACTOR, parse_assignment,
    pretty_payload, unified_diff,
};
pub use scrub::{
    DEFAULT_MAX_PAYLOAD_BYTES, MAX_CAPTURE_BYTES, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, Scrubber,
    cut_payload_bytes, is_cut_payload,
};
#[cfg(any(test, feature = "test-fixtures"))]
pub use stats::fixture as stats_fixture;
pub use stats::{
    DayErrors, DayRetries, InvalidSince, PipelineStats, RetryTotals, Since, Stats, StatsFilter,
    StatusCount, ratio,
};
pub use store::{PluginUse, RunLog};
pub use writer::{LogEvent, WriterHandle, spawn_writer};
