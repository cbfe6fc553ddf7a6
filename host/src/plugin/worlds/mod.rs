//! One adapter per world: how to instantiate it and a typed, checked call
//! for each of its exports.

/// Define a world's binding over every contract version: an enum of each
/// version's generated world (and of its `*Pre`), and its
/// [`WorldBinding`](crate::plugin::WorldBinding) impl. `configure` answers
/// in the current types; `describe` is `None` before 0.2.0.
macro_rules! versioned_world {
    ($(#[$doc:meta])* $world:ident, $pre:ident, $kind:expr, $export:ident) => {
        $(#[$doc])*
        pub enum $world {
            /// Built for sluice:plugin@0.1.0.
            V0_1_0(crate::bindings::v0_1_0::$world),
            /// Built for sluice:plugin@0.2.0.
            V0_2_0(crate::bindings::v0_2_0::$world),
        }

        impl std::fmt::Debug for $world {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let version = match self {
                    $world::V0_1_0(_) => crate::bindings::ContractVersion::V0_1_0,
                    $world::V0_2_0(_) => crate::bindings::ContractVersion::V0_2_0,
                };
                write!(f, "{}({version})", stringify!($world))
            }
        }

        /// The pre-linked component, at the version it was built for.
        #[derive(Clone)]
        pub enum $pre {
            /// Built for sluice:plugin@0.1.0.
            V0_1_0(crate::bindings::v0_1_0::$pre<crate::plugin::HostState>),
            /// Built for sluice:plugin@0.2.0.
            V0_2_0(crate::bindings::v0_2_0::$pre<crate::plugin::HostState>),
        }

        impl std::fmt::Debug for $pre {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let version = match self {
                    $pre::V0_1_0(_) => crate::bindings::ContractVersion::V0_1_0,
                    $pre::V0_2_0(_) => crate::bindings::ContractVersion::V0_2_0,
                };
                write!(f, "{}({version})", stringify!($pre))
            }
        }

        impl crate::plugin::WorldBinding for $world {
            type Pre = $pre;
            const KIND: crate::plugin::PluginKind = $kind;

            fn pre(
                instance_pre: wasmtime::component::InstancePre<crate::plugin::HostState>,
                version: crate::bindings::ContractVersion,
            ) -> wasmtime::Result<Self::Pre> {
                Ok(match version {
                    crate::bindings::ContractVersion::V0_1_0 => {
                        $pre::V0_1_0(crate::bindings::v0_1_0::$pre::new(instance_pre)?)
                    }
                    crate::bindings::ContractVersion::V0_2_0 => {
                        $pre::V0_2_0(crate::bindings::v0_2_0::$pre::new(instance_pre)?)
                    }
                })
            }

            fn instantiate(
                pre: &Self::Pre,
                store: &mut wasmtime::Store<crate::plugin::HostState>,
            ) -> wasmtime::Result<Self> {
                Ok(match pre {
                    $pre::V0_1_0(p) => $world::V0_1_0(p.instantiate(store)?),
                    $pre::V0_2_0(p) => $world::V0_2_0(p.instantiate(store)?),
                })
            }

            fn describe(
                &self,
                store: &mut wasmtime::Store<crate::plugin::HostState>,
            ) -> wasmtime::Result<Option<crate::bindings::Descriptor>> {
                match self {
                    $world::V0_1_0(_) => Ok(None),
                    $world::V0_2_0(w) => w.$export().call_describe(store).map(Some),
                }
            }

            fn configure(
                &self,
                store: &mut wasmtime::Store<crate::plugin::HostState>,
                options: &str,
            ) -> wasmtime::Result<Result<(), crate::bindings::PluginError>> {
                match self {
                    $world::V0_1_0(w) => w
                        .$export()
                        .call_configure(store, options)
                        .map(crate::bindings::adapt::result),
                    $world::V0_2_0(w) => w.$export().call_configure(store, options),
                }
            }
        }
    };
}

mod normalizer;
mod source;
mod target;
pub mod text_batch;
mod transformer;

pub use normalizer::{Normalizer, NormalizerPlugin, NormalizerPre};
pub use source::{Source, SourcePlugin, SourcePre};
pub use target::{Target, TargetPlugin, TargetPre, WriteAnswer};
pub use transformer::{FieldTransformer, FieldTransformerPre, TransformerPlugin};

use super::failure::PluginFailure;
use crate::bindings::{PluginError, Value};
use crate::model::PluginId;

/// Bytes a plugin error occupies in an answer.
pub(crate) fn error_size(e: &PluginError) -> u64 {
    (e.code.len() + e.message.len() + e.field.as_ref().map_or(0, String::len)) as u64
}

/// Bytes one result (a value or an error) occupies in an answer.
pub(crate) fn result_size(r: &Result<Value, PluginError>) -> u64 {
    match r {
        Ok(v) => value_size(v),
        Err(e) => error_size(e),
    }
}

/// Bytes a value occupies in an answer.
pub(crate) fn value_size(v: &Value) -> u64 {
    match v {
        Value::Text(s) | Value::Json(s) | Value::Decimal(s) | Value::Timestamp(s) => s.len() as u64,
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
