//! Runs: turning a pipeline into a [`Plan`] of configured plugin instances,
//! then driving the stages on their own threads and recording the outcome.

pub mod native;
mod plan;
mod progress;
mod runner;

pub use plan::Plan;
pub use progress::Progress;
pub use runner::{RunError, RunSummary, run_pipeline, run_plan};
