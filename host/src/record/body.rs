//! A record's body: a tree of values, or the JSON object text a source or
//! normalizer gave with its top-level fields indexed, each value parsed
//! only if it is not a plain string.
//!
//! Most records only pass through: their fields are picked by name and
//! written out again. Building a `BTreeMap` of `String`s for each record
//! and dropping it again was most of what the host spent per record; a
//! body kept as text allocates one small vector per record, and a string
//! value without escapes (most values) is copied as the text it was.
//!
//! What a body says is the same either way: a text body is accepted and
//! refused exactly as `serde_json` parsing it into a map would (any value
//! the index does not vouch for is parsed, and a failure is reworded by
//! that full parse), a repeated key keeps its last value, and
//! [`Body::to_json`] writes what serializing that map writes: compact, keys
//! sorted, each once, numbers and escaped strings as serde_json writes
//! them (so `1.50` is written `1.5` and `"\u0041"` is written `"A"`, as
//! before).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::Value as Json;
use serde_json::value::RawValue;
use sluice_json_scan::{plain_string, skip_space};

use super::{Object, get_path, to_value};
use crate::bindings::Value;

/// serde_json refuses values nested this deep, counting the record itself.
const MAX_DEPTH: usize = 128;

/// A record's body.
#[derive(Debug, Clone)]
pub struct Body(Repr);

#[derive(Debug, Clone)]
enum Repr {
    Tree(Object),
    Fields(Fields),
}

/// JSON object text and its top-level fields.
#[derive(Debug, Clone)]
struct Fields {
    text: Arc<str>,
    /// Each key once (a repeated key keeps its last value), in the order
    /// of their first appearance.
    fields: Vec<Field>,
    /// `text` is exactly what [`Body::to_json`] would write.
    canonical: bool,
}

#[derive(Debug, Clone)]
struct Field {
    key: Key,
    value: Slot,
}

#[derive(Debug, Clone)]
enum Key {
    /// The key's text in the body's text (it had no escapes).
    Span(Range<usize>),
    /// The key unescaped.
    Owned(Box<str>),
}

#[derive(Debug, Clone)]
enum Slot {
    /// A string without escapes: its text in the body's text, quotes
    /// included.
    Text(Range<usize>),
    /// Any other value, parsed.
    Parsed(Json),
}

/// A value of a body, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum FieldRef<'a> {
    /// A JSON string without escapes, as written (quotes included).
    Text(&'a str),
    /// A parsed value.
    Json(&'a Json),
}

impl FieldRef<'_> {
    /// Null, or text that is empty once trimmed.
    pub fn is_blank(&self) -> bool {
        match self {
            FieldRef::Text(t) => unquote(t).trim().is_empty(),
            FieldRef::Json(Json::Null) => true,
            FieldRef::Json(Json::String(s)) => s.trim().is_empty(),
            FieldRef::Json(_) => false,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Json {
        match self {
            FieldRef::Text(t) => Json::String(unquote(t).to_owned()),
            FieldRef::Json(j) => (*j).clone(),
        }
    }

    /// The value as a contract `value` (see [`to_value`]).
    pub fn to_value(&self) -> Value {
        match self {
            FieldRef::Text(t) => Value::Text(unquote(t).to_owned()),
            FieldRef::Json(j) => to_value(Some(j)),
        }
    }

    /// Append the value as serde_json writes it.
    fn write(&self, out: &mut String) {
        match self {
            FieldRef::Text(t) => out.push_str(t),
            FieldRef::Json(j) => write_json(out, j),
        }
    }
}

/// The inside of a JSON string without escapes.
fn unquote(text: &str) -> &str {
    &text[1..text.len() - 1]
}

fn write_json(out: &mut String, value: &Json) {
    out.push_str(&serde_json::to_string(value).expect("a JSON value serializes"));
}

/// Append `key` as serde_json writes a key.
fn write_key(out: &mut String, key: &str) -> Key {
    if key.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::to_string(key).expect("a string serializes"));
        Key::Owned(key.into())
    } else {
        out.push('"');
        let start = out.len();
        out.push_str(key);
        let span = start..out.len();
        out.push('"');
        Key::Span(span)
    }
}

