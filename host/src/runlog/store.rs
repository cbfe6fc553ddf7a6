use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{Connection, params};
use rusqlite_migration::{M, Migrations};

use super::error::RunLogError;
use super::rows::{insert_errors, insert_retries};
use crate::errors::RecordError;
use crate::model::{RunStatus, Stage, StageCounts, Totals};
use crate::plugin::{CallStats, PluginId, PluginKind};
use crate::strategy::{RetryRecord, Strategy};

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_init.sql")),
        M::up(include_str!("migrations/0002_plugin_accounting.sql")),
        M::up(include_str!("migrations/0003_error_model.sql")),
        M::up(include_str!("migrations/0004_dlq_cursors_audit.sql")),
        M::up(include_str!("migrations/0005_cursor_history.sql")),
        M::up(include_str!("migrations/0006_captures.sql")),
        M::up(include_str!("migrations/0007_run_plugin_digests.sql")),
        M::up(include_str!(
            "migrations/0008_dlq_payloads_by_reference.sql"
        )),
        // Rebuilds `runs`, which other tables reference: run with foreign
        // keys off (as `RunLog::open` migrates) and checked before commit.
        M::up(include_str!("migrations/0009_interrupted_runs.sql")).foreign_key_check(),
        M::up(include_str!("migrations/0010_job_schedule.sql")),
        M::up(include_str!("migrations/0011_plugin_store.sql")),
        M::up(include_str!("migrations/0012_webhook_deliveries.sql")),
        M::up(include_str!("migrations/0013_target_ledger.sql")),
    ])
});

/// The file locked while a process sets up or migrates the run log at
/// `db`: `runs.db.migrate-lock` beside it.
fn migrate_lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".migrate-lock");
    db.with_file_name(name)
}

/// A plugin's role in a run and what it used.
#[derive(Debug, Clone)]
pub struct PluginUse {
    /// Where it ran: `source:contacts`, `transform:contacts.email#1`...
    pub role: String,
    /// The plugin.
    pub id: PluginId,
    /// Its world.
    pub kind: PluginKind,
    /// Where it came from.
    pub origin: String,
    /// What it used.
    pub stats: CallStats,
}

