//! One adapter per world: how to instantiate it and a typed, checked call
//! for each of its exports.

/// Implement [`WorldBinding`](crate::plugin::WorldBinding) for a generated
/// world: its type, its `*Pre` type, its role, and the accessor of its
/// exported interface.
macro_rules! world_binding {
    ($world:ty, $pre:ident, $kind:expr, $export:ident) => {
        impl crate::plugin::WorldBinding for $world {
            type Pre = $pre<crate::plugin::HostState>;
            const KIND: crate::plugin::PluginKind = $kind;

            fn pre(
                instance_pre: wasmtime::component::InstancePre<crate::plugin::HostState>,
            ) -> wasmtime::Result<Self::Pre> {
                $pre::new(instance_pre)
            }

            fn instantiate(
                pre: &Self::Pre,
                store: &mut wasmtime::Store<crate::plugin::HostState>,
            ) -> wasmtime::Result<Self> {
                pre.instantiate(store)
            }

            fn configure(
                &self,
                store: &mut wasmtime::Store<crate::plugin::HostState>,
                options: &str,
            ) -> wasmtime::Result<Result<(), crate::bindings::current::PluginError>> {
                self.$export().call_configure(store, options)
            }
        }
    };
}

mod normalizer;
mod source;
mod target;
mod transformer;

pub use normalizer::NormalizerPlugin;
pub use source::SourcePlugin;
pub use target::TargetPlugin;
pub use transformer::TransformerPlugin;

use super::failure::PluginFailure;
use crate::bindings::current::{PluginError, Value};
use crate::model::PluginId;

/// Bytes a plugin error occupies in an answer.
pub(crate) fn error_size(e: &PluginError) -> u64 {
    (e.code.len() + e.message.len() + e.field.as_ref().map_or(0, String::len)) as u64
}

/// Bytes a value occupies in an answer.
pub(crate) fn value_size(v: &Value) -> u64 {
    match v {
        Value::Text(s) | Value::Json(s) => s.len() as u64,
        _ => 8,
    }
}

/// The answer has one item per input, or the call broke the contract.
pub(crate) fn check_len<T>(
    id: &PluginId,
    export: &str,
    sent: usize,
    got: Vec<T>,
) -> Result<Vec<T>, PluginFailure> {
    if got.len() == sent {
        Ok(got)
    } else {
        Err(PluginFailure::contract(format!(
            "plugin `{}` returned {} result(s) from `{export}` for {sent} input(s); the contract requires exactly one per input, in order",
            id.name,
            got.len()
        )))
    }
}
