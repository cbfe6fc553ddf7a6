//! The dead-letter queue: reading entries with filters.

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::context::RunContext;
use super::error::RunLogError;
use super::store::RunLog;
use crate::model::{Category, Disposition, DlqStatus, Resolution, Stage};

/// Which DLQ entries to select. Unset fields match everything; by default
/// only open entries that are not parked for review.
#[derive(Debug, Clone, Default)]
pub struct DlqFilter {
    /// Only these entries (ids); other fields still apply.
    pub ids: Vec<i64>,
    /// Only this pipeline.
    pub pipeline: Option<String>,
    /// Only entries whose last failure was in this run.
    pub run_id: Option<i64>,
    /// Only this entity.
    pub entity: Option<String>,
    /// Only entries that failed at this stage.
    pub stage: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this code.
    pub code: Option<String>,
    /// Only this field.
    pub field: Option<String>,
    /// Only entries updated at or after this UTC time (ISO 8601).
    pub since: Option<String>,
    /// Only entries that entered the queue before this UTC time (ISO 8601):
    /// entries at least this old.
    pub created_before: Option<String>,
    /// Only entries whose record key contains this text (exact bytes, case
    /// sensitive).
    pub key_contains: Option<String>,
    /// Only entries whose last failure names this plugin.
    pub plugin: Option<String>,
    /// Which statuses: open entries by default.
    pub status: StatusFilter,
    /// Only this disposition. When unset, entries parked for review are
    /// left out unless `include_review`.
    pub disposition: Option<Disposition>,
    /// Also select entries parked for review.
    pub include_review: bool,
    /// At most this many, oldest first.
    pub limit: Option<u64>,
}

/// Which statuses a [`DlqFilter`] selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Entries with this status.
    Only(DlqStatus),
    /// Entries with any status.
    Any,
}

impl Default for StatusFilter {
    /// Open entries.
    fn default() -> Self {
        StatusFilter::Only(DlqStatus::Open)
    }
}

/// Record keys with open DLQ entries, by entity.
#[derive(Debug, Clone, Default)]
pub struct OpenKeys(std::collections::HashMap<String, std::collections::HashSet<String>>);

impl OpenKeys {
    /// Whether no entry is open.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|k| k.is_empty())
    }

    /// Whether `key` of `entity` has an open entry.
    pub fn contains(&self, entity: &str, key: &str) -> bool {
        self.0.get(entity).is_some_and(|k| k.contains(key))
    }

    /// Note an open entry for `key` of `entity`.
    pub fn insert(&mut self, entity: &str, key: &str) {
        self.0
            .entry(entity.to_owned())
            .or_default()
            .insert(key.to_owned());
    }
}

/// One DLQ entry.
#[derive(Debug, Clone, Serialize)]
pub struct DlqEntry {
    /// Entry id.
    pub id: i64,
    /// Pipeline name.
    pub pipeline: String,
    /// Entity.
    pub entity: String,
    /// Record key.
    pub record_key: String,
    /// Where the record came from in the source.
    pub source_position: Option<String>,
    /// The stage it failed at, where a replay re-enters it.
    pub stage: Stage,
    /// The record as it entered that stage (current version).
    pub payload: Option<String>,
    /// The record as the source produced it.
    pub source_payload: Option<String>,
    /// Category of the last failure.
    pub category: Category,
    /// Code of the last failure.
    pub code: String,
    /// Field of the last failure.
    pub field: Option<String>,
    /// Message of the last failure.
    pub message: String,
    /// Plugin of the last failure.
    pub plugin: Option<String>,
    /// Its digest.
    pub plugin_digest: Option<String>,
    /// Every plugin of the failing run, role → digest.
    pub plugin_digests: serde_json::Map<String, serde_json::Value>,
    /// Configuration of the failing run.
    pub config_hash: String,
    /// Attempts made in the last failure.
    pub attempts: i64,
    /// Runs this record failed in.
    pub failures: i64,
    /// What became of the record: failed, held back or parked for review.
    pub disposition: Disposition,
    /// Whether it is still in the queue.
    pub status: DlqStatus,
    /// Current payload version (edits in review add versions).
    pub payload_version: i64,
    /// First failing run.
    pub first_run_id: i64,
    /// Last failing run.
    pub last_run_id: i64,
    /// When it entered the queue.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When it was resolved or discarded.
    pub resolved_at: Option<String>,
    /// The run that resolved it.
    pub resolved_by_run: Option<i64>,
    /// How it left the queue.
    pub resolution: Option<Resolution>,
}

