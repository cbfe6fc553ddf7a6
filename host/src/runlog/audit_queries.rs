//! Reading the audit log (`sluice audit`), and the transaction in which a
//! run's start is compared with the runs before it ([`crate::audit`]).

use std::collections::BTreeMap;

use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::audit::{AuditEntry, insert_audit};
use super::error::RunLogError;
use super::stats::Since;
use super::store::RunLog;

/// Which audit entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries of this pipeline.
    pub pipeline: Option<String>,
    /// Only entries recorded at or after this.
    pub since: Option<Since>,
    /// Only entries with this action (`config-changed`...).
    pub action: Option<String>,
    /// At most this many, newest first (none: all).
    pub limit: Option<u64>,
}

/// One row of `audit_log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Entry id; increases with every entry.
    pub id: i64,
    /// When it was recorded (UTC, `2026-11-03T10:15:02.123Z`).
    pub at: String,
    /// Who made the change.
    pub actor: String,
    /// The pipeline concerned, if any.
    pub pipeline: Option<String>,
    /// What happened (`config-changed`, `plugin-changed`, `cursor-reset`...).
    pub action: String,
    /// What it happened to: a pipeline file, a plugin role, a DLQ entry...
    pub subject: Option<String>,
    /// The value before.
    pub before: Option<String>,
    /// The value after.
    pub after: Option<String>,
    /// A unified diff of `before` and `after`, for documents.
    pub diff: Option<String>,
    /// The run that saw or made the change.
    pub run_id: Option<i64>,
}

/// The run of a pipeline that came before another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorRun {
    /// Its id.
    pub id: i64,
    /// The configuration it ran (`sha256:…`).
    pub config_hash: String,
}

/// The digest a plugin role last ran with, and in which run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDigest {
    /// `sha256:…`.
    pub digest: String,
    /// The run that last used it.
    pub run_id: i64,
}

/// A write transaction (`BEGIN IMMEDIATE`) over the run log, for recording
/// what changed at the start of a run: see [`RunLog::audit_transaction`].
#[derive(Debug)]
pub struct AuditTx<'a> {
    tx: Transaction<'a>,
}