impl Default for Body {
    fn default() -> Self {
        Body(Repr::Tree(Object::new()))
    }
}

impl From<Object> for Body {
    fn from(tree: Object) -> Self {
        Body(Repr::Tree(tree))
    }
}

impl Body {
    /// The body of JSON object text. Refuses exactly what parsing the text
    /// into an [`Object`] refuses, with the same error.
    pub fn parse(text: Arc<str>) -> Result<Body, serde_json::Error> {
        match index(&text) {
            Some(fields) => Ok(Body(Repr::Fields(Fields {
                text,
                fields,
                canonical: false,
            }))),
            // Rare: let the full parser decide and word the error.
            None => serde_json::from_str::<Object>(&text).map(Body::from),
        }
    }

    /// A body written from `fields` (key, value) in this order: keys sorted
    /// and each once, as [`Body::to_json`] writes them.
    pub(crate) fn write_sorted<'a>(
        fields: impl ExactSizeIterator<Item = (&'a str, Written<'a>)>,
        size_hint: usize,
    ) -> Body {
        let mut text = String::with_capacity(size_hint);
        let mut index = Vec::with_capacity(fields.len());
        text.push('{');
        for (i, (key, value)) in fields.enumerate() {
            if i > 0 {
                text.push(',');
            }
            let key = write_key(&mut text, key);
            text.push(':');
            let start = text.len();
            let value = match value {
                Written::Ref(FieldRef::Text(t)) => {
                    text.push_str(t);
                    Slot::Text(start..text.len())
                }
                Written::Ref(FieldRef::Json(j)) => {
                    write_json(&mut text, j);
                    Slot::Parsed(j.clone())
                }
                Written::Owned(j) => {
                    write_json(&mut text, &j);
                    Slot::Parsed(j)
                }
            };
            index.push(Field { key, value });
        }
        text.push('}');
        Body(Repr::Fields(Fields {
            text: Arc::from(text),
            fields: index,
            canonical: true,
        }))
    }

    /// The value at a dotted path (see [`get_path`]).
    pub fn get(&self, path: &str) -> Option<FieldRef<'_>> {
        match &self.0 {
            Repr::Tree(tree) => get_path(tree, path).map(FieldRef::Json),
            Repr::Fields(f) => f.get(path),
        }
    }

    /// Like [`Body::get`], looking at the top-level field at `hint` first
    /// and leaving in it where the key was found: records from one source
    /// mostly have their fields in the same order, so a batch looked up
    /// field by field finds each key at the first try.
    pub fn get_hinted(&self, path: &str, hint: &mut usize) -> Option<FieldRef<'_>> {
        let Repr::Fields(f) = &self.0 else {
            return self.get(path);
        };
        if let Some(field) = f.fields.get(*hint)
            && f.key(field) == path
        {
            return Some(f.value(field));
        }
        match f.fields.iter().position(|field| f.key(field) == path) {
            Some(at) => {
                *hint = at;
                Some(f.value(&f.fields[at]))
            }
            None => f.get(path),
        }
    }

    /// The body as JSON text: compact, keys sorted, each once.
    pub fn to_json(&self) -> String {
        match &self.0 {
            Repr::Tree(tree) => serde_json::to_string(tree).expect("a JSON object serializes"),
            Repr::Fields(f) if f.canonical => f.text.to_string(),
            Repr::Fields(f) => {
                let mut order: Vec<&Field> = f.fields.iter().collect();
                order.sort_by(|a, b| f.key(a).cmp(f.key(b)));
                let mut out = String::with_capacity(f.text.len());
                out.push('{');
                for (i, field) in order.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_key(&mut out, f.key(field));
                    out.push(':');
                    f.value(field).write(&mut out);
                }
                out.push('}');
                out
            }
        }
    }

    /// The body as a tree.
    pub fn to_tree(&self) -> Cow<'_, Object> {
        match &self.0 {
            Repr::Tree(tree) => Cow::Borrowed(tree),
            Repr::Fields(f) => Cow::Owned(
                f.fields
                    .iter()
                    .map(|field| (f.key(field).to_owned(), f.value(field).to_json()))
                    .collect(),
            ),
        }
    }

    /// The body as a tree, taken.
    pub fn into_tree(self) -> Object {
        match self.0 {
            Repr::Tree(tree) => tree,
            Repr::Fields(_) => self.to_tree().into_owned(),
        }
    }
}