/// A connection to the run log.
#[derive(Debug)]
pub struct RunLog {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// Whether the run log behind `conn` is in WAL mode with every migration
/// applied (then opening it needs no setup).
fn is_current(conn: &Connection) -> Result<bool, rusqlite_migration::Error> {
    if MIGRATIONS.pending_migrations(conn)? != 0 {
        return Ok(false);
    }
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

impl RunLog {
    /// Open (creating and migrating as needed) the run log at `path`.
    ///
    /// Several processes may open a new or older run log at once: the one
    /// that finds the schema behind sets it up while holding an exclusive
    /// lock on `<path>.migrate-lock`, and the others wait for the lock and
    /// then find the schema current. A run log already current is opened
    /// without the lock.
    pub fn open(path: &Path) -> Result<Self, RunLogError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let open_err = |source| RunLogError::Open {
            path: path.to_owned(),
            source,
        };
        let migrate_err = |source| RunLogError::Migrate {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_err)?;
        if !is_current(&conn).map_err(migrate_err)? {
            let lock_path = migrate_lock_path(path);
            let lock_err = |source| RunLogError::Lock {
                path: lock_path.clone(),
                source,
            };
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(lock_err)?;
            // Blocks while another process migrates; released when `lock`
            // is dropped (or the process ends).
            lock.lock().map_err(lock_err)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(open_err)?;
            // Foreign keys are off while migrating (the bundled SQLite turns
            // them on by default): dropping a rebuilt table others reference
            // must not delete or refuse anything. A migration that rebuilds
            // one checks them before it commits.
            conn.pragma_update(None, "foreign_keys", "OFF")
                .map_err(open_err)?;
            MIGRATIONS.to_latest(&mut conn).map_err(migrate_err)?;
            drop(lock);
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        Ok(RunLog {
            conn,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record the start of a run; returns its id.
    pub fn start_run(
        &self,
        pipeline: &str,
        pipeline_path: &str,
        config_hash: &str,
    ) -> Result<i64, RunLogError> {
        self.conn.execute(
            "INSERT INTO runs (pipeline, pipeline_path, config_hash, status, sluice_version, pid)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5)",
            params![
                pipeline,
                pipeline_path,
                config_hash,
                env!("CARGO_PKG_VERSION"),
                std::process::id()
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Store every plugin of run `run_id` (role → digest, a JSON object);
    /// its dead-letter entries refer to them.
    pub fn set_run_plugin_digests(&self, run_id: i64, digests: &str) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE runs SET plugin_digests = ?2 WHERE id = ?1",
            params![run_id, digests],
        )?;
        Ok(())
    }

    /// Record errors outside a running writer (setup failures).
    pub fn insert_errors(
        &mut self,
        run_id: i64,
        errors: &[RecordError],
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        insert_errors(&tx, run_id, errors)?;
        tx.commit()?;
        Ok(())
    }

    /// Record retries outside a running writer.
    pub fn insert_retries(
        &mut self,
        run_id: i64,
        retries: &[RetryRecord],
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        insert_retries(&tx, run_id, retries)?;
        tx.commit()?;
        Ok(())
    }

    /// Record what kind of run this is, where it comes from and who started it.
    pub fn set_run_origin(
        &self,
        run_id: i64,
        kind: &str,
        parent: Option<i64>,
        actor: &str,
    ) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE runs SET kind = ?2, parent_run_id = ?3, actor = ?4 WHERE id = ?1",
            params![run_id, kind, parent, actor],
        )?;
        Ok(())
    }

    /// Record how a test run reads its source: at most `records` records
    /// per entity (all when `None`), a random sample drawn with `seed` (the
    /// first records when `None`), and whether the target is written to.
    pub fn set_run_sample(
        &self,
        run_id: i64,
        records: Option<u64>,
        seed: Option<u64>,
        dry_run: bool,
    ) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE runs SET sample_records = ?2, sample_seed = ?3, dry_run = ?4 WHERE id = ?1",
            params![
                run_id,
                records.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                seed.map(|s| s.to_string()),
                dry_run
            ],
        )?;
        Ok(())
    }

    /// Record the pipeline-level error strategy of a run.
    pub fn set_strategy(&self, run_id: i64, strategy: Strategy) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE runs SET strategy = ?2 WHERE id = ?1",
            params![run_id, strategy.as_str()],
        )?;
        Ok(())
    }

