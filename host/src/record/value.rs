use serde_json::Value as Json;

use crate::bindings::Value;

/// A JSON value as a contract `value`: scalars map directly, objects and
/// arrays travel as JSON text.
pub fn to_value(json: Option<&Json>) -> Value {
    match json {
        None | Some(Json::Null) => Value::Null,
        Some(Json::Bool(b)) => Value::Boolean(*b),
        Some(Json::Number(n)) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Json::String(s)) => Value::Text(s.clone()),
        Some(j @ (Json::Array(_) | Json::Object(_))) => Value::Json(j.to_string()),
    }
}

/// A contract `value` as JSON; a `json` value whose text is not JSON is an
/// error (a contract violation by whoever returned it).
pub fn try_from_value(value: Value) -> Result<Json, serde_json::Error> {
    match value {
        Value::Json(s) => serde_json::from_str(&s),
        other => Ok(from_value(other)),
    }
}

/// Why a `json` value is not JSON, if it is one that is not.
pub fn invalid_json(value: &Value) -> Option<serde_json::Error> {
    match value {
        Value::Json(s) => serde_json::from_str::<serde::de::IgnoredAny>(s).err(),
        _ => None,
    }
}

/// A contract `value` as JSON. JSON text that does not parse stays text
/// (callers check plugin output with [`invalid_json`] first). Decimals and
/// timestamps become JSON strings of their text, so no digit of a decimal
/// is lost to floating point.
pub fn from_value(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(i) => Json::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Text(s) | Value::Decimal(s) | Value::Timestamp(s) => Json::String(s),
        Value::Json(s) => serde_json::from_str(&s).unwrap_or(Json::String(s)),
    }
}

/// Null, or text that is empty once trimmed.
pub fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Text(s) => s.trim().is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips() {
        for j in [
            json!(null),
            json!(true),
            json!(42),
            json!(1.5),
            json!("x"),
            json!({"a": [1, 2]}),
        ] {
            assert_eq!(from_value(to_value(Some(&j))), j);
        }
        assert!(matches!(to_value(None), Value::Null));
    }

    #[test]
    fn decimals_and_timestamps_keep_their_text() {
        let d = from_value(Value::Decimal("12345678901234567890.10".into()));
        assert_eq!(d, json!("12345678901234567890.10"));
        assert_eq!(d.to_string(), "\"12345678901234567890.10\"");
        let t = from_value(Value::Timestamp("2024-05-01T12:30:00Z".into()));
        assert_eq!(t, json!("2024-05-01T12:30:00Z"));
    }
}
