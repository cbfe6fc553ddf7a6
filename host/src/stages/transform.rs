//! Transform: build each target record from the field mappings, running
//! every field's chain of field transformers over the whole batch at once.

mod chain;

use std::ops::Range;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value as Json;

use self::chain::Column;
use super::{Batch, Flow, Reporter, Stage, StageReport, relay};
use crate::bindings::v0_2_0::TextBatch;
use crate::bindings::{PluginError, Value};
use crate::errors::{Category, RecordError, codes};
use crate::plugin::worlds::text_batch::{TextResults, push_text, text_values, texts};
use crate::plugin::{FailureKind, PluginFailure, PluginId, TransformerPlugin};
use crate::record::{
    Body, FieldRef, Object, Record, Written, from_value, invalid_json, is_blank, set_path, to_value,
};

/// Something that transforms the values of one field.
pub trait ValueTransformer: Send {
    /// The plugin behind it.
    fn plugin(&self) -> &PluginId;
    /// Transform values: one result per value, in order.
    fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure>;
    /// Whether it takes packed texts as they are (see
    /// [`transform_texts`](Self::transform_texts)): a chain then keeps text
    /// values packed from one step to the next.
    fn takes_texts(&self) -> bool {
        false
    }
    /// Transform packed texts: one result per text, in order, checked and
    /// still packed. By default each text goes through
    /// [`transform`](Self::transform) as a value.
    fn transform_texts(&mut self, batch: &TextBatch) -> Result<TextResults, PluginFailure> {
        self.transform(&text_values(batch))
            .map(TextResults::from_values)
    }
    /// A batch of `records` records begins (before its first call): a step
    /// that follows a store name switches versions here, never inside a
    /// batch.
    fn begin_batch(&mut self, _records: usize) {}
}

impl ValueTransformer for TransformerPlugin {
    fn plugin(&self) -> &PluginId {
        self.id()
    }

    fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
        TransformerPlugin::transform(self, values)
    }

    fn takes_texts(&self) -> bool {
        TransformerPlugin::takes_texts(self)
    }

    fn transform_texts(&mut self, batch: &TextBatch) -> Result<TextResults, PluginFailure> {
        TransformerPlugin::transform_texts(self, batch)
    }
}

/// How one target field is produced.
#[derive(Debug)]
pub struct FieldPlan<T> {
    /// Target field (dotted path).
    pub target: String,
    /// Source field (dotted path).
    pub source: String,
    /// Value for missing, null or empty source values.
    pub default: Option<Json>,
    /// Whether a missing value fails the record.
    pub required: bool,
    /// The transformer chain.
    pub steps: Vec<T>,
}

/// Map every batch and pass on the records that came through every field.
pub fn run<T: ValueTransformer>(
    mappings: &mut [Vec<FieldPlan<T>>],
    entity_names: &[String],
    input: &Receiver<Flow>,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Transform, mappings.len());
    relay(Stage::Transform, input, out, |batch| {
        let entity = batch.entity;
        let counts = &mut report.counts[entity];
        counts.records_in += batch.records.len() as u64;
        if reporter.is_halted() {
            reporter.hold_back(
                Stage::Transform,
                &entity_names[entity],
                &batch.records,
                counts,
            );
            return Batch::new(entity, Vec::new());
        }
        for step in mappings[entity].iter_mut().flat_map(|f| f.steps.iter_mut()) {
            step.begin_batch(batch.records.len());
        }
        let (records, errors, failed) =
            map_batch(&mut mappings[entity], &entity_names[entity], batch.records);
        counts.failed += failed;
        counts.records_out += records.len() as u64;
        reporter.progress().add_failed(failed);
        reporter.errors(errors);
        Batch::new(entity, records)
    });
    report
}

