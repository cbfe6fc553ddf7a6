//! One field's chain of transformers over a batch. While every value is
//! text and the next transformer takes packed texts, the values stay packed
//! from one step to the next: each step's checked answer is the next
//! step's batch, with no string per value in between. Anything else (a
//! value that is not text, a transformer that takes values) goes through
//! `transform` one value each, as the values would without packing.

use super::{ValueTransformer, not_json};
use crate::bindings::v0_2_0::TextBatch;
use crate::bindings::{PluginError, Value};
use crate::errors::RecordError;
use crate::plugin::worlds::text_batch::{
    TextResult, TextResults, push_text, split_off, text_values, texts,
};
use crate::plugin::{PluginFailure, PluginId};
use crate::record::invalid_json;
use crate::stages::Stage;
use crate::stages::isolate::{ISOLATION_BUDGET, call_isolating};

/// The values of the records still in a chain, in the order of their
/// indices.
#[derive(Debug)]
pub(super) enum Column {
    /// Every value is text, packed.
    Packed(TextBatch),
    /// One value each.
    Values(Vec<Value>),
}

impl Column {
    /// The values one by one.
    fn into_values(self) -> Vec<Value> {
        match self {
            Column::Packed(batch) => text_values(&batch),
            Column::Values(values) => values,
        }
    }
}

/// A step's results, collected for the next step: packed while every
/// value is text.
struct Next {
    live: Vec<usize>,
    /// `Some` while packed (`values` is then empty).
    packed: Option<TextBatch>,
    values: Vec<Value>,
}

impl Next {
    fn packed(records: usize, bytes: usize) -> Next {
        Next {
            live: Vec::with_capacity(records),
            packed: Some(TextBatch {
                text: String::with_capacity(bytes),
                ends: Vec::with_capacity(records),
            }),
            values: Vec::new(),
        }
    }

    /// The values so far, one each, from now on.
    fn values(&mut self) -> &mut Vec<Value> {
        if let Some(batch) = self.packed.take() {
            self.values = text_values(&batch);
        }
        &mut self.values
    }

    fn push_text(&mut self, record: usize, text: &str) {
        self.live.push(record);
        if let Some(batch) = &mut self.packed
            && push_text(batch, text)
        {
            return;
        }
        self.values().push(Value::Text(text.to_owned()));
    }

    fn push_value(&mut self, record: usize, value: Value) {
        match value {
            Value::Text(text) if self.packed.is_some() => self.push_text(record, &text),
            value => {
                self.live.push(record);
                self.values().push(value);
            }
        }
    }

    /// Every result of `records` is text: the batch is taken as it is when
    /// nothing came before it.
    fn push_batch(&mut self, records: &[usize], batch: TextBatch) {
        match &self.packed {
            Some(packed) if self.live.is_empty() && packed.ends.is_empty() => {
                self.live.extend_from_slice(records);
                self.packed = Some(batch);
            }
            _ => {
                for (&record, text) in records.iter().zip(texts(&batch)) {
                    self.push_text(record, text);
                }
            }
        }
    }

    fn finish(self) -> (Vec<usize>, Column) {
        let column = match self.packed {
            Some(batch) => Column::Packed(batch),
            None => Column::Values(self.values),
        };
        (self.live, column)
    }
}

/// Runs `steps` over `column`, the values of the records `live` (indices
/// into the batch). A record that fails in a step leaves the chain: it is
/// marked in `failed` and its error, on field `target`, added to `errors`.
/// Returns the records that came through every step, and their values.
pub(super) fn run<T: ValueTransformer>(
    steps: &mut [T],
    target: &str,
    entity: &str,
    mut live: Vec<usize>,
    mut column: Column,
    failed: &mut [bool],
    errors: &mut Vec<(usize, RecordError)>,
) -> (Vec<usize>, Column) {
    for step in steps.iter_mut() {
        if live.is_empty() {
            break;
        }
        let plugin = step.plugin().clone();
        let mut fail = |record: usize, error: RecordError| {
            failed[record] = true;
            errors.push((record, error.on_field(target)));
        };
        (live, column) = match column {
            Column::Packed(batch) if step.takes_texts() => {
                packed_step(step, &plugin, entity, &live, batch, &mut fail)
            }
            column => values_step(step, &plugin, entity, live, column.into_values(), &mut fail),
        };
    }
    (live, column)
}