    /// Record how a run ended, with its counts and plugin use, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_run(
        &mut self,
        run_id: i64,
        status: RunStatus,
        reason: Option<&str>,
        totals: &Totals,
        duration: Duration,
        stage_counts: &[(String, Stage, StageCounts)],
        plugins: &[PluginUse],
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE runs SET status = ?2, status_reason = ?3, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 duration_ms = ?4, extracted = ?5, loaded = ?6, failed = ?7, skipped = ?8 WHERE id = ?1",
            params![
                run_id,
                status.as_str(),
                reason,
                duration.as_millis() as i64,
                totals.extracted as i64,
                totals.loaded as i64,
                totals.failed as i64,
                totals.skipped as i64
            ],
        )?;
        {
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO stage_counts (run_id, entity, stage, records_in, records_out, failed, skipped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (entity, stage, c) in stage_counts {
                stmt.execute(params![
                    run_id,
                    entity,
                    stage.as_str(),
                    c.records_in as i64,
                    c.records_out as i64,
                    c.failed as i64,
                    c.skipped as i64
                ])?;
            }
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO run_plugins (run_id, role, plugin, digest, kind, origin, calls, records, fuel, wall_us,
                     peak_memory_bytes, instantiations, failures, failures_by_kind, log_lines_dropped, quarantined)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            for p in plugins {
                stmt.execute(params![
                    run_id,
                    p.role,
                    &*p.id.name,
                    &*p.id.digest,
                    p.kind.world(),
                    p.origin,
                    p.stats.calls as i64,
                    p.stats.records as i64,
                    p.stats.fuel as i64,
                    p.stats.wall.as_micros() as i64,
                    p.stats.peak_memory_bytes as i64,
                    p.stats.instantiations as i64,
                    p.stats.failures as i64,
                    serde_json::to_string(&p.stats.failures_by_kind).expect("kinds serialize"),
                    p.stats.log_lines_dropped as i64,
                    p.stats.quarantined
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    /// Many processes (here threads, each with its own connection) opening
    /// a new run log at the same moment: every one of them gets a current
    /// schema, none fails with "table runs already exists" or "database is
    /// locked".
    #[test]
    fn concurrent_opens_of_a_new_run_log_all_succeed() {
        const OPENERS: usize = 12;
        for round in 0..8 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("runs.db");
            let start = Arc::new(Barrier::new(OPENERS));
            let openers: Vec<_> = (0..OPENERS)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        RunLog::open(&path).map(|log| {
                            log.start_run("p", "p.toml", "sha256:c").unwrap();
                        })
                    })
                })
                .collect();
            for opener in openers {
                if let Err(e) = opener.join().unwrap() {
                    panic!("round {round}: {e}");
                }
            }
            let log = RunLog::open(&path).unwrap();
            assert_eq!(MIGRATIONS.pending_migrations(&log.conn).unwrap(), 0);
            assert_eq!(log.runs(None, 100).unwrap().len(), OPENERS);
        }
    }

    /// A run log of schema 8 with runs and dead-letter entries keeps them
    /// all through the rebuild of `runs` in schema 9.
    #[test]
    fn schema_9_keeps_runs_and_what_references_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            MIGRATIONS.to_version(&mut conn, 8).unwrap();
            conn.execute_batch(
                "INSERT INTO runs (pipeline, pipeline_path, config_hash, status, sluice_version, kind, actor)
                     VALUES ('p', 'p.toml', 'sha256:c', 'partial', '0.1.0', 'run', 'ana');
                 INSERT INTO runs (pipeline, pipeline_path, config_hash, status, sluice_version, kind, parent_run_id)
                     VALUES ('p', 'p.toml', 'sha256:c', 'running', '0.1.0', 'replay', 1);
                 INSERT INTO record_errors (run_id, stage, entity, record_key, category, code, message)
                     VALUES (1, 'transform', 'c', 'k1', 'validation', 'bad', 'bad');
                 INSERT INTO dlq (pipeline, entity, record_key, stage, category, code, message, config_hash,
                     first_run_id, last_run_id, error_id, plugin_digests)
                     VALUES ('p', 'c', 'k1', 'transform', 'validation', 'bad', 'bad', 'sha256:c', 1, 1, 1, '');",
            )
            .unwrap();
        }
        let mut log = RunLog::open(&path).unwrap();
        let runs = log.runs(None, 10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[1].status.as_str(), runs[1].pid), ("partial", None));
        assert_eq!(log.dlq_entries(&Default::default()).unwrap().len(), 1);
        assert_eq!(log.errors(1, &Default::default()).unwrap().len(), 1);
        // The new status is allowed; foreign keys still hold.
        log.mark_interrupted(2, "a test").unwrap().unwrap();
        let broken = log.conn.execute(
            "INSERT INTO dlq (pipeline, entity, record_key, stage, category, code, message, config_hash,
                 first_run_id, last_run_id, plugin_digests)
                 VALUES ('p', 'c', 'k2', 'transform', 'validation', 'bad', 'bad', 'sha256:c', 99, 99, '')",
            [],
        );
        assert!(broken.is_err(), "a DLQ entry naming no run was accepted");
        let check: String = log
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
