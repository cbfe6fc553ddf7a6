//! Runs: turning a pipeline into a [`Plan`] of configured plugin instances,
//! then driving the stages on their own threads and recording the outcome.

pub mod connector_step;
mod interrupted;
pub mod lock;
pub mod native;
mod plan;
mod replay_feed;
mod runner;

pub use crate::model::Progress;
pub use plan::{Plan, toml_to_json};
pub use runner::{
    Feed, RunError, RunKind, RunRequest, RunSummary, run_pipeline, run_plan, run_with,
};
