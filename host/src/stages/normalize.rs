//! Normalize: reshape whole records with normalizer plugins, in order.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::{Batch, Flow, Reporter, SkipRecord, Stage, StageReport, call_isolating, relay};
use crate::bindings::Normalized;
use crate::bindings::PluginError;
use crate::errors::{Category, RecordError, codes};
use crate::plugin::{NormalizerPlugin, PluginFailure, PluginId};
use crate::record::{Body, Record};
use crate::stages::isolate::ISOLATION_BUDGET;

/// Something that reshapes records.
pub trait RecordNormalizer: Send {
    /// The plugin behind it.
    fn plugin(&self) -> &PluginId;
    /// Normalize records (JSON object text): one result per record, in order.
    fn normalize(
        &mut self,
        records: &[String],
    ) -> Result<Vec<Result<Normalized, PluginError>>, PluginFailure>;
    /// A batch of `records` records begins (before its first call): a step
    /// that follows a store name switches versions here, never inside a
    /// batch.
    fn begin_batch(&mut self, _records: usize) {}
}

impl RecordNormalizer for NormalizerPlugin {
    fn plugin(&self) -> &PluginId {
        self.id()
    }

    fn normalize(
        &mut self,
        records: &[String],
    ) -> Result<Vec<Result<Normalized, PluginError>>, PluginFailure> {
        NormalizerPlugin::normalize(self, records)
    }
}

/// Normalize every batch with its entity's chain and pass the survivors on.
pub fn run<N: RecordNormalizer>(
    chains: &mut [Vec<N>],
    entity_names: &[String],
    input: &Receiver<Flow>,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Normalize, chains.len());
    relay(Stage::Normalize, input, out, |batch| {
        let entity = batch.entity;
        let counts = &mut report.counts[entity];
        counts.records_in += batch.records.len() as u64;
        if reporter.is_halted() {
            reporter.hold_back(
                Stage::Normalize,
                &entity_names[entity],
                &batch.records,
                counts,
            );
            return Batch::new(entity, Vec::new());
        }
        for step in chains[entity].iter_mut() {
            step.begin_batch(batch.records.len());
        }
        let mut errors = Vec::new();
        let mut skips = Vec::new();
        let records = normalize_batch(
            &mut chains[entity],
            &entity_names[entity],
            batch.records,
            batch.enter_at == Stage::Ingest,
            &mut errors,
            &mut skips,
        );
        counts.failed += errors.len() as u64;
        counts.skipped += skips.len() as u64;
        counts.records_out += records.len() as u64;
        reporter.progress().add_failed(errors.len() as u64);
        reporter.progress().add_skipped(skips.len() as u64);
        reporter.errors(errors);
        reporter.skips(skips);
        Batch::new(entity, records)
    });
    report
}

/// Run a batch through a chain of normalizers. Records travel between
/// normalizers as the JSON text the previous one returned and are parsed
/// once at the end. That text is not checked on the way: when a normalizer
/// fails a record whose input is not a JSON object, or the chain's last
/// answer does not parse, the error is blamed on the normalizer that
/// produced the bad text. An error keeps the record as it entered the
/// stage, so a replay runs the whole chain again.
///
/// Records read from the source (`from_source`) still have the body their
/// source payload parses to, so that text goes to the first normalizer
/// instead of the body written out again; records re-entering from the
/// dead-letter queue may have been edited, so their body is written out.
fn normalize_batch<N: RecordNormalizer>(
    chain: &mut [N],
    entity: &str,
    records: Vec<Record>,
    from_source: bool,
    errors: &mut Vec<RecordError>,
    skips: &mut Vec<SkipRecord>,
) -> Vec<Record> {
    if chain.is_empty() {
        return records;
    }
    let entered: Vec<String> = if from_source {
        records
            .iter()
            .map(|r| r.source_payload.to_string())
            .collect()
    } else {
        records.iter().map(Record::body_json).collect()
    };
    let mut records: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    // Indices (into `records`) of the records still in the chain, in step
    // with `texts` (`None` before the first normalizer: `entered`).
    let mut live: Vec<usize> = (0..records.len()).collect();
    let mut texts: Option<Vec<String>> = None;
    let mut previous: Option<PluginId> = None;
    for normalizer in chain.iter_mut() {
        let plugin = normalizer.plugin().clone();
        let inputs: &[String] = texts.as_deref().unwrap_or(&entered);
        let mut budget = ISOLATION_BUDGET;
        let results = call_isolating(inputs, &mut budget, &mut |chunk| {
            normalizer.normalize(chunk)
        });
        let mut next_texts = Vec::with_capacity(live.len());
        let mut next_live = Vec::with_capacity(live.len());
        for ((&i, input), result) in live.iter().zip(inputs).zip(results) {
            let blame_previous = || {
                previous
                    .as_ref()
                    .filter(|_| !is_json_object(input))
                    .map(|p| not_an_object(entity, p))
            };
            let error = match result {
                Ok(Ok(Normalized::Keep(json))) => {
                    next_texts.push(json);
                    next_live.push(i);
                    continue;
                }
                Ok(Ok(Normalized::Skip(reason))) => {
                    let record = records[i]
                        .take()
                        .expect("each record leaves the chain once");
                    skips.push(SkipRecord {
                        stage: Stage::Normalize,
                        entity: entity.to_owned(),
                        record_key: record.key,
                        source_position: record.position,
                        reason,
                        plugin: Some(plugin.clone()),
                    });
                    continue;
                }
                Ok(Err(e)) => blame_previous().unwrap_or_else(|| {
                    RecordError::from_plugin_error(Stage::Normalize, entity, &plugin, e)
                }),
                Err(failure) => blame_previous().unwrap_or_else(|| {
                    RecordError::from_failure(Stage::Normalize, entity, &plugin, &failure)
                }),
            };
            let record = records[i]
                .take()
                .expect("each record leaves the chain once");
            errors.push(with_record(error, record, &entered[i]));
        }
        texts = Some(next_texts);
        live = next_live;
        previous = Some(plugin);
    }
    let last = previous.expect("the chain is not empty");
    live.into_iter()
        .zip(texts.unwrap_or_default())
        .filter_map(|(i, text)| {
            let mut record = records[i]
                .take()
                .expect("each record leaves the chain once");
            match Body::parse(Arc::from(text)) {
                Ok(body) => {
                    record.body = body;
                    Some(record)
                }
                Err(_) => {
                    errors.push(with_record(
                        not_an_object(entity, &last),
                        record,
                        &entered[i],
                    ));
                    None
                }
            }
        })
        .collect()
}

