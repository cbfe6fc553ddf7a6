//! The daemon's core, without its HTTP layer: the scheduler deciding when
//! jobs run ([`scheduler`]), and the state it keeps in the run log.
//!
//! The scheduler is a plain state machine: it is told the time and what
//! happened (a run ended, an operator paused a job, the project was
//! reloaded) and answers with [`Action`]s (start a run, stop one, note a
//! skipped fire). It never reads a clock or sleeps, so tests drive it
//! through days of schedules in microseconds; the daemon reads the time
//! from a [`crate::schedule::Clock`].

pub mod scheduler;

pub use scheduler::{
    Action, Fire, FireReason, JobSpec, JobView, ReloadOutcome, Scheduler, SchedulerError, Ticket,
};
