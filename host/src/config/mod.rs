//! Pipeline files: their schema, loading with precise error locations, and
//! validation.

mod connections;
mod load;
mod pipeline;
mod run_log;
mod step;

pub(crate) use load::locate;
pub use load::{ConfigError, LoadedPipeline, Location, load_pipeline, parse_pipeline};
pub use pipeline::{ConnectorConfig, EntityConfig, FieldMapping, LiveSwap, Pipeline};
pub use run_log::RunLogConfig;
pub use step::{ALLOWABLE_INTERFACES, PluginStep, split_pin};
