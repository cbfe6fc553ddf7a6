//! Ingest: read records from the source connector, batch by batch.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::sample::Reservoir;
use super::{Batch, Flow, Reporter, Stage, StageReport};
use crate::bindings::PluginError;
use crate::bindings::{ExtractBatch, ExtractFailure, Extracted};
use crate::connection::HttpExchange;
use crate::errors::{Category, RecordError, codes};
use crate::plugin::{PluginFailure, PluginId, SourcePlugin};
use crate::record::{Body, Record};
use crate::strategy::{Backoff, RetryRecord, is_retried, plugin_retry_after};

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
    /// How long the remote system asked to wait after the last read, if it did.
    fn retry_after(&mut self) -> Option<Duration> {
        None
    }
    /// The HTTP exchanges captured since the last call.
    fn take_http(&mut self) -> Vec<HttpExchange> {
        Vec::new()
    }
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

    fn retry_after(&mut self) -> Option<Duration> {
        self.connection_retry_after()
    }

    fn take_http(&mut self) -> Vec<HttpExchange> {
        self.connection_captures()
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
    /// Incremental: send a checkpoint after each batch.
    pub incremental: bool,
    /// Where reading starts (the committed cursor of an incremental entity).
    pub start_cursor: Option<String>,
}

/// Read every entity, in order, and send its batches downstream.
pub fn run<S: RecordSource>(
    entities: &mut [IngestEntity<S>],
    batch_size: u32,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    run_capped(entities, batch_size, None, out, reporter)
}

