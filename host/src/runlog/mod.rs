//! The run log: an SQLite database of runs, stage counts, record errors,
//! skips and the plugins each run used. Operators may query it directly;
//! the schema is documented in `docs/RUNLOG.md`.

mod queries;
mod store;
mod writer;

pub use queries::{ErrorFilter, ErrorGroupRow, ErrorRow, PluginUseRow, RunRow, StageRow};
pub use store::{PluginUse, RunLog, RunLogError};
pub use writer::{LogEvent, WriterHandle, spawn_writer};
