use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// One run, as listed in history.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Run id.
    pub id: i64,
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline file.
    pub pipeline_path: String,
    /// Digest of the effective configuration.
    pub config_hash: String,
    /// `running`, `succeeded`, `partial`, `failed`, `aborted` or `interrupted`.
    pub status: String,
    /// Why the run failed as a whole, when it did.
    pub status_reason: Option<String>,
    /// Start time (UTC, ISO 8601).
    pub started_at: String,
    /// End time.
    pub finished_at: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: Option<i64>,
    /// Items read from the source.
    pub extracted: i64,
    /// Records loaded.
    pub loaded: i64,
    /// Records failed.
    pub failed: i64,
    /// Records skipped.
    pub skipped: i64,
    /// The pipeline's error strategy: `skip`, `retry`, `fail-fast` or `review`.
    pub strategy: String,
    /// The process that ran it (`None` for runs recorded before schema 9).
    pub pid: Option<i64>,
    /// `run`, `replay`, `rerun` or `test` (a test sync: no cursor moved, no
    /// dead-letter entry added or resolved).
    pub kind: String,
    /// A test run: records read per entity, at most (none: all of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_records: Option<i64>,
    /// A test run of a random sample: the seed that draws it again
    /// (`sluice run --sample N --seed S`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_seed: Option<String>,
    /// A test run that never wrote to the target (`--dry-run`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// Counts of one stage for one entity.
#[derive(Debug, Clone, Serialize)]
pub struct StageRow {
    /// Entity.
    pub entity: String,
    /// Stage.
    pub stage: String,
    /// Records in.
    pub records_in: i64,
    /// Records passed on.
    pub records_out: i64,
    /// Records failed here.
    pub failed: i64,
    /// Records skipped here.
    pub skipped: i64,
}

/// One recorded error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// Error id.
    pub id: i64,
    /// Stage.
    pub stage: String,
    /// Entity.
    pub entity: String,
    /// Record key (none for a stream-level error).
    pub record_key: Option<String>,
    /// Source position.
    pub source_position: Option<String>,
    /// Field.
    pub field: Option<String>,
    /// Plugin name.
    pub plugin: Option<String>,
    /// Plugin digest.
    pub plugin_digest: Option<String>,
    /// Category.
    pub category: String,
    /// Code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Retryable.
    pub retryable: bool,
    /// Attempts made before giving up (0 for a record held back).
    pub attempts: i64,
    /// What became of the record: `failed`, `held-back` or `review`.
    pub disposition: String,
    /// When.
    pub occurred_at: String,
}

/// A plugin's role in a run and its resource use.
#[derive(Debug, Clone, Serialize)]
pub struct PluginUseRow {
    /// Where it ran.
    pub role: String,
    /// Name.
    pub plugin: String,
    /// Digest.
    pub digest: String,
    /// World.
    pub kind: String,
    /// Origin.
    pub origin: String,
    /// Calls.
    pub calls: i64,
    /// Records.
    pub records: i64,
    /// Fuel consumed.
    pub fuel: i64,
    /// Time inside the plugin, microseconds.
    pub wall_us: i64,
    /// Largest linear memory, bytes.
    pub peak_memory_bytes: i64,
    /// Instances created.
    pub instantiations: i64,
    /// Failed calls.
    pub failures: i64,
    /// Failed calls by kind (`{"trap": 2}`).
    pub failures_by_kind: serde_json::Map<String, serde_json::Value>,
    /// Log lines dropped by the log cap.
    pub log_lines_dropped: i64,
    /// Why the plugin was quarantined, if it was.
    pub quarantined: Option<String>,
}

/// A run that used a plugin, and where.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRunRow {
    /// The run.
    pub run_id: i64,
    /// Its pipeline.
    pub pipeline: String,
    /// Where the plugin ran (`transform:contacts.email#1`…).
    pub role: String,
    /// The digest that ran.
    pub digest: String,
    /// When the run started.
    pub started_at: String,
}

