//! The plugin runtime: compiling, caching, sandboxing and calling
//! WebAssembly components through the `sluice:plugin` contract.
//!
//! - [`Runtime`] owns the one wasmtime `Engine`, the linkers and the compile
//!   cache; it checks a component's structure before compiling it, compiles
//!   in a bounded child process, and knows the paths no plugin may be granted.
//! - [`Registry`] turns a plugin reference from a pipeline into bytes and a digest.
//! - [`Sandbox`] is one live instance of a plugin under its [`Limits`]; it
//!   classifies every failure into a [`FailureKind`] and replaces a broken
//!   instance with a fresh one on the next call.
//! - [`worlds`] adapts the generated bindings of each world to the stages.

mod cache;
mod capabilities;
mod compile;
mod deadline;
mod describe;
mod dir_guard;
mod failure;
mod host_state;
mod inspect;
mod limits;
mod protected;
mod registry;
mod runtime;
mod sandbox;
pub mod worlds;

pub use crate::model::{PluginId, short_digest};
pub use capabilities::{GrantVia, ImportPolicy, ImportRefusal, contract_version};
pub use compile::{COMPILE_SUBCOMMAND, CompileBounds, Compiler, child_main as compiler_main};
pub use deadline::DeadlineReached;
pub use describe::{
    DescribeError, MAX_DESCRIPTION, MAX_DESCRIPTOR_NAME, MAX_OPTIONS_SCHEMA, ValidOptions,
    check_options, describe_artifact,
};
pub use dir_guard::{DEFAULT_WRITE_QUOTA_MB, DirGuard, guard_target};
pub use failure::{FailureKind, PluginFailure};
pub use host_state::{Grants, HostState};
pub use inspect::{Inspection, StaticBounds};
pub use limits::{Limits, LimitsConfig};
pub use protected::{ProtectedPaths, resolve as resolve_path};
pub use registry::{Artifact, NamedPlugins, Origin, PluginKind, Registry, ResolveError};
pub use runtime::{ComponentInfo, LoadError, Runtime};
pub use sandbox::{CallReport, CallStats, Sandbox, WorldBinding};
pub use worlds::{NormalizerPlugin, SourcePlugin, TargetPlugin, TransformerPlugin};
