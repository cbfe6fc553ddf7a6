//! Records as top-level fields whose values stay JSON text.
//!
//! A normalizer that only moves keys around (rename, drop, lowercase) does
//! not need the values parsed: [`parse_fields`] borrows each value's text
//! from the record and [`write_fields`] copies it back out. Inside a
//! component this skips building and dropping a tree of values per record,
//! which is most of what parsing costs there.
//!
//! Most records are flat objects whose keys have no escapes: those are
//! read in one scan of the text, strings looked at eight bytes at a time,
//! and only nested values and strings with escapes are handed to
//! serde_json. Anything else goes through serde_json whole, which also
//! words the errors.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use sluice_json_scan::{plain_string, skip_space};

use crate::PluginError;
use crate::normalize::parse_record;

mod buffer;
mod write;

pub use buffer::FieldBuffer;
pub use write::{rewrite_fields, write_fields};

/// One top-level field: the key (borrowed from the record's text unless
/// it had escapes) and the value's JSON text, as it was written.
pub type Field<'a> = (Cow<'a, str>, RawJson<'a>);

/// A value's JSON text, exactly as the record wrote it. It is always
/// valid JSON: [`parse_fields`] checked it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawJson<'a>(&'a str);

impl<'a> RawJson<'a> {
    /// The JSON text.
    pub fn get(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.0)
    }
}

impl fmt::Display for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Parses a record's top-level fields without parsing their values, in the
/// order the text has them. A key written twice keeps its last value, at
/// its first position, as parsing into a [`Record`](crate::Record) does.
///
/// Anything but a JSON object is the same `validation` error with code
/// `not-an-object` that [`parse_record`] gives.
pub fn parse_fields(text: &str) -> Result<Vec<Field<'_>>, PluginError> {
    parse_fields_into(text, Vec::with_capacity(16))
}

/// [`parse_fields`] into `fields` (empty; its allocation is reused).
fn parse_fields_into<'a>(
    text: &'a str,
    fields: Vec<Field<'a>>,
) -> Result<Vec<Field<'a>>, PluginError> {
    if let Some((fields, maybe_repeated)) = scan_flat(text, fields) {
        return Ok(if maybe_repeated {
            dedup_keys(fields)
        } else {
            fields
        });
    }
    match parse_with_serde(text) {
        Ok(fields) => Ok(dedup_keys(fields)),
        // Errors are rare: let the full parser word them.
        Err(_) => Err(parse_record(text).err().unwrap_or_else(|| {
            PluginError::validation("not-an-object", "a record must be a JSON object")
        })),
    }
}

/// [`parse_fields`] for any text, by serde_json (before repeated keys are
/// merged).
fn parse_with_serde(text: &str) -> Result<Vec<Field<'_>>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_map(FieldsVisitor)
        .and_then(|fields| deserializer.end().map(|()| fields))
}

/// True for a `null` value and for text that is empty or only whitespace.
pub fn is_empty_value(value: &RawJson<'_>) -> bool {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'n') => text == "null",
        Some(b'"') => serde_json::from_str::<Cow<'_, str>>(text)
            .map(|s| s.trim().is_empty())
            .unwrap_or(false),
        _ => false,
    }
}

/// The fields of a record whose keys have no escapes or control
/// characters, in one scan of the text; `None` for any other text (then
/// serde_json decides). Plain strings, numbers and literals are checked
/// here, nested values and strings with escapes by serde_json. Everything
/// accepted here is what serde_json accepts, with the same fields. With
/// them, whether a key may be written twice: `false` when no two keys share
/// a [`fingerprint`], taken as each key is read (then no key is repeated).
fn scan_flat<'a>(text: &'a str, fields: Vec<Field<'a>>) -> Option<(Vec<Field<'a>>, bool)> {
    debug_assert!(fields.is_empty());
    let mut fields = Collect {
        fields,
        seen: 0,
        maybe_repeated: false,
    };
    scan_object(text, &mut fields)?;
    Some((fields.fields, fields.maybe_repeated))
}

/// What [`scan_object`] does with each field it reads. (A trait rather than
/// a closure: its method can be marked to be inlined into the scan, which
/// a closure cannot, and a call per field costs as much as reading it.)
trait FieldSink<'a> {
    /// The key's contents and the value's text, as ranges of `text`.
    fn field(&mut self, text: &'a str, key: Range<usize>, value: Range<usize>);
}

