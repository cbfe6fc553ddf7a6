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
    use crate::bindings::field_transformer::exports::sluice::plugin::transform::{
        TextAnswer, TextBatch,
    };
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

    /// `transform.transform-text`: the packed batch unpacked into text
    /// values, transformed exactly as by `transform`, and the results
    /// packed again, so the plugin's code is the same for both exports.
    pub fn transform_text<T: FieldTransformer>(
        slot: &'static LocalKey<Slot<T>>,
        batch: TextBatch,
    ) -> TextAnswer {
        pack_answer(transform(slot, unpack_batch(&batch)))
    }

    /// The batch's texts, one value each. The host packs batches
    /// correctly; one that is not (offsets out of order, past the text or
    /// inside a character) traps here rather than being misread.
    pub fn unpack_batch(batch: &TextBatch) -> Vec<Value> {
        let mut start = 0;
        batch
            .ends
            .iter()
            .map(|&end| {
                let end = end as usize;
                let value = Value::Text(batch.text[start..end].to_owned());
                start = end;
                value
            })
            .collect()
    }

    /// Results packed as `transform-text` answers: text results
    /// concatenated with their end offsets, every other result (errors,
    /// values of other kinds) by index in `others`. As many end offsets as
    /// results, so a wrong count stays visible to the host.
    pub fn pack_answer(results: Vec<Result<Value, PluginError>>) -> TextAnswer {
        let size = results
            .iter()
            .map(|r| match r {
                Ok(Value::Text(s)) => s.len(),
                _ => 0,
            })
            .sum();
        let mut text = String::with_capacity(size);
        let mut ends = Vec::with_capacity(results.len());
        let mut others = Vec::new();
        for (index, result) in results.into_iter().enumerate() {
            match result {
                Ok(Value::Text(s)) => text.push_str(&s),
                other => others.push((index as u32, other)),
            }
            ends.push(text.len() as u32);
        }
        TextAnswer { text, ends, others }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_batch_unpacks_and_answers_pack_by_end_offsets() {
            let batch = TextBatch {
                text: "abé".into(),
                ends: vec![2, 2, 4],
            };
            assert_eq!(
                unpack_batch(&batch),
                [Value::from("ab"), Value::from(""), Value::from("é")]
            );
            let answer = pack_answer(vec![
                Ok(Value::from("x")),
                Err(PluginError::config("no")),
                Ok(Value::Null),
                Ok(Value::from("é")),
            ]);
            assert_eq!(answer.text, "xé");
            assert_eq!(answer.ends, [1, 1, 1, 3]);
            assert_eq!(
                answer.others,
                [(1, Err(PluginError::config("no"))), (2, Ok(Value::Null))]
            );
        }
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

                fn transform_text(
                    batch: $crate::__private::field_transformer::exports::sluice::plugin::transform::TextBatch,
                ) -> $crate::__private::field_transformer::exports::sluice::plugin::transform::TextAnswer
                {
                    $crate::__private::transform_glue::transform_text::<$plugin>(
                        &SLUICE_INSTANCE,
                        batch,
                    )
                }
            }

            $crate::__private::field_transformer::export_field_transformer_world!(
                SluiceFieldTransformer with_types_in $crate::__private::field_transformer
            );
        };
    };
}
