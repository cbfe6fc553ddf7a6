//! Host-side bindings for every supported version of the plugin contract.
//!
//! All `bindgen!` output lives here, one submodule per contract version, so
//! the rest of the host never names generated code directly except through
//! these modules.

pub mod v0_1_0;

pub use v0_1_0 as current;
