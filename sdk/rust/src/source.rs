//! Source connectors: the `source` world.

use crate::normalize::Record;
use crate::{Options, PluginError};

pub use crate::bindings::source::exports::sluice::plugin::extract::{
    ExtractBatch, ExtractFailure, Extracted,
};

/// A connector that reads records out of a system.
///
/// Export it with [`export_source!`](crate::export_source). File sources see
/// their granted directory at `/data`; network sources use [`crate::http`].
pub trait Source: Sized + 'static {
    /// The options type: what the options object deserializes into, and
    /// whose JSON Schema `describe` reports ([`NoOptions`](crate::NoOptions)
    /// when there are none).
    type Options: crate::PluginOptions;

    /// Builds the instance from its options. Reject bad options with a
    /// `config` error.
    fn configure(options: Options) -> Result<Self, PluginError>;

    /// Reads up to `max` items of `entity`, starting at `cursor` (`None`:
    /// from the beginning). Return the cursor of the position after the
    /// batch and whether the stream is done. An error fails the whole
    /// stream; an item that cannot be read is an [`ExtractFailure`] instead.
    /// Stop a batch early by bytes too ([`BatchBudget`](crate::batch::BatchBudget)):
    /// an answer over the host's output cap or memory limit fails the read.
    fn read(
        &mut self,
        entity: &str,
        cursor: Option<String>,
        max: u32,
    ) -> Result<ExtractBatch, PluginError>;
}

impl Extracted {
    /// A record read from the source; `key` says where it came from, such
    /// as `contacts.csv:12`.
    pub fn new(key: impl Into<String>, record: &Record) -> Self {
        Self {
            key: key.into(),
            body: serde_json::to_string(record).unwrap_or_else(|_| "{}".to_owned()),
        }
    }
}

impl ExtractFailure {
    /// An item that could not be read as a record, with its raw text.
    pub fn new(key: impl Into<String>, raw: impl Into<String>, error: PluginError) -> Self {
        Self {
            key: key.into(),
            raw: raw.into(),
            error,
        }
    }
}

/// Glue between the generated `extract` interface and a [`Source`], used
/// by the export macro.
#[doc(hidden)]
pub mod glue {
    use super::{ExtractBatch, Source};
    use crate::PluginError;
    use crate::instance::{self, Slot};
    use std::thread::LocalKey;

    /// `extract.configure`.
    pub fn configure<T: Source>(
        slot: &'static LocalKey<Slot<T>>,
        options: String,
    ) -> Result<(), PluginError> {
        instance::configure(slot, &options, T::configure)
    }

    /// `extract.read`.
    pub fn read<T: Source>(
        slot: &'static LocalKey<Slot<T>>,
        entity: String,
        cursor: Option<String>,
        max: u32,
    ) -> Result<ExtractBatch, PluginError> {
        instance::with_instance(slot, |plugin| plugin.read(&entity, cursor, max))?
    }
}

/// Exports a [`Source`] as the component's `source` world. Use it once, in
/// the plugin crate's `lib.rs`:
///
/// ```ignore
/// sluice_sdk::export_source!(MySource);
/// ```
#[macro_export]
macro_rules! export_source {
    ($plugin:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static SLUICE_INSTANCE: $crate::__private::Slot<$plugin> =
                    const { $crate::__private::Slot::new() };
            }

            struct SluiceSource;

            impl $crate::__private::source::exports::sluice::plugin::extract::Guest for SluiceSource {
                $crate::__sluice_describe!($plugin, Source, "source");

                fn configure(
                    options: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::source_glue::configure::<$plugin>(&SLUICE_INSTANCE, options)
                }

                fn read(
                    entity: ::std::string::String,
                    cursor: ::core::option::Option<::std::string::String>,
                    max: u32,
                ) -> ::core::result::Result<$crate::ExtractBatch, $crate::PluginError> {
                    $crate::__private::source_glue::read::<$plugin>(
                        &SLUICE_INSTANCE,
                        entity,
                        cursor,
                        max,
                    )
                }
            }


            $crate::__private::source::export_source_world!(
                SluiceSource with_types_in $crate::__private::source
            );
        };
    };
}
