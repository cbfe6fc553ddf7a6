//! Writes through a batch create endpoint (see the crate docs for the
//! accepted answer).

use serde_json::{Map, Value as Json};
use sluice_rest_fields::key_text;
use sluice_sdk::http::{Request, Response, Transport};
use sluice_sdk::{ErrorCategory, Outgoing, PluginError, WriteOutcome};

use crate::options::{Batch, TargetOptions};
use crate::{Action, Outcome, Outcomes, failure};

/// The most further requests a refused batch request may cost when it is
/// split to find the records its error belongs to.
pub(crate) const MAX_SPLIT_REQUESTS: usize = 16;

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
    let mut first = 0;
    for chunk in records.chunks(batch.size) {
        let offset = first;
        first += chunk.len();
        if let Some(error) = outcomes.stopped().cloned() {
            for _ in chunk {
                outcomes.push(Err(error.clone()))?;
            }
            continue;
        }
        // Records that cannot be sent are refused before sending.
        let mut slots: Vec<Option<Outcome>> = vec![None; chunk.len()];
        let mut inputs = Vec::new();
        for (i, record) in chunk.iter().enumerate() {
            let input = record
                .record()
                .and_then(|object| crate::shape::body(&options.body, object));
            match input {
                Ok(mut input) => {
                    let trace = (offset + i).to_string();
                    if let (Some(member), Json::Object(map)) = (&batch.trace, &mut input) {
                        map.insert(member.clone(), Json::String(trace.clone()));
                    }
                    inputs.push(Input {
                        position: i,
                        trace,
                        body: input,
                    });
                }
                Err(error) => slots[i] = Some(Err(error)),
            }
        }
        let mut budget = MAX_SPLIT_REQUESTS;
        for (position, answer) in send(batch, &options.id_pointer, transport, inputs, &mut budget) {
            slots[position] = Some(answer);
        }
        for slot in slots {
            outcomes.push(slot.unwrap_or_else(|| Err(unconfirmed())))?;
        }
    }
    Ok(outcomes.into_vec())
}

/// One input of a batch request.
#[derive(Debug, Clone)]
struct Input {
    /// The record's position in its chunk.
    position: usize,
    /// Its trace id (its position in the `write`, as text).
    trace: String,
    /// The input as sent.
    body: Json,
}

/// Sends `inputs` in one request and returns each one's outcome. A
/// request refused as a whole with a record-level error (400, 409, 422:
/// `validation` or `correlation`) does not say which record it is about:
/// it is split in halves and resent, within `budget` further requests;
/// records not told apart by then get the error, saying so.
fn send(
    batch: &Batch,
    id_pointer: &str,
    transport: &mut impl Transport,
    inputs: Vec<Input>,
    budget: &mut usize,
) -> Vec<(usize, Outcome)> {
    if inputs.is_empty() {
        return Vec::new();
    }
    let bodies: Vec<Json> = inputs.iter().map(|i| i.body.clone()).collect();
    let request = Request::new(batch.method.method(), batch.path.clone())
        .with_json(&nest(&batch.inputs, Json::Array(bodies)));
    let response = match transport.fetch(&request) {
        Ok(response) => response,
        Err(error) => {
            return inputs
                .iter()
                .map(|i| (i.position, Err(error.clone())))
                .collect();
        }
    };
    if response.is_success() {
        let traces: Vec<String> = inputs.iter().map(|i| i.trace.clone()).collect();
        let answers = answer(batch, id_pointer, &response, &traces);
        return inputs.iter().map(|i| i.position).zip(answers).collect();
    }
    let error = failure(
        Action::Create,
        response.status,
        &crate::refine_auth(&response, response.error()),
    );
    let per_record = matches!(response.status, 400 | 409 | 422)
        && matches!(
            error.category,
            ErrorCategory::Validation | ErrorCategory::Correlation
        );
    if per_record && inputs.len() > 1 {
        if *budget >= 2 {
            *budget -= 2;
            let mut first = inputs;
            let second = first.split_off(first.len() / 2);
            let mut out = send(batch, id_pointer, transport, first, budget);
            out.extend(send(batch, id_pointer, transport, second, budget));
            return out;
        }
        let error = PluginError {
            message: format!(
                "{} (the API refused a request of {} records as a whole; splitting it further to find the record at fault was given up, so this record may be fine: replay it)",
                error.message,
                inputs.len()
            ),
            ..error
        };
        return inputs
            .iter()
            .map(|i| (i.position, Err(error.clone())))
            .collect();
    }
    inputs
        .iter()
        .map(|i| (i.position, Err(error.clone())))
        .collect()
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

/// One outcome per input of a successful batch request, from its answer:
/// results and errors are tied to inputs by the value at `index` (errors:
/// `error_index`), a trace id when `trace` is set, else the input's
/// position in the request (a number, or numeric text).
pub(crate) fn answer(
    batch: &Batch,
    id_pointer: &str,
    response: &Response,
    traces: &[String],
) -> Vec<Outcome> {
    let n = traces.len();
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
    let index_of = |item: &Json, pointer: &str| {
        let value = item.pointer(pointer).and_then(key_text)?;
        if batch.trace.is_some() {
            traces.iter().position(|t| *t == value)
        } else {
            value.parse::<usize>().ok().filter(|&i| i < n)
        }
    };
    let error_index = batch.error_index.as_deref().unwrap_or(&batch.index);
    let mut slots: Vec<Option<Outcome>> = vec![None; n];
    for error in list(&batch.errors) {
        if let Some(i) = index_of(&error, error_index) {
            slots[i] = Some(Err(item_error(&error)));
        }
    }
    let mut loose = Vec::new();
    for result in list(&batch.results) {
        let outcome = Ok(WriteOutcome::Created(
            result.pointer(id_pointer).and_then(key_text),
        ));
        match index_of(&result, &batch.index) {
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
    let status = match error.get("status") {
        Some(Json::Number(n)) => n.as_u64().and_then(|s| u16::try_from(s).ok()),
        Some(Json::String(s)) => s.parse().ok(),
        _ => None,
    };
    // HubSpot's entries name their kind in `category` (`VALIDATION_ERROR`).
    let category_code = error
        .get("category")
        .and_then(Json::as_str)
        .map(|c| c.to_ascii_lowercase().replace('_', "-"));
    let code = error
        .get("code")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or(category_code);
    let code = code.as_deref();
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
