use serde::Serialize;

use super::{PluginId, Stage};

/// A record deliberately not synced, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkipRecord {
    /// Where it was skipped.
    pub stage: Stage,
    /// Its entity.
    pub entity: String,
    /// Its key.
    pub record_key: String,
    /// Where it came from in the source.
    pub source_position: String,
    /// Why it was skipped.
    pub reason: String,
    /// The plugin that decided.
    pub plugin: Option<PluginId>,
}
