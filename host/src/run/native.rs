//! Plain-Rust stand-ins for plugins. Benchmarks put them in a [`Plan`]
//! (`Plan::use_native`) to measure what the sandbox costs against the same
//! work done natively; pipelines never use them.
//!
//! [`Plan`]: super::Plan

use crate::bindings::Normalized;
use crate::bindings::v0_2_0::TextBatch;
use crate::bindings::{PluginError, Value};
use crate::plugin::worlds::text_batch::{TextResults, text_values};
use crate::plugin::worlds::{FieldTransformer, Normalizer};
use crate::plugin::{NormalizerPlugin, PluginFailure, PluginId, TransformerPlugin};
use crate::stages::normalize::RecordNormalizer;
use crate::stages::transform::ValueTransformer;
use crate::store::swap::LiveStep;

/// A native field transformer: one result per value.
pub type NativeTransform = Box<dyn FnMut(&[Value]) -> Vec<Result<Value, PluginError>> + Send>;

/// A native normalizer: one result per record (JSON object text).
pub type NativeNormalize = Box<dyn FnMut(&[String]) -> Vec<Result<Normalized, PluginError>> + Send>;

/// A field transformer step: a sandboxed plugin, or its native stand-in.
// Production plans hold only plugins; boxing them would only add a hop.
#[allow(clippy::large_enum_variant)]
pub enum TransformStep {
    /// A WebAssembly plugin.
    Plugin(TransformerPlugin),
    /// A plugin named by store name, following its current version.
    Live(LiveStep<FieldTransformer>),
    /// A native stand-in, named like the plugin it replaces.
    Native(PluginId, NativeTransform),
}

/// A normalizer step: a sandboxed plugin, or its native stand-in.
#[allow(clippy::large_enum_variant)]
pub enum NormalizeStep {
    /// A WebAssembly plugin.
    Plugin(NormalizerPlugin),
    /// A plugin named by store name, following its current version.
    Live(LiveStep<Normalizer>),
    /// A native stand-in, named like the plugin it replaces.
    Native(PluginId, NativeNormalize),
}

impl std::fmt::Debug for TransformStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransformStep::Plugin(p) => p.fmt(f),
            TransformStep::Live(p) => p.fmt(f),
            TransformStep::Native(id, _) => write!(f, "Native({id})"),
        }
    }
}

impl std::fmt::Debug for NormalizeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NormalizeStep::Plugin(p) => p.fmt(f),
            NormalizeStep::Live(p) => p.fmt(f),
            NormalizeStep::Native(id, _) => write!(f, "Native({id})"),
        }
    }
}

impl ValueTransformer for TransformStep {
    fn plugin(&self) -> &PluginId {
        match self {
            TransformStep::Plugin(p) => p.id(),
            TransformStep::Live(p) => p.id(),
            TransformStep::Native(id, _) => id,
        }
    }

    fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
        match self {
            TransformStep::Plugin(p) => p.transform(values),
            TransformStep::Live(p) => {
                let outcome = p.sandbox_mut().transform(values);
                p.count_failures(values.len(), &outcome);
                outcome
            }
            TransformStep::Native(_, f) => Ok(f(values)),
        }
    }

    fn takes_texts(&self) -> bool {
        match self {
            TransformStep::Plugin(p) => p.takes_texts(),
            TransformStep::Live(p) => p.sandbox().takes_texts(),
            TransformStep::Native(..) => false,
        }
    }

    fn transform_texts(&mut self, batch: &TextBatch) -> Result<TextResults, PluginFailure> {
        match self {
            TransformStep::Plugin(p) => p.transform_texts(batch),
            TransformStep::Live(p) => {
                let outcome = p.sandbox_mut().transform_texts(batch);
                let records = batch.ends.len();
                // Counted as `LiveStep::count_failures` counts values.
                let failed = match &outcome {
                    Ok(results) => results.errors(),
                    Err(f) if records == 1 || !f.kind.is_isolatable() => records,
                    Err(_) => 0,
                };
                p.count_failed(failed as u64);
                outcome
            }
            TransformStep::Native(_, f) => Ok(TextResults::from_values(f(&text_values(batch)))),
        }
    }

    fn begin_batch(&mut self, records: usize) {
        if let TransformStep::Live(p) = self {
            p.begin_batch(records);
        }
    }
}

impl RecordNormalizer for NormalizeStep {
    fn plugin(&self) -> &PluginId {
        match self {
            NormalizeStep::Plugin(p) => p.id(),
            NormalizeStep::Live(p) => p.id(),
            NormalizeStep::Native(id, _) => id,
        }
    }

    fn normalize(
        &mut self,
        records: &[String],
    ) -> Result<Vec<Result<Normalized, PluginError>>, PluginFailure> {
        match self {
            NormalizeStep::Plugin(p) => p.normalize(records),
            NormalizeStep::Live(p) => {
                let outcome = p.sandbox_mut().normalize(records);
                p.count_failures(records.len(), &outcome);
                outcome
            }
            NormalizeStep::Native(_, f) => Ok(f(records)),
        }
    }

    fn begin_batch(&mut self, records: usize) {
        if let NormalizeStep::Live(p) = self {
            p.begin_batch(records);
        }
    }
}