/// One step over packed texts.
fn packed_step<T: ValueTransformer>(
    step: &mut T,
    plugin: &PluginId,
    entity: &str,
    live: &[usize],
    batch: TextBatch,
    fail: &mut impl FnMut(usize, RecordError),
) -> (Vec<usize>, Column) {
    let mut next = Next::packed(live.len(), batch.text.len());
    let mut answers = Vec::with_capacity(1);
    let mut budget = ISOLATION_BUDGET;
    transform_isolating(step, batch, &mut budget, &mut answers);
    let mut at = 0;
    for (count, answer) in answers {
        let records = &live[at..at + count];
        at += count;
        let results = match answer {
            Ok(results) => results,
            Err(failure) => {
                for &record in records {
                    fail(
                        record,
                        RecordError::from_failure(Stage::Transform, entity, plugin, &failure),
                    );
                }
                continue;
            }
        };
        let mut results = match results.into_batch() {
            Ok(texts) => {
                next.push_batch(records, texts);
                continue;
            }
            Err(results) => results,
        };
        for (&record, result) in records.iter().zip(results.results()) {
            match result {
                TextResult::Text(text) => next.push_text(record, text),
                TextResult::Other(result) => checked(
                    result,
                    entity,
                    plugin,
                    |value| next.push_value(record, value),
                    |error| fail(record, error),
                ),
            }
        }
    }
    next.finish()
}

/// One step over values.
fn values_step<T: ValueTransformer>(
    step: &mut T,
    plugin: &PluginId,
    entity: &str,
    live: Vec<usize>,
    inputs: Vec<Value>,
    fail: &mut impl FnMut(usize, RecordError),
) -> (Vec<usize>, Column) {
    let mut budget = ISOLATION_BUDGET;
    let results = call_isolating(&inputs, &mut budget, &mut |chunk| step.transform(chunk));
    let mut next = Vec::with_capacity(live.len());
    let mut values = Vec::with_capacity(live.len());
    for (record, result) in live.into_iter().zip(results) {
        match result {
            Ok(result) => checked(
                result,
                entity,
                plugin,
                |value| {
                    next.push(record);
                    values.push(value);
                },
                |error| fail(record, error),
            ),
            Err(failure) => fail(
                record,
                RecordError::from_failure(Stage::Transform, entity, plugin, &failure),
            ),
        }
    }
    (next, Column::Values(values))
}

/// A transformer's result for one value: the value to `pass` on, or the
/// record's error to `fail` with (the plugin's own, or a `json` value that
/// is not JSON).
fn checked(
    result: Result<Value, PluginError>,
    entity: &str,
    plugin: &PluginId,
    pass: impl FnOnce(Value),
    fail: impl FnOnce(RecordError),
) {
    match result {
        Ok(value) if invalid_json(&value).is_some() => fail(not_json(entity, plugin, &value)),
        Ok(value) => pass(value),
        Err(e) => fail(RecordError::from_plugin_error(
            Stage::Transform,
            entity,
            plugin,
            e,
        )),
    }
}

/// [`call_isolating`] for packed texts: the whole batch in one call; when
/// that call fails (and the failure can be isolated, within `budget`
/// splits), each half on its own, recursively. `answers` gets each call's
/// answer and the number of texts it answers for, in order.
fn transform_isolating<T: ValueTransformer>(
    step: &mut T,
    mut batch: TextBatch,
    budget: &mut u32,
    answers: &mut Vec<(usize, Result<TextResults, PluginFailure>)>,
) {
    let count = batch.ends.len();
    if count == 0 {
        return;
    }
    match step.transform_texts(&batch) {
        Ok(results) => answers.push((count, Ok(results))),
        Err(failure) if count == 1 || *budget == 0 || !failure.kind.is_isolatable() => {
            answers.push((count, Err(failure)));
        }
        Err(_) => {
            *budget -= 1;
            let right = split_off(&mut batch, count / 2);
            transform_isolating(step, batch, budget, answers);
            transform_isolating(step, right, budget, answers);
        }
    }
}