/// A value to write with [`Body::write_sorted`].
#[derive(Debug)]
pub(crate) enum Written<'a> {
    /// Copied from another body.
    Ref(FieldRef<'a>),
    /// Made anew.
    Owned(Json),
}

impl Fields {
    fn key<'a>(&'a self, field: &'a Field) -> &'a str {
        match &field.key {
            Key::Span(span) => &self.text[span.clone()],
            Key::Owned(key) => key,
        }
    }

    fn value<'a>(&'a self, field: &'a Field) -> FieldRef<'a> {
        match &field.value {
            Slot::Text(span) => FieldRef::Text(&self.text[span.clone()]),
            Slot::Parsed(j) => FieldRef::Json(j),
        }
    }

    fn top(&self, key: &str) -> Option<FieldRef<'_>> {
        self.fields
            .iter()
            .find(|f| self.key(f) == key)
            .map(|f| self.value(f))
    }

    fn get(&self, path: &str) -> Option<FieldRef<'_>> {
        if let Some(v) = self.top(path) {
            return Some(v);
        }
        let mut parts = path.split('.');
        let FieldRef::Json(mut current) = self.top(parts.next()?)? else {
            // A string has nothing under it (and a path without a dot
            // was looked up above).
            return None;
        };
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(FieldRef::Json(current))
    }
}

/// The top-level fields of `text`, or `None` when the text is not an
/// object or has a value the index does not vouch for (then the full
/// parser decides).
fn index(text: &str) -> Option<Vec<Field>> {
    match index_plain(text) {
        Some(fields) => Some(dedup_keys(text, fields)),
        None => index_any(text),
    }
}

/// The fields of an object whose keys and values are all strings without
/// escapes or control characters (most records), found in one scan of
/// the text, each string's contents looked at eight bytes at a time.
/// `None` for any other text, which the general path then indexes or
/// refuses: everything accepted here is what serde_json accepts (`text`
/// is UTF-8 already), with the same keys and values.
fn index_plain(text: &str) -> Option<Vec<Field>> {
    let b = text.as_bytes();
    let mut at = skip_space(b, 0);
    if b.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(b, at + 1);
    let mut fields = Vec::with_capacity(16);
    if b.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let key = plain_string(b, at)?;
            at = skip_space(b, key.end + 1);
            if b.get(at) != Some(&b':') {
                return None;
            }
            at = skip_space(b, at + 1);
            let value = plain_string(b, at)?;
            at = skip_space(b, value.end + 1);
            fields.push(Field {
                key: Key::Span(key),
                // Quotes included.
                value: Slot::Text(value.start - 1..value.end + 1),
            });
            match b.get(at) {
                Some(b',') => at = skip_space(b, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_space(b, at) == b.len()).then_some(fields)
}

/// [`index`] for any object: serde_json finds each field, and values other
/// than plain strings are parsed.
fn index_any(text: &str) -> Option<Vec<Field>> {
    let base = text.as_ptr() as usize;
    let offset = |s: &str| s.as_ptr() as usize - base;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let raw = deserializer.deserialize_map(FieldsVisitor).ok()?;
    deserializer.end().ok()?;
    let mut fields: Vec<Field> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let value_text = value.get();
        let value = if value_text.starts_with('"') && !value_text.contains('\\') {
            let start = offset(value_text);
            Slot::Text(start..start + value_text.len())
        } else {
            let parsed: Json = serde_json::from_str(value_text).ok()?;
            // Parsed on its own, a value may nest one level deeper than
            // inside the record.
            if value_text.len() >= 2 * (MAX_DEPTH - 1) && depth(&parsed) >= MAX_DEPTH - 1 {
                return None;
            }
            Slot::Parsed(parsed)
        };
        let key = match key {
            Cow::Borrowed(k) => {
                let start = offset(k);
                Key::Span(start..start + k.len())
            }
            Cow::Owned(k) => Key::Owned(k.into()),
        };
        fields.push(Field { key, value });
    }
    // After every value was checked: a value written over still counts.
    Some(dedup_keys(text, fields))
}

