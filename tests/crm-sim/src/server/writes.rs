//! Writes: archiving, and batch create, update and upsert with HubSpot's
//! per-input errors (207) and whole-batch refusals (400).

use std::collections::{BTreeSet, HashSet};

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::input::{parse_json_object, value_text};
use super::input_errors::{
    InputError, already_exists, input_error_json, not_found, required_field, validation,
};
use super::properties::{Writes, apply_writes, input_properties, valid_property_name, written};
use super::read::Selection;
use super::responses::{json_response, response};
use super::route::BatchKind;
use super::{MAX_BATCH, SYSTEM_PROPERTIES, State, StoredContact};
use crate::util::{format_iso_ms, looks_like_email, system_now_ms};

impl State {
    pub(super) fn archive(&mut self, id: &str) -> Response {
        if let Ok(n) = id.parse::<u64>()
            && self.contacts.get(&n).is_some_and(|c| !c.archived)
        {
            let now = self.tick();
            if let Some(c) = self.contacts.get_mut(&n) {
                c.archived = true;
                c.archived_ms = Some(now);
                c.updated_ms = now;
            }
        }
        response(204, "", String::new())
    }

    pub(super) fn insert(&mut self, writes: &Writes, new_custom: Vec<String>) -> u64 {
        let now = self.tick();
        let id = self.next_id;
        self.next_id += 1;
        self.custom_properties.extend(new_custom);
        let mut properties = Map::new();
        apply_writes(&mut properties, writes);
        self.contacts.insert(
            id,
            StoredContact {
                properties,
                created_ms: now,
                updated_ms: now,
                archived: false,
                archived_ms: None,
            },
        );
        id
    }

    pub(super) fn update(&mut self, id: u64, writes: &Writes, new_custom: Vec<String>) {
        let now = self.tick();
        self.custom_properties.extend(new_custom);
        if let Some(c) = self.contacts.get_mut(&id) {
            apply_writes(&mut c.properties, writes);
            c.updated_ms = now;
        }
    }