/// Which errors to list.
#[derive(Debug, Clone, Default)]
pub struct ErrorFilter {
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this code.
    pub code: Option<String>,
    /// Only this field.
    pub field: Option<String>,
    /// Only this entity.
    pub entity: Option<String>,
    /// Only errors of this record.
    pub record_key: Option<String>,
    /// Only errors naming this plugin.
    pub plugin: Option<String>,
    /// At most this many (none: all).
    pub limit: Option<u64>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only this pipeline.
    pub pipeline: Option<String>,
    /// Only runs with this status (`running`, `succeeded`, `partial`...).
    pub status: Option<String>,
    /// Only runs started at or after this UTC time (ISO 8601, or a date).
    pub since: Option<String>,
    /// Only runs started before this UTC time (ISO 8601, or a date).
    pub until: Option<String>,
    /// At most this many, newest first.
    pub limit: u64,
}

const RUN_COLUMNS: &str =
    "id, pipeline, pipeline_path, config_hash, status, status_reason, started_at, finished_at,
    duration_ms, extracted, loaded, failed, skipped, strategy, pid, kind,
    sample_records, sample_seed, dry_run";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        pipeline: r.get(1)?,
        pipeline_path: r.get(2)?,
        config_hash: r.get(3)?,
        status: r.get(4)?,
        status_reason: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        duration_ms: r.get(8)?,
        extracted: r.get(9)?,
        loaded: r.get(10)?,
        failed: r.get(11)?,
        skipped: r.get(12)?,
        strategy: r.get(13)?,
        pid: r.get(14)?,
        kind: r.get(15)?,
        sample_records: r.get(16)?,
        sample_seed: r.get(17)?,
        dry_run: r.get(18)?,
    })
}

