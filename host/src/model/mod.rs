//! The data model every other module shares: stages and their counts, run
//! statuses and totals, error categories, record errors, skips and retries,
//! plugin identities and live progress counts.
//!
//! This module is the bottom layer of the host: it depends on no other
//! module of the crate (see `docs/ARCHITECTURE.md`, "Module layers"), so
//! anything may depend on it. It holds types and the behaviour intrinsic
//! to them (names, parsing, arithmetic); behaviour that needs a plugin, the
//! run log or the error taxonomy lives with those modules.

mod category;
mod dlq;
mod plugin_id;
mod progress;
mod record_error;
mod retry;
mod run_status;
mod skip;
mod stage;
mod stop;

pub use category::Category;
pub use dlq::{DlqStatus, Resolution};
pub use plugin_id::{PluginId, short_digest};
pub use progress::Progress;
pub use record_error::{Disposition, LOCAL_CATEGORIES, RecordError, codes};
pub use retry::RetryRecord;
pub use run_status::{RunStatus, Totals};
pub use skip::SkipRecord;
pub use stage::{Stage, StageCounts};
pub use stop::{StopLevel, StopSignal};
