//! Field transformers: the `field-transformer` world.

use crate::{Options, PluginError, Value};

/// A plugin that changes one field's values (`trim`, `email`...).
///
/// Export it with [`export_field_transformer!`](crate::export_field_transformer).
/// The host calls [`configure`](Self::configure) once per instance, then
/// [`transform_batch`](Self::transform_batch) with the values of one field
/// for a whole batch of records.
pub trait FieldTransformer: Sized + 'static {
    /// The options type: what the options object deserializes into, and
    /// whose JSON Schema `describe` reports ([`NoOptions`](crate::NoOptions)
    /// when there are none).
    type Options: crate::PluginOptions;

    /// Builds the instance from its options. Reject bad options with a
    /// `config` error ([`PluginError::config`]); the run then fails before
    /// any record is read.
    fn configure(options: Options) -> Result<Self, PluginError>;

    /// Transforms one value.
    fn transform(&self, value: Value) -> Result<Value, PluginError>;

    /// Transforms a batch of values: one result per value, in the same
    /// order. The default calls [`transform`](Self::transform) on each.
    fn transform_batch(&self, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        values
            .into_iter()
            .map(|value| self.transform(value))
            .collect()
    }
}

/// Glue between the generated `transform` interface and a
/// [`FieldTransformer`], used by the export macro.
#[doc(hidden)]
pub mod glue {
    use super::FieldTransformer;
    use crate::instance::{self, Slot};
    use crate::{PluginError, Value};
    use std::thread::LocalKey;

    /// `transform.configure`.
    pub fn configure<T: FieldTransformer>(
        slot: &'static LocalKey<Slot<T>>,
        options: String,
    ) -> Result<(), PluginError> {
        instance::configure(slot, &options, T::configure)
    }

    /// `transform.transform`: before `configure`, every value gets the
    /// `not-configured` error.
    pub fn transform<T: FieldTransformer>(
        slot: &'static LocalKey<Slot<T>>,
        values: Vec<Value>,
    ) -> Vec<Result<Value, PluginError>> {
        let count = values.len();
        instance::with_instance(slot, |plugin| plugin.transform_batch(values))
            .unwrap_or_else(|error| vec![Err(error); count])
    }
}

/// Exports a [`FieldTransformer`] as the component's `field-transformer`
/// world. Use it once, in the plugin crate's `lib.rs`:
///
/// ```ignore
/// sluice_sdk::export_field_transformer!(MyTransformer);
/// ```
#[macro_export]
macro_rules! export_field_transformer {
    ($plugin:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static SLUICE_INSTANCE: $crate::__private::Slot<$plugin> =
                    const { $crate::__private::Slot::new() };
            }

            struct SluiceFieldTransformer;

            impl $crate::__private::field_transformer::exports::sluice::plugin::transform::Guest
                for SluiceFieldTransformer
            {
                $crate::__sluice_describe!($plugin, FieldTransformer, "field-transformer");

                fn configure(
                    options: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::transform_glue::configure::<$plugin>(
                        &SLUICE_INSTANCE,
                        options,
                    )
                }

                fn transform(
                    values: ::std::vec::Vec<$crate::Value>,
                ) -> ::std::vec::Vec<::core::result::Result<$crate::Value, $crate::PluginError>>
                {
                    $crate::__private::transform_glue::transform::<$plugin>(
                        &SLUICE_INSTANCE,
                        values,
                    )
                }
            }

            $crate::__private::field_transformer::export_field_transformer_world!(
                SluiceFieldTransformer with_types_in $crate::__private::field_transformer
            );
        };
    };
}