/// SQL for an entry's current `payload` or `source_payload`: its own, or
/// (schema 8) that of its error row, which entries leave NULL to share.
macro_rules! current_payload {
    ($column:literal) => {
        concat!(
            "coalesce(dlq.",
            $column,
            ", (SELECT e.",
            $column,
            " FROM record_errors e WHERE e.id = dlq.error_id))"
        )
    };
}
pub(super) use current_payload;

const COLUMNS: &str = concat!(
    "id, pipeline, entity, record_key, source_position, stage, ",
    current_payload!("payload"),
    ", ",
    current_payload!("source_payload"),
    ",
    category, code, field, message, plugin, plugin_digest,
    coalesce(nullif(plugin_digests, ''), (SELECT r.plugin_digests FROM runs r WHERE r.id = dlq.last_run_id), '{}'),
    config_hash, attempts, failures,
    disposition, status, payload_version, first_run_id, last_run_id, created_at, updated_at, resolved_at,
    resolved_by_run, resolution"
);

fn entry(r: &Row<'_>) -> rusqlite::Result<DlqEntry> {
    Ok(DlqEntry {
        id: r.get(0)?,
        pipeline: r.get(1)?,
        entity: r.get(2)?,
        record_key: r.get(3)?,
        source_position: r.get(4)?,
        stage: r.get(5)?,
        payload: r.get(6)?,
        source_payload: r.get(7)?,
        category: r.get(8)?,
        code: r.get(9)?,
        field: r.get(10)?,
        message: r.get(11)?,
        plugin: r.get(12)?,
        plugin_digest: r.get(13)?,
        plugin_digests: serde_json::from_str(&r.get::<_, String>(14)?).unwrap_or_default(),
        config_hash: r.get(15)?,
        attempts: r.get(16)?,
        failures: r.get(17)?,
        disposition: r.get(18)?,
        status: r.get(19)?,
        payload_version: r.get(20)?,
        first_run_id: r.get(21)?,
        last_run_id: r.get(22)?,
        created_at: r.get(23)?,
        updated_at: r.get(24)?,
        resolved_at: r.get(25)?,
        resolved_by_run: r.get(26)?,
        resolution: r.get(27)?,
    })
}