/// A field transformer returned a `json` value whose text is not JSON: a
/// contract violation, on that record only.
fn not_json(entity: &str, plugin: &PluginId, value: &Value) -> RecordError {
    let (Value::Json(text), Some(why)) = (value, invalid_json(value)) else {
        unreachable!("called for invalid json values only");
    };
    let head: String = text.chars().take(80).collect();
    RecordError {
        plugin: Some(plugin.clone()),
        ..RecordError::new(
            Stage::Transform,
            entity,
            Category::Mapping,
            FailureKind::ContractViolation.code(),
            format!(
                "plugin `{}` returned a `json` value that is not JSON ({why}): {head:?}; a text value must be returned as `text`",
                plugin.name
            ),
        )
    }
}

/// Where one field's value for one record comes from, once every field
/// has been processed and the record is known to pass.
enum Slot {
    /// The source value itself: the field has no transformers, so it is
    /// read from the record's body only for a record that passes.
    FromBody,
    /// A transformer chain's result, or the field's default.
    Value(Json),
    /// A transformer chain's text result as a JSON string without escapes
    /// (quotes included): a span of the field's quoted texts.
    Quoted(Range<usize>),
    /// The record failed on this field.
    Failed,
}

/// Null (or missing), or text that is empty once trimmed: what
/// [`is_blank`] says of the value the field would have.
fn json_is_blank(value: Option<FieldRef<'_>>) -> bool {
    value.is_none_or(|v| v.is_blank())
}

/// Whether JSON writes `text` with escapes (a quote, a backslash or a
/// control character in it).
fn needs_escapes(text: &str) -> bool {
    text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// The contents of a JSON string written without escapes.
fn unquote(quoted: &str) -> &str {
    &quoted[1..quoted.len() - 1]
}

/// The field's values when the first transformer takes packed texts and
/// every value is text (after the default): packed straight from the
/// records' bodies. `None` when one is not text.
fn packed_values<T>(records: &[Record], field: &FieldPlan<T>) -> Option<TextBatch> {
    let mut batch = TextBatch {
        text: String::new(),
        ends: Vec::with_capacity(records.len()),
    };
    let mut hint = 0;
    for record in records {
        let value = record.body.get_hinted(&field.source, &mut hint);
        let value = match (&field.default, value) {
            (Some(default), value) if json_is_blank(value) => FieldRef::Json(default),
            (_, Some(value)) => value,
            (_, None) => return None,
        };
        let text = match value {
            FieldRef::Text(quoted) => unquote(quoted),
            FieldRef::Json(Json::String(text)) => text,
            FieldRef::Json(_) => return None,
        };
        if !push_text(&mut batch, text) {
            return None;
        }
    }
    Some(batch)
}

/// When every target field is top-level, the order in which a record's
/// fields are written: by target name, a target mapped twice once (the
/// last mapping wins, as when it is set twice). `None` when some target
/// is a dotted path (the body is then built as a tree).
fn write_order<T>(fields: &[FieldPlan<T>]) -> Option<Vec<usize>> {
    if fields.iter().any(|f| f.target.contains('.')) {
        return None;
    }
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by(|&a, &b| fields[a].target.cmp(&fields[b].target).then(a.cmp(&b)));
    let mut unique: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        match unique.last_mut() {
            Some(last) if fields[*last].target == fields[i].target => *last = i,
            _ => unique.push(i),
        }
    }
    Some(unique)
}

