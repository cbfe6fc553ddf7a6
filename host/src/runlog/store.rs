use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{Connection, params};
use rusqlite_migration::{M, Migrations};

use crate::errors::RecordError;
use crate::plugin::{CallStats, PluginId, PluginKind};
use crate::stages::StageCounts;
use crate::stages::finalize::{RunStatus, Totals};
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
    ])
});

/// A run log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    /// The database could not be opened or created.
    #[error("cannot open the run log {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the run log {}: {source}", path.display())]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migration error.
        source: rusqlite_migration::Error,
    },
    /// A query failed.
    #[error("run log query failed: {0}")]
    Query(#[from] rusqlite::Error),
    /// No run has that id.
    #[error("no run {0} in the run log; `sluice runs` lists the runs")]
    NoSuchRun(String),
    /// No DLQ entry has that id.
    #[error("no dead-letter entry {0}; `sluice dlq list` lists them")]
    NoSuchDlqEntry(i64),
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

impl RunLog {
    /// Open (creating and migrating as needed) the run log at `path`.
    pub fn open(path: &Path) -> Result<Self, RunLogError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let open_err = |source| RunLogError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        MIGRATIONS
            .to_latest(&mut conn)
            .map_err(|source| RunLogError::Migrate {
                path: path.to_owned(),
                source,
            })?;
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
            "INSERT INTO runs (pipeline, pipeline_path, config_hash, status, sluice_version) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![pipeline, pipeline_path, config_hash, env!("CARGO_PKG_VERSION")],
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
        super::writer::insert_errors(&tx, run_id, errors)?;
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
        super::writer::insert_retries(&tx, run_id, retries)?;
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
        stage_counts: &[(String, crate::stages::Stage, StageCounts)],
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
