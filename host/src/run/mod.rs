//! Runs: turning a pipeline into a [`Plan`] of configured plugin instances,
//! then driving the stages on their own threads and recording the outcome.

mod interrupted;
pub mod lock;
pub mod native;
mod plan;
mod progress;
mod replay_feed;
mod runner;

pub use plan::Plan;
pub use progress::Progress;
pub use runner::{
    Feed, RunError, RunKind, RunRequest, RunSummary, run_pipeline, run_plan, run_with,
};
