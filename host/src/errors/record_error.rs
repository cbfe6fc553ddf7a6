//! Record errors built from what plugins report, and what they mean.

use super::taxonomy::{ErrorFacts, Guidance};
use crate::bindings::PluginError;
use crate::model::{Category, LOCAL_CATEGORIES, PluginId, RecordError, Stage};
use crate::plugin::PluginFailure;

impl RecordError {
    /// An error a plugin reported as data. Normalizers and field
    /// transformers (stages `normalize` and `transform`) reach no remote
    /// system, so they may only report [`LOCAL_CATEGORIES`]; any other
    /// category (`auth`, which would pause the run, `transient`, which would
    /// be retried...) is recorded as `mapping`, not retryable, with the
    /// category the plugin claimed at the start of the message.
    /// Connectors may report every category.
    pub fn from_plugin_error(
        stage: Stage,
        entity: &str,
        plugin: &PluginId,
        e: PluginError,
    ) -> Self {
        let claimed: Category = e.category.into();
        let local = matches!(stage, Stage::Normalize | Stage::Transform);
        let (category, message, retryable) = if local && !LOCAL_CATEGORIES.contains(&claimed) {
            (
                Category::Mapping,
                format!(
                    "(reported as `{claimed}`, which a {} may not report) {}",
                    if stage == Stage::Normalize {
                        "normalizer"
                    } else {
                        "field transformer"
                    },
                    e.message
                ),
                false,
            )
        } else {
            (claimed, e.message, e.retryable)
        };
        RecordError {
            field: e.field,
            retryable,
            plugin: Some(plugin.clone()),
            ..RecordError::new(stage, entity, category, &e.code, message)
        }
    }

    /// An error the host raised because a plugin misbehaved (trap, limit...).
    pub fn from_failure(stage: Stage, entity: &str, plugin: &PluginId, f: &PluginFailure) -> Self {
        RecordError {
            plugin: Some(plugin.clone()),
            ..RecordError::new(
                stage,
                entity,
                Category::Mapping,
                f.kind.code(),
                f.to_string(),
            )
        }
    }

    /// Whether a person must act on this error.
    pub fn actionable(&self) -> bool {
        self.category.is_actionable()
    }

    /// What this error means and where to fix it.
    pub fn guidance(&self) -> Guidance {
        Guidance::for_error(ErrorFacts {
            category: self.category,
            code: &self.code,
            field: self.field.as_deref(),
            plugin: self.plugin.as_ref().map(|p| &*p.name),
            stage: self.stage.as_str(),
        })
    }
}
