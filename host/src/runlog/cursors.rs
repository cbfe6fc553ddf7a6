//! Sync cursors: where each incremental entity stream resumes.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::audit::{AuditEntry, insert_audit};
use super::context::RunContext;
use super::error::RunLogError;
use super::store::RunLog;

/// The committed cursor of one entity stream.
#[derive(Debug, Clone, Serialize)]
pub struct CursorRow {
    /// Pipeline.
    pub pipeline: String,
    /// Entity.
    pub entity: String,
    /// Where reading resumes (none: from the start).
    pub cursor: Option<String>,
    /// The run that committed it.
    pub run_id: Option<i64>,
    /// Records read since the stream was last reset.
    pub records: i64,
    /// When it was committed.
    pub updated_at: String,
}

/// What a cursor reset did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct CursorReset {
    /// Entity.
    pub entity: String,
    /// The cursor before.
    pub before: Option<String>,
    /// The cursor after (none: from the start).
    pub after: Option<String>,
    /// Records the next run reads again; `None` when `after` is not a cursor
    /// this pipeline ever committed, so the count is unknown.
    pub rereads: Option<i64>,
}

/// Commit `cursor` for `entity` of the run's pipeline, adding `records` to
/// the stream's count, and keep it in the history.
pub(super) fn commit_cursor(
    tx: &Transaction<'_>,
    run: &RunContext,
    entity: &str,
    cursor: Option<&str>,
    records: u64,
) -> Result<(), RunLogError> {
    tx.prepare_cached(
        "INSERT INTO cursors (pipeline, entity, cursor, run_id, records) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pipeline, entity) DO UPDATE SET cursor = excluded.cursor, run_id = excluded.run_id,
             records = cursors.records + excluded.records, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    )?
    .execute(params![run.pipeline, entity, cursor, run.run_id, records as i64])?;
    history(tx, &run.pipeline, entity)
}

fn history(tx: &Transaction<'_>, pipeline: &str, entity: &str) -> Result<(), RunLogError> {
    tx.prepare_cached(
        "INSERT INTO cursor_history (pipeline, entity, cursor, records, run_id)
         SELECT pipeline, entity, cursor, records, run_id FROM cursors WHERE pipeline = ?1 AND entity = ?2",
    )?
    .execute(params![pipeline, entity])?;
    Ok(())
}

/// How a run moved the cursor of one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CursorMove {
    /// The entity.
    pub entity: String,
    /// The cursor before the run (the last one committed before it).
    pub before: Option<String>,
    /// The last cursor the run committed.
    pub after: Option<String>,
    /// Checkpoints the run committed.
    pub commits: i64,
}

