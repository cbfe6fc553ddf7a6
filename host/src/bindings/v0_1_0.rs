//! Bindings for `sluice:plugin@0.1.0`.
//!
//! Each world gets its own `bindgen!`; the shared interfaces (`types`, `log`,
//! `http`) are generated once in [`field_transformer`] / [`source`] and reused
//! by the others through `with`, so there is one Rust type per WIT type.

/// The contract version these bindings implement.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// World `field-transformer`; also home of the shared `types` and `log` bindings.
pub mod field_transformer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sluice:plugin/field-transformer@0.1.0",
    });
}

/// World `normalizer`.
pub mod normalizer {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sluice:plugin/normalizer@0.1.0",
        with: {
            "sluice:plugin/types": super::field_transformer::sluice::plugin::types,
            "sluice:plugin/log": super::field_transformer::sluice::plugin::log,
        },
    });
}

/// World `source`; also home of the shared `http` bindings.
pub mod source {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sluice:plugin/source@0.1.0",
        with: {
            "sluice:plugin/types": super::field_transformer::sluice::plugin::types,
            "sluice:plugin/log": super::field_transformer::sluice::plugin::log,
        },
        // A request cut at the plugin's call deadline ends the call.
        imports: {
            "sluice:plugin/http.send": trappable,
        },
    });
}

/// World `target`.
pub mod target {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sluice:plugin/target@0.1.0",
        with: {
            "sluice:plugin/types": super::field_transformer::sluice::plugin::types,
            "sluice:plugin/log": super::field_transformer::sluice::plugin::log,
            "sluice:plugin/http": super::source::sluice::plugin::http,
        },
    });
}

pub use field_transformer::sluice::plugin::log;
pub use field_transformer::sluice::plugin::types::{ErrorCategory, PluginError, Value};
pub use source::sluice::plugin::http;
