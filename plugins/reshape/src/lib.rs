//! `reshape`: a normalizer that cleans up record keys.
//!
//! Steps, in order:
//!
//! 1. `flatten` (default `false`): nested objects become
//!    `parent<separator>child` keys, recursively (`{"a": {"b": 1}}` →
//!    `{"a.b": 1}`). Arrays and empty objects stay values.
//! 2. `trim_keys` (default `true`): trim whitespace around keys.
//! 3. `lowercase_keys` (default `false`): lowercase keys.
//! 4. `drop` (list of keys, default none): remove these keys.
//! 5. `rename` (object, old key → new key, default none): rename keys.
//!    Renaming onto a key the record already has is a `validation` error
//!    with code `rename-collision` naming both keys.
//! 6. `skip_empty_records` (default `false`): skip a record whose values
//!    are all `null`, empty or whitespace-only text, with the reason
//!    `all fields are empty`.
//!
//! `separator` (default `"."`) joins flattened keys. The keys in `drop` and
//! `rename` name keys as steps 1-3 leave them; they are trimmed and
//! lowercased like the record's keys when those options are on, so
//! `"Email"` matches either way. Two keys that become the same key in
//! steps 1-3 (`"Email"` and `"email"` with `lowercase_keys`) are a
//! `validation` error with code `key-collision`.

mod ascii_case;
mod in_place;
mod key_bytes;
mod key_rules;
mod key_table;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_sdk::{
    Normalized, Normalizer, Options, PluginError, Record, is_empty_value, normalize_via_record,
    parse_fields, rewrite_fields, write_fields,
};

use crate::in_place::TextBuffers;
use crate::key_rules::KeyRules;
use crate::key_table::KeyTable;

/// The reason given for skipped records.
const ALL_EMPTY: &str = "all fields are empty";

/// The `reshape` plugin.
#[derive(Debug)]
pub struct Reshape {
    /// The separator, when flattening.
    flatten: Option<String>,
    /// Old key (trimmed and lowercased as configured) → new key.
    rename: KeyTable<String>,
    /// Keys to remove (trimmed and lowercased as configured).
    drop: KeyTable<()>,
    /// Steps 2-3.
    keys: KeyRules,
    skip_empty_records: bool,
    /// The text path's allocations, kept between records.
    buffers: RefCell<TextBuffers>,
}

/// The plugin's options.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReshapeOptions {
    /// Nested objects become `parent<separator>child` keys, recursively.
    #[serde(default)]
    flatten: bool,
    /// Joins flattened keys.
    #[serde(default = "dot")]
    separator: String,
    /// Old key → new key; renaming onto an existing key is an error.
    #[serde(default)]
    rename: BTreeMap<String, String>,
    /// Keys to remove.
    #[serde(default)]
    drop: Vec<String>,
    /// Lowercase keys.
    #[serde(default)]
    lowercase_keys: bool,
    /// Trim whitespace around keys.
    #[serde(default = "yes")]
    trim_keys: bool,
    /// Skip a record whose values are all null or blank text.
    #[serde(default)]
    skip_empty_records: bool,
}

fn dot() -> String {
    ".".to_owned()
}

fn yes() -> bool {
    true
}

impl Normalizer for Reshape {
    type Options = ReshapeOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Reshape::new(options.parse()?)
    }

    fn normalize(&self, record: Record) -> Result<Normalized, PluginError> {
        let mut entries = Vec::with_capacity(record.len());
        match &self.flatten {
            Some(separator) => flatten_into(&mut entries, None, record, separator),
            None => entries.extend(record),
        }
        let entries = entries
            .into_iter()
            .map(|(key, value)| (Cow::Owned(key), value))
            .collect();
        // Sorted, which builds the map in one pass.
        Ok(self.reshape(entries, is_empty)?.map(|fields| {
            fields
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value))
                .collect()
        }))
    }

    /// Without `flatten`, values are never looked into (but for
    /// `skip_empty_records`), so they stay JSON text.
    fn normalize_text(&self, text: &str) -> Result<Normalized<String>, PluginError> {
        if self.flatten.is_some() {
            return normalize_via_record(self, text);
        }
        // Calls never overlap (a component instance runs one at a time).
        let mut buffers = self.buffers.borrow_mut();
        let buffers = &mut *buffers;
        let mut fields = buffers.fields.parse(text)?;
        let mut scratch = std::mem::take(&mut buffers.scratch);
        scratch.clear();
        buffers.changed.clear();
        self.changed_keys(&fields, &mut scratch, &mut buffers.changed);
        let scratch = String::from_utf8(scratch).expect("keys stay UTF-8");
        for (i, at) in buffers.changed.iter().cloned() {
            fields[i].0 = Cow::Borrowed(part(&scratch, at));
        }
        let written = self
            .reshape_in_place(&mut fields)
            // Kept keys and every value are still in `text`.
            .map(|normalized| normalized.map(|()| rewrite_fields(text, &fields)));
        buffers.fields.keep(fields);
        buffers.scratch = scratch.into_bytes();
        if let Some(written) = written {
            return Ok(written);
        }
        // Two keys collide: the general path words the error.
        Ok(self
            .reshape(parse_fields(text)?, |value| is_empty_value(value))?
            .map(|fields| write_fields(&fields)))
    }
}