    pub(super) fn batch(&mut self, kind: BatchKind, body: &[u8]) -> Response {
        let request = match parse_json_object(body) {
            Ok(v) => v,
            Err(message) => return self.validation_error(message),
        };
        let Some(inputs) = request.get("inputs").and_then(Value::as_array) else {
            return self.validation_error("inputs is required and must be an array.");
        };
        if inputs.len() > MAX_BATCH {
            let mut body = self.error_body(
                "VALIDATION_ERROR",
                format!(
                    "Too many inputs: {} were sent; a batch may have at most {MAX_BATCH}.",
                    inputs.len()
                ),
            );
            body["context"] =
                json!({ "limit": [MAX_BATCH.to_string()], "size": [inputs.len().to_string()] });
            return json_response(400, &body);
        }
        if kind != BatchKind::Create {
            let mut seen = HashSet::new();
            let mut dups = BTreeSet::new();
            for input in inputs {
                if let Some(id) = input.get("id").and_then(value_text) {
                    let key = if kind == BatchKind::Upsert {
                        id.to_lowercase()
                    } else {
                        id
                    };
                    if !seen.insert(key.clone()) {
                        dups.insert(key);
                    }
                }
            }
            if !dups.is_empty() {
                let dups: Vec<String> = dups.into_iter().collect();
                let mut body = self.error_body(
                    "VALIDATION_ERROR",
                    format!("Duplicate IDs found in batch input: {dups:?}. IDs must be unique."),
                );
                body["context"] = json!({ "ids": dups });
                return json_response(400, &body);
            }
        }
        // Like HubSpot, a property that does not exist refuses the whole
        // batch, with the details embedded in the message.
        let unknown: BTreeSet<String> = inputs
            .iter()
            .filter_map(|input| input.get("properties").and_then(Value::as_object))
            .flat_map(|properties| properties.keys())
            .filter(|name| {
                !valid_property_name(name) && !SYSTEM_PROPERTIES.contains(&name.as_str())
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let problems = unknown
                .into_iter()
                .map(|name| {
                    let message = format!("Property \"{name}\" does not exist");
                    (name, "PROPERTY_DOESNT_EXIST", message)
                })
                .collect();
            let e = validation(problems);
            let body = json!({
                "status": "error",
                "message": e.message,
                "correlationId": self.correlation_id(),
                "category": "VALIDATION_ERROR",
            });
            return json_response(400, &body);
        }
        let started = format_iso_ms(system_now_ms());
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for input in inputs {
            let outcome = match kind {
                BatchKind::Create => self.create_one(input),
                BatchKind::Update => self.update_one(input),
                BatchKind::Upsert => self.upsert_one(input),
            };
            match outcome {
                Ok(mut result) => {
                    if let Some(trace) = input.get("objectWriteTraceId").and_then(value_text) {
                        result["objectWriteTraceId"] = trace.into();
                    }
                    results.push(result);
                }
                Err(e) => errors.push(input_error_json(e, input)),
            }
        }
        let mut body = json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": format_iso_ms(system_now_ms()),
        });
        let status = if !errors.is_empty() {
            body["numErrors"] = errors.len().into();
            body["errors"] = errors.into();
            207
        } else if kind == BatchKind::Create {
            201
        } else {
            200
        };
        json_response(status, &body)
    }

    pub(super) fn create_one(&mut self, input: &Value) -> Result<Value, InputError> {
        let props = input_properties(input)?;
        let (writes, new_custom) = self.validate_properties(props)?;
        if let Some(email) = written(&writes, "email")
            && let Some(existing) = self.find_live_by_email(email)
        {
            return Err(already_exists(existing));
        }
        self.check_custom_limit(&new_custom)?;
        let id = self.insert(&writes, new_custom);
        Ok(self.render(id, &self.contacts[&id], Selection::All))
    }

    pub(super) fn update_one(&mut self, input: &Value) -> Result<Value, InputError> {
        let Some(raw_id) = input.get("id").and_then(value_text) else {
            return Err(required_field("id"));
        };
        let id = raw_id
            .parse::<u64>()
            .ok()
            .filter(|n| self.contacts.get(n).is_some_and(|c| !c.archived))
            .ok_or_else(|| not_found(&raw_id))?;
        let props = input_properties(input)?;
        let (writes, new_custom) = self.validate_properties(props)?;
        if let Some(email) = written(&writes, "email")
            && let Some(existing) = self.find_live_by_email(email)
            && existing != id
        {
            return Err(already_exists(existing));
        }
        self.check_custom_limit(&new_custom)?;
        self.update(id, &writes, new_custom);
        Ok(self.render(id, &self.contacts[&id], Selection::All))
    }

    pub(super) fn upsert_one(&mut self, input: &Value) -> Result<Value, InputError> {
        match input.get("idProperty").and_then(Value::as_str) {
            Some("email") => {}
            other => {
                let message = format!(
                    "idProperty must be \"email\" (the only unique property the simulator supports); got {}.",
                    other.map_or_else(|| "nothing".to_owned(), |s| format!("{s:?}"))
                );
                return Err(validation(vec![(
                    "idProperty".to_owned(),
                    "INVALID_ID_PROPERTY",
                    message,
                )]));
            }
        }
        let Some(raw_id) = input.get("id").and_then(value_text) else {
            return Err(required_field("id"));
        };
        let email = raw_id.trim().to_lowercase();
        if !looks_like_email(&email) {
            return Err(validation(vec![(
                "email".to_owned(),
                "INVALID_EMAIL",
                format!("Email address {raw_id} is invalid"),
            )]));
        }
        let mut props = input_properties(input)?.clone();
        props.insert("email".into(), Value::String(email.clone()));
        let (writes, new_custom) = self.validate_properties(&props)?;
        self.check_custom_limit(&new_custom)?;
        let (id, new) = match self.find_live_by_email(&email) {
            Some(id) => {
                self.update(id, &writes, new_custom);
                (id, false)
            }
            None => (self.insert(&writes, new_custom), true),
        };
        let mut result = self.render(id, &self.contacts[&id], Selection::All);
        result["new"] = new.into();
        Ok(result)
    }
}