impl RunLog {
    /// The cursors run `run_id` committed, per entity, with the cursor each
    /// entity had before it.
    pub fn cursor_moves(&self, run_id: i64) -> Result<Vec<CursorMove>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT g.entity,
                    (SELECT p.cursor FROM cursor_history p
                      WHERE p.pipeline = g.pipeline AND p.entity = g.entity AND p.id < g.first
                      ORDER BY p.id DESC LIMIT 1),
                    (SELECT l.cursor FROM cursor_history l WHERE l.id = g.last),
                    g.commits
             FROM (SELECT pipeline, entity, min(id) AS first, max(id) AS last, count(*) AS commits
                   FROM cursor_history WHERE run_id = ?1 GROUP BY pipeline, entity) g
             ORDER BY g.first",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(CursorMove {
                entity: r.get(0)?,
                before: r.get(1)?,
                after: r.get(2)?,
                commits: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The committed cursors of `pipeline` (one entity, or all).
    pub fn cursors(
        &self,
        pipeline: &str,
        entity: Option<&str>,
    ) -> Result<Vec<CursorRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT pipeline, entity, cursor, run_id, records, updated_at FROM cursors
             WHERE pipeline = ?1 AND (?2 IS NULL OR entity = ?2) ORDER BY entity",
        )?;
        let rows = stmt.query_map(params![pipeline, entity], |r| {
            Ok(CursorRow {
                pipeline: r.get(0)?,
                entity: r.get(1)?,
                cursor: r.get(2)?,
                run_id: r.get(3)?,
                records: r.get(4)?,
                updated_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The committed cursor of one stream, if any.
    pub fn cursor(&self, pipeline: &str, entity: &str) -> Result<Option<String>, RunLogError> {
        Ok(self
            .cursors(pipeline, Some(entity))?
            .into_iter()
            .next()
            .and_then(|c| c.cursor))
    }

    /// Move the cursor of `entity` back to `to` (none: the start). With
    /// `dry_run` nothing changes; otherwise the reset is audited.
    pub fn reset_cursor(
        &mut self,
        pipeline: &str,
        entity: &str,
        to: Option<&str>,
        dry_run: bool,
        actor: &str,
    ) -> Result<CursorReset, RunLogError> {
        let tx = self.conn.transaction()?;
        let current: Option<(Option<String>, i64)> = tx
            .query_row(
                "SELECT cursor, records FROM cursors WHERE pipeline = ?1 AND entity = ?2",
                params![pipeline, entity],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (before, read) = current.unwrap_or((None, 0));
        let records_at_target: Option<i64> = match to {
            None => Some(0),
            Some(value) => tx
                .query_row(
                    "SELECT records FROM cursor_history WHERE pipeline = ?1 AND entity = ?2 AND cursor = ?3
                     ORDER BY id DESC LIMIT 1",
                    params![pipeline, entity, value],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let reset = CursorReset {
            entity: entity.to_owned(),
            before: before.clone(),
            after: to.map(str::to_owned),
            rereads: records_at_target.map(|at| (read - at).max(0)),
        };
        if dry_run {
            return Ok(reset);
        }
        tx.execute(
            "INSERT INTO cursors (pipeline, entity, cursor, run_id, records) VALUES (?1, ?2, ?3, NULL, ?4)
             ON CONFLICT (pipeline, entity) DO UPDATE SET cursor = excluded.cursor, run_id = NULL,
                 records = excluded.records, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![pipeline, entity, to, records_at_target.unwrap_or(read)],
        )?;
        history(&tx, pipeline, entity)?;
        insert_audit(
            &tx,
            &AuditEntry {
                actor: actor.to_owned(),
                pipeline: Some(pipeline.to_owned()),
                action: "cursor-reset".to_owned(),
                subject: Some(entity.to_owned()),
                before,
                after: to.map(str::to_owned),
                diff: None,
                run_id: None,
            },
        )?;
        tx.commit()?;
        Ok(reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(log: &mut RunLog, run_id: i64, entity: &str, cursor: &str) {
        let run = RunContext {
            run_id,
            pipeline: "p".into(),
            config_hash: "sha256:00".into(),
            test: false,
        };
        let tx = log.conn.transaction().unwrap();
        commit_cursor(&tx, &run, entity, Some(cursor), 1).unwrap();
        tx.commit().unwrap();
    }

    #[test]
    fn a_run_s_cursor_moves_name_the_cursor_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let first = log.start_run("p", "p.toml", "sha256:00").unwrap();
        commit(&mut log, first, "contacts", "c1");
        commit(&mut log, first, "contacts", "c2");
        let second = log.start_run("p", "p.toml", "sha256:00").unwrap();
        commit(&mut log, second, "contacts", "c3");
        commit(&mut log, second, "companies", "k1");
        let moved = |run| log.cursor_moves(run).unwrap();
        let m = |entity: &str, before: Option<&str>, after: &str, commits| CursorMove {
            entity: entity.into(),
            before: before.map(str::to_owned),
            after: Some(after.into()),
            commits,
        };
        assert_eq!(moved(first), vec![m("contacts", None, "c2", 2)]);
        assert_eq!(
            moved(second),
            vec![
                m("contacts", Some("c2"), "c3", 1),
                m("companies", None, "k1", 1)
            ]
        );
    }
}
