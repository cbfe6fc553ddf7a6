//! Notifications: webhooks the daemon sends when runs fail, recover or
//! cross a job's thresholds, when a scheduled fire is late or missed, and
//! when a plugin version is rolled back.
//!
//! Every delivery is signed ([`sign`]), recorded in the run log before its
//! first attempt and after each (`webhook_deliveries`,
//! `webhook_attempts`), retried with exponential backoff and jitter on
//! network errors, 5xx, 408 and 429 (honouring `Retry-After`), up to the
//! webhook's `max_attempts`. Delivery runs on its own tokio task
//! ([`Notifier`]): sending an event never waits for a receiver.

pub mod alerts;
pub mod backoff;
mod config;
mod event;
pub mod sign;
mod worker;

pub use config::{
    Alerts, AlertsConfig, DEFAULT_BACKOFF, DEFAULT_LATE_AFTER, DEFAULT_MAX_ATTEMPTS, Invalid,
    MAX_ATTEMPTS, MAX_BACKOFF, MIN_SECRET_BYTES, Secret, Webhook, WebhookConfig, parse_duration,
};
pub use event::{Event, EventKind, MAX_REASON_BYTES, RunFacts};
pub use worker::{MAX_RESPONSE_BYTES, Notifier, excerpt, spawn};
