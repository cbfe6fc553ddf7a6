use serde_json::Value;

use super::Object;

/// The value at a dotted path (`address.city`). A key that itself contains
/// the whole path (a flattened `address.city` key) wins over nesting.
pub fn get_path<'a>(record: &'a Object, path: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = record.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Set the value at a dotted path, creating intermediate objects. A
/// non-object in the way is replaced.
pub fn set_path(record: &mut Object, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            record.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Object::new()));
            if !child.is_object() {
                *child = Value::Object(Object::new());
            }
            set_path(
                child.as_object_mut().expect("just made an object"),
                rest,
                value,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_and_flat_paths() {
        let rec = json!({"a": {"b": 1}, "c.d": 2})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(get_path(&rec, "a.b"), Some(&json!(1)));
        assert_eq!(get_path(&rec, "c.d"), Some(&json!(2)));
        assert_eq!(get_path(&rec, "a.x"), None);
    }

    #[test]
    fn set_creates_objects() {
        let mut rec = Object::new();
        set_path(&mut rec, "address.city", json!("Oslo"));
        set_path(&mut rec, "address.zip", json!("0150"));
        assert_eq!(
            Value::Object(rec),
            json!({"address": {"city": "Oslo", "zip": "0150"}})
        );
    }
}
