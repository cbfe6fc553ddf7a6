use std::sync::Arc;

use crossbeam_channel::Sender;

use super::{Stage, StageCounts};
use crate::connection::{Connection, HttpExchange};
use crate::errors::RecordError;
use crate::model::Progress;
use crate::model::SkipRecord;
use crate::record::Record;
use crate::runlog::{LedgerEntry, LogEvent, MAX_TARGET_ID_BYTES, OpenKeys, Scrubber};
use crate::strategy::{RetryRecord, RunControl};

/// Hands a stage's errors and skips to the run log writer, one message per
/// batch so the writer can commit them in one transaction.
///
/// Every final error also goes through the run's [`RunControl`], which sets
/// its disposition from the entity's strategy and may stop the run.
#[derive(Debug, Clone)]
pub struct Reporter {
    tx: Sender<LogEvent>,
    progress: Arc<Progress>,
    control: Arc<RunControl>,
    open_dlq: Arc<OpenKeys>,
    capture: Arc<Capture>,
    scrub: Arc<Scrubber>,
}

/// What the stages capture, and the connections whose secrets are redacted
/// from it.
#[derive(Debug, Default)]
pub struct Capture {
    /// Keep extract, load and response documents.
    pub phases: bool,
    /// Redact through these connections.
    pub connections: Vec<Arc<Connection>>,
}

impl Reporter {
    /// A reporter sending to the run log writer, updating `progress` and
    /// informing `control`.
    pub fn new(tx: Sender<LogEvent>, progress: Arc<Progress>, control: Arc<RunControl>) -> Self {
        Reporter {
            tx,
            progress,
            control,
            open_dlq: Arc::default(),
            capture: Arc::default(),
            scrub: Arc::default(),
        }
    }

    /// Capture documents as `capture` says.
    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Arc::new(capture);
    }

    /// Redact and bound everything sent to the run log with `scrub`.
    pub fn set_scrubber(&mut self, scrub: Arc<Scrubber>) {
        self.scrub = scrub;
    }

    /// Whether phase documents are kept.
    pub fn captures_phases(&self) -> bool {
        self.capture.phases
    }

    /// Keep a document of batch `batch` of `entity` at `phase`, redacted.
    pub fn capture(
        &self,
        entity: &str,
        batch: u64,
        phase: &'static str,
        document: &serde_json::Value,
    ) {
        if phase != "http" && !self.capture.phases {
            return;
        }
        let mut text = document.to_string();
        for c in &self.capture.connections {
            text = c.redact(&text);
        }
        let _ = self.tx.send(LogEvent::Capture {
            entity: entity.to_owned(),
            batch,
            phase,
            document: self.scrub.document(text),
        });
    }

    /// Keep the raw HTTP exchanges a connector made.
    pub fn capture_http(&self, entity: &str, batch: u64, exchanges: Vec<HttpExchange>) {
        if !exchanges.is_empty() {
            let doc = serde_json::to_value(&exchanges).unwrap_or_default();
            self.capture(entity, batch, "http", &doc);
        }
    }

    /// Records with open dead-letter entries: execute reports loading them,
    /// so their entries are resolved.
    pub fn resolve_on_load(&mut self, open: OpenKeys) {
        self.open_dlq = Arc::new(open);
    }

    /// Whether loading record `key` of `entity` resolves a dead-letter entry.
    pub fn resolves(&self, entity: &str, key: &str) -> bool {
        self.open_dlq.contains(entity, key)
    }

    /// Every record of `entity` read before `cursor` is accounted for: the
    /// stream may resume there. `records` were read since the last one.
    pub fn cursor(&self, entity: &str, cursor: Option<String>, records: u64) {
        let _ = self.tx.send(LogEvent::Cursor {
            entity: entity.to_owned(),
            cursor,
            records,
        });
    }

    /// The target committed `entity`: `loaded` records loaded since its
    /// last commit, `keys` those of them with open dead-letter entries,
    /// are durable, so their entries resolve now.
    pub fn committed(&self, entity: &str, loaded: u64, keys: Vec<String>) {
        if loaded > 0 || !keys.is_empty() {
            let _ = self.tx.send(LogEvent::Committed {
                entity: entity.to_owned(),
                loaded,
                keys,
            });
        }
    }

    /// Records `target` loaded for `entity` enter the target key ledger
    /// (their target ids redacted and bounded like every plugin answer).
    pub fn loaded_records(&self, entity: &str, target: &str, mut entries: Vec<LedgerEntry>) {
        if entries.is_empty() {
            return;
        }
        for e in &mut entries {
            if let Some(id) = &mut e.target_id {
                self.scrub.text(id, MAX_TARGET_ID_BYTES);
            }
        }
        let _ = self.tx.send(LogEvent::Loaded {
            entity: entity.to_owned(),
            target: target.to_owned(),
            entries,
        });
    }

    /// Live counts, for progress displays.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The run's error policies and circuit breaker.
    pub fn control(&self) -> &RunControl {
        &self.control
    }

    /// Whether the run has been stopped; stages then hold records back.
    pub fn is_halted(&self) -> bool {
        self.control.is_halted()
    }

    /// Records were loaded.
    pub fn loaded(&self, n: u64) {
        self.progress.add_loaded(n);
        self.control.observe_loaded(n);
    }

    /// File `records` as held back at `stage` because the run stopped, and
    /// count them as failed there.
    pub fn hold_back(
        &self,
        stage: Stage,
        entity: &str,
        records: &[Record],
        counts: &mut StageCounts,
    ) {
        let n = records.len() as u64;
        counts.failed += n;
        self.progress.add_failed(n);
        self.errors(self.control.hold_back(stage, entity, records));
    }

    /// Record retries.
    pub fn retries(&self, mut retries: Vec<RetryRecord>) {
        if !retries.is_empty() {
            retries.iter_mut().for_each(|r| self.scrub.retry(r));
            let _ = self.tx.send(LogEvent::Retries(retries));
        }
    }

    /// Record final errors.
    pub fn errors(&self, mut errors: Vec<RecordError>) {
        // Plugins and remote systems wrote this text: no secret and no
        // unbounded text reaches the run log (nor the run's status reason).
        errors.iter_mut().for_each(|e| self.scrub.error(e));
        self.control.observe_errors(&mut errors);
        if !errors.is_empty() {
            // The writer outlives every stage; a send can only fail if it
            // died, which the run reports when joining it.
            let _ = self.tx.send(LogEvent::Errors(errors));
        }
    }

    /// Record skips.
    pub fn skips(&self, mut skips: Vec<SkipRecord>) {
        if !skips.is_empty() {
            skips.iter_mut().for_each(|s| self.scrub.skip(s));
            let _ = self.tx.send(LogEvent::Skips(skips));
        }
    }
}

/// What a stage thread hands back when it is done.
#[derive(Debug, Clone)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// Counts per entity, indexed like the pipeline's entities.
    pub counts: Vec<StageCounts>,
    /// Entity streams that failed as a whole in this stage.
    pub stream_failures: u32,
}

impl StageReport {
    /// An empty report for `entities` entities.
    pub fn new(stage: Stage, entities: usize) -> Self {
        StageReport {
            stage,
            counts: vec![StageCounts::default(); entities],
            stream_failures: 0,
        }
    }
}
