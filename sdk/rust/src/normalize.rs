//! Normalizers: the `normalizer` world.

use serde_json::{Map, Value as Json};

use crate::options::json_kind;
use crate::{Options, PluginError};

/// A JSON object: one record.
pub type Record = Map<String, Json>;

/// What became of one record: the record as a [`Record`], or as JSON text
/// (`Normalized<String>`) from [`Normalizer::normalize_text`].
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized<R = Record> {
    /// The record after normalizing.
    Keep(R),
    /// The record should not be synced; the reason is kept in the run log.
    Skip(String),
}

impl<R> Normalized<R> {
    /// The same outcome with the kept record turned into something else
    /// (its JSON text, say); a skip keeps its reason.
    pub fn map<S>(self, f: impl FnOnce(R) -> S) -> Normalized<S> {
        match self {
            Normalized::Keep(record) => Normalized::Keep(f(record)),
            Normalized::Skip(reason) => Normalized::Skip(reason),
        }
    }
}

/// A plugin that reshapes whole records (rename, flatten, drop fields...).
///
/// Export it with [`export_normalizer!`](crate::export_normalizer). The SDK
/// parses each record's JSON text; a record that is not a JSON object gets
/// a `validation` error with code `not-an-object` without reaching
/// [`normalize`](Self::normalize).
pub trait Normalizer: Sized + 'static {
    /// The options type: what the options object deserializes into, and
    /// whose JSON Schema `describe` reports ([`NoOptions`](crate::NoOptions)
    /// when there are none).
    type Options: crate::PluginOptions;

    /// Builds the instance from its options. Reject bad options with a
    /// `config` error.
    fn configure(options: Options) -> Result<Self, PluginError>;

    /// Normalizes one record.
    fn normalize(&self, record: Record) -> Result<Normalized, PluginError>;

    /// Normalizes one record given as JSON text and answers JSON text. The
    /// default parses the text ([`parse_record`]), calls
    /// [`normalize`](Self::normalize) and writes the answer.
    ///
    /// Override it when the plugin can do its work on the text more
    /// cheaply, for example with [`parse_fields`](crate::parse_fields),
    /// which leaves values unparsed. The override must answer what the
    /// default would, up to JSON equality.
    fn normalize_text(&self, text: &str) -> Result<Normalized<String>, PluginError> {
        normalize_via_record(self, text)
    }
}

/// What [`Normalizer::normalize_text`] does by default: parse, normalize,
/// write. Overrides call it for the cases they do not handle themselves.
pub fn normalize_via_record<T: Normalizer>(
    plugin: &T,
    text: &str,
) -> Result<Normalized<String>, PluginError> {
    // `to_string` on the map writes straight into a buffer; `Display` on a
    // `Value` goes through a formatter and is several times slower.
    Ok(plugin
        .normalize(parse_record(text)?)?
        .map(|record| serde_json::to_string(&record).expect("a JSON object serializes")))
}

/// Parses a record's JSON text. Anything but a JSON object is a
/// `validation` error with code `not-an-object`.
pub fn parse_record(text: &str) -> Result<Record, PluginError> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(record)) => Ok(record),
        Ok(other) => Err(PluginError::validation(
            "not-an-object",
            format!("a record must be a JSON object, got {}", json_kind(&other)),
        )),
        Err(error) => Err(PluginError::validation(
            "not-an-object",
            format!("a record must be a JSON object, got invalid JSON: {error}"),
        )),
    }
}

/// Glue between the generated `normalize` interface and a [`Normalizer`],
/// used by the export macro.
#[doc(hidden)]
pub mod glue {
    use super::{Normalized, Normalizer};
    use crate::PluginError;
    use crate::bindings::normalizer::exports::sluice::plugin::normalize::Normalized as Wire;
    use crate::instance::{self, Slot};
    use std::thread::LocalKey;

    /// `normalize.configure`.
    pub fn configure<T: Normalizer>(
        slot: &'static LocalKey<Slot<T>>,
        options: String,
    ) -> Result<(), PluginError> {
        instance::configure(slot, &options, T::configure)
    }

    /// `normalize.normalize`.
    pub fn normalize<T: Normalizer>(
        slot: &'static LocalKey<Slot<T>>,
        records: Vec<String>,
    ) -> Vec<Result<Wire, PluginError>> {
        let count = records.len();
        instance::with_instance(slot, |plugin| {
            records
                .iter()
                .map(|text| normalize_one(plugin, text))
                .collect()
        })
        .unwrap_or_else(|error| vec![Err(error); count])
    }

    fn normalize_one<T: Normalizer>(plugin: &T, text: &str) -> Result<Wire, PluginError> {
        Ok(match plugin.normalize_text(text)? {
            Normalized::Keep(text) => Wire::Keep(text),
            Normalized::Skip(reason) => Wire::Skip(reason),
        })
    }
}

/// Exports a [`Normalizer`] as the component's `normalizer` world. Use it
/// once, in the plugin crate's `lib.rs`:
///
/// ```ignore
/// sluice_sdk::export_normalizer!(MyNormalizer);
/// ```
#[macro_export]
macro_rules! export_normalizer {
    ($plugin:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static SLUICE_INSTANCE: $crate::__private::Slot<$plugin> =
                    const { $crate::__private::Slot::new() };
            }

            struct SluiceNormalizer;

            impl $crate::__private::normalizer::exports::sluice::plugin::normalize::Guest
                for SluiceNormalizer
            {
                $crate::__sluice_describe!($plugin, Normalizer, "normalizer");

                fn configure(
                    options: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::normalize_glue::configure::<$plugin>(
                        &SLUICE_INSTANCE,
                        options,
                    )
                }

                fn normalize(
                    records: ::std::vec::Vec<::std::string::String>,
                ) -> ::std::vec::Vec<
                    ::core::result::Result<
                        $crate::__private::normalizer::exports::sluice::plugin::normalize::Normalized,
                        $crate::PluginError,
                    >,
                > {
                    $crate::__private::normalize_glue::normalize::<$plugin>(
                        &SLUICE_INSTANCE,
                        records,
                    )
                }
            }


            $crate::__private::normalizer::export_normalizer_world!(
                SluiceNormalizer with_types_in $crate::__private::normalizer
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_objects_only() {
        assert_eq!(parse_record(r#"{"a":1}"#).unwrap()["a"], json!(1));
        let error = parse_record("[1]").unwrap_err();
        assert_eq!(error.code, "not-an-object");
        assert_eq!(
            error.message,
            "a record must be a JSON object, got an array"
        );
        let error = parse_record("{").unwrap_err();
        assert_eq!(error.code, "not-an-object");
        assert!(error.message.contains("invalid JSON"), "{}", error.message);
    }
}