impl RunLog {
    /// DLQ entries matching `filter`, oldest first.
    pub fn dlq_entries(&self, filter: &DlqFilter) -> Result<Vec<DlqEntry>, RunLogError> {
        let mut sql = format!("SELECT {COLUMNS} FROM dlq WHERE 1 = 1");
        let mut args: Vec<Sql> = Vec::new();
        let mut push = |sql: &mut String, clause: &str, value: Sql| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        match filter.status {
            StatusFilter::Any => {}
            StatusFilter::Only(status) => push(
                &mut sql,
                " AND status = ?",
                Sql::Text(status.as_str().to_owned()),
            ),
        }
        match filter.disposition {
            Some(d) => push(
                &mut sql,
                " AND disposition = ?",
                Sql::Text(d.as_str().to_owned()),
            ),
            None if !filter.include_review => sql.push_str(" AND disposition <> 'review'"),
            None => {}
        }
        for (clause, value) in [
            (" AND pipeline = ?", &filter.pipeline),
            (" AND entity = ?", &filter.entity),
            (" AND stage = ?", &filter.stage),
            (" AND category = ?", &filter.category),
            (" AND code = ?", &filter.code),
            (" AND field = ?", &filter.field),
            (" AND updated_at >= ?", &filter.since),
            (" AND created_at < ?", &filter.created_before),
            (" AND instr(record_key, ?) > 0", &filter.key_contains),
            (" AND plugin = ?", &filter.plugin),
        ] {
            if let Some(v) = value {
                push(&mut sql, clause, Sql::Text(v.clone()));
            }
        }
        if let Some(run) = filter.run_id {
            push(&mut sql, " AND last_run_id = ?", Sql::Integer(run));
        }
        if !filter.ids.is_empty() {
            let ids: Vec<String> = filter.ids.iter().map(i64::to_string).collect();
            sql.push_str(&format!(" AND id IN ({})", ids.join(", ")));
        }
        sql.push_str(" ORDER BY id");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One DLQ entry, whatever its status.
    pub fn dlq_entry(&self, id: i64) -> Result<DlqEntry, RunLogError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM dlq WHERE id = ?1"),
                [id],
                entry,
            )
            .optional()?
            .ok_or(RunLogError::NoSuchDlqEntry(id))
    }

    /// How many of the entries `ids` run `run_id` resolved.
    pub fn count_resolved_by(&self, run_id: i64, ids: &[i64]) -> Result<u64, RunLogError> {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let n: i64 = self.conn.query_row(
            &format!(
                "SELECT count(*) FROM dlq WHERE resolved_by_run = ?1 AND id IN ({})",
                list.join(", ")
            ),
            [run_id],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The kind of run `run_id` was: `run`, `replay` or `rerun`.
    pub fn run_kind(&self, run_id: i64) -> Result<String, RunLogError> {
        self.conn
            .query_row("SELECT kind FROM runs WHERE id = ?1", [run_id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| RunLogError::NoSuchRun(run_id.to_string()))
    }

    /// The pipeline file the most recent run of `pipeline` used.
    pub fn latest_pipeline_path(&self, pipeline: &str) -> Result<Option<String>, RunLogError> {
        Ok(self
            .conn
            .query_row(
                "SELECT pipeline_path FROM runs WHERE pipeline = ?1 ORDER BY id DESC LIMIT 1",
                [pipeline],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The keys of the open entries of `pipeline`, by entity: a run reports
    /// loading or skipping these records, so their entries are resolved.
    pub fn open_dlq_keys(&self, pipeline: &str) -> Result<OpenKeys, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT entity, record_key FROM dlq WHERE pipeline = ?1 AND status = 'open'",
        )?;
        let mut keys = OpenKeys::default();
        let rows = stmt.query_map([pipeline], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (entity, key) = row?;
            keys.0.entry(entity).or_default().insert(key);
        }
        Ok(keys)
    }
}

/// Put failed records into the dead-letter queue, or update their open
/// entries, from the `record_errors` rows `first_id..=last_id` that this
/// transaction just wrote, in one statement. The entry leaves its payloads
/// NULL, meaning those of its error row (`current_payload!`), so a failed record's
/// payloads are written once. A failure without a source payload keeps the
/// previous one in the entry. A record with several errors in one run
/// keeps the first.
pub(super) fn dead_letter(
    tx: &Transaction<'_>,
    run: &RunContext,
    first_id: i64,
    last_id: i64,
) -> Result<(), RunLogError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO dlq (pipeline, entity, record_key, source_position, stage, payload, source_payload, category,
             code, field, message, plugin, plugin_digest, plugin_digests, config_hash, attempts, disposition,
             first_run_id, last_run_id, error_id, created_at, updated_at)
         SELECT ?1, entity, record_key, source_position, stage, NULL, NULL, category,
             code, field, message, plugin, plugin_digest, '', ?2, attempts, disposition,
             run_id, run_id, id, occurred_at, occurred_at
         FROM record_errors
         -- Stream-level errors and commit failures name no record to replay.
         WHERE id BETWEEN ?3 AND ?4 AND record_key IS NOT NULL AND stage <> 'finalize'
         ORDER BY id
         ON CONFLICT (pipeline, entity, record_key) WHERE status = 'open' DO UPDATE SET
             source_position = excluded.source_position, stage = excluded.stage, payload = NULL,
             source_payload = CASE
                 WHEN (SELECT e.source_payload IS NULL FROM record_errors e WHERE e.id = excluded.error_id)
                 THEN coalesce(dlq.source_payload,
                     (SELECT e.source_payload FROM record_errors e WHERE e.id = dlq.error_id))
                 END,
             category = excluded.category, code = excluded.code, field = excluded.field,
             message = excluded.message, plugin = excluded.plugin, plugin_digest = excluded.plugin_digest,
             plugin_digests = excluded.plugin_digests, config_hash = excluded.config_hash,
             attempts = excluded.attempts, disposition = excluded.disposition, failures = dlq.failures + 1,
             last_run_id = excluded.last_run_id, error_id = excluded.error_id,
             updated_at = excluded.updated_at
         WHERE dlq.last_run_id <> excluded.last_run_id",
    )?;
    stmt.execute(params![run.pipeline, run.config_hash, first_id, last_id])?;
    Ok(())
}

/// Resolve the open entries of records that got through.
pub(super) fn resolve(
    tx: &Transaction<'_>,
    run: &RunContext,
    entity: &str,
    keys: &[String],
    resolution: &Resolution,
) -> Result<(), RunLogError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE dlq SET status = 'resolved', resolution = ?4, resolved_by_run = ?5,
             resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE pipeline = ?1 AND entity = ?2 AND record_key = ?3 AND status = 'open'",
    )?;
    for key in keys {
        stmt.execute(params![run.pipeline, entity, key, resolution, run.run_id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{Category, RecordError};
    use crate::model::Stage;
    use crate::runlog::{LogEvent, spawn_writer};

    fn error(key: Option<&str>, stage: Stage, code: &str, payload: Option<&str>) -> RecordError {
        RecordError {
            record_key: key.map(str::to_owned),
            source_position: key.map(|k| format!("contacts.jsonl:{k}")),
            payload: payload.map(str::to_owned),
            source_payload: payload.map(|p| format!("source {p}")),
            ..RecordError::new(
                stage,
                "contacts",
                Category::Validation,
                code,
                format!("{code} message"),
            )
        }
    }

    /// Writes `batches` as one run of `pipe` through the writer thread.
    fn write_run(log: &RunLog, batches: Vec<Vec<RecordError>>) -> i64 {
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
        for batch in batches {
            writer.tx.send(LogEvent::Errors(batch)).unwrap();
        }
        drop(writer.tx);
        writer.thread.join().unwrap().unwrap();
        run_id
    }

    fn entry<'a>(entries: &'a [DlqEntry], key: &str) -> &'a DlqEntry {
        entries.iter().find(|e| e.record_key == key).unwrap()
    }

    #[test]
    fn failed_records_enter_the_queue_once_and_a_later_failure_updates_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let first = write_run(
            &log,
            vec![
                vec![
                    error(Some("a"), Stage::Transform, "first", Some("{\"v\":1}")),
                    error(Some("a"), Stage::Transform, "second", Some("{\"v\":2}")),
                    error(None, Stage::Ingest, "stream", None),
                ],
                vec![
                    error(Some("b"), Stage::Finalize, "commit", Some("{}")),
                    error(Some("c"), Stage::Normalize, "bad", Some("{\"c\":1}")),
                ],
            ],
        );
        let entries = log.dlq_entries(&DlqFilter::default()).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.record_key.as_str()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        let a = entry(&entries, "a");
        assert_eq!(
            (a.code.as_str(), a.payload.as_deref(), a.failures),
            ("first", Some("{\"v\":1}"), 1)
        );
        assert_eq!(a.source_payload.as_deref(), Some("source {\"v\":1}"));
        assert_eq!((a.first_run_id, a.last_run_id), (first, first));
        assert_eq!(a.config_hash, "sha256:c");
        let c = entry(&entries, "c");
        assert_eq!((c.stage, c.code.as_str()), (Stage::Normalize, "bad"));

        // A second run fails `a` again, without a source payload this time.
        let mut again = error(Some("a"), Stage::Execute, "again", Some("{\"v\":3}"));
        again.source_payload = None;
        let second = write_run(&log, vec![vec![again]]);
        let entries = log.dlq_entries(&DlqFilter::default()).unwrap();
        let a = entry(&entries, "a");
        assert_eq!(
            (a.code.as_str(), a.stage, a.payload.as_deref()),
            ("again", Stage::Execute, Some("{\"v\":3}"))
        );
        assert_eq!(
            (a.failures, a.first_run_id, a.last_run_id),
            (2, first, second)
        );
        assert_eq!(a.source_payload.as_deref(), Some("source {\"v\":1}"));
        assert_eq!(entry(&entries, "c").failures, 1);

        // Entries share their error row's payloads rather than copying
        // them; only the source payload the later failure lacked is kept.
        let stored = |key: &str| -> (bool, bool) {
            log.conn
                .query_row(
                    "SELECT payload IS NULL, source_payload IS NULL FROM dlq WHERE record_key = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        assert_eq!(stored("c"), (true, true));
        assert_eq!(stored("a"), (true, false));
    }

    #[test]
    fn statuses_read_back_typed_and_unknown_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        write_run(
            &log,
            vec![vec![
                error(Some("a"), Stage::Transform, "x", Some("{}")),
                error(Some("b"), Stage::Transform, "x", Some("{}")),
            ]],
        );
        let entries = log.dlq_entries(&DlqFilter::default()).unwrap();
        let a = entry(&entries, "a");
        assert_eq!(
            (a.status, a.disposition, &a.resolution),
            (DlqStatus::Open, Disposition::Failed, &None)
        );
        let any = DlqFilter {
            status: StatusFilter::Any,
            ..DlqFilter::default()
        };

        // A resolution this version does not know: an error naming it.
        log.conn
            .execute(
                "UPDATE dlq SET status = 'resolved', resolution = 'teleported' WHERE record_key = 'a'",
                [],
            )
            .unwrap();
        let err = log.dlq_entries(&any).unwrap_err().to_string();
        assert!(err.contains("`teleported`"), "{err}");
        assert!(err.contains("resolution"), "{err}");

        // So is a status or disposition outside the schema's checks.
        log.conn
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 UPDATE dlq SET status = 'open', resolution = NULL, disposition = 'limbo' WHERE record_key = 'a';
                 UPDATE dlq SET status = 'closed' WHERE record_key = 'b';",
            )
            .unwrap();
        let err = log.dlq_entry(a.id).unwrap_err().to_string();
        assert!(
            err.contains("`limbo`") && err.contains("disposition"),
            "{err}"
        );
        let b = entries.iter().find(|e| e.record_key == "b").unwrap().id;
        let err = log.dlq_entry(b).unwrap_err().to_string();
        assert!(err.contains("`closed`") && err.contains("status"), "{err}");

        // And a stage or category.
        log.conn
            .execute_batch(
                "UPDATE dlq SET status = 'open', stage = 'warp' WHERE record_key = 'b';
                 UPDATE dlq SET disposition = 'failed', category = 'cosmic' WHERE record_key = 'a';",
            )
            .unwrap();
        let err = log.dlq_entry(b).unwrap_err().to_string();
        assert!(err.contains("`warp`") && err.contains("stage"), "{err}");
        let err = log.dlq_entry(a.id).unwrap_err().to_string();
        assert!(
            err.contains("`cosmic`") && err.contains("category"),
            "{err}"
        );
    }
}
