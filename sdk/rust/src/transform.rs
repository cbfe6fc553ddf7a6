//! Field transformers: the `field-transformer` world.

use std::borrow::Cow;

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

    /// Transforms one text value lent to the plugin, when the result is
    /// text: `Some` with the result (borrowed from `text` or `self` when
    /// it is a part of them, so nothing is copied), or the error; `None`
    /// to decline, and the value goes through
    /// [`transform_batch`](Self::transform_batch) as `Value::Text` instead.
    /// The default declines every value.
    ///
    /// The host hands batches of text values through this path
    /// (`transform-text`): a plugin that overrides it spares a copy of
    /// each value and of each result. It must answer what
    /// [`transform`](Self::transform) answers for `Value::Text(text)`.
    fn transform_str<'a>(&'a self, text: &'a str) -> Option<Result<Cow<'a, str>, PluginError>> {
        let _ = text;
        None
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
    use std::borrow::Cow;
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

    /// `transform.transform-text`: each text handed to the plugin's
    /// [`transform_str`](FieldTransformer::transform_str) as a borrowed
    /// `&str`, its text result appended to the answer as it comes; the
    /// values it declines go through
    /// [`transform_batch`](FieldTransformer::transform_batch) together, as
    /// owned text values. Either way each result is what `transform` would
    /// answer for the same value.
    pub fn transform_text<T: FieldTransformer>(
        slot: &'static LocalKey<Slot<T>>,
        batch: TextBatch,
    ) -> TextAnswer {
        let count = batch.ends.len();
        instance::with_instance(slot, |plugin| answer_text(plugin, &batch))
            .unwrap_or_else(|error| pack_answer(vec![Err(error); count]))
    }

    /// The texts of a batch, borrowed. The host packs batches correctly;
    /// one that is not (offsets out of order, past the text or inside a
    /// character) traps here rather than being misread.
    fn texts(batch: &TextBatch) -> impl Iterator<Item = &str> {
        let mut start = 0;
        batch.ends.iter().map(move |&end| {
            let end = end as usize;
            let text = &batch.text[start..end];
            start = end;
            text
        })
    }

    fn answer_text<T: FieldTransformer>(plugin: &T, batch: &TextBatch) -> TextAnswer {
        let mut borrowed: Vec<Option<Result<Cow<'_, str>, PluginError>>> = texts(batch)
            .map(|text| plugin.transform_str(text))
            .collect();
        let declined: Vec<Value> = texts(batch)
            .zip(&borrowed)
            .filter(|(_, result)| result.is_none())
            .map(|(text, _)| Value::Text(text.to_owned()))
            .collect();
        let mut rest = if declined.is_empty() {
            Vec::new()
        } else {
            plugin.transform_batch(declined)
        }
        .into_iter();
        let mut text = String::with_capacity(batch.text.len());
        let mut ends = Vec::with_capacity(borrowed.len());
        let mut others = Vec::new();
        for (index, result) in borrowed.drain(..).enumerate() {
            match result {
                Some(Ok(t)) => text.push_str(&t),
                Some(Err(e)) => others.push((index as u32, Err(e))),
                None => match rest.next() {
                    Some(Ok(Value::Text(t))) => text.push_str(&t),
                    Some(other) => others.push((index as u32, other)),
                    // A `transform_batch` that answered too few: the
                    // short answer stays visible to the host.
                    None => break,
                },
            }
            ends.push(text.len() as u32);
        }
        // One that answered too many: the extra results are packed too, so
        // the count stays visible to the host.
        for result in rest {
            match result {
                Ok(Value::Text(t)) => text.push_str(&t),
                other => others.push((ends.len() as u32, other)),
            }
            ends.push(text.len() as u32);
        }
        TextAnswer { text, ends, others }
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

        /// Uppercases ASCII text lent to it; declines other text, which
        /// `transform` turns into its length (a value of another kind);
        /// fails on "bad" either way.
        struct Upper;

        impl FieldTransformer for Upper {
            type Options = crate::NoOptions;

            fn configure(_: crate::Options) -> Result<Self, PluginError> {
                Ok(Upper)
            }

            fn transform(&self, value: Value) -> Result<Value, PluginError> {
                match value {
                    Value::Text(t) if t == "bad" => Err(PluginError::validation("bad", "bad")),
                    Value::Text(t) if t.is_ascii() => Ok(Value::Text(t.to_ascii_uppercase())),
                    Value::Text(t) => Ok(Value::Integer(t.len() as i64)),
                    other => Ok(other),
                }
            }

            fn transform_str<'a>(
                &'a self,
                text: &'a str,
            ) -> Option<Result<Cow<'a, str>, PluginError>> {
                if text == "bad" {
                    return Some(Err(PluginError::validation("bad", "bad")));
                }
                if !text.is_ascii() {
                    return None;
                }
                Some(Ok(if text.bytes().any(|b| b.is_ascii_lowercase()) {
                    Cow::Owned(text.to_ascii_uppercase())
                } else {
                    Cow::Borrowed(text)
                }))
            }
        }

        /// Without an override of `transform_str`: everything declined.
        struct Plain;

        impl FieldTransformer for Plain {
            type Options = crate::NoOptions;

            fn configure(_: crate::Options) -> Result<Self, PluginError> {
                Ok(Plain)
            }

            fn transform(&self, value: Value) -> Result<Value, PluginError> {
                Upper.transform(value)
            }
        }

        /// The lent path answers what unpacking, `transform_batch` and
        /// packing answer, in order, values declined or not.
        #[test]
        fn lent_texts_answer_what_owned_values_answer() {
            let pieces = ["ab", "", "é", "CD", "bad", "x y", "ü", "z"];
            let mut text = String::new();
            let mut ends = Vec::new();
            for piece in pieces {
                text.push_str(piece);
                ends.push(text.len() as u32);
            }
            let batch = TextBatch { text, ends };
            let parts = |a: TextAnswer| (a.text, a.ends, a.others);
            let expected = parts(pack_answer(Upper.transform_batch(unpack_batch(&batch))));
            assert_eq!(parts(answer_text(&Upper, &batch)), expected);
            assert_eq!(parts(answer_text(&Plain, &batch)), expected);
            let expected = TextAnswer {
                text: expected.0,
                ends: expected.1,
                others: expected.2,
            };
            assert_eq!(expected.text, "ABCDX YZ");
            assert_eq!(expected.others.len(), 3);
        }

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
