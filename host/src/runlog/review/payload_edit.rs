//! Edits of a parked payload's JSON text: `FIELD=JSONVALUE` assignments,
//! applying an edit, and showing a payload and the difference an edit made.

use serde_json::Value;

use super::ReviewError;
use crate::record::{Object, set_path};

/// A change to a parked payload.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadEdit {
    /// Replace the whole payload (must be a JSON object).
    Replace(Value),
    /// Set fields (dotted paths create nested objects) to JSON values.
    Set(Vec<(String, Value)>),
}

/// Read `FIELD=JSONVALUE` (`email="ana@example.com"`, `age=42`,
/// `address.city="Lyon"`, `phone=null`). The value must be JSON, so that a
/// string and a number are never confused.
pub fn parse_assignment(text: &str) -> Result<(String, Value), ReviewError> {
    let invalid = |reason: &str| ReviewError::InvalidAssignment {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let (field, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("there is no `=`"))?;
    let field = field.trim();
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(invalid("the field name is empty"));
    }
    let value: Value = serde_json::from_str(value).map_err(|_| {
        invalid(&format!(
            "`{value}` is not JSON; quote strings, e.g. --set '{field}=\"{value}\"'"
        ))
    })?;
    Ok((field.to_owned(), value))
}

/// What a JSON value is, for messages: `an array`, `a string`...
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `payload` pretty-printed when it is JSON, as stored otherwise.
pub fn pretty_payload(payload: &str) -> String {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_owned())
}

/// A unified diff of two texts, with `old` and `new` as file names. Texts
/// are compared as if they ended with a newline.
pub fn unified_diff(before: &str, after: &str, old: &str, new: &str) -> String {
    let line_end = |t: &str| {
        if t.is_empty() || t.ends_with('\n') {
            t.to_owned()
        } else {
            format!("{t}\n")
        }
    };
    let (before, after) = (line_end(before), line_end(after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .header(old, new)
        .to_string()
}

/// The payload after `edit`, as a JSON object.
pub(super) fn apply_edit(
    id: i64,
    current: Option<&str>,
    edit: &PayloadEdit,
) -> Result<Value, ReviewError> {
    match edit {
        PayloadEdit::Replace(v) if v.is_object() => Ok(v.clone()),
        PayloadEdit::Replace(v) => Err(ReviewError::NotAnObject {
            id,
            found: kind_of(v),
        }),
        PayloadEdit::Set(fields) => {
            let current = current.ok_or(ReviewError::NoPayload { id })?;
            let mut record: Object = match serde_json::from_str(current) {
                Ok(Value::Object(o)) => o,
                _ => return Err(ReviewError::StoredPayloadNotObject { id }),
            };
            for (field, value) in fields {
                set_path(&mut record, field, value.clone());
            }
            Ok(Value::Object(record))
        }
    }
}
