//! Records as top-level fields whose values stay JSON text.
//!
//! A normalizer that only moves keys around (rename, drop, lowercase) does
//! not need the values parsed: [`parse_fields`] borrows each value's text
//! from the record and [`write_fields`] copies it back out. Inside a
//! component this skips building and dropping a tree of values per record,
//! which is most of what parsing costs there.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::PluginError;
use crate::normalize::parse_record;

/// One top-level field: the key (borrowed from the record's text unless
/// it had escapes) and the value's JSON text, as it was written.
pub type Field<'a> = (Cow<'a, str>, &'a RawValue);

/// Parses a record's top-level fields without parsing their values, in the
/// order the text has them. A key written twice keeps its last value, at
/// its first position, as parsing into a [`Record`](crate::Record) does.
///
/// Anything but a JSON object is the same `validation` error with code
/// `not-an-object` that [`parse_record`] gives.
pub fn parse_fields(text: &str) -> Result<Vec<Field<'_>>, PluginError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let fields = deserializer
        .deserialize_map(FieldsVisitor)
        .and_then(|fields| deserializer.end().map(|()| fields));
    match fields {
        Ok(fields) => Ok(dedup_keys(fields)),
        // Errors are rare: let the full parser word them.
        Err(_) => Err(parse_record(text).err().unwrap_or_else(|| {
            PluginError::validation("not-an-object", "a record must be a JSON object")
        })),
    }
}

/// Writes fields as one JSON object, in the order given. Keys are escaped;
/// values are copied as they are.
pub fn write_fields<K: AsRef<str>>(fields: &[(K, &RawValue)]) -> String {
    // Quotes, colon and comma: four bytes per field, plus the braces.
    let size = fields
        .iter()
        .map(|(key, value)| key.as_ref().len() + value.get().len() + 4)
        .sum::<usize>()
        + 2;
    let mut out = String::with_capacity(size);
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let key = key.as_ref();
        if key.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            out.push_str(&serde_json::to_string(key).expect("a string serializes"));
        } else {
            out.push('"');
            out.push_str(key);
            out.push('"');
        }
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    out
}

/// True for a `null` value and for text that is empty or only whitespace.
pub fn is_empty_value(value: &RawValue) -> bool {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'n') => text == "null",
        Some(b'"') => serde_json::from_str::<Cow<'_, str>>(text)
            .map(|s| s.trim().is_empty())
            .unwrap_or(false),
        _ => false,
    }
}

/// Keeps the last value of a key written more than once, at the key's
/// first position. Records rarely repeat a key: small records are checked
/// pair by pair (an equality test is mostly a length test), larger ones by
/// sorting a vector of indexes.
fn dedup_keys(mut fields: Vec<Field<'_>>) -> Vec<Field<'_>> {
    const PAIRWISE: usize = 32;
    let repeated = if fields.len() <= PAIRWISE {
        (1..fields.len()).any(|i| fields[..i].iter().any(|(key, _)| *key == fields[i].0))
    } else {
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by(|&a, &b| fields[a].0.cmp(&fields[b].0));
        order.windows(2).any(|w| fields[w[0]].0 == fields[w[1]].0)
    };
    if !repeated {
        return fields;
    }
    // Where each key first appears; later values overwrite in order.
    let first_of: Vec<usize> = {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(fields.len());
        fields
            .iter()
            .enumerate()
            .map(|(i, (key, _))| *seen.entry(key.as_ref()).or_insert(i))
            .collect()
    };
    for (i, &first) in first_of.iter().enumerate() {
        if first != i {
            fields[first].1 = fields[i].1;
        }
    }
    let mut i = 0;
    fields.retain(|_| {
        let keep = first_of[i] == i;
        i += 1;
        keep
    });
    fields
}

/// A key: borrowed when the text has no escapes in it.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<Field<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            fields.push((key, value));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn roundtrip(text: &str) -> Json {
        serde_json::from_str(&write_fields(&parse_fields(text).unwrap())).unwrap()
    }

    #[test]
    fn fields_keep_their_order_and_their_value_text() {
        let text = r#" {"b": [1, 2], "a\"x": {"n": 1.50}, "c": "\u00e9", "d": null} "#;
        let fields = parse_fields(text).unwrap();
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a\"x", "c", "d"]);
        assert!(matches!(fields[0].0, Cow::Borrowed(_)));
        assert!(matches!(fields[1].0, Cow::Owned(_)));
        assert_eq!(fields[1].1.get(), r#"{"n": 1.50}"#);
        assert_eq!(
            write_fields(&fields),
            r#"{"b":[1, 2],"a\"x":{"n": 1.50},"c":"\u00e9","d":null}"#
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_like_a_record() {
        for text in [
            r#"{"a": 1, "b": 2, "a": 3}"#,
            r#"{"a": 1, "a": 2, "a": 3, "b": {"a": 1}}"#,
            r#"{}"#,
        ] {
            let record = Json::Object(parse_record(text).unwrap());
            assert_eq!(roundtrip(text), record, "{text}");
        }
        let keys: Vec<String> = parse_fields(r#"{"a": 1, "b": 2, "a": 3}"#)
            .unwrap()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", v.get()))
            .collect();
        assert_eq!(keys, ["a=3", "b=2"]);
    }

    #[test]
    fn a_large_record_with_repeated_keys_keeps_the_last_values() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{}\": {i},", i % 40));
        }
        text.push_str("\"end\": true}");
        let record = Json::Object(parse_record(&text).unwrap());
        assert_eq!(roundtrip(&text), record);
        let fields = parse_fields(&text).unwrap();
        assert_eq!(fields.len(), 41);
        assert_eq!((fields[0].0.as_ref(), fields[0].1.get()), ("k0", "80"));
    }

    #[test]
    fn anything_but_an_object_is_the_same_error_as_parse_record() {
        for text in ["[1]", "\"x\"", "{\"a\": }", "{\"a\": 1} x", ""] {
            let expected = parse_record(text).unwrap_err();
            let error = parse_fields(text).unwrap_err();
            assert_eq!(error.code, "not-an-object", "{text}");
            assert_eq!(error.message, expected.message, "{text}");
        }
    }

    #[test]
    fn empty_values_are_null_and_blank_text() {
        let fields =
            parse_fields(r#"{"a": null, "b": "", "c": " \t", "d": "\u0020", "e": 0, "f": "x"}"#)
                .unwrap();
        let empty: Vec<bool> = fields.iter().map(|(_, v)| is_empty_value(v)).collect();
        assert_eq!(empty, [true, true, true, true, false, false]);
    }
}