/// Collects the fields, and the fingerprints of their keys.
struct Collect<'a> {
    fields: Vec<Field<'a>>,
    /// Bit `fingerprint(key)` set for each key read.
    seen: u64,
    /// Two keys share a fingerprint.
    maybe_repeated: bool,
}

impl<'a> FieldSink<'a> for Collect<'a> {
    #[inline(always)]
    fn field(&mut self, text: &'a str, key: Range<usize>, value: Range<usize>) {
        let bit = 1 << fingerprint(&text.as_bytes()[key.clone()]);
        self.maybe_repeated |= self.seen & bit != 0;
        self.seen |= bit;
        self.fields
            .push((Cow::Borrowed(part(text, key)), RawJson(part(text, value))));
    }
}

/// `&text[range]`, written so that it is inlined into the scan (inside a
/// component, `str`'s own indexing stays a call of about eighty
/// instructions).
#[inline(always)]
fn part(text: &str, range: Range<usize>) -> &str {
    text.split_at(range.start)
        .1
        .split_at(range.end - range.start)
        .0
}

/// Only checks the text.
struct Ignore;

impl FieldSink<'_> for Ignore {
    #[inline(always)]
    fn field(&mut self, _: &str, _: Range<usize>, _: Range<usize>) {}
}

/// True when `text` is one JSON object, with JSON whitespace around it or
/// not: what serde_json accepts as an object without building it or
/// decoding its strings (as `serde::de::IgnoredAny` does: a lone surrogate
/// escape such as `"\ud800"` passes). Flat objects whose keys have no
/// escapes (most records) are checked in one scan of bytes, others by
/// serde_json.
pub fn is_json_object(text: &str) -> bool {
    scan_object(text, &mut Ignore).is_some()
        || (text
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
            && serde_json::from_str::<de::IgnoredAny>(text).is_ok())
}

/// Walks an object whose keys have no escapes or control characters,
/// handing `sink` each key's contents and each value's text (both as
/// byte ranges of `text`); `None` for any other text.
#[inline(always)]
fn scan_object<'a>(text: &'a str, sink: &mut impl FieldSink<'a>) -> Option<()> {
    let b = text.as_bytes();
    let mut at = skip_space(b, 0);
    if b.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(b, at + 1);
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
            let end = value_end(text, at)?;
            sink.field(text, key, at..end);
            at = skip_space(b, end);
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
    (skip_space(b, at) == b.len()).then_some(())
}

/// Where the value starting at `at` ends (one past its last byte).
#[inline(always)]
fn value_end(text: &str, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(at)? {
        b'"' => plain_string(b, at)
            .map(|s| s.end + 1)
            .or_else(|| nested_end(text, at)),
        b'-' | b'0'..=b'9' => number_end(b, at),
        b't' => literal_end(b, at, b"true"),
        b'f' => literal_end(b, at, b"false"),
        b'n' => literal_end(b, at, b"null"),
        b'{' | b'[' => nested_end(text, at),
        _ => None,
    }
}

/// Where the value starting at `at` ends, found by serde_json.
fn nested_end(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    let mut deserializer = serde_json::Deserializer::from_str(rest);
    let raw = <&RawValue>::deserialize(&mut deserializer).ok()?;
    let start = raw.get().as_ptr() as usize - rest.as_ptr() as usize;
    (start == 0).then(|| at + raw.get().len())
}

/// Where the literal `word` starting at `at` ends. (An array of known
/// length compares inline; a slice comparison is a call to `memcmp`.)
#[inline(always)]
fn literal_end<const N: usize>(b: &[u8], at: usize, word: &[u8; N]) -> Option<usize> {
    let end = at + N;
    (<[u8; N]>::try_from(b.get(at..end)?).ok()? == *word).then_some(end)
}

