use serde::Serialize;

use super::{Category, PluginId, Stage};

/// A record that hit a recoverable error and was retried: how often, and
/// whether it got through in the end. One per record and error code.
#[derive(Debug, Clone, Serialize)]
pub struct RetryRecord {
    /// The stage that retried.
    pub stage: Stage,
    /// The entity.
    pub entity: String,
    /// The record (none when a whole source read was retried).
    pub record_key: Option<String>,
    /// The plugin that reported the error.
    pub plugin: Option<PluginId>,
    /// The error's category.
    pub category: Category,
    /// The error's code (`rate-limited`, `bad-gateway`...).
    pub code: String,
    /// How many attempts failed with this code.
    pub failures: u32,
    /// Attempts made for the record in total.
    pub attempts: u32,
    /// Whether retrying overcame the recoverable error: the record then got
    /// through the stage, or failed for another, non-recoverable reason.
    pub succeeded: bool,
    /// Time spent waiting between attempts, in milliseconds.
    pub waited_ms: u64,
}
