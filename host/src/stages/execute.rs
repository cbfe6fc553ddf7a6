//! Execute: write records to the target connector.

use std::time::Duration;

use crossbeam_channel::Receiver;

use super::{Flow, Reporter, SkipRecord, Stage, StageReport};
use crate::bindings::PluginError;
use crate::bindings::{Outgoing, WriteOutcome};
use crate::connection::HttpExchange;
use crate::errors::{Category, RecordError};
use crate::plugin::{PluginFailure, PluginId, TargetPlugin, guard_target};
use crate::record::Record;
use crate::runlog::{LedgerEntry, LoadOutcome};
use crate::strategy::{Backoff, RetryRecord, is_retried, plugin_retry_after};

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
    /// How long the remote system asked to wait after the last write, if it did.
    fn retry_after(&mut self) -> Option<Duration> {
        None
    }
    /// The HTTP exchanges captured since the last call.
    fn take_http(&mut self) -> Vec<HttpExchange> {
        Vec::new()
    }
    /// A new version of the plugin waits to take over in the middle of the
    /// entity (live swap at batch boundaries): the stage commits what was
    /// written, then calls [`Self::switch`] and begins again.
    fn switch_waiting(&self) -> bool {
        false
    }
    /// Take the waiting version; the next call must be `begin`.
    fn switch(&mut self) {}
    /// A batch of `records` is about to be written.
    fn begin_batch(&mut self, _records: usize) {}
    /// The batch ended with `failed` records failed.
    fn end_batch(&mut self, _failed: u64) {}
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
        // A target over its write quota is not called again.
        guard_target(self.grants(), self.id(), false)?;
        let answer = TargetPlugin::write(self, entity, records)?;
        guard_target(self.grants(), self.id(), false)?;
        Ok(answer)
    }

    fn commit(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        let answer = TargetPlugin::commit(self, entity)?;
        guard_target(self.grants(), self.id(), true)?;
        Ok(answer)
    }

    fn retry_after(&mut self) -> Option<Duration> {
        self.connection_retry_after()
    }

    fn take_http(&mut self) -> Vec<HttpExchange> {
        self.connection_captures()
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

/// Records loaded since an entity's last commit: they are not durable
/// until the target commits, so only then are they reported to the run log
/// (resolving their dead-letter entries).
#[derive(Debug, Default)]
struct Uncommitted {
    loaded: u64,
    /// Keys of those with open dead-letter entries.
    keys: Vec<String>,
}

/// Write every batch to its entity's target, then commit each entity.
///
/// A loaded record resolves its dead-letter entry only once the target's
/// `commit` has returned (at a checkpoint or at the end of the entity): a
/// process killed before then leaves the entry open, so the record is
/// replayed rather than lost with the target's unwritten buffer.
pub fn run<T: RecordTarget>(
    targets: &mut [T],
    entity_names: &[String],
    input: &Receiver<Flow>,
    reporter: &Reporter,
) -> StageReport {
    let mut report = StageReport::new(Stage::Execute, targets.len());
    let mut phases: Vec<Phase> = targets.iter().map(|_| Phase::Fresh).collect();
    let mut batches: Vec<u64> = vec![0; targets.len()];
    let mut uncommitted: Vec<Uncommitted> =
        targets.iter().map(|_| Uncommitted::default()).collect();
    for flow in input {
        match flow {
            Flow::Batch(batch) => {
                let entity = batch.entity;
                let name = &entity_names[entity];
                let counts = &mut report.counts[entity];
                counts.records_in += batch.records.len() as u64;
                if reporter.is_halted() {
                    reporter.hold_back(Stage::Execute, name, &batch.records, counts);
                    continue;
                }
                let target = &mut targets[entity];
                if target.switch_waiting() {
                    // A new version takes over: what the old one wrote is
                    // committed first, and the new one begins afresh.
                    commit_midway(
                        target,
                        name,
                        &mut phases[entity],
                        &mut uncommitted[entity],
                        reporter,
                        &mut report,
                    );
                    if !matches!(phases[entity], Phase::Broken(_)) {
                        target.switch();
                    }
                }
                let counts = &mut report.counts[entity];
                if matches!(phases[entity], Phase::Fresh) {
                    phases[entity] = begin(target, name);
                }
                let written = match &phases[entity] {
                    Phase::Broken(error) => Written {
                        errors: fail_all(error, &batch.records),
                        ..Written::default()
                    },
                    _ => {
                        target.begin_batch(batch.records.len());
                        let written = write_batch(target, name, batch.records, reporter);
                        target.end_batch(written.errors.len() as u64);
                        written
                    }
                };
                batches[entity] += 1;
                let n = batches[entity];
                reporter.capture_http(name, n, target.take_http());
                if !written.load_document.is_empty() {
                    reporter.capture(name, n, "load", &written.load_document.into());
                    reporter.capture(name, n, "response", &written.response_document.into());
                }
                counts.failed += written.errors.len() as u64;
                counts.skipped += written.skips.len() as u64;
                counts.records_out += written.loaded;
                reporter.loaded(written.loaded);
                reporter.progress().add_failed(written.errors.len() as u64);
                reporter.progress().add_skipped(written.skips.len() as u64);
                reporter.retries(written.retries);
                reporter.loaded_records(name, &target.plugin().name, written.ledger);
                uncommitted[entity].loaded += written.loaded;
                uncommitted[entity].keys.extend(written.loaded_keys);
                reporter.errors(written.errors);
                reporter.skips(written.skips);
            }
            Flow::Checkpoint {
                entity,
                cursor,
                records,
            } => {
                let name = &entity_names[entity];
                // Make what was written durable before the cursor moves past it.
                let phase = &mut phases[entity];
                commit_midway(
                    &mut targets[entity],
                    name,
                    phase,
                    &mut uncommitted[entity],
                    reporter,
                    &mut report,
                );
                if !matches!(phases[entity], Phase::Broken(_)) {
                    reporter.cursor(name, cursor, records);
                }
            }
            Flow::Commit(entity) => {
                let name = &entity_names[entity];
                let phase = &mut phases[entity];
                commit_midway(
                    &mut targets[entity],
                    name,
                    phase,
                    &mut uncommitted[entity],
                    reporter,
                    &mut report,
                );
            }
            Flow::EndOfEntity(entity) => {
                if matches!(phases[entity], Phase::Open) {
                    phases[entity] = Phase::Fresh;
                    let name = &entity_names[entity];
                    let done = std::mem::take(&mut uncommitted[entity]);
                    if let Some(e) = commit_loaded(&mut targets[entity], name, done, reporter) {
                        tracing::error!(entity = %name, error = %e.message, "Target commit failed.");
                        report.stream_failures += 1;
                        reporter.errors(vec![e]);
                    }
                }
            }
        }
    }
    // The input ended before an entity's end (a replay that stopped, a
    // stage that crashed): what was loaded is committed all the same, so
    // the records counted as loaded are in the target.
    for (entity, phase) in phases.iter().enumerate() {
        if matches!(phase, Phase::Open) {
            let name = &entity_names[entity];
            let done = std::mem::take(&mut uncommitted[entity]);
            if let Some(e) = commit_loaded(&mut targets[entity], name, done, reporter) {
                tracing::error!(entity = %name, error = %e.message, "Target commit failed.");
                report.stream_failures += 1;
                reporter.errors(vec![e]);
            }
        }
    }
    report
}

/// Commit `entity` in the middle of its stream (a checkpoint or a
/// replay's commit), if anything was written since the last commit. A
/// target that fails to commit breaks the entity: its remaining records
/// fail with the commit error.
fn commit_midway<T: RecordTarget>(
    target: &mut T,
    entity: &str,
    phase: &mut Phase,
    uncommitted: &mut Uncommitted,
    reporter: &Reporter,
    report: &mut StageReport,
) {
    if !matches!(phase, Phase::Open) {
        return;
    }
    *phase = Phase::Fresh;
    let done = std::mem::take(uncommitted);
    if let Some(e) = commit_loaded(target, entity, done, reporter) {
        tracing::error!(entity, error = %e.message, "Target commit failed midway; the cursor, if any, stays where it was.");
        report.stream_failures += 1;
        *phase = Phase::Broken(Box::new(RecordError {
            stage: Stage::Execute,
            ..e.clone()
        }));
        reporter.errors(vec![e]);
    }
}

/// Commit `entity` and, once the target has, report the records loaded
/// since its last commit as durable (resolving their dead-letter entries);
/// the error if the target failed to commit (they then stay unresolved).
fn commit_loaded<T: RecordTarget>(
    target: &mut T,
    entity: &str,
    done: Uncommitted,
    reporter: &Reporter,
) -> Option<RecordError> {
    let plugin = target.plugin().clone();
    let error = commit(target, entity, &plugin);
    if error.is_none() {
        reporter.committed(entity, done.loaded, done.keys);
    }
    error
}

/// Commit `entity`; the error, if the target failed to.
fn commit<T: RecordTarget>(target: &mut T, entity: &str, plugin: &PluginId) -> Option<RecordError> {
    match target.commit(entity) {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(RecordError::from_plugin_error(
            Stage::Finalize,
            entity,
            plugin,
            e,
        )),
        Err(f) => Some(RecordError::from_failure(
            Stage::Finalize,
            entity,
            plugin,
            &f,
        )),
    }
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

/// What became of one batch.
#[derive(Debug, Default)]
struct Written {
    loaded: u64,
    /// Keys of the loaded records, when the reporter wants them.
    loaded_keys: Vec<String>,
    /// The loaded records, for the target key ledger.
    ledger: Vec<LedgerEntry>,
    /// What was sent, per record, when phases are captured.
    load_document: Vec<serde_json::Value>,
    /// The target's final answer per record, when phases are captured.
    response_document: Vec<serde_json::Value>,
    errors: Vec<RecordError>,
    skips: Vec<SkipRecord>,
    retries: Vec<RetryRecord>,
}

/// One record on its way into the target, with what its attempts met.
struct Pending {
    record: Record,
    sent: Outgoing,
    /// Recoverable failures so far, by category and code.
    failures: Vec<(Category, String, u32)>,
    /// The last error it met.
    last_error: Option<RecordError>,
}

/// Write a batch, retrying the records that meet recoverable errors as the
/// entity's policy says. Every record ends loaded, skipped or failed.
fn write_batch<T: RecordTarget>(
    target: &mut T,
    entity: &str,
    records: Vec<Record>,
    reporter: &Reporter,
) -> Written {
    let plugin = target.plugin().clone();
    let policy = reporter.control().policy(entity).retry;
    let mut backoff = Backoff::new(policy);
    let mut pending: Vec<Pending> = records
        .into_iter()
        .map(|record| Pending {
            sent: Outgoing {
                key: record.key.clone(),
                body: record.body_json(),
            },
            record,
            failures: Vec::new(),
            last_error: None,
        })
        .collect();
    let mut written = Written::default();
    let capture = reporter.captures_phases();
    if capture {
        written.load_document = pending
            .iter()
            .map(|p| serde_json::json!({"key": p.sent.key, "body": p.record.body}))
            .collect();
    }
    loop {
        // Lent to the call and given back, instead of copied for it.
        let outgoing: Vec<Outgoing> = pending
            .iter_mut()
            .map(|p| {
                let empty = Outgoing {
                    key: String::new(),
                    body: String::new(),
                };
                std::mem::replace(&mut p.sent, empty)
            })
            .collect();
        let answer = target.write(entity, &outgoing);
        for (p, sent) in pending.iter_mut().zip(outgoing) {
            p.sent = sent;
        }
        let asked = asked_wait(&answer);
        let outcomes: Vec<Result<WriteOutcome, Box<RecordError>>> = match answer {
            Ok(Ok(outcomes)) => outcomes
                .into_iter()
                .map(|o| {
                    o.map_err(|e| {
                        Box::new(RecordError::from_plugin_error(
                            Stage::Execute,
                            entity,
                            &plugin,
                            e,
                        ))
                    })
                })
                .collect(),
            Ok(Err(e)) => {
                let error = RecordError::from_plugin_error(Stage::Execute, entity, &plugin, e);
                vec![Err(Box::new(error)); pending.len()]
            }
            Err(f) => {
                let error = RecordError::from_failure(Stage::Execute, entity, &plugin, &f);
                vec![Err(Box::new(error)); pending.len()]
            }
        };
        let mut again = Vec::new();
        for (mut p, outcome) in pending.into_iter().zip(outcomes) {
            if capture {
                let final_answer = match &outcome {
                    Err(e) => !(is_retried(e) && policy.max_attempts > 1),
                    Ok(_) => true,
                };
                if final_answer {
                    written.response_document.push(response_item(
                        &p.sent.key,
                        &outcome,
                        backoff.attempts(),
                    ));
                }
            }
            match outcome {
                Ok(
                    ref loaded @ (WriteOutcome::Created(_)
                    | WriteOutcome::Updated(_)
                    | WriteOutcome::Unchanged),
                ) => {
                    let (outcome, id) = match loaded {
                        WriteOutcome::Created(id) => (LoadOutcome::Created, id.as_deref()),
                        WriteOutcome::Updated(id) => (LoadOutcome::Updated, id.as_deref()),
                        _ => (LoadOutcome::Unchanged, None),
                    };
                    written
                        .ledger
                        .push(LedgerEntry::new(&p.record.key, &p.sent.body, outcome, id));
                    written.loaded += 1;
                    if reporter.resolves(entity, &p.record.key) {
                        written.loaded_keys.push(p.record.key.clone());
                    }
                    retried(&mut written, entity, &plugin, &p, &backoff, true);
                }
                Ok(WriteOutcome::Skip(reason)) => {
                    retried(&mut written, entity, &plugin, &p, &backoff, true);
                    written.skips.push(SkipRecord {
                        stage: Stage::Execute,
                        entity: entity.to_owned(),
                        record_key: p.record.key,
                        source_position: p.record.position,
                        reason,
                        plugin: Some(plugin.clone()),
                    });
                }
                Err(e) if is_retried(&e) && policy.max_attempts > 1 => {
                    match p
                        .failures
                        .iter_mut()
                        .find(|(c, code, _)| *c == e.category && *code == e.code)
                    {
                        Some((_, _, n)) => *n += 1,
                        None => p.failures.push((e.category, e.code.clone(), 1)),
                    }
                    p.last_error = Some(*e);
                    again.push(p);
                }
                Err(e) => {
                    // Retries got past the recoverable error, whatever the
                    // record met next.
                    retried(&mut written, entity, &plugin, &p, &backoff, !is_retried(&e));
                    written
                        .errors
                        .push(final_error(*e, p, backoff.attempts(), None));
                }
            }
        }
        if again.is_empty() {
            return written;
        }
        // The longer of what the connection's server and the plugin asked.
        let give_up = match backoff.next(target.retry_after().max(asked)) {
            Ok(wait) => {
                tracing::debug!(entity, plugin = %plugin, records = again.len(), attempt = backoff.attempts(), wait_ms = wait.as_millis() as u64, "Retrying records after recoverable errors.");
                if reporter.control().sleep(wait) {
                    pending = again;
                    continue;
                }
                "the run stopped while waiting to retry".to_owned()
            }
            Err(give_up) => give_up.describe(&policy),
        };
        for mut p in again {
            if capture && let Some(e) = &p.last_error {
                written.response_document.push(response_item(
                    &p.sent.key,
                    &Err(Box::new(e.clone())),
                    backoff.attempts(),
                ));
            }
            retried(&mut written, entity, &plugin, &p, &backoff, false);
            let error = p.last_error.take().expect("a retried record has an error");
            written
                .errors
                .push(final_error(error, p, backoff.attempts(), Some(&give_up)));
        }
        return written;
    }
}

/// The longest `retry-after-ms` among the retryable errors of an answer,
/// capped at the host's maximum.
fn asked_wait(
    answer: &Result<crate::plugin::worlds::WriteAnswer, PluginFailure>,
) -> Option<Duration> {
    let asked = |e: &PluginError| {
        if e.retryable {
            plugin_retry_after(e.retry_after_ms)
        } else {
            None
        }
    };
    match answer {
        Ok(Ok(items)) => items
            .iter()
            .filter_map(|o| o.as_ref().err())
            .filter_map(asked)
            .max(),
        Ok(Err(e)) => asked(e),
        Err(_) => None,
    }
}

/// The target's answer for one record, for the response capture.
fn response_item(
    key: &str,
    outcome: &Result<WriteOutcome, Box<RecordError>>,
    attempts: u32,
) -> serde_json::Value {
    use serde_json::json;
    match outcome {
        Ok(WriteOutcome::Created(id)) => {
            json!({"key": key, "outcome": "created", "id": id, "attempts": attempts})
        }
        Ok(WriteOutcome::Updated(id)) => {
            json!({"key": key, "outcome": "updated", "id": id, "attempts": attempts})
        }
        Ok(WriteOutcome::Unchanged) => {
            json!({"key": key, "outcome": "unchanged", "attempts": attempts})
        }
        Ok(WriteOutcome::Skip(reason)) => {
            json!({"key": key, "outcome": "skipped", "reason": reason})
        }
        Err(e) => json!({
            "key": key,
            "outcome": "failed",
            "category": e.category.as_str(),
            "code": e.code,
            "field": e.field,
            "message": e.message,
            "attempts": attempts,
        }),
    }
}

/// Record the retries a record went through, if it went through any.
fn retried(
    written: &mut Written,
    entity: &str,
    plugin: &PluginId,
    p: &Pending,
    backoff: &Backoff,
    succeeded: bool,
) {
    for (category, code, failures) in &p.failures {
        written.retries.push(RetryRecord {
            stage: Stage::Execute,
            entity: entity.to_owned(),
            record_key: Some(p.record.key.clone()),
            plugin: Some(plugin.clone()),
            category: *category,
            code: code.clone(),
            failures: *failures,
            attempts: backoff.attempts(),
            succeeded,
            waited_ms: backoff.waited().as_millis() as u64,
        });
    }
}

fn final_error(
    error: RecordError,
    p: Pending,
    attempts: u32,
    gave_up: Option<&str>,
) -> RecordError {
    let message = match gave_up {
        Some(why) => format!("{} ({why})", error.message),
        None => error.message,
    };
    RecordError {
        record_key: Some(p.record.key),
        source_position: Some(p.record.position),
        payload: Some(p.sent.body),
        source_payload: Some(p.record.source_payload.to_string()),
        attempts,
        message,
        ..error
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossbeam_channel::unbounded;

    use super::*;
    use crate::bindings::ErrorCategory;
    use crate::model::Progress;
    use crate::runlog::LogEvent;
    use crate::stages::Batch;
    use crate::strategy::{ErrorsConfig, RetryConfig, RunControl, Strategy};

    /// Fails every record with a rate limit `failures` times, asking for a
    /// wait of `retry_after`, then creates it.
    struct RateLimited {
        id: PluginId,
        failures: u32,
        whole_batch: bool,
        writes: u32,
        retry_after: Option<Duration>,
        /// Whether its errors are marked retryable.
        retryable: bool,
        /// The `retry-after-ms` its errors carry.
        retry_after_ms: Option<u32>,
    }

    impl RecordTarget for RateLimited {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        fn begin(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            Ok(Ok(()))
        }
        fn write(
            &mut self,
            _: &str,
            records: &[Outgoing],
        ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure>
        {
            self.writes += 1;
            let error = PluginError {
                category: ErrorCategory::Transient,
                code: "rate-limited".into(),
                message: "slow down".into(),
                field: None,
                retryable: self.retryable,
                retry_after_ms: self.retry_after_ms,
            };
            if self.writes <= self.failures {
                if self.whole_batch {
                    return Ok(Err(error));
                }
                return Ok(Ok(records.iter().map(|_| Err(error.clone())).collect()));
            }
            Ok(Ok(records
                .iter()
                .map(|_| Ok(WriteOutcome::Created(None)))
                .collect()))
        }
        fn commit(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            Ok(Ok(()))
        }
        fn retry_after(&mut self) -> Option<Duration> {
            self.retry_after
        }
    }

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                key: format!("k{i}"),
                position: format!("in:{i}"),
                body: Default::default(),
                source_payload: Arc::from("{}"),
            })
            .collect()
    }

    fn reporter(max_attempts: u32) -> (Reporter, Receiver<LogEvent>) {
        let errors = ErrorsConfig {
            strategy: Some(Strategy::Retry),
            retry: RetryConfig {
                max_attempts: Some(max_attempts),
                initial_backoff_ms: Some(1),
                jitter: Some(0.0),
                ..RetryConfig::default()
            },
            ..ErrorsConfig::default()
        };
        let control = RunControl::new(
            [("contacts".to_owned(), errors.policy_for(None))].into(),
            errors.breaker(),
        );
        let (tx, rx) = unbounded();
        (
            Reporter::new(tx, Arc::new(Progress::default()), Arc::new(control)),
            rx,
        )
    }

    fn target(failures: u32, whole_batch: bool, retry_after: Option<Duration>) -> RateLimited {
        RateLimited {
            id: PluginId {
                name: "mock".into(),
                digest: "sha256:0".into(),
            },
            failures,
            whole_batch,
            writes: 0,
            retry_after,
            retryable: true,
            retry_after_ms: None,
        }
    }

    /// A target that creates every record, and whose commits fail when told.
    struct Committing {
        id: PluginId,
        fail_commit: bool,
        commits: u32,
    }

    impl RecordTarget for Committing {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        fn begin(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            Ok(Ok(()))
        }
        fn write(
            &mut self,
            _: &str,
            records: &[Outgoing],
        ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure>
        {
            Ok(Ok(records
                .iter()
                .map(|_| Ok(WriteOutcome::Created(None)))
                .collect()))
        }
        fn commit(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            self.commits += 1;
            if self.fail_commit {
                return Ok(Err(PluginError {
                    category: ErrorCategory::Connectivity,
                    code: "disk-gone".into(),
                    message: "cannot sync".into(),
                    field: None,
                    retryable: false,
                    retry_after_ms: None,
                }));
            }
            Ok(Ok(()))
        }
    }

    /// Run execute over two batches of records with open dead-letter
    /// entries and return what reached the run log writer.
    fn resolutions(fail_commit: bool, end: bool) -> (Vec<LogEvent>, u32) {
        let (mut reporter, rx) = reporter(1);
        let mut open = crate::runlog::OpenKeys::default();
        for r in records(4) {
            open.insert("contacts", &r.key);
        }
        reporter.resolve_on_load(open);
        let mut targets = vec![Committing {
            id: target(0, false, None).id,
            fail_commit,
            commits: 0,
        }];
        let (tx, input) = unbounded();
        let all = records(4);
        tx.send(Flow::Batch(Batch::new(0, all[..2].to_vec())))
            .unwrap();
        tx.send(Flow::Batch(Batch::new(0, all[2..].to_vec())))
            .unwrap();
        if end {
            tx.send(Flow::EndOfEntity(0)).unwrap();
        }
        drop(tx);
        run(&mut targets, &["contacts".to_owned()], &input, &reporter);
        drop(reporter);
        (rx.try_iter().collect(), targets[0].commits)
    }

    #[test]
    fn loaded_records_resolve_their_entries_only_once_committed() {
        let (events, commits) = resolutions(false, true);
        assert_eq!(commits, 1);
        let committed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                LogEvent::Committed { loaded, keys, .. } => Some((*loaded, keys.clone())),
                _ => None,
            })
            .collect();
        // One report, after the commit, for both batches.
        assert_eq!(
            committed,
            vec![(4, vec!["k0".into(), "k1".into(), "k2".into(), "k3".into()])]
        );

        // A target that fails to commit made nothing durable: no entry is
        // resolved, and the commit error is recorded.
        let (events, commits) = resolutions(true, true);
        assert_eq!(commits, 1);
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, LogEvent::Committed { .. })),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, LogEvent::Errors(errors) if errors[0].code == "disk-gone"))
        );

        // Input that ends without the entity's end still commits what was
        // loaded before resolving it.
        let (events, commits) = resolutions(false, false);
        assert_eq!(commits, 1);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, LogEvent::Committed { loaded: 4, .. }))
        );
    }

    #[test]
    fn retry_after_sets_the_wait() {
        let (reporter, _rx) = reporter(3);
        let mut t = target(1, false, Some(Duration::from_millis(40)));
        let w = write_batch(&mut t, "contacts", records(3), &reporter);
        assert_eq!(w.loaded, 3);
        assert_eq!(t.writes, 2);
        assert_eq!(w.retries.len(), 3);
        // 1 ms of backoff, but the remote system asked for 40.
        assert!(w.retries.iter().all(|r| r.waited_ms >= 40 && r.succeeded));
    }

    #[test]
    fn a_plugin_retry_after_sets_the_wait() {
        for whole_batch in [false, true] {
            let (reporter, _rx) = reporter(3);
            let mut t = RateLimited {
                retry_after_ms: Some(60),
                ..target(1, whole_batch, None)
            };
            let w = write_batch(&mut t, "contacts", records(2), &reporter);
            assert_eq!((w.loaded, t.writes), (2, 2));
            // 1 ms of backoff, but the plugin asked for 60.
            assert!(
                w.retries.iter().all(|r| r.waited_ms >= 60 && r.succeeded),
                "{:?}",
                w.retries
            );
        }
    }

    #[test]
    fn a_plugin_retry_after_is_capped_by_the_host() {
        assert_eq!(
            plugin_retry_after(Some(u32::MAX)),
            Some(crate::strategy::MAX_PLUGIN_RETRY_AFTER)
        );
        assert_eq!(
            plugin_retry_after(Some(250)),
            Some(Duration::from_millis(250))
        );
        // Capped at 300 s, past the policy's total retry time: no retry.
        let (reporter, _rx) = reporter(5);
        let mut t = RateLimited {
            retry_after_ms: Some(u32::MAX),
            ..target(10, false, None)
        };
        let w = write_batch(&mut t, "contacts", records(1), &reporter);
        assert_eq!(t.writes, 1);
        assert!(
            w.errors[0].message.contains("retry time limit"),
            "{:?}",
            w.errors
        );
    }

    #[test]
    fn a_non_retryable_error_is_not_retried() {
        for whole_batch in [false, true] {
            let (reporter, _rx) = reporter(5);
            let mut t = RateLimited {
                retryable: false,
                retry_after_ms: Some(10),
                ..target(10, whole_batch, None)
            };
            let w = write_batch(&mut t, "contacts", records(3), &reporter);
            assert_eq!(t.writes, 1, "a non-retryable error was retried");
            assert_eq!(w.errors.len(), 3);
            assert!(w.errors.iter().all(|e| e.attempts == 1 && !e.retryable));
            assert!(w.retries.is_empty(), "{:?}", w.retries);
        }
    }

    #[test]
    fn whole_batch_errors_are_retried_then_fail_every_record_with_attempts() {
        let (reporter, _rx) = reporter(3);
        let mut t = target(10, true, None);
        let w = write_batch(&mut t, "contacts", records(4), &reporter);
        assert_eq!((w.loaded, w.errors.len(), t.writes), (0, 4, 3));
        assert!(w.errors.iter().all(|e| e.attempts == 3
            && e.message.contains("gave up after 3 attempts")
            && e.record_key.is_some()));
        assert!(w.retries.iter().all(|r| !r.succeeded && r.failures == 3));
    }

    #[test]
    fn a_retry_after_past_the_budget_gives_up_at_once() {
        let (reporter, _rx) = reporter(5);
        let mut t = target(10, false, Some(Duration::from_secs(3600)));
        let w = write_batch(&mut t, "contacts", records(2), &reporter);
        assert_eq!(t.writes, 1);
        assert!(
            w.errors
                .iter()
                .all(|e| e.attempts == 1 && e.message.contains("retry time limit"))
        );
    }

    /// Answers `created("t-0")`, `updated("t-1")`, `unchanged`, then skips.
    struct Answering {
        id: PluginId,
    }

    impl RecordTarget for Answering {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        fn begin(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            Ok(Ok(()))
        }
        fn write(
            &mut self,
            _: &str,
            records: &[Outgoing],
        ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure>
        {
            Ok(Ok((0..records.len())
                .map(|i| {
                    Ok(match i {
                        0 => WriteOutcome::Created(Some("t-0".into())),
                        1 => WriteOutcome::Updated(Some("t-1".into())),
                        2 => WriteOutcome::Unchanged,
                        _ => WriteOutcome::Skip("not mine".into()),
                    })
                })
                .collect()))
        }
        fn commit(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            Ok(Ok(()))
        }
    }

    #[test]
    fn what_a_target_loaded_goes_to_the_ledger_with_its_id_and_body_digest() {
        let (reporter, rx) = reporter(1);
        let mut targets = vec![Answering {
            id: target(0, false, None).id,
        }];
        let (tx, input) = unbounded();
        tx.send(Flow::Batch(Batch::new(0, records(4)))).unwrap();
        tx.send(Flow::EndOfEntity(0)).unwrap();
        drop(tx);
        run(&mut targets, &["contacts".to_owned()], &input, &reporter);
        drop(reporter);
        let loaded: Vec<(String, String, Vec<LedgerEntry>)> = rx
            .try_iter()
            .filter_map(|e| match e {
                LogEvent::Loaded {
                    entity,
                    target,
                    entries,
                } => Some((entity, target, entries)),
                _ => None,
            })
            .collect();
        let body = records(1)[0].body_json();
        assert_eq!(
            loaded,
            vec![(
                "contacts".to_owned(),
                "mock".to_owned(),
                vec![
                    LedgerEntry::new("k0", &body, LoadOutcome::Created, Some("t-0")),
                    LedgerEntry::new("k1", &body, LoadOutcome::Updated, Some("t-1")),
                    LedgerEntry::new("k2", &body, LoadOutcome::Unchanged, None),
                ]
            )],
            "the skipped record is not in the ledger"
        );
    }
}
