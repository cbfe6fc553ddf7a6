//! Ingest: read records from the source connector, batch by batch.

use std::sync::Arc;

use crossbeam_channel::Sender;

use super::{Batch, Flow, Reporter, Stage, StageReport};
use crate::bindings::current::PluginError;
use crate::bindings::current::source::exports::sluice::plugin::extract::ExtractBatch;
use crate::errors::{Category, RecordError, codes};
use crate::plugin::{PluginFailure, PluginId, SourcePlugin};
use crate::record::{Object, Record, get_path};

/// Empty, unfinished batches in a row after which a source is declared stalled.
const MAX_EMPTY_READS: u32 = 100;

/// Something records can be read from.
pub trait RecordSource: Send {
    /// The plugin behind it.
    fn plugin(&self) -> &PluginId;
    /// Read up to `max` items after `cursor`. The outer error means the call
    /// itself failed; the inner one that the source refused the read.
    fn read(
        &mut self,
        entity: &str,
        cursor: Option<&str>,
        max: u32,
    ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure>;
}

impl RecordSource for SourcePlugin {
    fn plugin(&self) -> &PluginId {
        self.id()
    }

    fn read(
        &mut self,
        entity: &str,
        cursor: Option<&str>,
        max: u32,
    ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure> {
        SourcePlugin::read(self, entity, cursor, max)
    }
}

/// One entity stream to read.
#[derive(Debug)]
pub struct IngestEntity<S> {
    /// The entity's name.
    pub name: String,
    /// The source field naming records, if any.
    pub key_field: Option<String>,
    /// The source connector instance for this entity.
    pub source: S,
}

/// Read every entity, in order, and send its batches downstream.
pub fn run<S: RecordSource>(
    entities: &mut [IngestEntity<S>],
    batch_size: u32,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Ingest, entities.len());
    for (index, entity) in entities.iter_mut().enumerate() {
        if let Err(e) = read_entity(index, entity, batch_size, out, reporter, &mut report) {
            tracing::error!(entity = %entity.name, plugin = %entity.source.plugin(), error = %e.message, "Source stream failed.");
            report.stream_failures += 1;
            reporter.errors(vec![e]);
        }
        if out.send(Flow::EndOfEntity(index)).is_err() {
            break;
        }
    }
    report
}

// A stream fails at most once per run; the error's size does not matter.
#[allow(clippy::result_large_err)]
fn read_entity<S: RecordSource>(
    index: usize,
    entity: &mut IngestEntity<S>,
    batch_size: u32,
    out: &Sender<Flow>,
    reporter: &Reporter,
    report: &mut StageReport,
) -> Result<(), RecordError> {
    let name = entity.name.clone();
    let plugin = entity.source.plugin().clone();
    let mut cursor: Option<String> = None;
    let mut empty_reads = 0;
    loop {
        let batch = match entity.source.read(&name, cursor.as_deref(), batch_size) {
            Ok(Ok(batch)) => batch,
            Ok(Err(e)) => {
                return Err(RecordError::from_plugin_error(
                    Stage::Ingest,
                    &name,
                    &plugin,
                    e,
                ));
            }
            Err(first) => {
                // A fresh instance gets one more try from the same cursor.
                tracing::warn!(entity = %name, plugin = %plugin, error = %first.message, "Source read failed; retrying once with a fresh instance.");
                match entity.source.read(&name, cursor.as_deref(), batch_size) {
                    Ok(Ok(batch)) => batch,
                    Ok(Err(e)) => {
                        return Err(RecordError::from_plugin_error(
                            Stage::Ingest,
                            &name,
                            &plugin,
                            e,
                        ));
                    }
                    Err(f) => {
                        return Err(RecordError::from_failure(Stage::Ingest, &name, &plugin, &f));
                    }
                }
            }
        };
        let progressed = !batch.items.is_empty() || batch.cursor != cursor;
        let counts = &mut report.counts[index];
        counts.records_in += batch.items.len() as u64;
        let mut records = Vec::with_capacity(batch.items.len());
        let mut errors = Vec::new();
        for item in batch.items {
            match item {
                Ok(extracted) => match serde_json::from_str::<Object>(&extracted.body) {
                    Ok(body) => {
                        let key = entity
                            .key_field
                            .as_deref()
                            .and_then(|k| get_path(&body, k))
                            .and_then(key_text)
                            .unwrap_or_else(|| extracted.key.clone());
                        records.push(Record {
                            key,
                            position: extracted.key,
                            body,
                            source_payload: Arc::from(extracted.body),
                        });
                    }
                    Err(e) => {
                        let mut err = RecordError::new(
                            Stage::Ingest,
                            &name,
                            Category::Mapping,
                            codes::NOT_AN_OBJECT,
                            format!(
                                "source `{}` produced a record that is not a JSON object: {e}",
                                plugin.name
                            ),
                        );
                        err.plugin = Some(plugin.clone());
                        err.record_key = Some(extracted.key.clone());
                        err.source_position = Some(extracted.key);
                        err.source_payload = Some(extracted.body);
                        errors.push(err);
                    }
                },
                Err(failure) => {
                    let mut err = RecordError::from_plugin_error(
                        Stage::Ingest,
                        &name,
                        &plugin,
                        failure.error,
                    );
                    err.record_key = Some(failure.key.clone());
                    err.source_position = Some(failure.key);
                    err.source_payload = Some(failure.raw);
                    errors.push(err);
                }
            }
        }
        counts.failed += errors.len() as u64;
        counts.records_out += records.len() as u64;
        reporter
            .progress()
            .add_extracted(records.len() as u64 + errors.len() as u64);
        reporter.progress().add_failed(errors.len() as u64);
        reporter.errors(errors);
        if !records.is_empty()
            && out
                .send(Flow::Batch(Batch {
                    entity: index,
                    records,
                }))
                .is_err()
        {
            return Ok(());
        }
        if batch.done {
            return Ok(());
        }
        if progressed {
            empty_reads = 0;
        } else {
            empty_reads += 1;
            if empty_reads >= MAX_EMPTY_READS {
                let mut e = RecordError::new(
                    Stage::Ingest,
                    &name,
                    Category::Mapping,
                    codes::SOURCE_STALLED,
                    format!(
                        "source `{}` returned {MAX_EMPTY_READS} empty batches in a row without finishing",
                        plugin.name
                    ),
                );
                e.plugin = Some(plugin);
                return Err(e);
            }
        }
        cursor = batch.cursor;
    }
}

fn key_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
