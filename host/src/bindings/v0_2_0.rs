//! Bindings for `sluice:plugin@0.2.0`, the current contract, in `wit/sluice-plugin@0.2.0/`.
//!
//! Each world gets its own `bindgen!`; the shared interfaces (`types`, `log`,
//! `http`) are generated once in [`field_transformer`] / [`source`] and reused
//! by the others through `with`, so there is one Rust type per WIT type.

/// The contract version these bindings implement; every `@0.2.0` the host
/// names derives from it.
pub const VERSION: &str = "0.2.0";

/// World `field-transformer`; also home of the shared `types` and `log` bindings.
pub mod field_transformer {
    wasmtime::component::bindgen!({
        path: "../wit/sluice-plugin@0.2.0",
        world: "field-transformer",
    });
}

/// World `normalizer`.
pub mod normalizer {
    wasmtime::component::bindgen!({
        path: "../wit/sluice-plugin@0.2.0",
        world: "normalizer",
        with: {
            "sluice:plugin/types": super::field_transformer::sluice::plugin::types,
            "sluice:plugin/log": super::field_transformer::sluice::plugin::log,
        },
    });
}

/// World `source`; also home of the shared `http` bindings.
pub mod source {
    wasmtime::component::bindgen!({
        path: "../wit/sluice-plugin@0.2.0",
        world: "source",
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
        path: "../wit/sluice-plugin@0.2.0",
        world: "target",
        with: {
            "sluice:plugin/types": super::field_transformer::sluice::plugin::types,
            "sluice:plugin/log": super::field_transformer::sluice::plugin::log,
            "sluice:plugin/http": super::source::sluice::plugin::http,
        },
    });
}

pub use field_transformer::exports::sluice::plugin::transform::{TextAnswer, TextBatch};
pub use field_transformer::sluice::plugin::log;
pub use field_transformer::sluice::plugin::types::{Descriptor, ErrorCategory, PluginError, Value};
pub use field_transformer::{FieldTransformer, FieldTransformerPre};
pub use normalizer::exports::sluice::plugin::normalize::Normalized;
pub use normalizer::{Normalizer, NormalizerPre};
pub use source::exports::sluice::plugin::extract::{ExtractBatch, ExtractFailure, Extracted};
pub use source::sluice::plugin::http;
pub use source::{Source, SourcePre};
pub use target::exports::sluice::plugin::load::{Outgoing, WriteOutcome};
pub use target::{Target, TargetPre};
