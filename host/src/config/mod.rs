//! Pipeline files: their schema, loading with precise error locations, and
//! validation.

mod load;
mod pipeline;
mod step;

pub use load::{ConfigError, LoadedPipeline, load_pipeline, parse_pipeline};
pub use pipeline::{ConnectorConfig, EntityConfig, FieldMapping, NormalizerStep, Pipeline};
pub use step::TransformStep;