/// Like [`run`], reading at most `limit` items of each entity (a test
/// sync): reads ask for no more than what is left, a batch that still
/// crosses the cap is cut to it before it is counted, and the entity is
/// not read further once the cap is reached.
pub fn run_capped<S: RecordSource>(
    entities: &mut [IngestEntity<S>],
    batch_size: u32,
    limit: Option<u64>,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Ingest, entities.len());
    for (index, entity) in entities.iter_mut().enumerate() {
        let read = read_entity(
            index,
            entity,
            batch_size,
            limit,
            None,
            out,
            reporter,
            &mut report,
        );
        if let Err(e) = read {
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

/// A sample being drawn from one entity: items as the source gave them
/// (only those drawn are parsed).
type Sample = Reservoir<Result<Extracted, ExtractFailure>>;

/// Like [`run`] for a test sync of a random sample: reads every item of
/// each entity, in one pass, and passes on a uniform random sample of at
/// most `records` of them (records and items that failed to parse alike),
/// in source order, drawn with `seed`: the same seed over the same source
/// data draws the same items. Memory holds at most `records` items (and
/// the batch being read) per entity. No checkpoint is sent: a test run
/// moves no cursor, and its items cover the whole source.
pub fn run_random<S: RecordSource>(
    entities: &mut [IngestEntity<S>],
    batch_size: u32,
    records: u64,
    seed: u64,
    out: &Sender<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Ingest, entities.len());
    for (index, entity) in entities.iter_mut().enumerate() {
        let mut sample = Sample::new(records, seed);
        let read = read_entity(
            index,
            entity,
            batch_size,
            None,
            Some(&mut sample),
            out,
            reporter,
            &mut report,
        );
        tracing::info!(entity = %entity.name, read = sample.seen(), seed, "Drew a random sample.");
        // What was sampled goes through even if the stream failed later.
        let sent = reporter.is_halted()
            || send_sample(
                index,
                entity,
                batch_size,
                sample,
                out,
                reporter,
                &mut report,
            );
        if let Err(e) = read {
            tracing::error!(entity = %entity.name, plugin = %entity.source.plugin(), error = %e.message, "Source stream failed.");
            report.stream_failures += 1;
            reporter.errors(vec![e]);
        }
        if !sent || out.send(Flow::EndOfEntity(index)).is_err() {
            break;
        }
    }
    report
}

/// Count and send a drawn sample downstream in batches of `batch_size`;
/// false when downstream is gone.
fn send_sample<S: RecordSource>(
    index: usize,
    entity: &IngestEntity<S>,
    batch_size: u32,
    sample: Sample,
    out: &Sender<Flow>,
    reporter: &Reporter,
    report: &mut StageReport,
) -> bool {
    let (name, plugin) = (&entity.name, entity.source.plugin());
    let key_field = entity.key_field.as_deref();
    let items = sample.into_sorted();
    let size = usize::try_from(batch_size).unwrap_or(usize::MAX).max(1);
    let mut items = items.into_iter().peekable();
    let mut batches = 0;
    while items.peek().is_some() {
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for item in items.by_ref().take(size) {
            match parse_item(item, key_field, name, plugin) {
                Ok(r) => records.push(r),
                Err(e) => errors.push(e),
            }
        }
        batches += 1;
        if !emit(index, name, batches, records, errors, out, reporter, report) {
            return false;
        }
    }
    true
}

/// Count a batch's records and errors, capture it, report the errors and
/// send the records downstream; false when downstream is gone.
#[allow(clippy::too_many_arguments)]
fn emit(
    index: usize,
    name: &str,
    batch: u64,
    records: Vec<Record>,
    errors: Vec<RecordError>,
    out: &Sender<Flow>,
    reporter: &Reporter,
    report: &mut StageReport,
) -> bool {
    if reporter.captures_phases() && !(records.is_empty() && errors.is_empty()) {
        reporter.capture(name, batch, "extract", &extract_document(&records, &errors));
    }
    let counts = &mut report.counts[index];
    counts.records_in += records.len() as u64 + errors.len() as u64;
    counts.failed += errors.len() as u64;
    counts.records_out += records.len() as u64;
    reporter
        .progress()
        .add_extracted(records.len() as u64 + errors.len() as u64);
    reporter.progress().add_failed(errors.len() as u64);
    reporter.errors(errors);
    records.is_empty() || out.send(Flow::Batch(Batch::new(index, records))).is_ok()
}

// A stream fails at most once per run; the error's size does not matter.
/// Read `entity`: every batch goes downstream, or into `sample` when one
/// is being drawn (then nothing is counted or sent here).
#[allow(clippy::result_large_err, clippy::too_many_arguments)]
fn read_entity<S: RecordSource>(
    index: usize,
    entity: &mut IngestEntity<S>,
    batch_size: u32,
    limit: Option<u64>,
    mut sample: Option<&mut Sample>,
    out: &Sender<Flow>,
    reporter: &Reporter,
    report: &mut StageReport,
) -> Result<(), RecordError> {
    let name = entity.name.clone();
    let plugin = entity.source.plugin().clone();
    let mut cursor: Option<String> = entity.start_cursor.clone();
    let mut empty_reads = 0;
    let mut checkpointed = report.counts[index].records_in;
    let mut batches = 0;
    // Items read of this entity so far, against `limit`.
    let mut taken: u64 = 0;
    loop {
        let left = limit.map(|l| l.saturating_sub(taken));
        if left == Some(0) {
            return Ok(());
        }
        if reporter.is_halted() {
            return Ok(());
        }
        if reporter.control().drain_requested() {
            // Stopping: read no more; what was read goes through.
            reporter.control().note_drained();
            return Ok(());
        }
        let Some(batch) = read_with_retry(
            &mut entity.source,
            &name,
            cursor.as_deref(),
            left.map_or(batch_size, |l| {
                batch_size.min(u32::try_from(l).unwrap_or(u32::MAX))
            }),
            reporter,
        )?
        else {
            return Ok(());
        };
        let mut batch = batch;
        // A source may hand back more than it was asked for: keep what the
        // cap allows, before anything is counted. A batch that reaches the
        // cap ends the entity without a checkpoint: its cursor may cover
        // items that were dropped.
        let cut = match left {
            Some(l) if batch.items.len() as u64 >= l => {
                batch
                    .items
                    .truncate(usize::try_from(l).unwrap_or(usize::MAX));
                true
            }
            _ => false,
        };
        taken += batch.items.len() as u64;
        let progressed = !batch.items.is_empty() || batch.cursor != cursor;
        batches += 1;
        reporter.capture_http(&name, batches, entity.source.take_http());
        if let Some(sample) = sample.as_deref_mut() {
            batch.items.into_iter().for_each(|item| sample.offer(item));
        } else {
            let mut records = Vec::with_capacity(batch.items.len());
            let mut errors = Vec::new();
            for item in batch.items {
                match parse_item(item, entity.key_field.as_deref(), &name, &plugin) {
                    Ok(r) => records.push(r),
                    Err(e) => errors.push(e),
                }
            }
            if !emit(
                index, &name, batches, records, errors, out, reporter, report,
            ) {
                return Ok(());
            }
        }
        let read = report.counts[index].records_in;
        if cut {
            return Ok(());
        }
        if sample.is_none()
            && entity.incremental
            && batch.cursor.is_some()
            && batch.cursor != cursor
        {
            let checkpoint = Flow::Checkpoint {
                entity: index,
                cursor: batch.cursor.clone(),
                records: read - checkpointed,
            };
            checkpointed = read;
            if out.send(checkpoint).is_err() {
                return Ok(());
            }
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

/// A record, or the error of an item that is not one.
// Errors go straight into a batch's error list; boxing them would only
// move them.
#[allow(clippy::result_large_err)]
fn parse_item(
    item: Result<Extracted, ExtractFailure>,
    key_field: Option<&str>,
    name: &str,
    plugin: &PluginId,
) -> Result<Record, RecordError> {
    match item {
        Ok(extracted) => {
            // The body shares the source text kept for the error log.
            let text: Arc<str> = Arc::from(extracted.body);
            match Body::parse(Arc::clone(&text)) {
                Ok(body) => {
                    let key = key_field
                        .and_then(|k| body.get(k))
                        .and_then(|v| key_text(&v.to_json()))
                        .unwrap_or_else(|| extracted.key.clone());
                    Ok(Record {
                        key,
                        position: extracted.key,
                        body,
                        source_payload: text,
                    })
                }
                Err(e) => {
                    let mut err = RecordError::new(
                        Stage::Ingest,
                        name,
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
                    err.source_payload = Some(text.to_string());
                    Err(err)
                }
            }
        }
        Err(failure) => {
            let mut err =
                RecordError::from_plugin_error(Stage::Ingest, name, plugin, failure.error);
            err.record_key = Some(failure.key.clone());
            err.source_position = Some(failure.key);
            err.source_payload = Some(failure.raw);
            Err(err)
        }
    }
}

/// Read one batch, retrying recoverable errors as the entity's policy says
/// and a failed call once with a fresh instance. `None` when the run was
/// stopped while waiting to retry.
#[allow(clippy::result_large_err)]
fn read_with_retry<S: RecordSource>(
    source: &mut S,
    name: &str,
    cursor: Option<&str>,
    batch_size: u32,
    reporter: &Reporter,
) -> Result<Option<ExtractBatch>, RecordError> {
    let plugin = source.plugin().clone();
    let policy = reporter.control().policy(name).retry;
    let mut backoff = Backoff::new(policy);
    let mut failures: Vec<(Category, String, u32)> = Vec::new();
    let mut fresh_instance_tried = false;
    loop {
        let mut asked = None;
        let mut error = match source.read(name, cursor, batch_size) {
            Ok(Ok(batch)) => {
                record_read_retries(reporter, name, &plugin, &failures, &backoff, true);
                return Ok(Some(batch));
            }
            Ok(Err(e)) => {
                if e.retryable {
                    asked = plugin_retry_after(e.retry_after_ms);
                }
                RecordError::from_plugin_error(Stage::Ingest, name, &plugin, e)
            }
            Err(first) if !fresh_instance_tried => {
                // A fresh instance gets one more try from the same cursor.
                tracing::warn!(entity = %name, plugin = %plugin, error = %first.message, "Source read failed; retrying once with a fresh instance.");
                fresh_instance_tried = true;
                continue;
            }
            Err(f) => RecordError::from_failure(Stage::Ingest, name, &plugin, &f),
        };
        error.attempts = backoff.attempts();
        if !is_retried(&error) {
            return Err(error);
        }
        match failures
            .iter_mut()
            .find(|(c, code, _)| *c == error.category && *code == error.code)
        {
            Some((_, _, n)) => *n += 1,
            None => failures.push((error.category, error.code.clone(), 1)),
        }
        // The longer of what the connection's server and the plugin asked.
        match backoff.next(source.retry_after().max(asked)) {
            Ok(wait) => {
                tracing::warn!(entity = %name, plugin = %plugin, code = %error.code, attempt = backoff.attempts(), wait_ms = wait.as_millis() as u64, "Source read failed; retrying.");
                if !reporter.control().sleep(wait) {
                    record_read_retries(reporter, name, &plugin, &failures, &backoff, false);
                    return Ok(None);
                }
            }
            Err(give_up) => {
                record_read_retries(reporter, name, &plugin, &failures, &backoff, false);
                error.message = format!("{} ({})", error.message, give_up.describe(&policy));
                return Err(error);
            }
        }
    }
}

fn record_read_retries(
    reporter: &Reporter,
    name: &str,
    plugin: &PluginId,
    failures: &[(Category, String, u32)],
    backoff: &Backoff,
    succeeded: bool,
) {
    reporter.retries(
        failures
            .iter()
            .map(|(category, code, n)| RetryRecord {
                stage: Stage::Ingest,
                entity: name.to_owned(),
                record_key: None,
                plugin: Some(plugin.clone()),
                category: *category,
                code: code.clone(),
                failures: *n,
                attempts: backoff.attempts(),
                succeeded,
                waited_ms: backoff.waited().as_millis() as u64,
            })
            .collect(),
    );
}

/// What the source returned for one read: each record's key, source
/// position and body, and each item that failed to be read.
fn extract_document(records: &[Record], errors: &[RecordError]) -> serde_json::Value {
    let ok = records
        .iter()
        .map(|r| serde_json::json!({"key": r.key, "position": r.position, "body": r.body}));
    let failed = errors.iter().map(|e| {
        serde_json::json!({
            "key": e.record_key,
            "position": e.source_position,
            "raw": e.source_payload,
            "error": {"category": e.category.as_str(), "code": e.code, "message": e.message},
        })
    });
    ok.chain(failed).collect()
}

fn key_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crossbeam_channel::unbounded;

    use super::*;
    use crate::bindings::ErrorCategory;
    use crate::bindings::Extracted;
    use crate::model::Progress;
    use crate::strategy::{ErrorsConfig, RetryConfig, RunControl, Strategy};

    /// Fails its first `failures` reads with `category`, then returns one
    /// record and is done.
    struct Flaky {
        id: PluginId,
        category: ErrorCategory,
        failures: u32,
        reads: u32,
        /// Whether its errors are marked retryable.
        retryable: bool,
    }

    impl RecordSource for Flaky {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        fn read(
            &mut self,
            _: &str,
            _: Option<&str>,
            _: u32,
        ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure> {
            self.reads += 1;
            if self.reads <= self.failures {
                return Ok(Err(PluginError {
                    category: self.category,
                    code: "flaky".into(),
                    message: "try again".into(),
                    field: None,
                    retryable: self.retryable,
                    retry_after_ms: None,
                }));
            }
            Ok(Ok(ExtractBatch {
                items: vec![Ok(Extracted {
                    key: "in:1".into(),
                    body: "{}".into(),
                })],
                cursor: None,
                done: true,
            }))
        }
    }

    fn run_flaky(category: ErrorCategory, failures: u32) -> (StageReport, Arc<RunControl>, u32) {
        run_flaky_marked(category, failures, true)
    }

    fn run_flaky_marked(
        category: ErrorCategory,
        failures: u32,
        retryable: bool,
    ) -> (StageReport, Arc<RunControl>, u32) {
        let errors = ErrorsConfig {
            strategy: Some(Strategy::Retry),
            retry: RetryConfig {
                max_attempts: Some(3),
                initial_backoff_ms: Some(1),
                ..RetryConfig::default()
            },
            ..ErrorsConfig::default()
        };
        let control = Arc::new(RunControl::new(
            [("contacts".to_owned(), errors.policy_for(None))].into(),
            errors.breaker(),
        ));
        let (log_tx, _log_rx) = unbounded();
        let reporter = Reporter::new(log_tx, Arc::new(Progress::default()), control.clone());
        let mut entities = vec![IngestEntity {
            name: "contacts".to_owned(),
            key_field: None,
            incremental: false,
            start_cursor: None,
            source: Flaky {
                id: PluginId {
                    name: "flaky".into(),
                    digest: "sha256:0".into(),
                },
                category,
                failures,
                reads: 0,
                retryable,
            },
        }];
        let (tx, _rx) = unbounded();
        let report = run(&mut entities, 10, &tx, &reporter);
        let reads = entities[0].source.reads;
        (report, control, reads)
    }

    /// Returns `per_read` items per read whatever it is asked, `total` in
    /// all, and notes the sizes it was asked for.
    struct Greedy {
        id: PluginId,
        per_read: usize,
        total: usize,
        sent: usize,
        asked: Vec<u32>,
    }

    impl RecordSource for Greedy {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        #[allow(clippy::result_large_err)]
        fn read(
            &mut self,
            _: &str,
            _: Option<&str>,
            max: u32,
        ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure> {
            self.asked.push(max);
            let n = self.per_read.min(self.total - self.sent);
            let items = (self.sent..self.sent + n)
                .map(|i| {
                    Ok(Extracted {
                        key: format!("in:{i}"),
                        body: format!("{{\"id\": {i}}}"),
                    })
                })
                .collect();
            self.sent += n;
            Ok(Ok(ExtractBatch {
                items,
                cursor: Some(self.sent.to_string()),
                done: self.sent == self.total,
            }))
        }
    }

    fn run_greedy(
        per_read: usize,
        total: usize,
        limit: Option<u64>,
    ) -> (StageReport, Vec<u32>, Vec<Flow>) {
        run_greedy_sampling(per_read, total, limit, None)
    }

    fn run_greedy_sampling(
        per_read: usize,
        total: usize,
        limit: Option<u64>,
        seed: Option<u64>,
    ) -> (StageReport, Vec<u32>, Vec<Flow>) {
        let errors = ErrorsConfig::default();
        let control = Arc::new(RunControl::new(
            [("contacts".to_owned(), errors.policy_for(None))].into(),
            errors.breaker(),
        ));
        let (log_tx, _log_rx) = unbounded();
        let reporter = Reporter::new(log_tx, Arc::new(Progress::default()), control);
        let mut entities = vec![IngestEntity {
            name: "contacts".to_owned(),
            key_field: None,
            incremental: true,
            start_cursor: None,
            source: Greedy {
                id: PluginId {
                    name: "greedy".into(),
                    digest: "sha256:0".into(),
                },
                per_read,
                total,
                sent: 0,
                asked: Vec::new(),
            },
        }];
        let (tx, rx) = unbounded();
        let report = match (limit, seed) {
            (Some(n), Some(seed)) => run_random(&mut entities, 10, n, seed, &tx, &reporter),
            _ => run_capped(&mut entities, 10, limit, &tx, &reporter),
        };
        drop(tx);
        let asked = std::mem::take(&mut entities[0].source.asked);
        (report, asked, rx.try_iter().collect())
    }

    #[test]
    fn a_batch_crossing_the_sample_cap_is_cut_before_it_is_counted() {
        // Four items per read whatever is asked; a cap of 6 cuts the
        // second batch to 2 and reads no third.
        let (report, asked, flows) = run_greedy(4, 20, Some(6));
        assert_eq!(asked, vec![6, 2], "reads ask for no more than is left");
        let counts = report.counts[0];
        assert_eq!(
            (counts.records_in, counts.records_out, counts.failed),
            (6, 6, 0)
        );
        let sent: usize = flows
            .iter()
            .map(|f| match f {
                Flow::Batch(b) => b.records.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(sent, 6);
        let checkpoints: Vec<u64> = flows
            .iter()
            .filter_map(|f| match f {
                Flow::Checkpoint { records, .. } => Some(*records),
                _ => None,
            })
            .collect();
        assert_eq!(checkpoints, vec![4], "no checkpoint past a cut batch");
        assert!(matches!(flows.last(), Some(Flow::EndOfEntity(0))));

        // Without a cap every item is read.
        let (report, asked, _) = run_greedy(4, 20, None);
        assert_eq!(report.counts[0].records_in, 20);
        assert_eq!(asked, vec![10; 5]);
    }

    /// The positions of the records sent downstream, in order, and the
    /// batch sizes.
    fn sent(flows: &[Flow]) -> (Vec<String>, Vec<usize>) {
        let batches: Vec<&Batch> = flows
            .iter()
            .filter_map(|f| match f {
                Flow::Batch(b) => Some(b),
                _ => None,
            })
            .collect();
        (
            batches
                .iter()
                .flat_map(|b| b.records.iter().map(|r| r.position.clone()))
                .collect(),
            batches.iter().map(|b| b.records.len()).collect(),
        )
    }

    #[test]
    fn a_random_sample_reads_the_whole_source_and_passes_on_n_records_in_source_order() {
        let (report, asked, flows) = run_greedy_sampling(4, 100, Some(12), Some(42));
        assert_eq!(
            asked,
            vec![10; 25],
            "the whole source is read, at full batches"
        );
        let counts = report.counts[0];
        assert_eq!(
            (counts.records_in, counts.records_out, counts.failed),
            (12, 12, 0),
            "only the sample is counted"
        );
        let (positions, batch_sizes) = sent(&flows);
        assert_eq!(
            batch_sizes,
            vec![10, 2],
            "sent in batches of the batch size"
        );
        let index = |p: &String| p["in:".len()..].parse::<usize>().unwrap();
        let indices: Vec<usize> = positions.iter().map(index).collect();
        assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
        assert!(
            indices.iter().any(|&i| i >= 12),
            "not the first 12: {indices:?}"
        );
        assert!(
            !flows.iter().any(|f| matches!(f, Flow::Checkpoint { .. })),
            "a sample sends no checkpoint"
        );
        assert!(matches!(flows.last(), Some(Flow::EndOfEntity(0))));

        // The same seed draws the same records; another seed others.
        let (_, _, again) = run_greedy_sampling(4, 100, Some(12), Some(42));
        assert_eq!(sent(&again).0, positions);
        let (_, _, other) = run_greedy_sampling(4, 100, Some(12), Some(43));
        assert_ne!(sent(&other).0, positions);

        // A source smaller than the sample is passed on whole.
        let (report, _, flows) = run_greedy_sampling(4, 5, Some(12), Some(42));
        assert_eq!(report.counts[0].records_in, 5);
        assert_eq!(
            sent(&flows).0,
            (0..5).map(|i| format!("in:{i}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn transient_read_errors_are_retried_from_the_same_cursor() {
        let (report, control, reads) = run_flaky(ErrorCategory::Transient, 2);
        assert_eq!(reads, 3);
        assert_eq!(report.stream_failures, 0);
        assert_eq!(report.counts[0].records_out, 1);
        assert!(!control.is_halted());
    }

    #[test]
    fn a_read_error_marked_not_retryable_is_not_retried() {
        let (report, _, reads) = run_flaky_marked(ErrorCategory::Transient, 10, false);
        assert_eq!(reads, 1, "a non-retryable error was retried");
        assert_eq!(report.stream_failures, 1);
    }

    #[test]
    fn a_read_that_keeps_failing_fails_the_stream() {
        let (report, _, reads) = run_flaky(ErrorCategory::Connectivity, 10);
        assert_eq!(reads, 3);
        assert_eq!(report.stream_failures, 1);
    }

    #[test]
    fn an_auth_error_from_the_source_halts_the_run() {
        let (report, control, reads) = run_flaky(ErrorCategory::Auth, 10);
        assert_eq!(reads, 1, "auth errors are not retried");
        assert_eq!(report.stream_failures, 1);
        let halt = control.halt().unwrap();
        assert!(
            halt.reason.contains("source connection profile"),
            "{}",
            halt.reason
        );
    }
}
