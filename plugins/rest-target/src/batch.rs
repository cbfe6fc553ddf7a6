//! Writes through a batch create endpoint (see the crate docs for the
//! accepted answer).

use serde_json::{Map, Value as Json};
use sluice_sdk::http::{Request, Response, Transport};
use sluice_sdk::{ErrorCategory, Outgoing, PluginError, WriteOutcome};

use crate::common::key_text;
use crate::options::{Batch, TargetOptions};
use crate::{Action, Outcome, Outcomes, failure};

/// Writes the records `batch.size` at a time.
pub(crate) fn write(
    options: &TargetOptions,
    transport: &mut impl Transport,
    records: &[Outgoing],
) -> Result<Vec<Outcome>, PluginError> {
    let Some(batch) = &options.batch else {
        return Err(PluginError::config("no `batch` endpoint"));
    };
    let mut outcomes = Outcomes::default();
    for chunk in records.chunks(batch.size) {
        if let Some(error) = outcomes.stopped().cloned() {
            for _ in chunk {
                outcomes.push(Err(error.clone()))?;
            }
            continue;
        }
        // Records that are not objects are refused before sending.
        let mut slots: Vec<Option<Outcome>> = vec![None; chunk.len()];
        let mut inputs = Vec::new();
        let mut positions = Vec::new();
        for (i, record) in chunk.iter().enumerate() {
            match record.record() {
                Ok(object) => {
                    inputs.push(Json::Object(object));
                    positions.push(i);
                }
                Err(error) => slots[i] = Some(Err(error)),
            }
        }
        if !inputs.is_empty() {
            let request = Request::new(batch.method.method(), batch.path.clone())
                .with_json(&nest(&batch.inputs, Json::Array(inputs)));
            let answers = match transport.fetch(&request) {
                Ok(response) => answer(batch, &options.id_pointer, &response, positions.len()),
                Err(error) => vec![Err(error); positions.len()],
            };
            for (position, answer) in positions.into_iter().zip(answers) {
                slots[position] = Some(answer);
            }
        }
        for slot in slots {
            outcomes.push(slot.unwrap_or_else(|| Err(unconfirmed())))?;
        }
    }
    Ok(outcomes.into_vec())
}

/// `value` placed at `pointer` in a new document (`""`: the value itself).
pub(crate) fn nest(pointer: &str, value: Json) -> Json {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    segments.into_iter().rev().fold(value, |inner, segment| {
        let name = segment.replace("~1", "/").replace("~0", "~");
        let mut map = Map::new();
        map.insert(name, inner);
        Json::Object(map)
    })
}

/// One outcome per input of a batch request, from its answer.
pub(crate) fn answer(
    batch: &Batch,
    id_pointer: &str,
    response: &Response,
    n: usize,
) -> Vec<Outcome> {
    if !response.is_success() {
        let error = failure(Action::Create, response.status, &response.error());
        return vec![Err(error); n];
    }
    let body: Json = match response.json() {
        Ok(body) => body,
        Err(error) => return vec![Err(error); n],
    };
    let list = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let index_of = |item: &Json| {
        item.pointer(&batch.index)
            .and_then(Json::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < n)
    };
    let mut slots: Vec<Option<Outcome>> = vec![None; n];
    for error in list(&batch.errors) {
        if let Some(i) = index_of(&error) {
            slots[i] = Some(Err(item_error(&error)));
        }
    }
    let mut loose = Vec::new();
    for result in list(&batch.results) {
        let outcome = Ok(WriteOutcome::Created(
            result.pointer(id_pointer).and_then(key_text),
        ));
        match index_of(&result) {
            Some(i) if slots[i].is_none() => slots[i] = Some(outcome),
            Some(_) => {}
            None => loose.push(outcome),
        }
    }
    let mut loose = loose.into_iter();
    for slot in slots.iter_mut().filter(|slot| slot.is_none()) {
        match loose.next() {
            Some(outcome) => *slot = Some(outcome),
            None => break,
        }
    }
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(unconfirmed())))
        .collect()
}

/// The error of one input, from its entry in the answer's errors.
fn item_error(error: &Json) -> PluginError {
    let message = error
        .get("message")
        .and_then(Json::as_str)
        .map_or_else(|| error.to_string(), str::to_owned);
    let status = error
        .get("status")
        .and_then(Json::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let code = error.get("code").and_then(Json::as_str);
    match status {
        Some(status) => {
            let classified = sluice_sdk::classify_response(status, &[], message.as_bytes());
            let classified = PluginError {
                message: format!("{message} (HTTP {status})"),
                ..classified
            };
            failure(Action::Create, status, &classified)
        }
        None => {
            let lower = message.to_ascii_lowercase();
            let code_lower = code.unwrap_or("").to_ascii_lowercase();
            if [lower.as_str(), code_lower.as_str()].iter().any(|t| {
                t.contains("duplicate")
                    || t.contains("already exists")
                    || t.contains("already_exists")
            }) {
                PluginError::new(ErrorCategory::Correlation, "duplicate", message)
            } else {
                PluginError::validation(code.unwrap_or("rejected"), message)
            }
        }
    }
}

/// The error for an input the answer says nothing about.
fn unconfirmed() -> PluginError {
    PluginError::mapping(
        "unconfirmed",
        "the API's answer does not say what became of this record; check it before replaying it",
    )
}
