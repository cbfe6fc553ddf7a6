use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};
use rusqlite::params;

use super::context::RunContext;
use super::cursors::commit_cursor;
use super::dlq::{dead_letter, resolve};
use super::error::RunLogError;
use super::ledger::{LedgerEntry, StreamIds, record_loads};
use super::rows::{insert_errors, insert_retries, insert_skips};
use super::store::RunLog;
use crate::errors::RecordError;
use crate::model::{Resolution, SkipRecord};
use crate::strategy::RetryRecord;

/// Events messages pending before stages wait for the writer.
const WRITER_QUEUE: usize = 64;

/// How long a transaction stays open for more events once the queue is
/// empty. Fewer, larger transactions write each touched page to the WAL
/// once instead of once per batch of errors; a crash loses at most this
/// much of the log, which the at-least-once design already tolerates (the
/// cursor is committed after the records it covers, in the same order).
const GROUP_COMMIT: Duration = Duration::from_millis(20);

/// WAL pages between automatic checkpoints on the writer's connection
/// (SQLite's default is 1,000): checkpoints of a busy run are fewer and
/// copy each hot page once.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8_000;

/// The writer's page cache, in KiB (SQLite's negative `cache_size`): index
/// pages of the error and dead-letter tables stay cached across commits.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// Target key ledger rows kept back before the writer opens a transaction
/// just for them. Ledger rows come with every loaded batch: writing each
/// batch's at once would keep a write transaction open almost all the time
/// of a clean run (each waits up to [`GROUP_COMMIT`] for more), and other
/// writers of the run log (`sluice plugin promote`, the daemon) would wait
/// for the run to end. Rows kept back go with the next transaction opened
/// for anything else, or when this many have gathered, or at the end.
const LEDGER_FLUSH_ROWS: usize = 4096;

/// Something for the run log writer to record.
#[derive(Debug)]
pub enum LogEvent {
    /// Record errors (usually one batch's worth).
    Errors(Vec<RecordError>),
    /// Skipped records.
    Skips(Vec<SkipRecord>),
    /// Records that were retried.
    Retries(Vec<RetryRecord>),
    /// A captured document of one batch (already redacted).
    Capture {
        /// The entity.
        entity: String,
        /// The batch's ordinal within the entity and phase.
        batch: u64,
        /// `extract`, `load`, `response` or `http`.
        phase: &'static str,
        /// The JSON document.
        document: String,
    },
    /// An incremental stream may resume at `cursor`.
    Cursor {
        /// The entity.
        entity: String,
        /// Where reading resumes.
        cursor: Option<String>,
        /// Items read since the previous cursor.
        records: u64,
    },
    /// The target committed `entity`: the records loaded since its last
    /// commit are durable. Only now do they resolve their dead-letter
    /// entries, and only now do they count in the run's `loaded` while it
    /// runs (what an interrupted run keeps).
    Committed {
        /// The entity.
        entity: String,
        /// Records loaded since the entity's previous commit.
        loaded: u64,
        /// Keys of those records that had open dead-letter entries when the
        /// run started.
        keys: Vec<String>,
    },
    /// Records the target answered `created`, `updated` or `unchanged`
    /// for: they enter the target key ledger (in every run that writes to
    /// the target, test runs and replays included).
    Loaded {
        /// The entity.
        entity: String,
        /// The target plugin's name.
        target: String,
        /// What it loaded.
        entries: Vec<LedgerEntry>,
    },
}

/// The writer thread and the channel into it.
#[derive(Debug)]
pub struct WriterHandle {
    /// Send events here; drop every clone to let the writer finish.
    pub tx: Sender<LogEvent>,
    /// Joins to the number of errors and skips written.
    pub thread: JoinHandle<Result<(u64, u64), RunLogError>>,
}

/// Start a thread that writes events for `run_id` to the run log at `path`,
/// committing whatever has queued up in one transaction.
///
/// Failed records also enter (or update) the dead-letter queue; skipped
/// records, and loaded records once their target has committed them,
/// resolve their open entries; every record a target loaded enters the
/// target key ledger. A test run ([`RunContext::test`]) records
/// its errors and skips only: no dead-letter change, no cursor.
pub fn spawn_writer(path: PathBuf, run: RunContext) -> Result<WriterHandle, RunLogError> {
    let mut log = RunLog::open(&path)?;
    log.conn
        .pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .and_then(|()| {
            log.conn
                .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        })
        .map_err(|source| RunLogError::Open {
            path: path.clone(),
            source,
        })?;
    let (tx, rx) = bounded(WRITER_QUEUE);
    let thread = thread::Builder::new()
        .name("sluice-runlog".into())
        .spawn(move || write_loop(&mut log, &run, &rx))
        .expect("spawn run log writer");
    Ok(WriterHandle { tx, thread })
}