/// Where the number starting at `at` ends, if it is one in JSON's grammar:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[inline(always)]
fn number_end(b: &[u8], mut at: usize) -> Option<usize> {
    let digits = |at: usize| {
        let mut end = at;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        end
    };
    if b.get(at) == Some(&b'-') {
        at += 1;
    }
    match *b.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits(at),
        _ => return None,
    }
    if b.get(at) == Some(&b'.') {
        let end = digits(at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if matches!(b.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(b.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits(at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

/// Keeps the last value of a key written more than once, at the key's
/// first position. Records rarely repeat a key: small records are checked
/// against a 64-bit mask of key fingerprints (a key is compared with the
/// keys before it only when its bit is already set), larger ones by
/// sorting a vector of indexes.
fn dedup_keys(mut fields: Vec<Field<'_>>) -> Vec<Field<'_>> {
    const SMALL: usize = 32;
    let repeated = if fields.len() <= SMALL {
        // Length and first byte first: most pairs differ there.
        let same = |a: &str, b: &str| {
            a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
        };
        let mut seen = 0u64;
        (0..fields.len()).any(|i| {
            let key = &fields[i].0;
            let bit = 1 << fingerprint(key.as_bytes());
            let maybe = seen & bit != 0;
            seen |= bit;
            maybe && fields[..i].iter().any(|(other, _)| same(other, key))
        })
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

/// A number below 64 from a key's length and its first, middle and last
/// bytes: equal keys have equal fingerprints.
#[inline(always)]
fn fingerprint(key: &[u8]) -> u32 {
    let n = key.len();
    let byte = |at: usize| u32::from(key.get(at).copied().unwrap_or(0));
    let mixed = (n as u32) ^ (byte(0) << 8) ^ (byte(n / 2) << 16) ^ (byte(n.wrapping_sub(1)) << 24);
    // Fibonacci hashing: the top six bits of the product.
    mixed.wrapping_mul(0x9e37_79b9) >> 26
}

/// A key: borrowed when the text has no escapes in it.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
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
            fields.push((key, RawJson(value.get())));
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

    /// Thirty-two keys share the 64 fingerprints: some distinct keys share
    /// one, and only equal keys are merged.
    #[test]
    fn keys_sharing_a_fingerprint_are_compared_in_full() {
        let keys: Vec<String> = (0..32).map(|i| format!("k{i:02}")).collect();
        let prints: std::collections::HashSet<u32> =
            keys.iter().map(|k| fingerprint(k.as_bytes())).collect();
        assert!(prints.len() < keys.len(), "no two keys share a fingerprint");
        let text = |keys: &[String]| {
            let fields: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
            format!("{{{}}}", fields.join(","))
        };
        assert_eq!(parse_fields(&text(&keys)).unwrap().len(), 32);
        let mut repeated = keys.clone();
        repeated[31] = keys[7].clone();
        assert_eq!(parse_fields(&text(&repeated)).unwrap().len(), 31);
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

    /// Flat records of every kind of value, and texts that are almost
    /// records: whatever the one-scan path accepts, serde_json accepts
    /// with the same fields; whatever it refuses goes to serde_json.
    #[test]
    fn the_one_scan_path_accepts_what_serde_json_accepts() {
        const PIECES: &[&str] = &[
            "{",
            "}",
            "{",
            "}",
            "\"a\"",
            "\"b c\"",
            "\"é\"",
            "\"a\\\"\"",
            ":",
            ":",
            ",",
            ",",
            " ",
            "\n",
            "1",
            "-0",
            "01",
            "-",
            "1.",
            "1.5",
            "2e9",
            "3E+2",
            "4e-",
            "-0.0e0",
            "true",
            "tru",
            "false",
            "null",
            "nul",
            "[1, {\"x\": [2]}]",
            "[",
            "{\"n\": {}}",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\u{1}\"",
            "\"\\t\"",
            "\"ok\"",
            "\"\\/\"",
            "\"\\q\"",
            "\"x",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut accepted = 0;
        for round in 0..40_000 {
            let text: String = if round % 2 == 0 {
                // A well-formed frame with random keys and values.
                let n = next() % 5;
                let mut text = String::from("{");
                for i in 0..n {
                    if i > 0 {
                        text.push(',');
                    }
                    text.push_str(PIECES[4 + (next() % 3) as usize]);
                    text.push_str(": ");
                    text.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
                text.push('}');
                text
            } else {
                (0..next() % 9)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            };
            let by_serde = parse_with_serde(&text);
            if let Some((fields, maybe_repeated)) = scan_flat(&text, Vec::new()) {
                accepted += 1;
                assert_eq!(by_serde.as_ref().ok(), Some(&fields), "{text}");
                if !maybe_repeated {
                    assert_eq!(dedup_keys(fields.clone()), fields, "{text}");
                }
            }
            let object = text.trim_start().starts_with('{')
                && serde_json::from_str::<de::IgnoredAny>(&text).is_ok();
            assert_eq!(is_json_object(&text), object, "{text}");
            let expected = by_serde
                .map(dedup_keys)
                .map_err(|_| parse_record(&text).unwrap_err().message);
            assert_eq!(
                parse_fields(&text).map_err(|e| e.message),
                expected,
                "{text}"
            );
        }
        assert!(
            accepted > 5_000,
            "only {accepted} texts took the one-scan path"
        );
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