/// `&text[range]`, written so that it is inlined (inside a component,
/// `str`'s own indexing stays a call of about eighty instructions).
#[inline(always)]
fn part(text: &str, range: std::ops::Range<usize>) -> &str {
    text.split_at(range.start)
        .1
        .split_at(range.end - range.start)
        .0
}

impl Reshape {
    /// Checks the options and prepares the lookups.
    fn new(options: ReshapeOptions) -> Result<Self, PluginError> {
        if options.flatten && options.separator.is_empty() {
            return Err(PluginError::config("`separator` must not be empty"));
        }
        let keys = KeyRules {
            trim: options.trim_keys,
            lowercase: options.lowercase_keys,
        };
        let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
        let mut renames: BTreeMap<String, String> = BTreeMap::new();
        for (old, new) in &options.rename {
            if new.trim().is_empty() {
                return Err(PluginError::config(format!(
                    "`rename` maps {old:?} to an empty key"
                )));
            }
            if let Some(other) = targets.insert(new, old) {
                return Err(PluginError::config(format!(
                    "`rename` maps both {other:?} and {old:?} to {new:?}"
                )));
            }
            let key = keys.apply(old);
            if renames.insert(key.clone(), new.clone()).is_some() {
                return Err(PluginError::config(format!(
                    "`rename` lists the key {key:?} more than once"
                )));
            }
        }
        Ok(Reshape {
            flatten: options.flatten.then_some(options.separator),
            rename: KeyTable::new(renames),
            drop: KeyTable::new(options.drop.iter().map(|key| (keys.apply(key), ()))),
            keys,
            skip_empty_records: options.skip_empty_records,
            buffers: RefCell::default(),
        })
    }

    /// The key after steps 2-3, the record's own when it does not change
    /// (the common case), with the original when it does.
    fn normalize_cow_key<'a>(&self, key: Cow<'a, str>) -> (Cow<'a, str>, Option<Cow<'a, str>>) {
        match self.keys.new_key(&key) {
            Some(changed) => (Cow::Owned(changed.into_string()), Some(key)),
            None => (key, None),
        }
    }

    /// Runs steps 2-6 on a record's top-level entries (flattened already
    /// when `flatten` is on); `V` is a parsed value or its JSON text. The
    /// answer is sorted by key.
    #[allow(clippy::type_complexity)]
    fn reshape<'a, V>(
        &'a self,
        entries: Vec<(Cow<'a, str>, V)>,
        is_empty: impl Fn(&V) -> bool,
    ) -> Result<Normalized<Vec<(Cow<'a, str>, V)>>, PluginError> {
        // Keys after steps 1-3, each with the key it came from when that
        // differs, sorted so that keys which became equal sit side by side.
        let mut keyed: Vec<(Cow<'a, str>, Option<Cow<'a, str>>, V)> = entries
            .into_iter()
            .map(|(key, value)| {
                let (key, original) = self.normalize_cow_key(key);
                (key, original, value)
            })
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = keyed.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let [(key, first, _), (_, second, _)] = pair else {
                unreachable!("windows of two")
            };
            // Report the two originals in their input order (sorted).
            let mut originals = [
                first.as_deref().unwrap_or(key).to_owned(),
                second.as_deref().unwrap_or(key).to_owned(),
            ];
            originals.sort();
            let [other, original] = originals;
            return Err(PluginError::validation(
                "key-collision",
                format!("the keys {other:?} and {original:?} both become {key:?}"),
            )
            .with_field(key.to_string()));
        }

        let mut renamed = Vec::new();
        let mut output = Vec::with_capacity(keyed.len());
        for (key, _, value) in keyed {
            if self.drop.contains(key.as_ref()) {
                continue;
            }
            match self.rename.get(key.as_ref()) {
                Some(new) => renamed.push((key, new, value)),
                None => output.push((key, value)),
            }
        }
        for (old, new, value) in renamed {
            match output.binary_search_by(|(key, _)| key.as_ref().cmp(new.as_str())) {
                Ok(_) => {
                    return Err(PluginError::validation(
                        "rename-collision",
                        format!(
                            "renaming {old:?} to {new:?} collides with the existing key {new:?}"
                        ),
                    )
                    .with_field(new.clone()));
                }
                Err(at) => output.insert(at, (Cow::Borrowed(new.as_str()), value)),
            }
        }

        if self.skip_empty_records && output.iter().all(|(_, value)| is_empty(value)) {
            return Ok(Normalized::Skip(ALL_EMPTY.to_owned()));
        }
        Ok(Normalized::Keep(output))
    }
}

