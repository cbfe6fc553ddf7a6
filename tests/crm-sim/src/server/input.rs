//! Reading request bodies: a JSON object, a value as text.

use serde_json::{Map, Value};

/// A string, or a number/bool as text.
pub(super) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("Invalid input JSON: expected an object.".to_owned()),
        Err(e) => Err(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        )),
    }
}
