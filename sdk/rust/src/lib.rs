//! Write Sluice plugins in Rust.
//!
//! A Sluice plugin is a WebAssembly component built for `wasm32-wasip2`. It
//! implements one of four worlds of the `sluice:plugin@0.2.0` WIT package;
//! this crate gives each world a trait and an export macro:
//!
//! | World               | Trait                | Export macro                   |
//! |---------------------|----------------------|--------------------------------|
//! | `field-transformer` | [`FieldTransformer`] | [`export_field_transformer!`]  |
//! | `normalizer`        | [`Normalizer`]       | [`export_normalizer!`]         |
//! | `source`            | [`Source`]           | [`export_source!`]             |
//! | `target`            | [`Target`]           | [`export_target!`]             |
//!
//! A plugin crate implements one trait and expands its macro once. The
//! macro keeps the configured instance between calls; a call that arrives
//! before a successful `configure` gets a `config` error (code
//! `not-configured`), never a trap.
//!
//! Errors are data: return a [`PluginError`] (built with
//! [`PluginError::validation`], [`PluginError::config`],
//! [`PluginError::mapping`]...) rather than panicking. A panic traps the
//! component and the host treats it as a bug in the plugin.
//!
//! Each trait names the plugin's options type (`type Options`): a struct
//! deriving `Deserialize` and `schemars::JsonSchema` ([`PluginOptions`]),
//! marked `#[serde(deny_unknown_fields)]` so a misspelt key is rejected, or
//! [`NoOptions`]. The export macro answers the contract's `describe` with
//! the crate's package name, version and description and that type's JSON
//! Schema; the host checks a pipeline's options against it before
//! `configure`. Options arrive as a JSON object in [`Options`]: deserialize
//! them with [`Options::parse`], or call [`Options::none`] when the plugin
//! takes no options. File connectors see their granted directory at `/data`;
//! [`files::data_path`] resolves a relative `path` option there and rejects
//! paths that would escape it. [`log`] writes to the host's log. Sources
//! bound their batches by bytes and fail oversized records alone with
//! [`batch`].
//!
//! # Example: a field transformer
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "redact"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! sluice-sdk = { path = "../sluice/sdk/rust" }
//! serde = { version = "1", features = ["derive"] }
//! schemars = "1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use serde::Deserialize;
//! use sluice_sdk::{FieldTransformer, Options, PluginError, Value};
//!
//! /// Masks all but the last few characters of text: `4111111111111111`
//! /// becomes `************1111`.
//! struct Redact {
//!     keep_last: usize,
//! }
//!
//! /// The options, e.g. `{ "keep_last": 4 }`.
//! #[derive(Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct RedactOptions {
//!     /// Characters left visible at the end.
//!     #[serde(default = "default_keep_last")]
//!     keep_last: usize,
//! }
//!
//! fn default_keep_last() -> usize {
//!     4
//! }
//!
//! impl FieldTransformer for Redact {
//!     type Options = RedactOptions;
//!
//!     fn configure(options: Options) -> Result<Self, PluginError> {
//!         let options: RedactOptions = options.parse()?;
//!         Ok(Redact { keep_last: options.keep_last })
//!     }
//!
//!     fn transform(&self, value: Value) -> Result<Value, PluginError> {
//!         match value {
//!             Value::Text(text) => {
//!                 let count = text.chars().count();
//!                 let masked = count.saturating_sub(self.keep_last);
//!                 let kept: String = text.chars().skip(masked).collect();
//!                 Ok(Value::Text("*".repeat(masked) + &kept))
//!             }
//!             Value::Json(_) => Err(PluginError::validation(
//!                 "not-redactable",
//!                 "structured values cannot be redacted",
//!             )),
//!             other => Ok(other),
//!         }
//!     }
//! }
//!
//! sluice_sdk::export_field_transformer!(Redact);
//! # fn main() {
//! #     let redact = Redact::configure(Options::from_json(r#"{"keep_last": 2}"#).unwrap()).unwrap();
//! #     assert_eq!(redact.transform(Value::from("secret")), Ok(Value::from("****et")));
//! #     assert!(Redact::configure(Options::from_json(r#"{"keep": 2}"#).unwrap()).is_err());
//! #     assert!(sluice_sdk::options_schema::<RedactOptions>().contains("keep_last"));
//! # }
//! ```
//!
//! Build the component with:
//!
//! ```sh
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! and find it at `target/wasm32-wasip2/release/redact.wasm`.
//!
//! # Testing
//!
//! The traits are plain Rust: unit tests call `configure` and `transform`
//! directly and run natively with `cargo test`. [`log`] writes to standard
//! error there; [`http::send`] only works inside the component.

pub mod batch;
mod bindings;
pub mod classify;
mod error;
mod fields;
pub mod files;
pub mod http;
mod instance;
pub mod log;
mod normalize;
mod options;
mod source;
mod target;
pub mod testing;
mod transform;
mod value;
mod wasi_errno;

pub use bindings::imports::sluice::plugin::types::{Descriptor, ErrorCategory, PluginError, Value};
pub use classify::{
    EXCERPT_CHARS, body_excerpt, classify_http_error, classify_response, describe_response,
};
pub use error::INVALID_OPTIONS;
pub use fields::{
    Field, FieldBuffer, RawJson, is_empty_value, is_json_object, parse_fields, rewrite_fields,
    write_fields,
};
pub use normalize::{Normalized, Normalizer, Record, normalize_via_record, parse_record};
pub use options::{NoOptions, Options, PluginOptions, descriptor, options_schema};
pub use schemars;
pub use serde_json;
pub use source::{ExtractBatch, ExtractFailure, Extracted, Source};
pub use target::{Outgoing, Target, WriteOutcome};
pub use transform::FieldTransformer;

/// The body of `describe` in the export macros: the calling crate's
/// package name, version and description, the world, and the schema of the
/// plugin's options type. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_describe {
    ($plugin:ty, $trait:ident, $world:literal) => {
        fn describe() -> $crate::Descriptor {
            $crate::__private::descriptor::<<$plugin as $crate::$trait>::Options>(
                ::core::env!("CARGO_PKG_NAME"),
                ::core::env!("CARGO_PKG_VERSION"),
                ::core::env!("CARGO_PKG_DESCRIPTION"),
                $world,
            )
        }
    };
}

/// What the export macros expand to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::{field_transformer, normalizer, source, target};
    pub use crate::instance::Slot;
    pub use crate::normalize::glue as normalize_glue;
    pub use crate::options::descriptor;
    pub use crate::source::glue as source_glue;
    pub use crate::target::glue as target_glue;
    pub use crate::transform::glue as transform_glue;
    pub use std::thread_local;
}
