//! Helpers for [`Value`], the variant single field values cross the
//! boundary as.

use crate::{PluginError, Value};

impl Value {
    /// The text, when the value is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The canonical decimal text, when the value is a decimal.
    pub fn as_decimal(&self) -> Option<&str> {
        match self {
            Value::Decimal(text) => Some(text),
            _ => None,
        }
    }

    /// A decimal value from `text` in canonical form (an optional `-`,
    /// digits without needless leading zeros, optionally `.` and digits),
    /// or `None` when `text` is not one.
    pub fn decimal(text: &str) -> Option<Value> {
        is_canonical_decimal(text).then(|| Value::Decimal(text.to_owned()))
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The name of the variant, for messages: `null`, `boolean`, `integer`,
    /// `float`, `text`, `json`, `decimal` or `timestamp`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Json(_) => "json",
            Value::Decimal(_) => "decimal",
            Value::Timestamp(_) => "timestamp",
        }
    }

    /// Converts the value to JSON. Non-finite floats become `null`, as in
    /// JSON text; decimals and timestamps become JSON strings of their text
    /// (so no digit is lost); a [`Value::Json`] that is not valid JSON is a
    /// `validation` error with code `invalid-json`.
    pub fn to_json(&self) -> Result<serde_json::Value, PluginError> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Boolean(b) => serde_json::Value::Bool(*b),
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(text) | Value::Decimal(text) | Value::Timestamp(text) => {
                serde_json::Value::String(text.clone())
            }
            Value::Json(text) => serde_json::from_str(text).map_err(|error| {
                PluginError::validation("invalid-json", format!("invalid JSON value: {error}"))
            })?,
        })
    }
}

/// `text` is canonical decimal text as the contract defines it.
fn is_canonical_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && !(whole.len() > 1 && whole.starts_with('0')) && fraction.is_none_or(digits)
}

impl From<serde_json::Value> for Value {
    /// Scalars map to their variant (numbers to `integer` when they fit in
    /// an `i64`, else `float`); objects and arrays become [`Value::Json`].
    fn from(json: serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(b),
            serde_json::Value::Number(number) => match number.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(text) => Value::Text(text),
            structured @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                Value::Json(serde_json::to_string(&structured).unwrap_or_default())
            }
        }
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_scalars_map_to_their_variant() {
        assert_eq!(Value::from(json!(null)), Value::Null);
        assert_eq!(Value::from(json!(true)), Value::Boolean(true));
        assert_eq!(Value::from(json!(-3)), Value::Integer(-3));
        assert_eq!(Value::from(json!(1.5)), Value::Float(1.5));
        assert_eq!(Value::from(json!(u64::MAX)), Value::Float(u64::MAX as f64));
        assert_eq!(Value::from(json!("a")), Value::Text("a".into()));
        assert_eq!(Value::from(json!([1, 2])), Value::Json("[1,2]".into()));
    }

    #[test]
    fn values_convert_back_to_json() {
        assert_eq!(
            Value::Json(r#"{"a":1}"#.into()).to_json(),
            Ok(json!({"a": 1}))
        );
        assert_eq!(Value::Float(f64::NAN).to_json(), Ok(json!(null)));
        assert_eq!(Value::Text("x".into()).to_json(), Ok(json!("x")));
        let error = Value::Json("{".into()).to_json().unwrap_err();
        assert_eq!(error.code, "invalid-json");
    }

    #[test]
    fn decimals_are_canonical_text() {
        let d = Value::decimal("12345678901234567890.10").unwrap();
        assert_eq!(d.as_decimal(), Some("12345678901234567890.10"));
        assert_eq!(d.to_json(), Ok(json!("12345678901234567890.10")));
        for bad in ["", "1e5", "+1", "01", "1.", ".5", "1,5", "--1"] {
            assert_eq!(Value::decimal(bad), None, "{bad}");
        }
        assert!(Value::decimal("-0.5").is_some());
        assert_eq!(
            Value::Timestamp("2024-05-01T12:30:00Z".into()).kind(),
            "timestamp"
        );
    }

    #[test]
    fn accessors() {
        assert_eq!(Value::from("a").as_text(), Some("a"));
        assert_eq!(Value::Integer(1).as_text(), None);
        assert!(Value::Null.is_null());
        assert_eq!(Value::Float(0.0).kind(), "float");
    }
}
