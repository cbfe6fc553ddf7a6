//! Normalize: reshape whole records with normalizer plugins, in order.

use crossbeam_channel::{Receiver, Sender};

use super::{Batch, Flow, Reporter, SkipRecord, Stage, StageReport, call_isolating, relay};
use crate::bindings::current::PluginError;
use crate::bindings::current::normalizer::exports::sluice::plugin::normalize::Normalized;
use crate::errors::{Category, RecordError, codes};
use crate::plugin::{NormalizerPlugin, PluginFailure, PluginId};
use crate::record::{Object, Record};
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
        let mut errors = Vec::new();
        let mut skips = Vec::new();
        let records = normalize_batch(
            &mut chains[entity],
            &entity_names[entity],
            batch.records,
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
/// normalizers as the JSON text the previous one returned (checked to be a
/// JSON object, so a bad answer is blamed on the plugin that gave it) and
/// are parsed once at the end.
fn normalize_batch<N: RecordNormalizer>(
    chain: &mut [N],
    entity: &str,
    records: Vec<Record>,
    errors: &mut Vec<RecordError>,
    skips: &mut Vec<SkipRecord>,
) -> Vec<Record> {
    if chain.is_empty() {
        return records;
    }
    let mut texts: Vec<String> = records.iter().map(Record::body_json).collect();
    let mut records: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    // Indices (into `records`) of the records still in the chain, in step with `texts`.
    let mut live: Vec<usize> = (0..records.len()).collect();
    for normalizer in chain.iter_mut() {
        let plugin = normalizer.plugin().clone();
        let mut budget = ISOLATION_BUDGET;
        let results = call_isolating(&texts, &mut budget, &mut |chunk| {
            normalizer.normalize(chunk)
        });
        let mut next_texts = Vec::with_capacity(texts.len());
        let mut next_live = Vec::with_capacity(live.len());
        for ((i, text), result) in live.into_iter().zip(texts).zip(results) {
            let error = match result {
                Ok(Ok(Normalized::Keep(json))) if is_json_object(&json) => {
                    next_texts.push(json);
                    next_live.push(i);
                    continue;
                }
                Ok(Ok(Normalized::Keep(_))) => RecordError {
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
                },
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
                Ok(Err(e)) => RecordError::from_plugin_error(Stage::Normalize, entity, &plugin, e),
                Err(failure) => {
                    RecordError::from_failure(Stage::Normalize, entity, &plugin, &failure)
                }
            };
            let record = records[i]
                .take()
                .expect("each record leaves the chain once");
            errors.push(RecordError {
                record_key: Some(record.key),
                source_position: Some(record.position),
                payload: Some(text),
                source_payload: Some(record.source_payload.to_string()),
                ..error
            });
        }
        texts = next_texts;
        live = next_live;
    }
    live.into_iter()
        .zip(texts)
        .map(|(i, text)| {
            let mut record = records[i]
                .take()
                .expect("each record leaves the chain once");
            record.body =
                serde_json::from_str::<Object>(&text).expect("checked to be a JSON object");
            record
        })
        .collect()
}

/// Whether `text` is one JSON object, checked without building it.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}
