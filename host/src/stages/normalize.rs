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
    relay(input, out, |batch| {
        let entity = batch.entity;
        let counts = &mut report.counts[entity];
        counts.records_in += batch.records.len() as u64;
        let mut records = batch.records;
        let mut errors = Vec::new();
        let mut skips = Vec::new();
        for normalizer in chains[entity].iter_mut() {
            records = normalize_batch(
                normalizer,
                &entity_names[entity],
                records,
                &mut errors,
                &mut skips,
            );
        }
        counts.failed += errors.len() as u64;
        counts.skipped += skips.len() as u64;
        counts.records_out += records.len() as u64;
        reporter.progress().add_failed(errors.len() as u64);
        reporter.progress().add_skipped(skips.len() as u64);
        reporter.errors(errors);
        reporter.skips(skips);
        Batch { entity, records }
    });
    report
}

fn normalize_batch<N: RecordNormalizer>(
    normalizer: &mut N,
    entity: &str,
    records: Vec<Record>,
    errors: &mut Vec<RecordError>,
    skips: &mut Vec<SkipRecord>,
) -> Vec<Record> {
    let plugin = normalizer.plugin().clone();
    let texts: Vec<String> = records.iter().map(Record::body_json).collect();
    let mut budget = ISOLATION_BUDGET;
    let results = call_isolating(&texts, &mut budget, &mut |chunk| {
        normalizer.normalize(chunk)
    });
    let mut kept = Vec::with_capacity(records.len());
    for ((mut record, text), result) in records.into_iter().zip(texts).zip(results) {
        let error = match result {
            Ok(Ok(Normalized::Keep(json))) => match serde_json::from_str::<Object>(&json) {
                Ok(body) => {
                    record.body = body;
                    kept.push(record);
                    continue;
                }
                Err(e) => RecordError {
                    plugin: Some(plugin.clone()),
                    ..RecordError::new(
                        Stage::Normalize,
                        entity,
                        Category::Mapping,
                        codes::NOT_AN_OBJECT,
                        format!(
                            "normalizer `{}` returned a record that is not a JSON object: {e}",
                            plugin.name
                        ),
                    )
                },
            },
            Ok(Ok(Normalized::Skip(reason))) => {
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
            Err(failure) => RecordError::from_failure(Stage::Normalize, entity, &plugin, &failure),
        };
        errors.push(RecordError {
            record_key: Some(record.key),
            source_position: Some(record.position),
            payload: Some(text),
            source_payload: Some(record.source_payload.to_string()),
            ..error
        });
    }
    kept
}