/// Appends the entries of `object`, with nested objects flattened, to
/// `entries`. Keys are joined to `prefix` with `separator`.
fn flatten_into(
    entries: &mut Vec<(String, Json)>,
    prefix: Option<&str>,
    object: Record,
    separator: &str,
) {
    for (key, value) in object {
        let key = match prefix {
            Some(prefix) => format!("{prefix}{separator}{key}"),
            None => key,
        };
        match value {
            Json::Object(nested) if !nested.is_empty() => {
                flatten_into(entries, Some(&key), nested, separator);
            }
            other => entries.push((key, other)),
        }
    }
}

/// True for `null` and for empty or whitespace-only text.
fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

sluice_sdk::export_normalizer!(Reshape);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_sdk::ErrorCategory;

    fn reshape(options: Json, record: Json) -> Result<Normalized, PluginError> {
        let Json::Object(options) = options else {
            panic!("options must be an object")
        };
        let Json::Object(record) = record else {
            panic!("record must be an object")
        };
        Reshape::configure(Options::from(options))?.normalize(record)
    }

    fn kept(options: Json, record: Json) -> Json {
        match reshape(options, record).unwrap() {
            Normalized::Keep(record) => Json::Object(record),
            Normalized::Skip(reason) => panic!("skipped: {reason}"),
        }
    }

    #[test]
    fn defaults_only_trim_keys() {
        assert_eq!(
            kept(json!({}), json!({" Name ": "x", "a": {"b": 1}})),
            json!({"Name": "x", "a": {"b": 1}})
        );
        assert_eq!(
            kept(json!({"trim_keys": false}), json!({" Name ": "x"})),
            json!({" Name ": "x"})
        );
    }

    #[test]
    fn flattens_nested_objects() {
        assert_eq!(
            kept(
                json!({"flatten": true}),
                json!({"a": {"b": {"c": 1}, "d": [1, {"e": 2}]}, "f": {}, "g": null})
            ),
            json!({"a.b.c": 1, "a.d": [1, {"e": 2}], "f": {}, "g": null})
        );
        assert_eq!(
            kept(
                json!({"flatten": true, "separator": "__"}),
                json!({"a": {"b": 1}})
            ),
            json!({"a__b": 1})
        );
    }

    #[test]
    fn lowercases_drops_and_renames() {
        let options = json!({
            "flatten": true,
            "lowercase_keys": true,
            "drop": ["Internal.ID"],
            "rename": {"E-Mail": "email", "address.city": "city"},
        });
        assert_eq!(
            kept(
                options,
                json!({"E-MAIL": "a@b.c", "Address": {"City": "Oslo"}, "internal": {"id": 7}})
            ),
            json!({"email": "a@b.c", "city": "Oslo"})
        );
    }

    #[test]
    fn keeping_unchanged_keys_agrees_with_normalizing_them() {
        for (trim_keys, lowercase_keys) in [(true, true), (true, false), (false, true)] {
            let Json::Object(options) =
                json!({"trim_keys": trim_keys, "lowercase_keys": lowercase_keys})
            else {
                unreachable!()
            };
            let reshape = Reshape::configure(Options::from(options)).unwrap();
            for key in [
                "email", " email", "email ", "Email", "EMAIL", "e-mail_2", "", " ", "ÀB", "àb",
                "ΟΔΟΣ", "οδος", "ǅ", "İ", "ß", "\u{a0}x",
            ] {
                let trimmed = if trim_keys { key.trim() } else { key };
                let expected = if lowercase_keys {
                    trimmed.to_lowercase()
                } else {
                    trimmed.to_owned()
                };
                let (normalized, original) = reshape.normalize_cow_key(Cow::Borrowed(key));
                assert_eq!(normalized, expected, "{key:?}");
                assert_eq!(
                    original.as_deref(),
                    (expected != key).then_some(key),
                    "{key:?}"
                );
            }
        }
    }

    #[test]
    fn swapping_keys_is_not_a_collision() {
        assert_eq!(
            kept(
                json!({"rename": {"a": "b", "b": "a"}}),
                json!({"a": 1, "b": 2})
            ),
            json!({"a": 2, "b": 1})
        );
    }

    #[test]
    fn renaming_onto_an_existing_key_fails() {
        let error = reshape(
            json!({"rename": {"e-mail": "email"}}),
            json!({"e-mail": "a@b.c", "email": "x@y.z"}),
        )
        .unwrap_err();
        assert_eq!(error.category, ErrorCategory::Validation);
        assert_eq!(error.code, "rename-collision");
        assert_eq!(
            error.message,
            "renaming \"e-mail\" to \"email\" collides with the existing key \"email\""
        );
        assert_eq!(error.field.as_deref(), Some("email"));
    }

    #[test]
    fn keys_that_become_equal_collide() {
        let error = reshape(
            json!({"lowercase_keys": true}),
            json!({"Email": 1, "email": 2}),
        )
        .unwrap_err();
        assert_eq!(error.code, "key-collision");
        assert_eq!(
            error.message,
            "the keys \"Email\" and \"email\" both become \"email\""
        );
        let error =
            reshape(json!({"flatten": true}), json!({"a.b": 1, "a": {"b": 2}})).unwrap_err();
        assert_eq!(error.code, "key-collision");
    }

    #[test]
    fn skips_empty_records_when_asked() {
        let record = json!({"a": null, "b": "", "c": "  "});
        assert_eq!(
            reshape(json!({"skip_empty_records": true}), record.clone()),
            Ok(Normalized::Skip("all fields are empty".into()))
        );
        assert!(matches!(
            reshape(json!({}), record),
            Ok(Normalized::Keep(_))
        ));
        assert!(matches!(
            reshape(
                json!({"skip_empty_records": true}),
                json!({"a": null, "b": 0})
            ),
            Ok(Normalized::Keep(_))
        ));
        assert!(matches!(
            reshape(
                json!({"skip_empty_records": true, "drop": ["b"]}),
                json!({"a": "", "b": 1})
            ),
            Ok(Normalized::Skip(_))
        ));
    }

    /// The text path (no `flatten`) answers what parsing into a record
    /// and writing it out would, errors and skips included.
    #[test]
    fn text_path_agrees_with_the_record_path() {
        let options = [
            json!({}),
            json!({"trim_keys": false}),
            json!({"lowercase_keys": true}),
            json!({"lowercase_keys": true, "drop": ["Notes"], "skip_empty_records": true}),
            json!({"rename": {"FirstName": "first_name", "e-mail": "email"}}),
            json!({"rename": {"a": "b", "b": "a"}, "drop": [" c "]}),
            json!({"flatten": true, "lowercase_keys": true}),
        ];
        let records = [
            r#"{" FirstName ": " Ada ", "e-mail": "a@b.c", "Notes": {"x": [1, 2.50]}}"#,
            r#"{"a": 1, "b": "\u00e9\"", "c": null, "a": 3}"#,
            r#"{"Email": 1, "email": 2}"#,
            r#"{"e-mail": "x", "email": "y"}"#,
            r#"{"x": null, "y": "  ", "Notes": 5}"#,
            r#"{"ke\"y": "v", "K\u00c9": true}"#,
            r#"{}"#,
            r#"[1, 2]"#,
            r#"{"a": }"#,
        ];
        let parse = |text: String| serde_json::from_str::<Json>(&text).unwrap();
        for option in &options {
            let Json::Object(map) = option.clone() else {
                unreachable!()
            };
            let reshape = Reshape::configure(Options::from(map)).unwrap();
            for record in records {
                let text = reshape.normalize_text(record);
                let via_record = normalize_via_record(&reshape, record);
                match (text, via_record) {
                    (Ok(Normalized::Keep(a)), Ok(Normalized::Keep(b))) => {
                        assert_eq!(parse(a), parse(b), "{option} {record}")
                    }
                    (a, b) => assert_eq!(a, b, "{option} {record}"),
                }
            }
        }
    }

    #[test]
    fn rejects_bad_options() {
        for (options, message) in [
            (json!({"flaten": true}), "unknown field `flaten`"),
            (
                json!({"flatten": true, "separator": ""}),
                "`separator` must not be empty",
            ),
            (
                json!({"rename": {"a": "x", "b": "x"}}),
                "maps both \"a\" and \"b\" to \"x\"",
            ),
            (json!({"rename": {"a": " "}}), "empty key"),
            (
                json!({"lowercase_keys": true, "rename": {"A": "x", "a": "y"}}),
                "more than once",
            ),
            (json!({"drop": "a"}), "invalid type"),
        ] {
            let Json::Object(map) = options else {
                unreachable!()
            };
            let error = Reshape::configure(Options::from(map)).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config);
            assert!(error.message.contains(message), "{}", error.message);
        }
    }
}
