//! Projects: a `sluice.toml` naming the jobs a daemon runs (each a pipeline
//! file with a schedule, an overlap and catch-up policy, dependencies and a
//! concurrency limit), the connections file and the data directory.
//!
//! Loading checks everything that can be checked without running anything:
//! unknown keys, cron expressions and time zones, intervals, that every
//! pipeline file loads, that dependencies name jobs and form no cycle.
//! Every error names `file:line:column`.

mod file;
mod graph;
mod job;
mod load;

pub use file::{DaemonConfig, ProjectFile};
pub use job::{Catchup, JobConfig, Overlap, When};
pub use load::{Job, Project, ProjectError, load_project, parse_project};

/// The project file's name in a project directory.
pub const PROJECT_FILE: &str = "sluice.toml";

#[cfg(test)]
mod tests;
