//! From a batch response to one outcome per input.

use serde_json::Value as Json;
use sluice_sdk::http::Response;
use sluice_sdk::{ErrorCategory, PluginError, WriteOutcome};

use crate::crm_errors::{classify_input_error, text};
use crate::options::Mode;
use crate::prepare::{Prepared, key_text, match_key, trace_id};

/// One outcome per input of `chunk`, in order, from a successful batch
/// response (200, 201 or 207): each result and each error is tied to its
/// input by the `objectWriteTraceId` the input was sent with (echoed on a
/// result, in an error's `context`), else by the ids or correlation keys
/// the CRM echoes (`context.ids`...), else by position among the inputs not
/// yet accounted for. An input the response says nothing about gets a
/// `mapping` error with code `unconfirmed`, or, when the batch's `status`
/// is not `COMPLETE` (`CANCELED`, `PENDING`, `PROCESSING`), a `transient`
/// error saying so: the CRM did not write it.
pub(crate) fn outcomes(
    mode: Mode,
    id_property: &str,
    chunk: &[Prepared],
    response: &Response,
) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError> {
    let body: Json = response.json()?;
    let none = Vec::new();
    let errors = body.get("errors").and_then(Json::as_array).unwrap_or(&none);
    let results = body
        .get("results")
        .and_then(Json::as_array)
        .unwrap_or(&none);
    let mut slots: Vec<Option<Result<WriteOutcome, PluginError>>> = vec![None; chunk.len()];

    let mut loose_errors = Vec::new();
    for error in errors {
        let named: Vec<usize> = locate_error(error, chunk, id_property)
            .into_iter()
            .filter(|&i| slots[i].is_none())
            .collect();
        if named.is_empty() {
            loose_errors.push(error);
        }
        for i in named {
            slots[i] = Some(input_error(mode, error));
        }
    }
    let mut loose_results = Vec::new();
    for result in results {
        match locate_result(mode, result, chunk, id_property).filter(|&i| slots[i].is_none()) {
            Some(i) => slots[i] = Some(Ok(result_outcome(mode, result))),
            None => loose_results.push(result),
        }
    }
    // What could not be tied by content is tied by position, results first
    // (a CRM that does not echo keys answers in input order), then errors
    // when exactly as many inputs are left.
    for result in loose_results {
        if let Some(slot) = slots.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(Ok(result_outcome(mode, result)));
        }
    }
    let left = slots.iter().filter(|slot| slot.is_none()).count();
    if left > 0 && left == loose_errors.len() {
        let mut loose = loose_errors.drain(..);
        for slot in slots.iter_mut().filter(|slot| slot.is_none()) {
            if let Some(error) = loose.next() {
                *slot = Some(input_error(mode, error));
            }
        }
    }
    let unwritten = match text(&body, "status") {
        Some(status) if status != "COMPLETE" => incomplete(response.status, status),
        _ => unconfirmed(response.status, &loose_errors),
    };
    Ok(slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(unwritten.clone())))
        .collect())
}

/// The inputs (positions in `chunk`) a refused request's error names in
/// its `context`, or in the `context` of its nested `errors`.
pub(crate) fn named_inputs(
    response: &Response,
    chunk: &[Prepared],
    id_property: &str,
) -> Vec<usize> {
    let Ok(body) = serde_json::from_slice::<Json>(&response.body) else {
        return Vec::new();
    };
    let mut named = locate_error(&body, chunk, id_property);
    for nested in body
        .get("errors")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        named.extend(locate_error(nested, chunk, id_property));
    }
    named.sort_unstable();
    named.dedup();
    named
}