/// The error for a normalizer whose answer is not a JSON object.
fn not_an_object(entity: &str, plugin: &PluginId) -> RecordError {
    RecordError {
        plugin: Some(plugin.clone()),
        ..RecordError::new(
            Stage::Normalize,
            entity,
            Category::Mapping,
            codes::NOT_AN_OBJECT,
            format!(
                "normalizer `{}` returned a record that is not a JSON object",
                plugin.name
            ),
        )
    }
}

/// `error` on `record`, keeping the record as it entered the stage.
fn with_record(error: RecordError, record: Record, entered: &str) -> RecordError {
    RecordError {
        record_key: Some(record.key),
        source_position: Some(record.position),
        payload: Some(entered.to_owned()),
        source_payload: Some(record.source_payload.to_string()),
        ..error
    }
}

/// Whether `text` is one JSON object, checked without building it.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::bindings::ErrorCategory;
    use crate::record::Object;

    type Answer = Box<dyn FnMut(&str) -> Result<Normalized, PluginError> + Send>;

    /// A normalizer answering each record with `answer(input)`.
    struct Fake {
        id: PluginId,
        answer: Answer,
    }

    fn fake(
        name: &str,
        answer: impl FnMut(&str) -> Result<Normalized, PluginError> + Send + 'static,
    ) -> Fake {
        Fake {
            id: PluginId {
                name: Arc::from(name),
                digest: Arc::from(format!("sha256:{name:0>64}")),
            },
            answer: Box::new(answer),
        }
    }

    impl RecordNormalizer for Fake {
        fn plugin(&self) -> &PluginId {
            &self.id
        }

        fn normalize(
            &mut self,
            records: &[String],
        ) -> Result<Vec<Result<Normalized, PluginError>>, PluginFailure> {
            Ok(records.iter().map(|r| (self.answer)(r)).collect())
        }
    }

    fn record(id: u32) -> Record {
        let body = json!({"id": id, "Name": format!("n{id}")});
        let serde_json::Value::Object(body) = body else {
            unreachable!()
        };
        Record {
            key: format!("r{id}"),
            position: format!("in.jsonl:{id}"),
            source_payload: Arc::from(serde_json::to_string(&body).unwrap()),
            body: body.into(),
        }
    }

    /// Parses like the SDK does: anything but an object is `not-an-object`.
    fn parse(text: &str) -> Result<Object, PluginError> {
        serde_json::from_str::<Object>(text).map_err(|e| PluginError {
            category: ErrorCategory::Validation,
            code: "not-an-object".into(),
            message: e.to_string(),
            field: None,
            retryable: false,
            retry_after_ms: None,
        })
    }

    fn lowercase_keys(text: &str) -> Result<Normalized, PluginError> {
        let object: Object = parse(text)?
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        Ok(Normalized::Keep(serde_json::to_string(&object).unwrap()))
    }

    fn run<N: RecordNormalizer>(
        chain: &mut [N],
        records: Vec<Record>,
    ) -> (Vec<Record>, Vec<RecordError>, Vec<SkipRecord>) {
        let (mut errors, mut skips) = (Vec::new(), Vec::new());
        let out = normalize_batch(chain, "contacts", records, true, &mut errors, &mut skips);
        (out, errors, skips)
    }

    /// Records from the source hand their source text to the first
    /// normalizer; records re-entering from the dead-letter queue (whose
    /// body may have been edited) hand their body.
    #[test]
    fn the_first_normalizer_gets_the_source_text_only_for_records_from_the_source() {
        for from_source in [true, false] {
            let mut edited = record(1);
            edited.source_payload = Arc::from(r#"{ "id": 1, "Name": "before the edit" }"#);
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let log = Arc::clone(&seen);
            let mut chain = vec![fake("spy", move |text: &str| {
                log.lock().unwrap().push(text.to_owned());
                lowercase_keys(text)
            })];
            let (mut errors, mut skips) = (Vec::new(), Vec::new());
            let out = normalize_batch(
                &mut chain,
                "contacts",
                vec![edited],
                from_source,
                &mut errors,
                &mut skips,
            );
            let expected = if from_source {
                r#"{ "id": 1, "Name": "before the edit" }"#
            } else {
                r#"{"Name":"n1","id":1}"#
            };
            assert_eq!(*seen.lock().unwrap(), [expected]);
            assert_eq!(out.len(), 1);
        }
    }

    #[test]
    fn a_chain_passes_text_along_and_parses_once() {
        let mut chain = vec![fake("lower", lowercase_keys), fake("again", lowercase_keys)];
        let (out, errors, skips) = run(&mut chain, vec![record(1), record(2)]);
        assert!(errors.is_empty() && skips.is_empty());
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1].body.get("name").map(|v| v.to_json()),
            Some(json!("n2"))
        );
    }

    /// Bad text from the first normalizer is blamed on it, not on the one
    /// that could not read it; the error keeps the record as it entered
    /// the stage.
    #[test]
    fn bad_text_is_blamed_on_the_normalizer_that_produced_it() {
        let garbage = |text: &str| {
            if text.contains("\"n1\"") {
                Ok(Normalized::Keep("[1, 2".into()))
            } else {
                lowercase_keys(text)
            }
        };
        let mut chain = vec![fake("garbage", garbage), fake("strict", lowercase_keys)];
        let (out, errors, _) = run(&mut chain, vec![record(1), record(2)]);
        assert_eq!(out.len(), 1);
        assert_eq!(errors.len(), 1);
        let error = &errors[0];
        assert_eq!(error.code, codes::NOT_AN_OBJECT);
        assert_eq!(error.category, Category::Mapping);
        assert_eq!(error.plugin.as_ref().map(|p| &*p.name), Some("garbage"));
        assert_eq!(error.record_key.as_deref(), Some("r1"));
        assert_eq!(error.payload.as_deref(), Some(r#"{"Name":"n1","id":1}"#));
    }

    /// A normalizer that fails a record it could read is blamed itself,
    /// and the payload is the record before the chain, not the text the
    /// earlier normalizers made of it.
    #[test]
    fn a_later_normalizer_failing_keeps_the_record_as_it_entered() {
        let refuse = |text: &str| {
            let object = parse(text)?;
            if object.get("id") == Some(&json!(2)) {
                Err(PluginError {
                    category: ErrorCategory::Validation,
                    code: "no-twos".into(),
                    message: "two is refused".into(),
                    field: Some("id".into()),
                    retryable: false,
                    retry_after_ms: None,
                })
            } else {
                Ok(Normalized::Keep(text.to_owned()))
            }
        };
        let mut chain = vec![fake("lower", lowercase_keys), fake("refuse", refuse)];
        let (out, errors, _) = run(&mut chain, vec![record(1), record(2)]);
        assert_eq!(out.len(), 1);
        assert_eq!(errors[0].code, "no-twos");
        assert_eq!(errors[0].plugin.as_ref().map(|p| &*p.name), Some("refuse"));
        assert_eq!(
            errors[0].payload.as_deref(),
            Some(r#"{"Name":"n2","id":2}"#)
        );
    }

    #[test]
    fn bad_text_from_the_last_normalizer_is_blamed_on_it() {
        let mut chain = vec![
            fake("lower", lowercase_keys),
            fake("last", |_: &str| Ok(Normalized::Keep("\"text\"".into()))),
        ];
        let (out, errors, _) = run(&mut chain, vec![record(1)]);
        assert!(out.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, codes::NOT_AN_OBJECT);
        assert_eq!(errors[0].plugin.as_ref().map(|p| &*p.name), Some("last"));
    }
}
