//! The ingest side of a replay: dead-letter entries become records again
//! and re-enter the pipeline at the stage they failed in.

use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::errors::RecordError;
use crate::record::{Object, Record};
use crate::runlog::DlqEntry;
use crate::stages::{Batch, Flow, Reporter, Stage, StageReport};

/// Batches of a replay between two commits of the target: a replay killed
/// part-way keeps (and has resolved) what it committed.
const COMMIT_EVERY: u64 = 16;

/// Send `entries` downstream in batches of at most `batch_size`, grouped by
/// entity and re-entry stage, asking the target to commit every
/// [`COMMIT_EVERY`] batches, then end every entity. Entries whose payload
/// cannot be turned back into a record fail again at their stage.
pub fn run(
    entries: &[DlqEntry],
    entity_names: &[String],
    batch_size: u32,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Ingest, entity_names.len());
    let mut batches = 0;
    'entities: for (index, name) in entity_names.iter().enumerate() {
        for stage in Stage::ALL {
            let mut records = Vec::new();
            let mut errors = Vec::new();
            for entry in entries
                .iter()
                .filter(|e| e.entity == *name && re_entry(e) == stage)
            {
                match revive(entry) {
                    Ok(record) => records.push(record),
                    Err(e) => errors.push(*e),
                }
            }
            let counts = &mut report.counts[index];
            counts.records_in += (records.len() + errors.len()) as u64;
            counts.records_out += records.len() as u64;
            counts.failed += errors.len() as u64;
            reporter
                .progress()
                .add_extracted((records.len() + errors.len()) as u64);
            reporter.progress().add_failed(errors.len() as u64);
            reporter.errors(errors);
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                if reporter.is_halted() {
                    let rest: Vec<Record> = records.collect();
                    reporter.hold_back(Stage::Ingest, name, &rest, &mut report.counts[index]);
                    report.counts[index].records_out -= rest.len() as u64;
                    break 'entities;
                }
                let batch: Vec<Record> = records.by_ref().take(batch_size as usize).collect();
                let flow = Flow::Batch(Batch {
                    entity: index,
                    records: batch,
                    enter_at: stage,
                });
                if out.send(flow).is_err() {
                    return report;
                }
                batches += 1;
                if batches % COMMIT_EVERY == 0 && out.send(Flow::Commit(index)).is_err() {
                    return report;
                }
            }
        }
        if out.send(Flow::EndOfEntity(index)).is_err() {
            return report;
        }
    }
    report
}

/// The stage a replayed entry is processed from: the one it failed in, or
/// for records that failed while being read, normalize (the source is not
/// read again; the record is rebuilt from what it produced).
fn re_entry(entry: &DlqEntry) -> Stage {
    match entry.stage {
        Stage::Ingest => Stage::Normalize,
        stage => stage,
    }
}

/// The record an entry holds, or the error it fails with again.
fn revive(entry: &DlqEntry) -> Result<Record, Box<RecordError>> {
    let stage = entry.stage;
    let text = match stage {
        Stage::Ingest => entry.source_payload.as_deref(),
        _ => entry.payload.as_deref(),
    };
    let fail = |message: String| {
        let mut e = RecordError::new(stage, &entry.entity, entry.category, &entry.code, message);
        e.field = entry.field.clone();
        e.record_key = Some(entry.record_key.clone());
        e.source_position = entry.source_position.clone();
        e.payload = entry.payload.clone();
        e.source_payload = entry.source_payload.clone();
        Box::new(e)
    };
    let text =
        text.ok_or_else(|| fail(format!("{} (no payload was kept to replay)", entry.message)))?;
    if let Some(bytes) = crate::runlog::cut_payload_bytes(text) {
        return Err(fail(format!(
            "not replayed: its payload, {bytes} bytes, was larger than the run log keeps (`[run_log] max_payload_kib`) and was not stored; load the record again from the source. It had failed with: {}",
            entry.message
        )));
    }
    let body: Object = serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "{} (the kept payload is still not a JSON object: {e}; fix the source data and re-run)",
            entry.message
        ))
    })?;
    Ok(Record {
        key: entry.record_key.clone(),
        position: entry
            .source_position
            .clone()
            .unwrap_or_else(|| entry.record_key.clone()),
        body: body.into(),
        source_payload: Arc::from(entry.source_payload.as_deref().unwrap_or(text)),
    })
}