impl RunLog {
    /// The most recent runs, newest first, optionally of one pipeline.
    pub fn runs(&self, pipeline: Option<&str>, limit: u64) -> Result<Vec<RunRow>, RunLogError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ?1 IS NULL OR pipeline = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![pipeline, limit as i64], run_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs matching `filter`, newest first.
    pub fn runs_matching(&self, filter: &RunFilter) -> Result<Vec<RunRow>, RunLogError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs
             WHERE (?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR started_at >= ?3) AND (?4 IS NULL OR started_at < ?4)
             ORDER BY id DESC LIMIT ?5"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.pipeline,
                filter.status,
                filter.since,
                filter.until,
                filter.limit as i64
            ],
            run_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Names of the pipelines that have runs, sorted.
    pub fn pipeline_names(&self) -> Result<Vec<String>, RunLogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT pipeline FROM runs ORDER BY pipeline")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolve `last` or a run id.
    pub fn resolve_run(&self, reference: &str) -> Result<i64, RunLogError> {
        let id = if reference == "last" || reference == "latest" {
            self.conn.query_row("SELECT max(id) FROM runs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })?
        } else {
            reference.parse::<i64>().ok()
        };
        let id = id.ok_or_else(|| RunLogError::NoSuchRun(reference.to_owned()))?;
        self.run(id).map(|r| r.id)
    }

    /// One run.
    pub fn run(&self, id: i64) -> Result<RunRow, RunLogError> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                run_row,
            )
            .optional()?
            .ok_or_else(|| RunLogError::NoSuchRun(id.to_string()))
    }

    /// Stage counts of a run, by entity then data-path order.
    pub fn stage_counts(&self, run_id: i64) -> Result<Vec<StageRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT entity, stage, records_in, records_out, failed, skipped FROM stage_counts WHERE run_id = ?1
             ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(StageRow {
                entity: r.get(0)?,
                stage: r.get(1)?,
                records_in: r.get(2)?,
                records_out: r.get(3)?,
                failed: r.get(4)?,
                skipped: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Errors of a run, in the order they happened.
    pub fn errors(&self, run_id: i64, filter: &ErrorFilter) -> Result<Vec<ErrorRow>, RunLogError> {
        let mut sql = String::from(
            "SELECT id, stage, entity, record_key, source_position, field, plugin, plugin_digest, category, code, message,
                    retryable, attempts, disposition, occurred_at
             FROM record_errors WHERE run_id = ?1",
        );
        let mut args: Vec<Sql> = vec![Sql::Integer(run_id)];
        for (column, value) in [
            ("stage", &filter.stage),
            ("category", &filter.category),
            ("code", &filter.code),
            ("field", &filter.field),
            ("entity", &filter.entity),
            ("record_key", &filter.record_key),
            ("plugin", &filter.plugin),
        ] {
            if let Some(v) = value {
                args.push(Sql::Text(v.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", args.len()));
            }
        }
        sql.push_str(" ORDER BY id");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(ErrorRow {
                id: r.get(0)?,
                stage: r.get(1)?,
                entity: r.get(2)?,
                record_key: r.get(3)?,
                source_position: r.get(4)?,
                field: r.get(5)?,
                plugin: r.get(6)?,
                plugin_digest: r.get(7)?,
                category: r.get(8)?,
                code: r.get(9)?,
                message: r.get(10)?,
                retryable: r.get(11)?,
                attempts: r.get(12)?,
                disposition: r.get(13)?,
                occurred_at: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The plugins a run used and what each used.
    pub fn plugin_uses(&self, run_id: i64) -> Result<Vec<PluginUseRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT role, plugin, digest, kind, origin, calls, records, fuel, wall_us, peak_memory_bytes, instantiations,
                    failures, failures_by_kind, log_lines_dropped, quarantined
             FROM run_plugins WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(PluginUseRow {
                role: r.get(0)?,
                plugin: r.get(1)?,
                digest: r.get(2)?,
                kind: r.get(3)?,
                origin: r.get(4)?,
                calls: r.get(5)?,
                records: r.get(6)?,
                fuel: r.get(7)?,
                wall_us: r.get(8)?,
                peak_memory_bytes: r.get(9)?,
                instantiations: r.get(10)?,
                failures: r.get(11)?,
                failures_by_kind: serde_json::from_str(&r.get::<_, String>(12)?)
                    .unwrap_or_default(),
                log_lines_dropped: r.get(13)?,
                quarantined: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The most recent runs that used plugin `name`, newest first.
    pub fn plugin_runs(&self, name: &str, limit: u64) -> Result<Vec<PluginRunRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT p.run_id, r.pipeline, p.role, p.digest, r.started_at
             FROM run_plugins p JOIN runs r ON r.id = p.run_id
             WHERE p.plugin = ?1 ORDER BY p.run_id DESC, p.rowid LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![name, limit as i64], |r| {
            Ok(PluginRunRow {
                run_id: r.get(0)?,
                pipeline: r.get(1)?,
                role: r.get(2)?,
                digest: r.get(3)?,
                started_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Number of skipped records of a run, by reason.
    pub fn skip_reasons(&self, run_id: i64) -> Result<Vec<(String, String, i64)>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT stage, reason, count(*) FROM record_skips WHERE run_id = ?1 GROUP BY stage, reason ORDER BY count(*) DESC",
        )?;
        let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::review::fixture::dlq_log;

    fn ids(log: &RunLog, filter: &RunFilter) -> Vec<i64> {
        let runs = log.runs_matching(filter).unwrap();
        runs.iter().map(|r| r.id).collect()
    }

    #[test]
    fn runs_are_filtered_by_pipeline_status_and_start() {
        let (_dir, log) = dlq_log();
        let all = RunFilter {
            limit: 10,
            ..RunFilter::default()
        };
        assert_eq!(ids(&log, &all), vec![3, 2, 1], "newest first");
        let f = |f: RunFilter| ids(&log, &RunFilter { limit: 10, ..f });
        assert_eq!(
            f(RunFilter {
                pipeline: Some("crm".into()),
                ..RunFilter::default()
            }),
            vec![2, 1]
        );
        assert_eq!(
            f(RunFilter {
                status: Some("failed".into()),
                ..RunFilter::default()
            }),
            Vec::<i64>::new()
        );
        assert_eq!(
            f(RunFilter {
                since: Some("2026-11-02".into()),
                until: Some("2026-11-02T10:00:00Z".into()),
                ..RunFilter::default()
            }),
            vec![2]
        );
        assert_eq!(
            ids(
                &log,
                &RunFilter {
                    limit: 1,
                    ..RunFilter::default()
                }
            ),
            vec![3]
        );
        assert_eq!(log.pipeline_names().unwrap(), vec!["crm", "erp"]);
    }
}
