//! From a record to a request body: nesting, a template, text values (the
//! `body` option).

use serde_json::{Map, Value as Json};
use sluice_sdk::PluginError;

use crate::batch::nest;
use crate::options::BodyShape;

/// The body of a create or update (or a batch input) for `record`.
pub(crate) fn body(shape: &BodyShape, record: Map<String, Json>) -> Result<Json, PluginError> {
    let mut record = if shape.nest_dotted {
        nest_dotted(record)
    } else {
        record
    };
    if shape.text_values {
        for (name, value) in &mut record {
            as_text(name, value)?;
        }
    }
    let placed = nest(&shape.record_at, Json::Object(record));
    if shape.template.is_empty() {
        return Ok(placed);
    }
    let mut body = shape.template.clone();
    match placed {
        Json::Object(members) => {
            for (name, value) in members {
                merge(&mut body, name, value);
            }
        }
        other => return Ok(other),
    }
    Ok(Json::Object(body))
}

/// `{"properties.email": "a"}` → `{"properties": {"email": "a"}}`; a name
/// without dots stays as it is. A dotted name whose first part is a
/// non-object field of the record is kept flat.
fn nest_dotted(record: Map<String, Json>) -> Map<String, Json> {
    let mut out = Map::new();
    for (name, value) in record {
        if !name.contains('.') || name.starts_with('.') || name.ends_with('.') {
            merge(&mut out, name, value);
            continue;
        }
        let mut parts: Vec<&str> = name.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut nested = Map::new();
        nested.insert(last.to_owned(), value);
        let nested = parts.iter().rev().fold(nested, |inner, part| {
            let mut outer = Map::new();
            outer.insert((*part).to_owned(), Json::Object(inner));
            outer
        });
        for (top, value) in nested {
            merge(&mut out, top, value);
        }
    }
    out
}

/// Puts `value` at `name` in `map`, merging objects member by member (the
/// new value wins elsewhere).
fn merge(map: &mut Map<String, Json>, name: String, value: Json) {
    match (map.get_mut(&name), value) {
        (Some(Json::Object(existing)), Json::Object(incoming)) => {
            for (inner, value) in incoming {
                merge(existing, inner, value);
            }
        }
        (_, value) => {
            map.insert(name, value);
        }
    }
}

/// A value as text, in place: `null` → `""`, numbers and booleans → their
/// JSON text; nested objects have their members converted; a list is a
/// `validation` error.
fn as_text(name: &str, value: &mut Json) -> Result<(), PluginError> {
    match value {
        Json::String(_) => Ok(()),
        Json::Null => {
            *value = Json::String(String::new());
            Ok(())
        }
        Json::Number(number) => {
            *value = Json::String(number.to_string());
            Ok(())
        }
        Json::Bool(flag) => {
            *value = Json::String(flag.to_string());
            Ok(())
        }
        Json::Object(members) => {
            for (inner, value) in members.iter_mut() {
                as_text(&format!("{name}.{inner}"), value)?;
            }
            Ok(())
        }
        Json::Array(_) => Err(PluginError::validation(
            "not-a-text-value",
            format!(
                "`{name}` is a list; `body.text_values` sends text only: map it to a string first; the record was not sent"
            ),
        )
        .with_field(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_sdk::ErrorCategory;

    fn shape(text: &str) -> BodyShape {
        serde_json::from_str(text).unwrap()
    }

    fn record(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_default_body_is_the_record() {
        let r = json!({"email": "a@x.io", "n": 1});
        assert_eq!(body(&BodyShape::default(), record(r.clone())).unwrap(), r);
    }

    #[test]
    fn hubspots_shape_from_a_flat_record() {
        let shape = shape(
            r#"{"record_at": "/properties", "template": {"associations": []}, "text_values": true}"#,
        );
        assert_eq!(
            body(
                &shape,
                record(json!({"email": "a@x.io", "region": null, "score": 3, "vip": false}))
            )
            .unwrap(),
            json!({"associations": [],
                   "properties": {"email": "a@x.io", "region": "", "score": "3", "vip": "false"}})
        );
        let error = body(&shape, record(json!({"tags": ["a"]}))).unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.field.as_deref()),
            (ErrorCategory::Validation, "not-a-text-value", Some("tags"))
        );
    }

    #[test]
    fn dotted_target_fields_become_nested_objects() {
        let shape = shape(r#"{"nest_dotted": true, "template": {"associations": []}}"#);
        assert_eq!(
            body(
                &shape,
                record(
                    json!({"properties.email": "a@x.io", "properties.firstname": "A", "id": "7"})
                )
            )
            .unwrap(),
            json!({"associations": [], "id": "7", "properties": {"email": "a@x.io", "firstname": "A"}})
        );
    }
}