/// Map one batch. Every field is processed for every record, so a record
/// with several bad fields reports all of them; it fails once. A field
/// without transformers takes its value straight from the record's body
/// (no conversion to the contract's `value` and back; a plain string is
/// copied as its text), and only for the records that pass; a failed
/// record keeps its body whole for the error. When every target is a
/// top-level field the output body is written as JSON text directly.
pub fn map_batch<T: ValueTransformer>(
    fields: &mut [FieldPlan<T>],
    entity: &str,
    records: Vec<Record>,
) -> (Vec<Record>, Vec<RecordError>, u64) {
    let n = records.len();
    let mut failed = vec![false; n];
    let mut errors: Vec<(usize, RecordError)> = Vec::new();
    let mut slots: Vec<Vec<Slot>> = Vec::with_capacity(fields.len());
    // Per field, the texts its `Slot::Quoted` slots point into.
    let mut quoted_texts: Vec<String> = vec![String::new(); fields.len()];
    let required_missing = |field: &FieldPlan<T>| {
        let message = format!(
            "required field `{}` is empty (source field `{}`); fix the source data or give the mapping a default",
            field.target, field.source
        );
        RecordError::new(
            Stage::Transform,
            entity,
            Category::Validation,
            codes::REQUIRED_FIELD_MISSING,
            message,
        )
        .on_field(&field.target)
    };
    for field in fields.iter_mut() {
        if field.steps.is_empty() && field.default.is_none() && !field.required {
            // Nothing to decide per record: the value is read once, when
            // the record is written.
            slots.push((0..n).map(|_| Slot::FromBody).collect());
            continue;
        }
        if field.steps.is_empty() {
            let mut hint = 0;
            let column = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let value = r.body.get_hinted(&field.source, &mut hint);
                    let (slot, blank) = match &field.default {
                        Some(default) if json_is_blank(value) => (
                            Slot::Value(default.clone()),
                            json_is_blank(Some(FieldRef::Json(default))),
                        ),
                        _ => (Slot::FromBody, json_is_blank(value)),
                    };
                    if field.required && blank {
                        failed[i] = true;
                        errors.push((i, required_missing(field)));
                        return Slot::Failed;
                    }
                    slot
                })
                .collect();
            slots.push(column);
            continue;
        }
        let mut column: Vec<Slot> = (0..n).map(|_| Slot::Failed).collect();
        let values = match field.steps[0].takes_texts() {
            true => packed_values(&records, field).map(Column::Packed),
            false => None,
        };
        let values = values.unwrap_or_else(|| {
            let mut values: Vec<Value> = records
                .iter()
                .scan(0, |hint, r| {
                    let value = r.body.get_hinted(&field.source, hint);
                    Some(value.map_or(Value::Null, |v| v.to_value()))
                })
                .collect();
            if let Some(default) = &field.default {
                for v in values.iter_mut().filter(|v| is_blank(v)) {
                    *v = to_value(Some(default));
                }
            }
            Column::Values(values)
        });
        let (live, values) = chain::run(
            &mut field.steps,
            &field.target,
            entity,
            (0..n).collect(),
            values,
            &mut failed,
            &mut errors,
        );
        match values {
            Column::Packed(batch) => {
                let mut quoted = String::with_capacity(batch.text.len() + 2 * live.len());
                for (i, text) in live.into_iter().zip(texts(&batch)) {
                    if field.required && text.trim().is_empty() {
                        failed[i] = true;
                        errors.push((i, required_missing(field)));
                    } else if needs_escapes(text) {
                        column[i] = Slot::Value(Json::String(text.to_owned()));
                    } else {
                        let start = quoted.len();
                        quoted.push('"');
                        quoted.push_str(text);
                        quoted.push('"');
                        column[i] = Slot::Quoted(start..quoted.len());
                    }
                }
                quoted_texts[slots.len()] = quoted;
            }
            Column::Values(values) => {
                for (i, value) in live.into_iter().zip(values) {
                    if field.required && is_blank(&value) {
                        failed[i] = true;
                        errors.push((i, required_missing(field)));
                    } else {
                        column[i] = Slot::Value(from_value(value));
                    }
                }
            }
        }
        slots.push(column);
    }
    let errors = errors
        .into_iter()
        .map(|(i, e)| RecordError {
            record_key: Some(records[i].key.clone()),
            source_position: Some(records[i].position.clone()),
            payload: Some(records[i].body_json()),
            source_payload: Some(records[i].source_payload.to_string()),
            ..e
        })
        .collect();
    let failed_count = failed.iter().filter(|f| **f).count() as u64;
    let order = write_order(fields);
    // Where each field's source key was in the last record (see
    // `Body::get_hinted`).
    let mut hints = vec![0; fields.len()];
    let mut columns: Vec<std::vec::IntoIter<Slot>> =
        slots.into_iter().map(Vec::into_iter).collect();
    let mut passed = Vec::with_capacity(n - failed_count as usize);
    let mut row: Vec<Slot> = Vec::with_capacity(columns.len());
    for (mut record, failed) in records.into_iter().zip(failed) {
        // Every column yields one slot per record, in order.
        row.clear();
        row.extend(
            columns
                .iter_mut()
                .map(|c| c.next().expect("a slot per record")),
        );
        if failed {
            continue;
        }
        let mut take = |k: usize| std::mem::replace(&mut row[k], Slot::Failed);
        record.body = match &order {
            // Written as text: a value from the source is copied as the
            // text it was when it is a plain string.
            Some(order) => {
                let size = record.source_payload.len() + 16;
                let source = &record.body;
                Body::write_sorted(
                    order.iter().map(|&k| {
                        let field = &fields[k];
                        let value = match take(k) {
                            Slot::Value(v) => Written::Owned(v),
                            Slot::Quoted(span) => {
                                Written::Ref(FieldRef::Text(&quoted_texts[k][span]))
                            }
                            Slot::FromBody => source
                                .get_hinted(&field.source, &mut hints[k])
                                .map_or(Written::Owned(Json::Null), Written::Ref),
                            Slot::Failed => unreachable!("a record that passed failed no field"),
                        };
                        (field.target.as_str(), value)
                    }),
                    size,
                )
            }
            None => {
                let mut body = Object::new();
                for (k, field) in fields.iter().enumerate() {
                    let value = match take(k) {
                        Slot::Value(v) => v,
                        Slot::Quoted(span) => {
                            Json::String(unquote(&quoted_texts[k][span]).to_owned())
                        }
                        Slot::FromBody => record
                            .body
                            .get(&field.source)
                            .map_or(Json::Null, |v| v.to_json()),
                        Slot::Failed => unreachable!("a record that passed failed no field"),
                    };
                    set_path(&mut body, &field.target, value);
                }
                body.into()
            }
        };
        passed.push(record);
    }
    (passed, errors, failed_count)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::record::Body;

    /// Uppercases text.
    struct Upper(PluginId);

    impl ValueTransformer for Upper {
        fn plugin(&self) -> &PluginId {
            &self.0
        }

        fn transform(
            &mut self,
            values: &[Value],
        ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
            Ok(values
                .iter()
                .map(|v| match v {
                    Value::Text(t) => Ok(Value::Text(t.to_uppercase())),
                    other => Ok(other.clone()),
                })
                .collect())
        }
    }

    fn field(target: &str, source: &str, upper: bool) -> FieldPlan<Upper> {
        let id = PluginId {
            name: Arc::from("upper"),
            digest: Arc::from(format!("sha256:{:0>64}", 0)),
        };
        FieldPlan {
            target: target.into(),
            source: source.into(),
            default: None,
            required: false,
            steps: if upper { vec![Upper(id)] } else { Vec::new() },
        }
    }

    fn record(text: &str) -> Record {
        Record {
            key: "k".into(),
            position: "in.jsonl:1".into(),
            body: Body::parse(Arc::from(text)).unwrap(),
            source_payload: Arc::from(text),
        }
    }

    /// What mapping into a tree and writing it out gave before bodies were
    /// written as text: the same bytes, whether a body comes from the
    /// source's text or is a tree (a replay), for top-level and dotted
    /// targets, a target mapped twice (the last mapping wins), a missing
    /// source (null) and values that are not plain strings.
    #[test]
    fn output_bodies_are_what_the_mapped_tree_writes() {
        let text = r#"{"n": 1.50, "s": "a\u0041", "o": {"x": [1, "y"]}, "p": "plain", "d": {"e": "deep"}}"#;
        let flat = || {
            vec![
                field("z", "p", false),
                field("a", "s", false),
                field("m", "n", false),
                field("o", "o", false),
                field("a", "p", true),
                field("missing", "nope", false),
                field("deep", "d.e", false),
            ]
        };
        let expected_flat = json!({
            "z": "plain", "a": "PLAIN", "m": 1.5, "o": {"x": [1, "y"]},
            "missing": null, "deep": "deep"
        });
        let mut dotted = flat();
        dotted.push(field("t.u", "p", true));
        let mut expected_dotted = expected_flat.clone();
        expected_dotted["t"] = json!({"u": "PLAIN"});
        for (mut fields, expected) in [(flat(), expected_flat), (dotted, expected_dotted)] {
            let tree: Object = serde_json::from_str(text).unwrap();
            let mut replayed = record(text);
            replayed.body = tree.into();
            let (out, errors, failed) =
                map_batch(&mut fields, "contacts", vec![record(text), replayed]);
            assert!(errors.is_empty() && failed == 0);
            for r in out {
                assert_eq!(r.body_json(), serde_json::to_string(&expected).unwrap());
            }
        }
    }

    /// A transformer applying [`rule`] to each text (other values pass
    /// through). With `packs` it takes packed texts and answers as a 0.2.0
    /// plugin answers `transform-text` (a checked answer); without, it takes
    /// values only, as a 0.1.0 plugin. A batch holding `"boom"` traps.
    struct Scripted {
        id: PluginId,
        packs: bool,
    }

    /// Text results (one with spaces around it), an error, a value that is
    /// not text, a `json` value that is not JSON, and a text that JSON
    /// writes with escapes.
    fn rule(text: &str) -> Result<Value, PluginError> {
        match text {
            "bad" => Err(PluginError {
                category: crate::bindings::ErrorCategory::Validation,
                code: "bad-value".into(),
                message: "refused".into(),
                field: None,
                retryable: false,
                retry_after_ms: None,
            }),
            "7" => Ok(Value::Integer(7)),
            "j" => Ok(Value::Json("{nope".into())),
            "q" => Ok(Value::Text("say \"q\"\n".into())),
            "s" => Ok(Value::Text(" s ".into())),
            other => Ok(Value::Text(other.trim().to_uppercase())),
        }
    }

    fn trap() -> PluginFailure {
        PluginFailure::new(FailureKind::Trap, "boom")
    }

    impl ValueTransformer for Scripted {
        fn plugin(&self) -> &PluginId {
            &self.id
        }

        fn transform(
            &mut self,
            values: &[Value],
        ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
            if values
                .iter()
                .any(|v| matches!(v, Value::Text(t) if t == "boom"))
            {
                return Err(trap());
            }
            Ok(values
                .iter()
                .map(|v| match v {
                    Value::Text(t) => rule(t),
                    other => Ok(other.clone()),
                })
                .collect())
        }

        fn takes_texts(&self) -> bool {
            self.packs
        }

        fn transform_texts(&mut self, batch: &TextBatch) -> Result<TextResults, PluginFailure> {
            let mut answer = crate::bindings::v0_2_0::TextAnswer {
                text: String::new(),
                ends: Vec::new(),
                others: Vec::new(),
            };
            for (i, text) in texts(batch).enumerate() {
                if text == "boom" {
                    return Err(trap());
                }
                match rule(text) {
                    Ok(Value::Text(t)) => answer.text.push_str(&t),
                    other => answer.others.push((i as u32, other)),
                }
                answer.ends.push(answer.text.len() as u32);
            }
            Ok(TextResults::check(batch.ends.len(), answer).expect("a valid answer"))
        }
    }

    /// Output bodies, errors and failed count, as text.
    fn mapped(packs: [bool; 2], records: &[&str]) -> (Vec<String>, Vec<String>, u64) {
        let id = PluginId {
            name: Arc::from("scripted"),
            digest: Arc::from(format!("sha256:{:0>64}", 0)),
        };
        let step = |packs| Scripted {
            id: id.clone(),
            packs,
        };
        let plan =
            |target: &str, default: Option<Json>, required: bool, steps: Vec<Scripted>| FieldPlan {
                target: target.into(),
                source: "a".into(),
                default,
                required,
                steps,
            };
        let mut fields = vec![
            plan("two", None, false, vec![step(packs[0]), step(packs[1])]),
            plan("one", None, true, vec![step(packs[1])]),
            plan(
                "dflt",
                Some(json!(" d ")),
                false,
                vec![step(packs[0]), step(packs[1])],
            ),
            plan("n", Some(json!(5)), false, vec![step(packs[0])]),
        ];
        let records: Vec<Record> = records.iter().map(|r| record(r)).collect();
        let (out, errors, failed) = map_batch(&mut fields, "contacts", records);
        let out = out.iter().map(Record::body_json).collect();
        let errors = errors.iter().map(|e| format!("{e:?}")).collect();
        (out, errors, failed)
    }

    /// A chain kept packed from step to step answers what the same chain
    /// answers one value at a time: the same output bodies, errors (on the
    /// same records, in the same order) and failures, with errors and a
    /// trap mid-chain, values that are not text, texts that need escapes,
    /// defaults, required fields, and chains that mix transformers that
    /// take packed texts with ones that take values (a 0.1.0 plugin).
    #[test]
    fn a_packed_chain_answers_what_the_per_value_chain_answers() {
        let all_text: Vec<String> = [" x ", "bad", "7", "j", "q", "s", "boom", "", "é ǅ", "  "]
            .iter()
            .map(|v| format!(r#"{{"a": "{v}"}}"#))
            .collect();
        let mut mixed = all_text.clone();
        mixed.extend([
            r#"{"b": 1}"#.into(),
            r#"{"a": null}"#.into(),
            r#"{"a": 5}"#.into(),
        ]);
        // Without the trap every call answers the whole batch at once.
        let untrapped: Vec<String> = all_text
            .iter()
            .filter(|r| !r.contains("boom"))
            .cloned()
            .collect();
        // Only texts and errors: the chain stays packed to the end.
        let texts_and_errors: Vec<String> = [" x ", "bad", "q", "s", "", "é ǅ", "  "]
            .iter()
            .map(|v| format!(r#"{{"a": "{v}"}}"#))
            .collect();
        for records in [all_text, untrapped, texts_and_errors, mixed] {
            let records: Vec<&str> = records.iter().map(String::as_str).collect();
            let by_value = mapped([false, false], &records);
            for packs in [[true, true], [true, false], [false, true]] {
                assert_eq!(mapped(packs, &records), by_value, "{packs:?}");
            }
        }
        // Not vacuous: the records that pass, and why the others fail.
        let (out, errors, failed) = mapped(
            [true, true],
            &[r#"{"a": " x "}"#, r#"{"a": "q"}"#, r#"{"a": "s"}"#],
        );
        assert_eq!(failed, 0, "{errors:?}");
        assert_eq!(
            out,
            [
                r#"{"dflt":"X","n":"X","one":"X","two":"X"}"#,
                r#"{"dflt":"SAY \"Q\"","n":"say \"q\"\n","one":"say \"q\"\n","two":"SAY \"Q\""}"#,
                r#"{"dflt":"S","n":" s ","one":" s ","two":"S"}"#
            ]
        );
        let (out, errors, failed) = mapped(
            [true, true],
            &[
                r#"{"a": "7"}"#,
                r#"{"a": "bad"}"#,
                r#"{"a": "boom"}"#,
                r#"{"a": " "}"#,
            ],
        );
        assert_eq!(out, [r#"{"dflt":7,"n":7,"one":7,"two":7}"#]);
        assert_eq!(failed, 3);
        let codes: Vec<&str> = errors
            .iter()
            .filter_map(|e| e.split("code: \"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(
            codes,
            [
                "bad-value",
                "trap",
                "bad-value",
                "trap",
                "required-field-missing",
                "bad-value",
                "trap",
                "bad-value",
                "trap",
            ],
            "{errors:?}"
        );
    }
}