/// Keeps the last value of a key written more than once, at the key's
/// first place, as a map does. Records rarely repeat a key: small records
/// are checked pair by pair, on a fingerprint of each key (its length and
/// its first and last bytes) before any key text is compared, larger ones
/// through a sorted vector of indexes, so a record with many fields costs
/// n log n, not n².
fn dedup_keys(text: &str, mut fields: Vec<Field>) -> Vec<Field> {
    const PAIRWISE: usize = 32;
    fn key<'a>(text: &'a str, field: &'a Field) -> &'a str {
        match &field.key {
            Key::Span(span) => &text[span.clone()],
            Key::Owned(key) => key,
        }
    }
    /// Equal keys have equal fingerprints.
    fn fingerprint(key: &str) -> u64 {
        let bytes = key.as_bytes();
        let edge = |b: Option<&u8>| b.map_or(0, |&b| u64::from(b) + 1);
        (bytes.len() as u64) << 16 | edge(bytes.first()) << 8 | edge(bytes.last())
    }
    let key = |field| key(text, field);
    let repeated = if fields.len() <= PAIRWISE {
        let mut prints = [0u64; PAIRWISE];
        for (print, field) in prints.iter_mut().zip(&fields) {
            *print = fingerprint(key(field));
        }
        (1..fields.len())
            .any(|i| (0..i).any(|j| prints[j] == prints[i] && key(&fields[j]) == key(&fields[i])))
    } else {
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by(|&a, &b| key(&fields[a]).cmp(key(&fields[b])));
        order
            .windows(2)
            .any(|w| key(&fields[w[0]]) == key(&fields[w[1]]))
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
            .map(|(i, f)| *seen.entry(key(f)).or_insert(i))
            .collect()
    };
    for (i, &first) in first_of.iter().enumerate() {
        if first != i {
            let value = std::mem::replace(&mut fields[i].value, Slot::Text(0..0));
            fields[first].value = value;
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

/// How many arrays and objects are nested in `value`, itself included.
fn depth(value: &Json) -> usize {
    match value {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A key as written: borrowed from the text unless it had escapes.
struct BorrowedKey<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for BorrowedKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = BorrowedKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some((BorrowedKey(key), value)) =
            map.next_entry::<BorrowedKey<'de>, &'de RawValue>()?
        {
            fields.push((key, value));
        }
        Ok(fields)
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_tree().serialize(serializer)
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self.to_tree() == other.to_tree()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Result<Body, serde_json::Error> {
        Body::parse(Arc::from(text))
    }

    /// The text a body gave before: the map serde_json parses it into,
    /// written out again.
    fn as_before(text: &str) -> String {
        serde_json::to_string(&serde_json::from_str::<Object>(text).unwrap()).unwrap()
    }

    #[test]
    fn a_text_body_writes_what_its_map_wrote() {
        for text in [
            r#"{"b":"x","a":1,"c":null}"#,
            r#" { "z" : [1, 2 , {"y": "\u0041", "x": 1.50}], "a": "plain",  "n": -0, "e": 1E3 } "#,
            r#"{"esc\"aped":"tab\there","\u00e9":"é","k":"\u00e9","f":2.50e-3,"big":18446744073709551616}"#,
            r#"{"a":1,"b":2,"a":"again"}"#,
            r#"{"s":"  ","t":true,"o":{"b":1,"a":{}}}"#,
            "{}",
        ] {
            let body = parse(text).unwrap();
            assert!(matches!(body.0, Repr::Fields(_)), "{text}");
            assert_eq!(body.to_json(), as_before(text), "{text}");
            assert_eq!(
                *body.to_tree(),
                serde_json::from_str::<Object>(text).unwrap(),
                "{text}"
            );
        }
    }

    fn describe(text: &str, fields: &[Field]) -> Vec<(String, String)> {
        let f = Fields {
            text: Arc::from(text),
            fields: fields.to_vec(),
            canonical: false,
        };
        fields
            .iter()
            .map(|field| {
                let value = match f.value(field) {
                    FieldRef::Text(t) => t.to_owned(),
                    FieldRef::Json(j) => j.to_string(),
                };
                (f.key(field).to_owned(), value)
            })
            .collect()
    }

    /// The one-scan index of records of plain strings takes only what the
    /// general path takes, and finds the same fields: whitespace anywhere
    /// JSON allows it, strings of every length around its eight-byte
    /// steps, multi-byte characters; anything else it leaves to the
    /// general path.
    #[test]
    fn the_plain_index_is_the_general_one() {
        let mut texts: Vec<String> = [
            "{}",
            " \t{ }\r\n",
            r#"{"a":"b"}"#,
            " {\n \"a\" :\t\"b\" ,\r\"c\":\"\" } \n",
            r#"{"é":"ü€😀","":"x"}"#,
            r#"{"a":"1","a":"2","b":"3"}"#,
            r#"{"a":"b",}"#,
            r#"{"a":"b""c":"d"}"#,
            r#"{"a" "b"}"#,
            r#"{"a":"b"} x"#,
            r#"{"a":"b"}}"#,
            r#"{"a":"b""#,
            r#"{"a":"b"#,
            r#"{"a":b}"#,
            r#"{"a":1}"#,
            r#"{"a":"x","n":null}"#,
            r#"{"a\"b":"c"}"#,
            r#"{"a":"c\nd"}"#,
            "{\"a\":\"c\u{1}d\"}",
            "{\"a\":\"c\u{1f}d\"}",
            "{\"a\":\"c\u{7f}d\"}",
            r#"["a"]"#,
            r#""a""#,
            "",
            "{",
            "{\"",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for len in 0..20 {
            for special in ["", "\"", "\\", "\u{1}", "é", "\u{80}"] {
                for at in 0..=len {
                    let mut value = "v".repeat(len);
                    value.insert_str(at, special);
                    texts.push(format!("{{\"k{value}\":\"{value}\",\"z\":\"{value}\"}}"));
                }
            }
        }
        let mut plain = 0;
        for text in &texts {
            let general = index_any(text).map(|f| describe(text, &dedup_keys(text, f)));
            if let Some(fields) = index_plain(text) {
                plain += 1;
                let fields = describe(text, &dedup_keys(text, fields));
                assert_eq!(Some(fields), general, "{text:?}");
            } else if general.is_some() {
                // Left to the general path: something that is not a plain
                // string.
                let control = text.contains(|c: char| c < ' ' && !" \t\r\n".contains(c));
                assert!(
                    text.contains('\\') || control || text.contains(":1") || text.contains("null"),
                    "{text:?}"
                );
            }
        }
        assert!(plain > 100, "{plain}");
    }

    /// Many fields, some repeated (past the pair-by-pair check): the last
    /// value at the first place, as in the map.
    #[test]
    fn a_wide_record_with_repeated_keys_is_the_map() {
        let mut text = String::from("{");
        for i in 0..3000 {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!("\"k{}\":{}", i % 1000, i));
        }
        text.push('}');
        let body = parse(&text).unwrap();
        assert_eq!(body.to_json(), as_before(&text));
        assert_eq!(body.get("k7").unwrap().to_json(), json!(2007));
        // Keys alike in length and first and last bytes, but different.
        let alike = r#"{"axb":1,"ayb":2,"a":3,"b":4,"":5,"azb":6,"ayb":7,"":8}"#;
        let body = parse(alike).unwrap();
        assert_eq!(body.to_json(), as_before(alike));
        assert_eq!(body.get("ayb").unwrap().to_json(), json!(7));
        assert_eq!(body.get("axb").unwrap().to_json(), json!(1));
        assert_eq!(body.get("").unwrap().to_json(), json!(8));
        let small = r#"{"b":1,"a":2,"b":"3","\u0061":4}"#;
        let body = parse(small).unwrap();
        assert_eq!(body.to_json(), as_before(small));
        assert_eq!(body.get("a").unwrap().to_json(), json!(4));
    }

    #[test]
    fn a_text_body_refuses_what_the_map_refuses_with_the_same_error() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(127), "]".repeat(127));
        let deep_ok = format!("{{\"a\":{}1{}}}", "[".repeat(126), "]".repeat(126));
        for text in [
            "[1]",
            "\"text\"",
            "{\"a\":1",
            "{\"a\":1} x",
            "{\"a\":1e400}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"bad \\q escape\"}",
            "{\"a\":\"ctl \u{1} char\"}",
            "{\"a\":01}",
            "{\"a\":1e400,\"a\":1}",
            deep.as_str(),
        ] {
            let expected = serde_json::from_str::<Object>(text)
                .unwrap_err()
                .to_string();
            let got = parse(text).unwrap_err().to_string();
            assert_eq!(got, expected, "{text}");
        }
        assert_eq!(parse(&deep_ok).unwrap().to_json(), as_before(&deep_ok));
    }

    #[test]
    fn values_are_found_by_key_and_dotted_path() {
        let body =
            parse(r#"{"a":{"b":{"c":"deep"}},"a.b":"flat","s":"  x ","n":null,"e":""}"#).unwrap();
        assert_eq!(body.get("a.b").unwrap().to_json(), json!("flat"));
        assert_eq!(body.get("a.b.c").unwrap().to_json(), json!("deep"));
        assert!(body.get("s.x").is_none());
        assert!(body.get("missing").is_none());
        assert!(!body.get("s").unwrap().is_blank());
        assert!(body.get("n").unwrap().is_blank());
        assert!(body.get("e").unwrap().is_blank());
        assert!(matches!(body.get("s").unwrap().to_value(), Value::Text(t) if t == "  x "));
        let tree: Body = body.to_tree().into_owned().into();
        assert_eq!(tree.get("a.b.c").unwrap().to_json(), json!("deep"));
        assert_eq!(tree, body);
    }

    #[test]
    fn a_hint_finds_the_same_value_as_a_lookup() {
        let bodies = [
            parse(r#"{"a":"1","b":{"c":2},"b.c":"flat"}"#).unwrap(),
            parse(r#"{"b":{"c":3},"a":"4"}"#).unwrap(),
            Body::from(
                json!({"a": "5", "b": {"c": 6}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        ];
        for path in ["a", "b", "b.c", "x", "a.x"] {
            let mut hint = 7;
            for body in &bodies {
                let hinted = body.get_hinted(path, &mut hint).map(|v| v.to_json());
                assert_eq!(hinted, body.get(path).map(|v| v.to_json()), "{path}");
            }
        }
    }

    #[test]
    fn a_written_body_is_its_own_json_and_can_be_read_back() {
        let source = parse(r#"{"name":"Ann","n":1.50,"q":"say \"hi\""}"#).unwrap();
        let made = json!({"x": [1]});
        let fields = vec![
            ("a\"b", Written::Ref(source.get("name").unwrap())),
            ("n", Written::Ref(source.get("n").unwrap())),
            ("q", Written::Ref(source.get("q").unwrap())),
            ("z", Written::Owned(made.clone())),
        ];
        let body = Body::write_sorted(fields.into_iter(), 64);
        let expected = json!({"a\"b": "Ann", "n": 1.5, "q": "say \"hi\"", "z": made});
        assert_eq!(body.to_json(), serde_json::to_string(&expected).unwrap());
        assert_eq!(body.get("a\"b").unwrap().to_json(), json!("Ann"));
        assert_eq!(body.get("z.x").unwrap().to_json(), json!([1]));
        assert_eq!(serde_json::to_value(&body).unwrap(), expected);
    }
}
