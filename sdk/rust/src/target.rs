//! Target connectors: the `target` world.

use crate::normalize::{Record, parse_record};
use crate::{Options, PluginError};

pub use crate::bindings::target::exports::sluice::plugin::load::{Outgoing, WriteOutcome};

/// A connector that writes records into a system.
///
/// Export it with [`export_target!`](crate::export_target). File targets see
/// their granted directory at `/data`; network targets use [`crate::http`].
pub trait Target: Sized + 'static {
    /// The options type: what the options object deserializes into, and
    /// whose JSON Schema `describe` reports ([`NoOptions`](crate::NoOptions)
    /// when there are none).
    type Options: crate::PluginOptions;

    /// Builds the instance from its options. Reject bad options with a
    /// `config` error.
    fn configure(options: Options) -> Result<Self, PluginError>;

    /// Called once per run and entity before the first
    /// [`write`](Self::write).
    fn begin(&mut self, entity: &str) -> Result<(), PluginError>;

    /// Writes a batch of records. The outer error fails the whole batch (an
    /// expired token, say); otherwise return one result per record, in the
    /// same order.
    fn write(
        &mut self,
        entity: &str,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>;

    /// Called once per run and entity after the last [`write`](Self::write):
    /// flush, commit.
    fn commit(&mut self, entity: &str) -> Result<(), PluginError>;
}

impl Outgoing {
    /// Parses the record's body. A body that is not a JSON object is a
    /// `validation` error with code `not-an-object`.
    pub fn record(&self) -> Result<Record, PluginError> {
        parse_record(&self.body)
    }
}

/// Glue between the generated `load` interface and a [`Target`], used by
/// the export macro.
#[doc(hidden)]
pub mod glue {
    use super::{Outgoing, Target, WriteOutcome};
    use crate::PluginError;
    use crate::instance::{self, Slot};
    use std::thread::LocalKey;

    /// `load.configure`.
    pub fn configure<T: Target>(
        slot: &'static LocalKey<Slot<T>>,
        options: String,
    ) -> Result<(), PluginError> {
        instance::configure(slot, &options, T::configure)
    }

    /// `load.begin`.
    pub fn begin<T: Target>(
        slot: &'static LocalKey<Slot<T>>,
        entity: String,
    ) -> Result<(), PluginError> {
        instance::with_instance(slot, |plugin| plugin.begin(&entity))?
    }

    /// `load.write`.
    pub fn write<T: Target>(
        slot: &'static LocalKey<Slot<T>>,
        entity: String,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError> {
        instance::with_instance(slot, |plugin| plugin.write(&entity, records))?
    }

    /// `load.commit`.
    pub fn commit<T: Target>(
        slot: &'static LocalKey<Slot<T>>,
        entity: String,
    ) -> Result<(), PluginError> {
        instance::with_instance(slot, |plugin| plugin.commit(&entity))?
    }
}

/// Exports a [`Target`] as the component's `target` world. Use it once, in
/// the plugin crate's `lib.rs`:
///
/// ```ignore
/// sluice_sdk::export_target!(MyTarget);
/// ```
#[macro_export]
macro_rules! export_target {
    ($plugin:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static SLUICE_INSTANCE: $crate::__private::Slot<$plugin> =
                    const { $crate::__private::Slot::new() };
            }

            struct SluiceTarget;

            impl $crate::__private::target::exports::sluice::plugin::load::Guest for SluiceTarget {
                $crate::__sluice_describe!($plugin, Target, "target");

                fn configure(
                    options: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::target_glue::configure::<$plugin>(&SLUICE_INSTANCE, options)
                }

                fn begin(
                    entity: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::target_glue::begin::<$plugin>(&SLUICE_INSTANCE, entity)
                }

                fn write(
                    entity: ::std::string::String,
                    records: ::std::vec::Vec<$crate::Outgoing>,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<
                        ::core::result::Result<$crate::WriteOutcome, $crate::PluginError>,
                    >,
                    $crate::PluginError,
                > {
                    $crate::__private::target_glue::write::<$plugin>(
                        &SLUICE_INSTANCE,
                        entity,
                        records,
                    )
                }

                fn commit(
                    entity: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::target_glue::commit::<$plugin>(&SLUICE_INSTANCE, entity)
                }
            }

            $crate::__private::target::export_target_world!(
                SluiceTarget with_types_in $crate::__private::target
            );
        };
    };
}
