//! Execute: write records to the target connector.

use crossbeam_channel::Receiver;

use super::{Flow, Reporter, SkipRecord, Stage, StageReport};
use crate::bindings::current::PluginError;
use crate::bindings::current::target::exports::sluice::plugin::load::{Outgoing, WriteOutcome};
use crate::errors::RecordError;
use crate::plugin::{PluginFailure, PluginId, TargetPlugin};
use crate::record::Record;

/// Something records can be written to.
pub trait RecordTarget: Send {
    /// The plugin behind it.
    fn plugin(&self) -> &PluginId;
    /// Prepare to write `entity`.
    fn begin(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure>;
    /// Write records: a whole-batch error, or one outcome per record.
    #[allow(clippy::type_complexity)]
    fn write(
        &mut self,
        entity: &str,
        records: &[Outgoing],
    ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure>;
    /// Finish writing `entity`.
    fn commit(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure>;
}

impl RecordTarget for TargetPlugin {
    fn plugin(&self) -> &PluginId {
        self.id()
    }

    fn begin(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        TargetPlugin::begin(self, entity)
    }

    fn write(
        &mut self,
        entity: &str,
        records: &[Outgoing],
    ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure> {
        TargetPlugin::write(self, entity, records)
    }

    fn commit(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        TargetPlugin::commit(self, entity)
    }
}

/// Per-entity state of the target.
#[derive(Debug)]
enum Phase {
    /// `begin` not called yet.
    Fresh,
    /// Writing.
    Open,
    /// `begin` failed: every record of the entity fails with this error.
    Broken(Box<RecordError>),
}

/// Write every batch to its entity's target, then commit each entity.
pub fn run<T: RecordTarget>(
    targets: &mut [T],
    entity_names: &[String],
    input: &Receiver<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Execute, targets.len());
    let mut phases: Vec<Phase> = targets.iter().map(|_| Phase::Fresh).collect();
    for flow in input {
        match flow {
            Flow::Batch(batch) => {
                let entity = batch.entity;
                let name = &entity_names[entity];
                let target = &mut targets[entity];
                if matches!(phases[entity], Phase::Fresh) {
                    phases[entity] = begin(target, name);
                }
                let counts = &mut report.counts[entity];
                counts.records_in += batch.records.len() as u64;
                let (errors, skips, loaded) = match &phases[entity] {
                    Phase::Broken(error) => (fail_all(error, &batch.records), Vec::new(), 0),
                    _ => write_batch(target, name, batch.records),
                };
                counts.failed += errors.len() as u64;
                counts.skipped += skips.len() as u64;
                counts.records_out += loaded;
                reporter.progress().add_loaded(loaded);
                reporter.progress().add_failed(errors.len() as u64);
                reporter.progress().add_skipped(skips.len() as u64);
                reporter.errors(errors);
                reporter.skips(skips);
            }
            Flow::EndOfEntity(entity) => {
                if matches!(phases[entity], Phase::Open) {
                    let name = &entity_names[entity];
                    let target = &mut targets[entity];
                    let plugin = target.plugin().clone();
                    let error = match target.commit(name) {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(RecordError::from_plugin_error(
                            Stage::Finalize,
                            name,
                            &plugin,
                            e,
                        )),
                        Err(f) => Some(RecordError::from_failure(
                            Stage::Finalize,
                            name,
                            &plugin,
                            &f,
                        )),
                    };
                    if let Some(e) = error {
                        tracing::error!(entity = %name, plugin = %plugin, error = %e.message, "Target commit failed.");
                        report.stream_failures += 1;
                        reporter.errors(vec![e]);
                    }
                }
            }
        }
    }
    report
}

fn begin<T: RecordTarget>(target: &mut T, entity: &str) -> Phase {
    let plugin = target.plugin().clone();
    let error = match target.begin(entity) {
        Ok(Ok(())) => return Phase::Open,
        Ok(Err(e)) => RecordError::from_plugin_error(Stage::Execute, entity, &plugin, e),
        Err(f) => RecordError::from_failure(Stage::Execute, entity, &plugin, &f),
    };
    tracing::error!(entity, plugin = %plugin, error = %error.message, "Target refused to begin; failing every record of the entity.");
    Phase::Broken(Box::new(error))
}

fn fail_all(error: &RecordError, records: &[Record]) -> Vec<RecordError> {
    records
        .iter()
        .map(|r| RecordError {
            record_key: Some(r.key.clone()),
            source_position: Some(r.position.clone()),
            payload: Some(r.body_json()),
            source_payload: Some(r.source_payload.to_string()),
            ..error.clone()
        })
        .collect()
}

fn write_batch<T: RecordTarget>(
    target: &mut T,
    entity: &str,
    records: Vec<Record>,
) -> (Vec<RecordError>, Vec<SkipRecord>, u64) {
    let plugin = target.plugin().clone();
    let outgoing: Vec<Outgoing> = records
        .iter()
        .map(|r| Outgoing {
            key: r.key.clone(),
            body: r.body_json(),
        })
        .collect();
    let outcomes = match target.write(entity, &outgoing) {
        Ok(Ok(outcomes)) => outcomes,
        Ok(Err(e)) => {
            let error = RecordError::from_plugin_error(Stage::Execute, entity, &plugin, e);
            return (fail_all(&error, &records), Vec::new(), 0);
        }
        Err(f) => {
            let error = RecordError::from_failure(Stage::Execute, entity, &plugin, &f);
            return (fail_all(&error, &records), Vec::new(), 0);
        }
    };
    let mut errors = Vec::new();
    let mut skips = Vec::new();
    let mut loaded = 0;
    for ((record, sent), outcome) in records.into_iter().zip(outgoing).zip(outcomes) {
        match outcome {
            Ok(WriteOutcome::Created(_) | WriteOutcome::Updated(_) | WriteOutcome::Unchanged) => {
                loaded += 1
            }
            Ok(WriteOutcome::Skip(reason)) => skips.push(SkipRecord {
                stage: Stage::Execute,
                entity: entity.to_owned(),
                record_key: record.key,
                source_position: record.position,
                reason,
                plugin: Some(plugin.clone()),
            }),
            Err(e) => errors.push(RecordError {
                record_key: Some(record.key),
                source_position: Some(record.position),
                payload: Some(sent.body),
                source_payload: Some(record.source_payload.to_string()),
                ..RecordError::from_plugin_error(Stage::Execute, entity, &plugin, e)
            }),
        }
    }
    (errors, skips, loaded)
}