impl AuditTx<'_> {
    /// The most recent run of `pipeline` before run `before`.
    pub fn prior_run(&self, pipeline: &str, before: i64) -> Result<Option<PriorRun>, RunLogError> {
        Ok(self
            .tx
            .query_row(
                "SELECT id, config_hash FROM runs WHERE pipeline = ?1 AND id < ?2
                 ORDER BY id DESC LIMIT 1",
                params![pipeline, before],
                |r| {
                    Ok(PriorRun {
                        id: r.get(0)?,
                        config_hash: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// The effective configuration kept for `config_hash`, if any.
    pub fn config_text(&self, config_hash: &str) -> Result<Option<String>, RunLogError> {
        Ok(self
            .tx
            .query_row(
                "SELECT config FROM pipeline_configs WHERE config_hash = ?1",
                [config_hash],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Keep `config` as the effective configuration of `config_hash`,
    /// unless one is kept already; true when it was stored now.
    pub fn store_config(
        &self,
        config_hash: &str,
        pipeline: &str,
        config: &str,
    ) -> Result<bool, RunLogError> {
        let stored = self.tx.execute(
            "INSERT OR IGNORE INTO pipeline_configs (config_hash, pipeline, config) VALUES (?1, ?2, ?3)",
            params![config_hash, pipeline, config],
        )?;
        Ok(stored > 0)
    }

    /// For each plugin role of `pipeline`, the digest it had in the last run
    /// before run `before` that had that role: from `run_plugins` (written
    /// when a run ends), or from the `plugin-added` / `plugin-changed`
    /// entries recorded when a run started (so a run that died before it
    /// ended still counts).
    pub fn known_plugin_digests(
        &self,
        pipeline: &str,
        before: i64,
    ) -> Result<BTreeMap<String, KnownDigest>, RunLogError> {
        let mut stmt = self.tx.prepare(
            "SELECT role, digest, run_id FROM (
                 SELECT p.role AS role, p.digest AS digest, p.run_id AS run_id, 0 AS source
                 FROM run_plugins AS p JOIN runs AS r ON r.id = p.run_id
                 WHERE r.pipeline = ?1 AND r.id < ?2
                 UNION ALL
                 SELECT subject, after, run_id, 1 FROM audit_log
                 WHERE pipeline = ?1 AND run_id < ?2 AND action IN ('plugin-added', 'plugin-changed')
                   AND subject IS NOT NULL AND after IS NOT NULL
             ) ORDER BY run_id, source",
        )?;
        let rows = stmt.query_map(params![pipeline, before], |r| {
            Ok((
                r.get::<_, String>(0)?,
                KnownDigest {
                    digest: r.get(1)?,
                    run_id: r.get(2)?,
                },
            ))
        })?;
        let mut known = BTreeMap::new();
        for row in rows {
            let (role, digest) = row?;
            known.insert(role, digest);
        }
        Ok(known)
    }

    /// Append an entry to the audit log.
    pub fn record(&self, entry: &AuditEntry) -> Result<(), RunLogError> {
        insert_audit(&self.tx, entry)
    }
}

impl RunLog {
    /// Run `f` in one write transaction, committed if it returns `Ok`
    /// and rolled back otherwise.
    pub fn audit_transaction<T>(
        &self,
        f: impl FnOnce(&AuditTx<'_>) -> Result<T, RunLogError>,
    ) -> Result<T, RunLogError> {
        let tx = AuditTx {
            tx: Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?,
        };
        let out = f(&tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Audit entries `filter` selects, newest first.
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, RunLogError> {
        let mut sql = String::from(
            "SELECT id, at, actor, pipeline, action, subject, before, after, diff, run_id
             FROM audit_log WHERE 1 = 1",
        );
        let since = filter
            .since
            .as_ref()
            .map(|s| self.resolve_since(s))
            .transpose()?;
        let mut args: Vec<Sql> = Vec::new();
        for (condition, value) in [
            ("pipeline =", &filter.pipeline),
            ("at >=", &since),
            ("action =", &filter.action),
        ] {
            if let Some(v) = value {
                args.push(Sql::Text(v.clone()));
                sql.push_str(&format!(" AND {condition} ?{}", args.len()));
            }
        }
        sql.push_str(" ORDER BY at DESC, id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as u64)));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                pipeline: r.get(3)?,
                action: r.get(4)?,
                subject: r.get(5)?,
                before: r.get(6)?,
                after: r.get(7)?,
                diff: r.get(8)?,
                run_id: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(pipeline: &str, action: &str, subject: &str) -> AuditEntry {
        AuditEntry {
            actor: "alice".into(),
            pipeline: Some(pipeline.into()),
            action: action.into(),
            subject: Some(subject.into()),
            ..AuditEntry::default()
        }
    }

    /// A run log with five entries at fixed times, oldest first.
    fn log_with_entries() -> (tempfile::TempDir, RunLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let entries = [
            (
                "2026-11-01T09:00:00.000Z",
                entry("a", "pipeline-added", "a.toml"),
            ),
            (
                "2026-11-02T09:00:00.000Z",
                entry("b", "pipeline-added", "b.toml"),
            ),
            (
                "2026-11-03T09:00:00.000Z",
                entry("a", "config-changed", "a.toml"),
            ),
            (
                "2026-11-03T09:00:00.000Z",
                entry("a", "plugin-changed", "source:x"),
            ),
            (
                "2026-11-04T09:00:00.000Z",
                entry("b", "cursor-reset", "contacts"),
            ),
        ];
        for (at, e) in &entries {
            log.record_audit(e).unwrap();
            log.conn
                .execute(
                    "UPDATE audit_log SET at = ?1 WHERE id = last_insert_rowid()",
                    [at],
                )
                .unwrap();
        }
        (dir, log)
    }

    fn actions(rows: &[AuditRow]) -> Vec<(&str, &str)> {
        rows.iter()
            .map(|r| (r.pipeline.as_deref().unwrap(), r.action.as_str()))
            .collect()
    }

    #[test]
    fn entries_come_newest_first_and_filter() {
        let (_dir, log) = log_with_entries();
        let all = log.audit_entries(&AuditFilter::default()).unwrap();
        assert_eq!(
            actions(&all),
            [
                ("b", "cursor-reset"),
                // Same time: the later entry first.
                ("a", "plugin-changed"),
                ("a", "config-changed"),
                ("b", "pipeline-added"),
                ("a", "pipeline-added"),
            ]
        );
        assert_eq!(all[0].actor, "alice");
        assert_eq!(all[0].subject.as_deref(), Some("contacts"));
        assert_eq!(all[0].at, "2026-11-04T09:00:00.000Z");

        let a = log
            .audit_entries(&AuditFilter {
                pipeline: Some("a".into()),
                limit: Some(2),
                ..AuditFilter::default()
            })
            .unwrap();
        assert_eq!(
            actions(&a),
            [("a", "plugin-changed"), ("a", "config-changed")]
        );
        let unlimited = AuditFilter {
            limit: Some(u64::MAX),
            ..AuditFilter::default()
        };
        assert_eq!(log.audit_entries(&unlimited).unwrap().len(), 5);

        let added = log
            .audit_entries(&AuditFilter {
                action: Some("pipeline-added".into()),
                since: Some(Since::At("2026-11-01T12:00:00.000Z".into())),
                ..AuditFilter::default()
            })
            .unwrap();
        assert_eq!(actions(&added), [("b", "pipeline-added")]);

        let recent = log
            .audit_entries(&AuditFilter {
                since: Some(Since::Ago(Duration::from_secs(3600))),
                ..AuditFilter::default()
            })
            .unwrap();
        assert!(recent.is_empty(), "{recent:?}");
    }

    #[test]
    fn a_failed_transaction_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let result: Result<(), RunLogError> = log.audit_transaction(|tx| {
            assert!(tx.store_config("sha256:aa", "p", "name = \"p\"\n")?);
            assert!(!tx.store_config("sha256:aa", "p", "other")?);
            assert_eq!(
                tx.config_text("sha256:aa")?.as_deref(),
                Some("name = \"p\"\n")
            );
            tx.record(&entry("p", "pipeline-added", "p.toml"))?;
            Err(RunLogError::NoSuchRun("x".into()))
        });
        assert!(result.is_err());
        let kept = log
            .audit_transaction(|tx| tx.config_text("sha256:aa"))
            .unwrap();
        assert_eq!(kept, None);
        assert!(
            log.audit_entries(&AuditFilter::default())
                .unwrap()
                .is_empty()
        );
    }
}
