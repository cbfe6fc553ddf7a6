//! When jobs fire: cron expressions in a time zone, fixed intervals, and the
//! clock the scheduler reads (the system clock, or one a test moves).
//!
//! This module only does time arithmetic; what a fire does (overlap,
//! catch-up, dependencies) is decided by the daemon's scheduler
//! (`crate::daemon::scheduler`).

mod clock;
mod cron;
mod trigger;

pub use clock::{Clock, FileClock, ManualClock, SystemClock, TEST_CLOCK_ENV, test_clock_from_env};
pub use cron::{CronSchedule, InvalidCron};
pub use trigger::{InvalidInterval, Trigger, parse_interval};
