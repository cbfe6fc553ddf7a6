//! The plugin runtime: compiling, caching, sandboxing and calling
//! WebAssembly components through the `sluice:plugin` contract.
//!
//! - [`Runtime`] owns the one wasmtime `Engine`, the linkers and the compile cache.
//! - [`Registry`] turns a plugin reference from a pipeline into bytes and a digest.
//! - [`Sandbox`] is one live instance of a plugin under its [`Limits`]; it
//!   classifies every failure into a [`FailureKind`] and replaces a broken
//!   instance with a fresh one on the next call.
//! - [`worlds`] adapts the generated bindings of each world to the stages.

mod cache;
mod capabilities;
mod dir_guard;
mod failure;
mod host_state;
mod id;
mod limits;
mod registry;
mod runtime;
mod sandbox;
pub mod worlds;

pub use capabilities::{ImportPolicy, ImportRefusal};
pub use dir_guard::{DEFAULT_WRITE_QUOTA_MB, DirGuard, guard_target};
pub use failure::{FailureKind, PluginFailure};
pub use host_state::{Grants, HostState};
pub use id::{PluginId, short_digest};
pub use limits::{Limits, LimitsConfig};
pub use registry::{Artifact, Origin, PluginKind, Registry, ResolveError};
pub use runtime::{ComponentInfo, LoadError, Runtime};
pub use sandbox::{CallReport, CallStats, Sandbox, WorldBinding};
pub use worlds::{NormalizerPlugin, SourcePlugin, TargetPlugin, TransformerPlugin};
