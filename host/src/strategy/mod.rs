//! Error strategies: what happens to a record that fails (skip, retry,
//! fail-fast, review), how retries are paced, and the circuit breaker that
//! stops a run instead of failing record after record.

mod backoff;
mod config;
mod control;

pub use crate::model::RetryRecord;
pub use backoff::{Backoff, GiveUp, MAX_PLUGIN_RETRY_AFTER, is_retried, plugin_retry_after};
pub use config::{
    BreakerConfig, BreakerPolicy, EntityErrorsConfig, ErrorPolicy, ErrorsConfig, RetryConfig,
    RetryPolicy, Strategy,
};
pub use control::{Halt, HaltCause, RunControl};