fn write_loop(
    log: &mut RunLog,
    run: &RunContext,
    rx: &Receiver<LogEvent>,
) -> Result<(u64, u64), RunLogError> {
    let run_id = run.run_id;
    let (mut errors, mut skips) = (0, 0);
    let mut streams = StreamIds::new();
    let mut ledger = LedgerRows::default();
    while let Ok(first) = rx.recv() {
        let first = match first {
            LogEvent::Loaded {
                entity,
                target,
                entries,
            } => {
                ledger.keep(entity, target, entries);
                if ledger.rows < LEDGER_FLUSH_ROWS {
                    continue;
                }
                None
            }
            event => Some(event),
        };
        let tx = log.conn.transaction()?;
        let opened = Instant::now();
        let mut next = first;
        while let Some(event) = next {
            match event {
                LogEvent::Errors(e) => {
                    let first_id = insert_errors(&tx, run_id, &e)?;
                    if !e.is_empty() && !run.test {
                        dead_letter(&tx, run, first_id, first_id + e.len() as i64 - 1)?;
                    }
                    errors += e.len() as u64;
                }
                LogEvent::Skips(s) => {
                    insert_skips(&tx, run_id, &s)?;
                    if !run.test {
                        for skip in &s {
                            resolve(
                                &tx,
                                run,
                                &skip.entity,
                                std::slice::from_ref(&skip.record_key),
                                &Resolution::Skipped(skip.reason.clone()),
                            )?;
                        }
                    }
                    skips += s.len() as u64;
                }
                LogEvent::Retries(r) => insert_retries(&tx, run_id, &r)?,
                LogEvent::Loaded {
                    entity,
                    target,
                    entries,
                } => ledger.keep(entity, target, entries),
                LogEvent::Committed {
                    entity,
                    loaded,
                    keys,
                } => {
                    if !run.test {
                        resolve(&tx, run, &entity, &keys, &Resolution::Loaded)?;
                    }
                    tx.prepare_cached("UPDATE runs SET loaded = loaded + ?2 WHERE id = ?1")?
                        .execute(params![run_id, loaded as i64])?;
                }
                LogEvent::Capture {
                    entity,
                    batch,
                    phase,
                    document,
                } => {
                    tx.prepare_cached(
                        "INSERT INTO captures (run_id, entity, batch, phase, document) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![run_id, entity, batch as i64, phase, document])?;
                }
                LogEvent::Cursor {
                    entity,
                    cursor,
                    records,
                } => {
                    if !run.test {
                        commit_cursor(&tx, run, &entity, cursor.as_deref(), records)?;
                    }
                }
            }
            next = match rx.try_recv() {
                Ok(event) => Some(event),
                Err(TryRecvError::Empty) => rx
                    .recv_timeout(GROUP_COMMIT.saturating_sub(opened.elapsed()))
                    .ok(),
                Err(TryRecvError::Disconnected) => None,
            };
        }
        ledger.write(&tx, &mut streams, run)?;
        tx.commit()?;
    }
    if ledger.rows > 0 {
        let tx = log.conn.transaction()?;
        ledger.write(&tx, &mut streams, run)?;
        tx.commit()?;
    }
    Ok((errors, skips))
}

/// Target key ledger rows kept back (see [`LEDGER_FLUSH_ROWS`]).
#[derive(Default)]
struct LedgerRows {
    /// Per entity and target, in the order they came.
    batches: Vec<(String, String, Vec<LedgerEntry>)>,
    rows: usize,
}

impl LedgerRows {
    fn keep(&mut self, entity: String, target: String, entries: Vec<LedgerEntry>) {
        self.rows += entries.len();
        match self.batches.last_mut() {
            Some((e, t, kept)) if *e == entity && *t == target => kept.extend(entries),
            _ => self.batches.push((entity, target, entries)),
        }
    }

    fn write(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        streams: &mut StreamIds,
        run: &RunContext,
    ) -> Result<(), RunLogError> {
        for (entity, target, entries) in self.batches.drain(..) {
            record_loads(
                tx,
                streams,
                run.run_id,
                &run.pipeline,
                &target,
                &entity,
                &entries,
            )?;
        }
        self.rows = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::LoadOutcome;

    #[test]
    fn ledger_rows_alone_do_not_hold_the_write_lock_and_are_written_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let writer = spawn_writer(
            path.clone(),
            RunContext {
                run_id: 1,
                pipeline: "p".into(),
                config_hash: "h".into(),
                test: false,
            },
        )
        .unwrap();
        // Batches keep coming, as in a clean run: another writer still gets
        // the lock (were each batch's rows written as it came, the writer's
        // transactions would follow one another with no gap until the end).
        let sender = writer.tx.clone();
        let feeding = thread::spawn(move || {
            for i in 0..150 {
                let entry = LedgerEntry::new(&format!("k{i}"), "{}", LoadOutcome::Created, None);
                sender
                    .send(LogEvent::Loaded {
                        entity: "contacts".into(),
                        target: "t".into(),
                        entries: vec![entry],
                    })
                    .unwrap();
                thread::sleep(Duration::from_millis(2));
            }
        });
        thread::sleep(Duration::from_millis(30));
        let other = rusqlite::Connection::open(&path).unwrap();
        other.busy_timeout(Duration::from_millis(100)).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; COMMIT;").unwrap();
        feeding.join().unwrap();
        drop(writer.tx);
        writer.thread.join().unwrap().unwrap();
        let log = RunLog::open(&path).unwrap();
        assert_eq!(log.ledger_len("p").unwrap(), 150);
    }
}