/// Which inputs an error is about: those whose trace id is in its
/// `context.objectWriteTraceId` (or its own `objectWriteTraceId`), else
/// those whose key is in its `context.ids` (or `context.id`), else those
/// whose correlation key is in its `context` (under `id_property`, or
/// `email`).
fn locate_error(error: &Json, chunk: &[Prepared], id_property: &str) -> Vec<usize> {
    let context = error.get("context").unwrap_or(&Json::Null);
    let mut traces = context_values(context, "objectWriteTraceId");
    traces.extend(error.get("objectWriteTraceId").and_then(key_text));
    let by_trace: Vec<usize> = chunk
        .iter()
        .enumerate()
        .filter(|(_, p)| traces.contains(&trace_id(p.index)))
        .map(|(i, _)| i)
        .collect();
    if !by_trace.is_empty() {
        return by_trace;
    }
    for names in [&["ids", "id"][..], &[id_property, "email"][..]] {
        let wanted: Vec<String> = names
            .iter()
            .flat_map(|name| context_values(context, name))
            .map(|value| match_key(&value))
            .collect();
        let found: Vec<usize> = chunk
            .iter()
            .enumerate()
            .filter(|(_, p)| wanted.contains(&p.match_key))
            .map(|(i, _)| i)
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Which input a result is about: the one with its `objectWriteTraceId`,
/// else, in `update` mode, the one with its id, otherwise the one with its
/// correlation key.
fn locate_result(
    mode: Mode,
    result: &Json,
    chunk: &[Prepared],
    id_property: &str,
) -> Option<usize> {
    if let Some(trace) = result.get("objectWriteTraceId").and_then(key_text)
        && let Some(i) = chunk.iter().position(|p| trace_id(p.index) == trace)
    {
        return Some(i);
    }
    let key = match mode {
        Mode::Update => result.get("id").and_then(key_text),
        _ => result
            .get("properties")
            .and_then(|p| p.get(id_property))
            .and_then(key_text),
    }?;
    let wanted = match_key(&key);
    chunk.iter().position(|p| p.match_key == wanted)
}

/// The outcome of a written input.
fn result_outcome(mode: Mode, result: &Json) -> WriteOutcome {
    let id = result.get("id").and_then(key_text);
    match mode {
        Mode::Insert | Mode::CreateIfMissing => WriteOutcome::Created(id),
        Mode::Update => WriteOutcome::Updated(id),
        Mode::Upsert => match result.get("new").and_then(Json::as_bool) {
            Some(true) => WriteOutcome::Created(id),
            _ => WriteOutcome::Updated(id),
        },
    }
}

/// The outcome of an input the CRM refused. In `create-if-missing` mode an
/// object that already exists is what was wanted: `unchanged`.
fn input_error(mode: Mode, error: &Json) -> Result<WriteOutcome, PluginError> {
    if mode == Mode::CreateIfMissing && text(error, "category") == Some("OBJECT_ALREADY_EXISTS") {
        return Ok(WriteOutcome::Unchanged);
    }
    Err(classify_input_error(error))
}

/// The values of a `context` member: a string, or a list of them.
fn context_values(context: &Json, name: &str) -> Vec<String> {
    match context.get(name) {
        Some(Json::Array(items)) => items.iter().filter_map(key_text).collect(),
        Some(value) => key_text(value).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The error for an input of a batch the CRM did not complete: it was not
/// written, and sending it again may get it through.
fn incomplete(status: u16, batch_status: &str) -> PluginError {
    let code = if batch_status == "CANCELED" {
        "batch-canceled"
    } else {
        "batch-incomplete"
    };
    PluginError::transient(
        code,
        format!(
            "the CRM answered the batch with status {} (HTTP {status}) without writing this record",
            sluice_sdk::body_excerpt(&[], batch_status.as_bytes())
        ),
    )
}

/// The error for an input the response does not account for.
fn unconfirmed(status: u16, loose_errors: &[&Json]) -> PluginError {
    let mut message = format!(
        "the CRM's answer (HTTP {status}) does not say what became of this record; check it in the CRM before replaying it"
    );
    if !loose_errors.is_empty() {
        let details: Vec<String> = loose_errors
            .iter()
            .map(|e| classify_input_error(e).message)
            .collect();
        message.push_str(&format!(
            "; errors the CRM did not tie to a record: {}",
            sluice_sdk::body_excerpt(&[], details.join("; ").as_bytes())
        ));
    }
    PluginError::new(ErrorCategory::Mapping, "unconfirmed", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(keys: &[&str]) -> Vec<Prepared> {
        keys.iter()
            .enumerate()
            .map(|(index, key)| Prepared {
                index: index + 10,
                key: (*key).to_owned(),
                match_key: match_key(key),
                input: json!({}),
                size: 2,
            })
            .collect()
    }

    fn response(status: u16, body: &Json) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.to_string().into_bytes(),
        }
    }

    fn contact(id: &str, email: &str) -> Json {
        json!({"id": id, "properties": {"email": email, "hs_object_id": id},
               "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2024-05-01T10:00:00.000Z",
               "archived": false})
    }

    /// A 207 of the simulator: the second input has an invalid email.
    fn invalid_email_error(index: usize) -> Json {
        json!({
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address bob@ is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]",
            "context": {"propertyName": ["email"], "objectWriteTraceId": [(index + 10).to_string()]},
            "errors": [{"message": "Email address bob@ is invalid", "code": "INVALID_EMAIL",
                        "context": {"propertyName": ["email"]}}],
        })
    }

    #[test]
    fn a_207_ties_results_and_errors_to_their_inputs() {
        let chunk = chunk(&["Ada@x.io", "bob@", "cy@x.io"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [contact("1", "ada@x.io"), contact("2", "cy@x.io")],
            "numErrors": 1,
            "errors": [invalid_email_error(1)],
        });
        let outcomes = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1".into()))));
        assert_eq!(outcomes[2], Ok(WriteOutcome::Created(Some("2".into()))));
        let error = outcomes[1].as_ref().unwrap_err();
        assert_eq!(error.category, ErrorCategory::Validation);
        assert_eq!(error.code, "invalid-email");
        assert_eq!(error.field.as_deref(), Some("email"));
        assert!(error.message.contains("Email address bob@ is invalid"));
    }

    #[test]
    fn upsert_results_say_created_or_updated() {
        let chunk = chunk(&["a@x.io", "b@x.io"]);
        let mut new = contact("7", "b@x.io");
        new["new"] = json!(true);
        let mut old = contact("3", "a@x.io");
        old["new"] = json!(false);
        // Out of order: tied by email.
        let body = json!({"status": "COMPLETE", "results": [new, old]});
        let outcomes = outcomes(Mode::Upsert, "email", &chunk, &response(200, &body)).unwrap();
        assert_eq!(
            outcomes,
            vec![
                Ok(WriteOutcome::Updated(Some("3".into()))),
                Ok(WriteOutcome::Created(Some("7".into()))),
            ]
        );
    }

    #[test]
    fn update_results_are_tied_by_id_and_missing_ones_are_not_found() {
        let chunk = chunk(&["5", "99"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [contact("5", "e@x.io")],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                        "message": "Object not found. Contact 99 does not exist or was deleted (archived).",
                        "context": {"id": ["99"]},
                        "errors": [{"message": "x", "code": "OBJECT_NOT_FOUND"}]}],
        });
        let outcomes = outcomes(Mode::Update, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Updated(Some("5".into()))));
        let error = outcomes[1].as_ref().unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str()),
            (ErrorCategory::Correlation, "not-found")
        );
    }

    #[test]
    fn duplicates_are_correlation_errors_except_in_create_if_missing() {
        let chunk = chunk(&["a@x.io"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                        "message": "Contact already exists. Existing ID: 4",
                        "context": {"existingId": ["4"], "objectWriteTraceId": ["10"]},
                        "errors": [{"message": "Contact already exists. Existing ID: 4", "code": "CONTACT_EXISTS",
                                    "context": {"propertyName": ["email"]}}]}],
        });
        let insert = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        let error = insert[0].as_ref().unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str()),
            (ErrorCategory::Correlation, "duplicate")
        );
        assert_eq!(
            error.message,
            "Contact already exists. Existing ID: 4 (OBJECT_ALREADY_EXISTS)"
        );
        let cim = outcomes(
            Mode::CreateIfMissing,
            "email",
            &chunk,
            &response(207, &body),
        )
        .unwrap();
        assert_eq!(cim, vec![Ok(WriteOutcome::Unchanged)]);
    }

    #[test]
    fn property_limits_are_plan_quota() {
        let chunk = chunk(&["a@x.io", "b@x.io"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [contact("1", "a@x.io")],
            "numErrors": 1,
            "errors": [{
                "status": "error",
                "category": "LIMIT_EXCEEDED",
                "subCategory": "CUSTOM_PROPERTY_LIMIT",
                "message": "Custom property limit reached: this plan allows 2 custom contact properties and 2 exist; cannot create plan_tier. Upgrade the plan or delete unused properties.",
                "context": {"propertyName": ["plan_tier"], "limit": ["2"], "objectWriteTraceId": ["11"]},
                "errors": [{"message": "Property \"plan_tier\" cannot be created: the custom property limit (2) is reached.",
                            "code": "PROPERTY_LIMIT_REACHED", "context": {"propertyName": ["plan_tier"]}}],
            }],
        });
        let outcomes = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        let error = outcomes[1].as_ref().unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (ErrorCategory::PlanQuota, "property-limit", false)
        );
        assert_eq!(error.field.as_deref(), Some("plan_tier"));
    }

    #[test]
    fn without_a_trace_id_errors_are_tied_by_the_key_in_their_context() {
        let chunk = chunk(&["a@x.io", "b@x.io", "c@x.io"]);
        let mut error = invalid_email_error(0);
        error["context"] = json!({"propertyName": ["email"], "email": ["C@x.io"]});
        let body = json!({
            "status": "COMPLETE",
            // No keys echoed: results are tied by position.
            "results": [{"id": "1", "properties": {}}, {"id": "2", "properties": {}}],
            "errors": [error],
        });
        let outcomes = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1".into()))));
        assert_eq!(outcomes[1], Ok(WriteOutcome::Created(Some("2".into()))));
        assert_eq!(outcomes[2].as_ref().unwrap_err().code, "invalid-email");
    }

    #[test]
    fn results_and_errors_are_tied_by_their_trace_ids_not_by_position() {
        let chunk = chunk(&["a@x.io", "b@x.io", "c@x.io"]);
        // The CRM echoes no keys, answers out of order, and says nothing of
        // `inputIndex` (it is in neither of its documents).
        let result = |id: &str, trace: &str| {
            json!({"id": id, "properties": {}, "objectWriteTraceId": trace,
                   "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2024-05-01T10:00:00.000Z", "archived": false})
        };
        let body = json!({
            "status": "COMPLETE",
            "results": [result("30", "12"), result("10", "10")],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
                        "context": {"objectWriteTraceId": ["11"]}, "links": {},
                        "errors": [{"message": "Email address is invalid", "code": "INVALID_EMAIL",
                                    "context": {"propertyName": ["email"]}}],
                        "inputIndex": 0}],
            "startedAt": "2024-05-01T10:00:00.000Z", "completedAt": "2024-05-01T10:00:00.100Z",
        });
        let outcomes = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("10".into()))));
        assert_eq!(outcomes[2], Ok(WriteOutcome::Created(Some("30".into()))));
        assert_eq!(outcomes[1].as_ref().unwrap_err().code, "invalid-email");
    }

    #[test]
    fn an_error_naming_two_inputs_in_context_ids_is_theirs() {
        let chunk = chunk(&["5", "98", "99"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [contact("5", "e@x.io")],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
                        "context": {"ids": ["98", "99"]}, "errors": [], "links": {}}],
        });
        let outcomes = outcomes(Mode::Update, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Updated(Some("5".into()))));
        for outcome in &outcomes[1..] {
            let error = outcome.as_ref().unwrap_err();
            assert_eq!(
                (error.category, error.code.as_str()),
                (ErrorCategory::Correlation, "not-found")
            );
        }
    }

    #[test]
    fn a_canceled_batch_wrote_nothing_it_does_not_list() {
        let chunk = chunk(&["a@x.io", "b@x.io"]);
        let mut done = contact("1", "a@x.io");
        done["new"] = json!(true);
        let body = json!({"status": "CANCELED", "results": [done],
                          "startedAt": "2024-05-01T10:00:00.000Z", "completedAt": "2024-05-01T10:00:00.100Z"});
        let outcomes = outcomes(Mode::Upsert, "email", &chunk, &response(200, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1".into()))));
        let error = outcomes[1].as_ref().unwrap_err();
        assert_eq!(
            (error.category, error.code.as_str(), error.retryable),
            (ErrorCategory::Transient, "batch-canceled", true)
        );
        assert!(error.message.contains("CANCELED"), "{}", error.message);
    }

    #[test]
    fn inputs_the_answer_does_not_mention_are_unconfirmed() {
        let chunk = chunk(&["a@x.io", "b@x.io", "c@x.io"]);
        let body = json!({
            "status": "COMPLETE",
            "results": [contact("1", "a@x.io")],
            "errors": [{"category": "WEIRD", "message": "something odd"}],
        });
        let outcomes = outcomes(Mode::Insert, "email", &chunk, &response(207, &body)).unwrap();
        assert_eq!(outcomes[0], Ok(WriteOutcome::Created(Some("1".into()))));
        for outcome in &outcomes[1..] {
            let error = outcome.as_ref().unwrap_err();
            assert_eq!(
                (error.category, error.code.as_str()),
                (ErrorCategory::Mapping, "unconfirmed")
            );
            assert!(error.message.contains("something odd"), "{}", error.message);
        }
        // One loose error for one input left: tied by elimination.
        let chunk2 = chunk[..2].to_vec();
        let outcomes = outcomes_of(&chunk2, &body);
        assert_eq!(outcomes[1].as_ref().unwrap_err().code, "rejected");
    }

    fn outcomes_of(chunk: &[Prepared], body: &Json) -> Vec<Result<WriteOutcome, PluginError>> {
        outcomes(Mode::Insert, "email", chunk, &response(207, body)).unwrap()
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        let error = outcomes(
            Mode::Upsert,
            "email",
            &chunk(&["a@x.io"]),
            &Response {
                status: 200,
                headers: vec![],
                body: b"<html>".to_vec(),
            },
        )
        .unwrap_err();
        assert_eq!(error.code, "malformed-response");
    }
}
