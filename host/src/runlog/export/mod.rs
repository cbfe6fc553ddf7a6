//! One run exported for support, and imported elsewhere to be browsed.
//!
//! An export is a SQLite file with the run log's own schema holding only
//! that run: its row, stage counts, errors, skips, retries, plugin use,
//! captures, cursor history, audit entries, the DLQ entries it touched and
//! its configuration, plus a `run_export` table naming what it is. Every
//! other run, pipeline and table is left out, values under secret keys are
//! redacted again (`redact.rs`), and the file is vacuumed so nothing deleted
//! survives in free pages. Importing it into an empty data directory makes
//! a run log `sluice ui` and every `sluice runs`/`errors` command can read.

mod redact;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

pub use redact::redact_text;

use super::error::RunLogError;
use super::store::RunLog;

/// The table that marks a file as an export, with its manifest.
const MARK_TABLE: &str = "run_export";

/// What an export holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportManifest {
    /// The run.
    pub run_id: i64,
    /// Its pipeline.
    pub pipeline: String,
    /// Its status.
    pub status: String,
    /// The version of Sluice that exported it.
    pub sluice_version: String,
    /// When (UTC).
    pub exported_at: String,
    /// Who.
    pub exported_by: String,
    /// The plugins the run used, role → digest.
    pub plugin_digests: serde_json::Value,
    /// Values replaced because their key names a secret.
    pub redacted_values: u64,
}

