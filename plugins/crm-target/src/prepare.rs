//! From records to batch inputs, and from inputs to requests.

use std::collections::HashSet;

use serde_json::{Map, Value as Json, json};
use sluice_sdk::{Outgoing, PluginError};

use crate::options::{Mode, TargetOptions};

/// The most bytes of inputs one request carries (the CRM refuses bodies
/// over 1 MiB); a single larger input is sent alone.
pub(crate) const MAX_REQUEST_BYTES: usize = 900 * 1024;

/// One record, ready to be sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    /// The record's position in the `write` call.
    pub(crate) index: usize,
    /// What identifies it in the CRM: its `id` in `update` mode, else the
    /// value of `id_property`, as sent.
    pub(crate) key: String,
    /// [`key`](Self::key) normalised for matching the CRM's answers (the
    /// CRM compares unique values ignoring case and surrounding spaces).
    pub(crate) match_key: String,
    /// The batch input.
    pub(crate) input: Json,
    /// The input's size as JSON text, in bytes.
    pub(crate) size: usize,
}

/// Turns one record into a batch input. A body that is not a JSON object,
/// or that lacks the correlation key, is a `validation` error; such a
/// record is never sent.
pub(crate) fn prepare(
    options: &TargetOptions,
    index: usize,
    record: &Outgoing,
) -> Result<Prepared, PluginError> {
    let body = record.record()?;
    let key_field = match options.mode {
        Mode::Update => "id",
        _ => options.id_property.as_str(),
    };
    let Some(key) = body.get(key_field).and_then(key_text) else {
        return Err(missing_key(options, key_field));
    };
    let properties = properties(options, body)?;
    // The CRM echoes the trace id on the result and in the `context` of an
    // error: that is how answers are tied to inputs.
    let trace = trace_id(index);
    let input = match options.mode {
        Mode::Insert | Mode::CreateIfMissing => json!({
            "associations": [],
            "objectWriteTraceId": trace,
            "properties": properties,
        }),
        Mode::Update => json!({ "id": key, "objectWriteTraceId": trace, "properties": properties }),
        Mode::Upsert => json!({
            "idProperty": options.id_property,
            "id": key,
            "objectWriteTraceId": trace,
            "properties": properties,
        }),
    };
    Ok(Prepared {
        index,
        match_key: match_key(&key),
        key,
        size: input.to_string().len(),
        input,
    })
}

/// The trace id sent with the input of the record at `index` of a `write`.
pub(crate) fn trace_id(index: usize) -> String {
    index.to_string()
}

/// The properties to write: the record's fields but `id`, limited to the
/// `properties` option when it is given, each as the text the CRM stores
/// (see [`property_text`]).
fn properties(
    options: &TargetOptions,
    mut body: Map<String, Json>,
) -> Result<Map<String, Json>, PluginError> {
    body.remove("id");
    body.into_iter()
        .filter(|(name, _)| {
            options
                .properties
                .as_ref()
                .is_none_or(|allowed| allowed.contains(name))
        })
        .map(|(name, value)| {
            let text = property_text(&name, value)?;
            Ok((name, Json::String(text)))
        })
        .collect()
}

/// A property value as the CRM takes it, text: a string as it is, `null`
/// as `""` (which clears the property), a number or boolean as its JSON
/// text. A list or object is a `validation` error (code
/// `not-a-text-value`, field: the property): the CRM has no such values,
/// and guessing a text form (JSON? `;`-separated?) would write something
/// nobody asked for.
pub(crate) fn property_text(name: &str, value: Json) -> Result<String, PluginError> {
    match value {
        Json::String(text) => Ok(text),
        Json::Null => Ok(String::new()),
        Json::Number(number) => Ok(number.to_string()),
        Json::Bool(flag) => Ok(flag.to_string()),
        Json::Array(_) | Json::Object(_) => Err(PluginError::validation(
            "not-a-text-value",
            format!(
                "`{name}` is a {}; CRM properties hold text, numbers or booleans: map it to one (e.g. join a list with `;` for a multi-select property); the record was not sent",
                if value.is_array() { "list" } else { "nested object" }
            ),
        )
        .with_field(name)),
    }
}

/// A correlation value as text: a non-blank string (trimmed), a number or
/// a boolean. `None` for anything else.
pub(crate) fn key_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A key as compared with the CRM's answers.
pub(crate) fn match_key(key: &str) -> String {
    key.trim().to_lowercase()
}

