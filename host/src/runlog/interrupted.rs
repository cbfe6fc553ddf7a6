//! Runs whose process ended before the run did: finding the runs still
//! marked `running`, and marking one `interrupted` with the counts its
//! rows reconstruct. Whether a run's process is gone is decided by the
//! caller (`run/interrupted.rs`, from the run's lock).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// A run still marked `running`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningRun {
    /// The run.
    pub id: i64,
    /// Its pipeline.
    pub pipeline: String,
}

/// A run found dead and marked `interrupted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterruptedRun {
    /// The run.
    pub run_id: i64,
    /// Its pipeline.
    pub pipeline: String,
    /// `run`, `replay` or `rerun`.
    pub kind: String,
    /// The process that ran it (`None` for runs recorded before schema 9).
    pub pid: Option<i64>,
    /// When it started (UTC).
    pub started_at: String,
    /// Records accounted for: loaded + failed + skipped.
    pub extracted: u64,
    /// Records the target had committed when the process ended.
    pub loaded: u64,
    /// Records with an error row.
    pub failed: u64,
    /// Records skipped.
    pub skipped: u64,
}

impl InterruptedRun {
    /// One line for people: which run, and what it got done.
    pub fn describe(&self) -> String {
        let process = match self.pid {
            Some(pid) => format!("its process ({pid})"),
            None => "its process".to_owned(),
        };
        format!(
            "Run {} of `{}` ({}, started {}) was interrupted: {process} ended before the run finished. \
             Marked `interrupted` with what its log recorded: {} loaded, {} failed, {} skipped.",
            self.run_id,
            self.pipeline,
            self.kind,
            self.started_at,
            self.loaded,
            self.failed,
            self.skipped
        )
    }
}

impl RunLog {
    /// Runs still marked `running`, of `pipeline` or of every pipeline,
    /// oldest first.
    pub fn running_runs(&self, pipeline: Option<&str>) -> Result<Vec<RunningRun>, RunLogError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, pipeline FROM runs WHERE status = 'running' AND (?1 IS NULL OR pipeline = ?1)
             ORDER BY id",
        )?;
        let rows = stmt.query_map([pipeline], |r| {
            Ok(RunningRun {
                id: r.get(0)?,
                pipeline: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Mark run `run_id`, whose process is known to be gone, `interrupted`,
    /// if it is still `running`. Its counts become what its rows say:
    /// `failed` the distinct records with an error row (held-back ones
    /// included), `skipped` its skip rows, `loaded` the records the target
    /// had committed (the writer adds them up at each commit), and
    /// `extracted` their sum, so the run balances. Records read but not
    /// yet committed, failed or skipped when the process ended are not
    /// counted; a rerun or the next incremental run reads them again.
    /// `noticed_by` says who found it, for the status reason.
    pub fn mark_interrupted(
        &mut self,
        run_id: i64,
        noticed_by: &str,
    ) -> Result<Option<InterruptedRun>, RunLogError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .query_row(
                "SELECT pipeline, kind, pid, started_at, loaded FROM runs WHERE id = ?1 AND status = 'running'",
                [run_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((pipeline, kind, pid, started_at, loaded)) = row else {
            return Ok(None);
        };
        let failed: i64 = tx.query_row(
            "SELECT count(DISTINCT entity || char(0) || coalesce(source_position, record_key))
             FROM record_errors WHERE run_id = ?1 AND record_key IS NOT NULL AND stage <> 'finalize'",
            [run_id],
            |r| r.get(0),
        )?;
        let skipped: i64 = tx.query_row(
            "SELECT count(*) FROM record_skips WHERE run_id = ?1",
            [run_id],
            |r| r.get(0),
        )?;
        let process = pid.map_or_else(|| "its process".to_owned(), |p| format!("process {p}"));
        let reason = format!(
            "{process} ended before the run finished (killed or crashed); noticed by {noticed_by}. \
             The counts are what the run log recorded: records the target had committed, and records \
             failed or skipped"
        );
        let extracted = loaded + failed + skipped;
        tx.execute(
            "UPDATE runs SET status = 'interrupted', status_reason = ?2,
                 finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 extracted = ?3, failed = ?4, skipped = ?5
             WHERE id = ?1 AND status = 'running'",
            params![run_id, reason, extracted, failed, skipped],
        )?;
        tx.commit()?;
        let count = |n: i64| n.max(0) as u64;
        Ok(Some(InterruptedRun {
            run_id,
            pipeline,
            kind,
            pid,
            started_at,
            extracted: count(extracted),
            loaded: count(loaded),
            failed: count(failed),
            skipped: count(skipped),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{Category, RecordError};
    use crate::model::{SkipRecord, Stage};
    use crate::runlog::{LogEvent, RunContext, spawn_writer};

    #[test]
    fn a_dead_run_gets_the_counts_its_rows_show_and_balances() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let run_id = log.start_run("pipe", "pipe.toml", "sha256:c").unwrap();
        let writer = spawn_writer(
            log.path().to_owned(),
            RunContext {
                run_id,
                pipeline: "pipe".into(),
                config_hash: "sha256:c".into(),
                test: false,
            },
        )
        .unwrap();
        let error = |key: &str, field: &str| RecordError {
            record_key: Some(key.to_owned()),
            source_position: Some(format!("in.jsonl:{key}")),
            field: Some(field.to_owned()),
            ..RecordError::new(
                Stage::Transform,
                "contacts",
                Category::Validation,
                "bad",
                "bad".into(),
            )
        };
        // Two records failed (one of them on two fields), one was skipped,
        // 40 were committed; a stream error names no record.
        writer
            .tx
            .send(LogEvent::Errors(vec![
                error("1", "a"),
                error("1", "b"),
                error("2", "a"),
                RecordError::new(
                    Stage::Ingest,
                    "contacts",
                    Category::Mapping,
                    "stream",
                    "x".into(),
                ),
            ]))
            .unwrap();
        writer
            .tx
            .send(LogEvent::Skips(vec![SkipRecord {
                stage: Stage::Normalize,
                entity: "contacts".into(),
                record_key: "3".into(),
                source_position: "in.jsonl:3".into(),
                reason: "empty".into(),
                plugin: None,
            }]))
            .unwrap();
        for _ in 0..2 {
            writer
                .tx
                .send(LogEvent::Committed {
                    entity: "contacts".into(),
                    loaded: 20,
                    keys: Vec::new(),
                })
                .unwrap();
        }
        drop(writer.tx);
        writer.thread.join().unwrap().unwrap();
        assert_eq!(
            log.running_runs(None).unwrap(),
            vec![RunningRun {
                id: run_id,
                pipeline: "pipe".into()
            }]
        );

        let marked = log.mark_interrupted(run_id, "a test").unwrap().unwrap();
        assert_eq!(
            (
                marked.extracted,
                marked.loaded,
                marked.failed,
                marked.skipped
            ),
            (43, 40, 2, 1)
        );
        assert_eq!(marked.pid, Some(i64::from(std::process::id())));
        let row = log.run(run_id).unwrap();
        assert_eq!(row.status, "interrupted");
        assert_eq!(
            (row.extracted, row.loaded, row.failed, row.skipped),
            (43, 40, 2, 1)
        );
        assert!(row.finished_at.is_some());
        assert!(
            row.status_reason.unwrap().contains("noticed by a test"),
            "reason"
        );
        assert!(log.running_runs(None).unwrap().is_empty());
        // Marking again changes nothing.
        assert!(log.mark_interrupted(run_id, "again").unwrap().is_none());
    }
}
