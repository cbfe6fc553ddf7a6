//! Per-input errors of a batch, in HubSpot's shape.

use serde_json::{Map, Value, json};

use super::input::value_text;

/// One failed batch input, before it is given its index.
#[derive(Debug)]
pub(super) struct InputError {
    pub(super) category: &'static str,
    pub(super) sub_category: Option<&'static str>,
    pub(super) message: String,
    pub(super) context: Map<String, Value>,
    pub(super) errors: Vec<Value>,
}

pub(super) fn validation(problems: Vec<(String, &'static str, String)>) -> InputError {
    let detail: Vec<Value> = problems
        .iter()
        .map(|(name, code, message)| {
            json!({ "isValid": false, "message": message, "error": code, "name": name })
        })
        .collect();
    let names: Vec<&String> = problems.iter().map(|(name, _, _)| name).collect();
    let mut context = Map::new();
    context.insert("propertyName".into(), json!(names));
    InputError {
        category: "VALIDATION_ERROR",
        sub_category: None,
        message: format!("Property values were not valid: {}", Value::from(detail)),
        context,
        errors: problems
            .iter()
            .map(|(name, code, message)| {
                json!({ "message": message, "code": code, "context": { "propertyName": [name] } })
            })
            .collect(),
    }
}

pub(super) fn required_field(field: &str) -> InputError {
    let message = format!("{field} is required.");
    InputError {
        category: "VALIDATION_ERROR",
        sub_category: None,
        message: message.clone(),
        context: Map::new(),
        errors: vec![
            json!({ "message": message, "code": "REQUIRED_FIELD", "context": { "field": [field] } }),
        ],
    }
}

pub(super) fn not_found(id: &str) -> InputError {
    let message =
        format!("Object not found. Contact {id} does not exist or was deleted (archived).");
    InputError {
        category: "OBJECT_NOT_FOUND",
        sub_category: None,
        message: message.clone(),
        context: Map::new(),
        errors: vec![json!({ "message": message, "code": "OBJECT_NOT_FOUND" })],
    }
}

pub(super) fn already_exists(existing: u64) -> InputError {
    let message = format!("Contact already exists. Existing ID: {existing}");
    let mut context = Map::new();
    context.insert("existingId".into(), json!([existing.to_string()]));
    InputError {
        category: "OBJECT_ALREADY_EXISTS",
        sub_category: None,
        message: message.clone(),
        context,
        errors: vec![json!({
            "message": message,
            "code": "CONTACT_EXISTS",
            "context": { "propertyName": ["email"] },
        })],
    }
}

/// The per-input error object of a 207 body, as HubSpot ties it to its
/// input: the input's `objectWriteTraceId` (when it was sent one) and its
/// `id` (update, upsert) in `context.objectWriteTraceId` / `context.ids`.
pub(super) fn input_error_json(e: InputError, input: &Value) -> Value {
    let mut context = e.context;
    if let Some(trace) = input.get("objectWriteTraceId").and_then(value_text) {
        context.insert("objectWriteTraceId".into(), json!([trace]));
    }
    if let Some(id) = input.get("id").and_then(value_text) {
        context.insert("ids".into(), json!([id]));
    }
    let mut out = json!({
        "status": "error",
        "category": e.category,
        "message": e.message,
        "context": context,
        "errors": e.errors,
        "links": {},
    });
    if let Some(sub) = e.sub_category {
        out["subCategory"] = sub.into();
    }
    out
}