/// The error for a record without its correlation key.
fn missing_key(options: &TargetOptions, field: &str) -> PluginError {
    if field == "id" {
        PluginError::validation(
            "missing-id",
            "the record has no `id` (the CRM id), which `mode = \"update\"` writes by; it was not sent",
        )
        .with_field("id")
    } else {
        let mode = match options.mode {
            Mode::Insert => "insert",
            Mode::Upsert => "upsert",
            Mode::CreateIfMissing => "create-if-missing",
            Mode::Update => "update",
        };
        PluginError::validation(
            "missing-key",
            format!(
                "the record has no `{field}`, the correlation key (`id_property`) that `mode = \"{mode}\"` matches by; it was not sent"
            ),
        )
        .with_field(field)
    }
}

/// Splits inputs into requests, in order: at most `batch_size` inputs and
/// [`MAX_REQUEST_BYTES`] per request, and never two inputs with the same
/// key in one request (the CRM refuses duplicate ids in a batch; a later
/// record with the same key goes into a later request, so it is written
/// after the earlier one).
pub(crate) fn chunks(inputs: Vec<Prepared>, batch_size: usize) -> Vec<Vec<Prepared>> {
    let mut chunks = Vec::new();
    let mut chunk: Vec<Prepared> = Vec::new();
    let mut keys = HashSet::new();
    let mut bytes = 0;
    for input in inputs {
        let full = chunk.len() >= batch_size
            || (!chunk.is_empty() && bytes + input.size > MAX_REQUEST_BYTES)
            || keys.contains(&input.match_key);
        if full {
            chunks.push(std::mem::take(&mut chunk));
            keys.clear();
            bytes = 0;
        }
        keys.insert(input.match_key.clone());
        bytes += input.size;
        chunk.push(input);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

/// The body of a batch request.
pub(crate) fn batch_body(chunk: &[Prepared]) -> Json {
    json!({ "inputs": chunk.iter().map(|p| p.input.clone()).collect::<Vec<_>>() })
}

/// The most values one `IN` filter carries.
pub(crate) const MAX_IN_VALUES: usize = 100;

/// The body of a search for the objects whose `property` has one of
/// `keys` (at most [`MAX_IN_VALUES`], as match keys: HubSpot compares `IN`
/// values of text properties in lowercase): one filter group with one `IN`
/// filter, every member the search request requires (`after` `"0"` for
/// the first page, `sorts` as strings), only `property` read back.
pub(crate) fn lookup_body(property: &str, keys: &[String], after: Option<&str>) -> Json {
    json!({
        "filterGroups": [{"filters": [{"propertyName": property, "operator": "IN", "values": keys}]}],
        "sorts": ["hs_object_id"],
        "properties": [property],
        "limit": 100,
        "after": after.unwrap_or("0"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::{ErrorCategory, Options};

    fn options(text: &str) -> TargetOptions {
        TargetOptions::parse(&Options::from_json(text).unwrap()).unwrap()
    }

    fn record(body: &str) -> Outgoing {
        Outgoing {
            key: "k".into(),
            body: body.into(),
        }
    }

    #[test]
    fn inputs_per_mode() {
        let body = r#"{"id": "12", "email": " Ada@Example.com ", "firstname": "Ada"}"#;
        let insert = prepare(&options(r#"{"mode": "insert"}"#), 0, &record(body)).unwrap();
        assert_eq!(
            insert.input,
            json!({"associations": [], "objectWriteTraceId": "0",
                   "properties": {"email": " Ada@Example.com ", "firstname": "Ada"}})
        );
        assert_eq!(insert.key, "Ada@Example.com");
        assert_eq!(insert.match_key, "ada@example.com");
        assert_eq!(insert.size, insert.input.to_string().len());

        let update = prepare(&options(r#"{"mode": "update"}"#), 3, &record(body)).unwrap();
        assert_eq!(
            update.input,
            json!({"id": "12", "objectWriteTraceId": "3",
                   "properties": {"email": " Ada@Example.com ", "firstname": "Ada"}})
        );
        assert_eq!((update.index, update.key.as_str()), (3, "12"));

        let upsert = prepare(&options("{}"), 0, &record(body)).unwrap();
        assert_eq!(
            upsert.input,
            json!({"idProperty": "email", "id": "Ada@Example.com", "objectWriteTraceId": "0",
                   "properties": {"email": " Ada@Example.com ", "firstname": "Ada"}})
        );

        let missing = prepare(
            &options(r#"{"mode": "create-if-missing"}"#),
            0,
            &record(body),
        )
        .unwrap();
        assert_eq!(missing.input, insert.input);
    }

    #[test]
    fn the_allow_list_limits_the_properties() {
        let options = options(r#"{"properties": ["firstname", "phone"]}"#);
        let input = prepare(
            &options,
            0,
            &record(r#"{"email": "a@x.io", "firstname": "A", "notes": "x", "phone": 5}"#),
        )
        .unwrap();
        assert_eq!(
            input.input,
            json!({"idProperty": "email", "id": "a@x.io", "objectWriteTraceId": "0",
                   "properties": {"firstname": "A", "phone": "5"}})
        );
    }

    #[test]
    fn property_values_are_sent_as_text() {
        let input = prepare(
            &options("{}"),
            0,
            &record(
                r#"{"email": "a@x.io", "region": null, "score": 12.5, "count": 3, "vip": true, "note": ""}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            input.input["properties"],
            json!({"email": "a@x.io", "region": "", "score": "12.5", "count": "3", "vip": "true", "note": ""})
        );
        for nested in [
            r#"{"email": "a@x.io", "tags": ["a", "b"]}"#,
            r#"{"email": "a@x.io", "tags": {"a": 1}}"#,
        ] {
            let error = prepare(&options("{}"), 0, &record(nested)).unwrap_err();
            assert_eq!(
                (error.category, error.code.as_str(), error.field.as_deref()),
                (ErrorCategory::Validation, "not-a-text-value", Some("tags"))
            );
        }
    }

    #[test]
    fn records_without_their_key_are_not_sent() {
        for (mode, body, code, field) in [
            ("upsert", r#"{"firstname": "A"}"#, "missing-key", "email"),
            ("insert", r#"{"email": "  "}"#, "missing-key", "email"),
            (
                "create-if-missing",
                r#"{"email": null}"#,
                "missing-key",
                "email",
            ),
            ("update", r#"{"email": "a@x.io"}"#, "missing-id", "id"),
            ("update", r#"{"id": ["1"]}"#, "missing-id", "id"),
        ] {
            let options = options(&format!(r#"{{"mode": "{mode}"}}"#));
            let error = prepare(&options, 0, &record(body)).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Validation, "{mode} {body}");
            assert_eq!(error.code, code, "{mode} {body}");
            assert_eq!(error.field.as_deref(), Some(field), "{mode} {body}");
        }
        let error = prepare(&options("{}"), 0, &record("[1]")).unwrap_err();
        assert_eq!(error.code, "not-an-object");
        // Numbers are keys too.
        let numeric = prepare(
            &options(r#"{"id_property": "customer_no"}"#),
            0,
            &record(r#"{"customer_no": 42}"#),
        )
        .unwrap();
        assert_eq!(numeric.key, "42");
    }

    fn prepared(n: usize, key: &str, size: usize) -> Prepared {
        Prepared {
            index: n,
            key: key.into(),
            match_key: match_key(key),
            input: json!({}),
            size,
        }
    }

    fn shape(chunks: &[Vec<Prepared>]) -> Vec<Vec<usize>> {
        chunks
            .iter()
            .map(|c| c.iter().map(|p| p.index).collect())
            .collect()
    }

    #[test]
    fn chunks_hold_at_most_batch_size_inputs() {
        let inputs: Vec<Prepared> = (0..250)
            .map(|n| prepared(n, &format!("k{n}"), 10))
            .collect();
        let chunks = chunks(inputs, 100);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(chunks[2][0].index, 200);
        assert!(super::chunks(Vec::new(), 100).is_empty());
    }

    #[test]
    fn a_repeated_key_starts_a_new_chunk() {
        let inputs = vec![
            prepared(0, "a@x.io", 1),
            prepared(1, "b@x.io", 1),
            prepared(2, "A@X.io", 1),
            prepared(3, "c@x.io", 1),
        ];
        assert_eq!(shape(&chunks(inputs, 100)), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn chunks_stay_under_the_byte_cap() {
        let big = MAX_REQUEST_BYTES / 2;
        let inputs = vec![
            prepared(0, "a", big),
            prepared(1, "b", big),
            prepared(2, "c", MAX_REQUEST_BYTES * 2),
            prepared(3, "d", 1),
        ];
        assert_eq!(shape(&chunks(inputs, 100)), [vec![0, 1], vec![2], vec![3]]);
    }

    #[test]
    fn request_bodies() {
        let mut a = prepared(0, "a", 1);
        a.input = json!({"properties": {"x": 1}});
        assert_eq!(
            batch_body(&[a]),
            json!({"inputs": [{"properties": {"x": 1}}]})
        );
        assert_eq!(
            lookup_body("email", &["a@x.io".into(), "b@x.io".into()], Some("100")),
            json!({
                "filterGroups": [{"filters": [
                    {"propertyName": "email", "operator": "IN", "values": ["a@x.io", "b@x.io"]}
                ]}],
                "sorts": ["hs_object_id"],
                "properties": ["email"],
                "limit": 100,
                "after": "100",
            })
        );
        assert_eq!(lookup_body("email", &[], None)["after"], "0");
    }
}