/// An export or import could not be made. Nothing was left behind.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The run log could not be read.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    /// The destination exists.
    #[error("{} already exists; choose another file or remove it", .0.display())]
    Exists(PathBuf),
    /// Writing or reading the export failed.
    #[error("cannot write or read the export {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not an export.
    #[error("{} is not a Sluice run export (made by `sluice runs export`)", .0.display())]
    NotAnExport(PathBuf),
    /// The data directory already has a run log.
    #[error("{} already holds a run log; import into a new, empty data directory (--data-dir)", .0.display())]
    NotEmpty(PathBuf),
    /// Copying the file failed.
    #[error("cannot copy {} to {}: {source}", from.display(), to.display())]
    Copy {
        /// The export.
        from: PathBuf,
        /// The run log.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Tables that are kept whole-run by their `run_id` column.
const BY_RUN_ID: &[&str] = &[
    "stage_counts",
    "record_errors",
    "record_skips",
    "record_retries",
    "run_plugins",
    "captures",
    "cursor_history",
    "audit_log",
    "job_runs",
    "webhook_deliveries",
];

/// Text columns that may carry record contents or configuration.
const TEXT_COLUMNS: &[(&str, &str, &str)] = &[
    ("pipeline_configs", "config_hash", "config"),
    ("captures", "id", "document"),
    ("record_errors", "id", "payload"),
    ("record_errors", "id", "source_payload"),
    ("record_errors", "id", "message"),
    ("record_skips", "id", "reason"),
    ("dlq", "id", "payload"),
    ("dlq", "id", "source_payload"),
    ("dlq", "id", "message"),
    ("dlq_payloads", "rowid", "payload"),
    ("audit_log", "id", "before"),
    ("audit_log", "id", "after"),
    ("audit_log", "id", "diff"),
    ("webhook_deliveries", "id", "payload"),
];

impl RunLog {
    /// Export run `run_id` to `dest` (which must not exist), as `by`.
    pub fn export_run(
        &self,
        run_id: i64,
        dest: &Path,
        by: &str,
    ) -> Result<ExportManifest, ExportError> {
        let run = self.run(run_id)?;
        if dest.exists() {
            return Err(ExportError::Exists(dest.to_owned()));
        }
        let partial = dest.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| ExportError::Copy {
                from: self.path().to_owned(),
                to: dest.to_owned(),
                source,
            })?;
        }
        let file_err = |source| ExportError::File {
            path: dest.to_owned(),
            source,
        };
        self.conn
            .execute("VACUUM INTO ?1", [partial.to_string_lossy()])
            .map_err(file_err)?;
        let made = (|| {
            let mut conn = Connection::open(&partial)?;
            // The run's DLQ entries may name earlier runs, which are left out.
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            let tx = conn.transaction()?;
            keep_only(&tx, run_id, &run.pipeline, &run.config_hash)?;
            let redacted = redact_all(&tx)?;
            let digests: Option<String> = tx
                .query_row(
                    "SELECT plugin_digests FROM runs WHERE id = ?1",
                    [run_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let manifest = ExportManifest {
                run_id,
                pipeline: run.pipeline.clone(),
                status: run.status.clone(),
                sluice_version: env!("CARGO_PKG_VERSION").to_owned(),
                exported_at: jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
                exported_by: by.to_owned(),
                plugin_digests: digests
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(serde_json::Value::Null),
                redacted_values: redacted,
            };
            tx.execute_batch(&format!(
                "CREATE TABLE {MARK_TABLE} (manifest TEXT NOT NULL)"
            ))?;
            tx.execute(
                &format!("INSERT INTO {MARK_TABLE} (manifest) VALUES (?1)"),
                [serde_json::to_string(&manifest).expect("a manifest serializes")],
            )?;
            tx.commit()?;
            // Deleted rows stay in free pages until the file is rebuilt.
            conn.execute_batch("VACUUM")?;
            Ok(manifest)
        })();
        match made {
            Ok(manifest) => {
                std::fs::rename(&partial, dest).map_err(|source| ExportError::Copy {
                    from: partial.clone(),
                    to: dest.to_owned(),
                    source,
                })?;
                Ok(manifest)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(file_err(e))
            }
        }
    }
}

/// Delete everything that is not run `run_id`'s.
fn keep_only(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    pipeline: &str,
    config_hash: &str,
) -> rusqlite::Result<()> {
    let tables: Vec<String> = tx
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in &tables {
        let t = table.as_str();
        match t {
            "runs" => {
                tx.execute("DELETE FROM runs WHERE id <> ?1", [run_id])?;
                tx.execute("UPDATE runs SET parent_run_id = NULL", [])?;
            }
            "dlq" => {
                tx.execute(
                    "DELETE FROM dlq WHERE first_run_id <> ?1 AND last_run_id <> ?1
                       AND coalesce(resolved_by_run, 0) <> ?1",
                    [run_id],
                )?;
            }
            "pipeline_configs" => {
                tx.execute(
                    "DELETE FROM pipeline_configs WHERE config_hash <> ?1",
                    [config_hash],
                )?;
            }
            "cursors" => {
                tx.execute("DELETE FROM cursors WHERE pipeline <> ?1", [pipeline])?;
            }
            // Rows of kept rows, handled after the loop.
            "dlq_payloads" | "webhook_attempts" => {}
            t if BY_RUN_ID.contains(&t) => {
                tx.execute(
                    &format!("DELETE FROM {t} WHERE run_id IS NOT ?1"),
                    params![run_id],
                )?;
            }
            // Anything else (schedules, stores, tables a later version
            // adds) is not the run's: left out.
            t => {
                tx.execute(&format!("DELETE FROM \"{}\"", t.replace('"', "")), [])?;
            }
        }
    }
    if tables.iter().any(|t| t == "dlq_payloads") {
        tx.execute(
            "DELETE FROM dlq_payloads WHERE entry_id NOT IN (SELECT id FROM dlq)",
            [],
        )?;
    }
    if tables.iter().any(|t| t == "webhook_attempts") {
        tx.execute(
            "DELETE FROM webhook_attempts WHERE delivery_id NOT IN (SELECT id FROM webhook_deliveries)",
            [],
        )?;
    }
    Ok(())
}

/// Redact every text column that may carry secrets; how many values were.
fn redact_all(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<u64> {
    let mut redacted = 0;
    for (table, key, column) in TEXT_COLUMNS {
        let exists: bool = tx.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !exists {
            continue;
        }
        let rows: Vec<(rusqlite::types::Value, String)> = tx
            .prepare(&format!(
                "SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, text) in rows {
            if let Some(clean) = redact_text(&text) {
                tx.execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE {key} = ?2"),
                    params![clean, id],
                )?;
                redacted += 1;
            }
        }
    }
    Ok(redacted)
}

/// The manifest of an export file, or why it is not one.
pub fn read_manifest(file: &Path) -> Result<ExportManifest, ExportError> {
    let not_export = || ExportError::NotAnExport(file.to_owned());
    if !file.is_file() {
        return Err(not_export());
    }
    let conn = Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| not_export())?;
    let text: String = conn
        .query_row(&format!("SELECT manifest FROM {MARK_TABLE}"), [], |r| {
            r.get(0)
        })
        .map_err(|_| not_export())?;
    serde_json::from_str(&text).map_err(|_| not_export())
}

/// Import an export into `data_dir`, which must hold no run log yet; the
/// run log is migrated to this version's schema.
pub fn import_run(file: &Path, data_dir: &Path) -> Result<ExportManifest, ExportError> {
    let manifest = read_manifest(file)?;
    let log_path = data_dir.join("runs.db");
    if log_path.exists() {
        return Err(ExportError::NotEmpty(data_dir.to_owned()));
    }
    let copy_err = |source| ExportError::Copy {
        from: file.to_owned(),
        to: log_path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(copy_err)?;
    std::fs::copy(file, &log_path).map_err(copy_err)?;
    if let Err(e) = RunLog::open(&log_path) {
        let _ = std::fs::remove_file(&log_path);
        return Err(e.into());
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::review::fixture::dlq_log;

    #[test]
    fn an_export_holds_one_run_redacted_and_imports_into_an_empty_directory() {
        let (dir, log) = dlq_log();
        log.conn
            .execute(
                "INSERT INTO pipeline_configs (config_hash, pipeline, config) VALUES
                 ('sha256:c0ffee', 'crm', 'name = \"crm\"\n[target.options]\napi_key = \"sk-live-xyz\"\n')",
                [],
            )
            .unwrap();
        log.conn
            .execute(
                "UPDATE dlq SET payload = '{\"id\":\"c-0002\",\"token\":\"tok-secret-1\"}' WHERE record_key = 'c-0002'",
                [],
            )
            .unwrap();
        let file = dir.path().join("run-2.sluicerun");
        let manifest = log.export_run(2, &file, "ana").unwrap();
        assert_eq!((manifest.run_id, manifest.pipeline.as_str()), (2, "crm"));
        assert!(manifest.redacted_values >= 2, "{manifest:?}");

        let bytes = std::fs::read(&file).unwrap();
        let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            !has("sk-live-xyz"),
            "a secret in the configuration left the machine"
        );
        assert!(
            !has("tok-secret-1"),
            "a secret in a payload left the machine"
        );
        assert!(!has("o-0001"), "another pipeline's record left the machine");

        assert!(matches!(
            log.export_run(2, &file, "ana"),
            Err(ExportError::Exists(_))
        ));
        assert!(matches!(
            log.export_run(99, &dir.path().join("x"), "ana"),
            Err(ExportError::RunLog(RunLogError::NoSuchRun(_)))
        ));

        let into = dir.path().join("support");
        assert_eq!(import_run(&file, &into).unwrap(), manifest);
        let imported = RunLog::open(&into.join("runs.db")).unwrap();
        let runs = imported.runs(None, 10).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2]);
        let entries = imported
            .dlq_entries(&crate::runlog::DlqFilter {
                include_review: true,
                ..Default::default()
            })
            .unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.record_key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["c-0002", "c-0003", "k-0001", "c-0006"],
            "the run's own entries"
        );
        assert!(matches!(
            import_run(&file, &into),
            Err(ExportError::NotEmpty(_))
        ));
        assert!(matches!(
            import_run(&dir.path().join("runs.db"), &dir.path().join("other")),
            Err(ExportError::NotAnExport(_))
        ));
    }
}
