//! The plugin store's tables (schema 11): installed versions
//! (`store_versions`), the current version of each name (`store_names`),
//! every change of it (`store_history`), and which version of a live step
//! processed which batches of a run (`run_step_versions`). The logic (bytes
//! on disk, checks, promotion rules) is in `crate::store`.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::audit::{AuditEntry, insert_audit};
use super::error::RunLogError;
use super::store::RunLog;

/// One installed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreVersionRow {
    /// The name it was installed under.
    pub name: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Its world.
    pub kind: String,
    /// What `describe` says its version is.
    pub version: Option<String>,
    /// The contract version its exports name.
    pub contract: String,
    /// Size of the component in bytes.
    pub size: u64,
    /// Who installed it.
    pub installed_by: String,
    /// When (RFC 3339, UTC).
    pub installed_at: String,
    /// Whether a case file was installed with it.
    pub has_cases: bool,
    /// When an automatic rollback quarantined it.
    pub quarantined_at: Option<String>,
    /// Why.
    pub quarantine_reason: Option<String>,
}

/// A version to record.
#[derive(Debug, Clone)]
pub struct NewStoreVersion<'a> {
    /// The name.
    pub name: &'a str,
    /// `sha256:<hex>`.
    pub digest: &'a str,
    /// The world.
    pub kind: &'a str,
    /// From `describe`.
    pub version: Option<&'a str>,
    /// The contract version.
    pub contract: &'a str,
    /// Bytes.
    pub size: u64,
    /// Who installs it.
    pub installed_by: &'a str,
    /// The case file's text.
    pub cases: Option<&'a str>,
}

/// One change of a name's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreHistoryRow {
    /// Its order.
    pub id: i64,
    /// `promote`, `rollback` or `auto-rollback`.
    pub action: String,
    /// The version made current.
    pub digest: String,
    /// The version current before.
    pub previous: Option<String>,
    /// Who.
    pub actor: String,
    /// Why, for rollbacks.
    pub reason: Option<String>,
    /// When.
    pub at: String,
}

/// A name's latest promotion, still current, and what the runs that ended
/// since then did with it in steps following the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPromotion {
    /// The version promoted.
    pub digest: String,
    /// The version current before it.
    pub previous: Option<String>,
    /// Records it processed in those runs.
    pub records: u64,
    /// Records that failed in its steps.
    pub failed: u64,
}

/// The current version of a name and its change counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreNameRow {
    /// The name.
    pub name: String,
    /// Its current digest.
    pub current: Option<String>,
    /// Grows with every change of `current`.
    pub generation: i64,
    /// When `current` last changed.
    pub updated_at: String,
}

/// A change of a name's current version, to record with its audit entry
/// in one transaction.
#[derive(Debug, Clone)]
pub struct CurrentChange<'a> {
    /// The name.
    pub name: &'a str,
    /// `promote`, `rollback` or `auto-rollback`.
    pub action: &'a str,
    /// The version to make current.
    pub digest: &'a str,
    /// The version expected to be current now (the change is refused
    /// with [`RunLogError::Conflict`] if another process changed it).
    pub expected: Option<&'a str>,
    /// Who.
    pub actor: &'a str,
    /// Why.
    pub reason: Option<&'a str>,
    /// Quarantine `expected` with `reason` in the same transaction.
    pub quarantine_previous: bool,
}

/// A stretch of consecutive batches one version of a live step processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepVersionRow {
    /// The step's role (`transform:contacts.email#1`).
    pub role: String,
    /// 0, 1, ...: one per swap.
    pub seq: u32,
    /// The version.
    pub digest: String,
    /// The step's first batch number on it, from 0.
    pub first_batch: u64,
    /// Batches.
    pub batches: u64,
    /// Records in those batches.
    pub records: u64,
    /// Records that failed in this step on this version.
    pub failed: u64,
}

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreVersionRow> {
    Ok(StoreVersionRow {
        name: r.get(0)?,
        digest: r.get(1)?,
        kind: r.get(2)?,
        version: r.get(3)?,
        contract: r.get(4)?,
        size: r.get::<_, i64>(5)? as u64,
        installed_by: r.get(6)?,
        installed_at: r.get(7)?,
        has_cases: r.get::<_, i64>(8)? != 0,
        quarantined_at: r.get(9)?,
        quarantine_reason: r.get(10)?,
    })
}

const VERSION_COLUMNS: &str = "name, digest, kind, version, contract, size, installed_by,
     installed_at, cases IS NOT NULL, quarantined_at, quarantine_reason";

impl RunLog {
    /// Record an installed version (a version installed again keeps its
    /// first record) with its audit entry. Returns whether it was new.
    pub fn store_add_version(
        &mut self,
        v: &NewStoreVersion<'_>,
        audit: &AuditEntry,
    ) -> Result<bool, RunLogError> {
        let tx = self.conn.transaction()?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO store_versions
               (name, digest, kind, version, contract, size, installed_by, cases)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                v.name,
                v.digest,
                v.kind,
                v.version,
                v.contract,
                v.size as i64,
                v.installed_by,
                v.cases
            ],
        )? == 1;
        if added {
            tx.execute(
                "INSERT OR IGNORE INTO store_names (name) VALUES (?1)",
                [v.name],
            )?;
            insert_audit(&tx, audit)?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Every version of `name`, oldest first.
    pub fn store_versions(&self, name: &str) -> Result<Vec<StoreVersionRow>, RunLogError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {VERSION_COLUMNS} FROM store_versions WHERE name = ?1
             ORDER BY installed_at, rowid"
        ))?;
        let rows = stmt.query_map([name], version_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The case file installed with a version.
    pub fn store_cases(&self, name: &str, digest: &str) -> Result<Option<String>, RunLogError> {
        Ok(self
            .conn
            .query_row(
                "SELECT cases FROM store_versions WHERE name = ?1 AND digest = ?2",
                [name, digest],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Every name in the store with its current version.
    pub fn store_names(&self) -> Result<Vec<StoreNameRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, current, generation, updated_at FROM store_names ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoreNameRow {
                name: r.get(0)?,
                current: r.get(1)?,
                generation: r.get(2)?,
                updated_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The current version of one name (`None`: not in the store).
    pub fn store_name(&self, name: &str) -> Result<Option<StoreNameRow>, RunLogError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, current, generation, updated_at FROM store_names WHERE name = ?1",
                [name],
                |r| {
                    Ok(StoreNameRow {
                        name: r.get(0)?,
                        current: r.get(1)?,
                        generation: r.get(2)?,
                        updated_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// The id of the latest change of any name's current version (0: none).
    pub fn store_history_last_id(&self) -> Result<i64, RunLogError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM store_history", [], |r| {
                r.get(0)
            })?)
    }

    /// The rollbacks (by hand or automatic) recorded after change `after`,
    /// by any process, oldest first, with the name each concerns; at most
    /// `limit` of them.
    pub fn store_rollbacks_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(String, StoreHistoryRow)>, RunLogError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, id, action, digest, previous, actor, reason, at FROM store_history
              WHERE id > ?1 AND action IN ('rollback', 'auto-rollback') ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok((
                r.get(0)?,
                StoreHistoryRow {
                    id: r.get(1)?,
                    action: r.get(2)?,
                    digest: r.get(3)?,
                    previous: r.get(4)?,
                    actor: r.get(5)?,
                    reason: r.get(6)?,
                    at: r.get(7)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every change of `name`'s current version, oldest first.
    pub fn store_history(&self, name: &str) -> Result<Vec<StoreHistoryRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, action, digest, previous, actor, reason, at FROM store_history
             WHERE name = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok(StoreHistoryRow {
                id: r.get(0)?,
                action: r.get(1)?,
                digest: r.get(2)?,
                previous: r.get(3)?,
                actor: r.get(4)?,
                reason: r.get(5)?,
                at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The action of the latest change of `name`'s current version
    /// (`promote`, `rollback`, `auto-rollback`).
    pub fn store_last_action(&self, name: &str) -> Result<Option<String>, RunLogError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT action FROM store_history WHERE name = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([name], |r| r.get(0))
            .optional()?)
    }

    /// Make a version current, with its history row and audit entry, in one
    /// transaction; refused with [`RunLogError::Conflict`] if the current
    /// version is no longer `change.expected`. Returns the new generation.
    pub fn store_set_current(
        &mut self,
        change: &CurrentChange<'_>,
        audit: &AuditEntry,
    ) -> Result<i64, RunLogError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now: Option<String> = tx
            .query_row(
                "SELECT current FROM store_names WHERE name = ?1",
                [change.name],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if now.as_deref() != change.expected {
            return Err(RunLogError::Conflict(format!(
                "the current version of `{}` changed meanwhile (now {}); look again with `sluice plugin versions {}`",
                change.name,
                now.as_deref().unwrap_or("none"),
                change.name
            )));
        }
        tx.execute(
            "UPDATE store_names SET current = ?2, generation = generation + 1,
                    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE name = ?1",
            params![change.name, change.digest],
        )?;
        tx.execute(
            "INSERT INTO store_history (name, action, digest, previous, actor, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                change.name,
                change.action,
                change.digest,
                change.expected,
                change.actor,
                change.reason
            ],
        )?;
        if change.quarantine_previous
            && let Some(previous) = change.expected
        {
            tx.execute(
                "UPDATE store_versions SET quarantined_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                        quarantine_reason = ?3
                 WHERE name = ?1 AND digest = ?2",
                params![change.name, previous, change.reason],
            )?;
        }
        insert_audit(&tx, audit)?;
        let generation = tx.query_row(
            "SELECT generation FROM store_names WHERE name = ?1",
            [change.name],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(generation)
    }

    /// Lift a version's quarantine (a forced promotion).
    pub fn store_unquarantine(&self, name: &str, digest: &str) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE store_versions SET quarantined_at = NULL, quarantine_reason = NULL
             WHERE name = ?1 AND digest = ?2",
            [name, digest],
        )?;
        Ok(())
    }

    /// The current digest and generation of each of `names` (absent names
    /// are left out): what a run polls to swap its live steps.
    pub fn store_generations(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, Option<String>, i64)>, RunLogError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT current, generation FROM store_names WHERE name = ?1")?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some((current, generation)) = stmt
                .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                out.push((name.clone(), current, generation));
            }
        }
        Ok(out)
    }

    /// `name`'s current version if a promotion made it current (not a
    /// rollback, not the first install), with the records processed on it
    /// and failed by runs that ended after the promotion: a version
    /// promoted between runs is on probation in the runs after it, its
    /// counts carried from one run to the next.
    pub fn store_open_promotion(&self, name: &str) -> Result<Option<OpenPromotion>, RunLogError> {
        let Some((digest, previous, at)) = self
            .conn
            .prepare_cached(
                "SELECT h.digest, h.previous, h.at
                   FROM store_history h JOIN store_names n ON n.name = h.name AND n.current = h.digest
                  WHERE h.name = ?1 AND h.action = 'promote'
                    AND h.id = (SELECT MAX(id) FROM store_history WHERE name = ?1)",
            )?
            .query_row([name], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?
        else {
            return Ok(None);
        };
        let (records, failed): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(v.records), 0), COALESCE(SUM(v.failed), 0)
               FROM run_step_versions v JOIN runs r ON r.id = v.run_id
              WHERE v.digest = ?1 AND r.finished_at >= ?2",
            )?
            .query_row(params![digest, at], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(OpenPromotion {
            digest,
            previous,
            records: records.max(0) as u64,
            failed: failed.max(0) as u64,
        }))
    }

    /// Record which version of each live step processed which batches.
    pub fn record_step_versions(
        &mut self,
        run_id: i64,
        rows: &[StepVersionRow],
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO run_step_versions
                   (run_id, role, seq, digest, first_batch, batches, records, failed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in rows {
                stmt.execute(params![
                    run_id,
                    r.role,
                    r.seq,
                    r.digest,
                    r.first_batch as i64,
                    r.batches as i64,
                    r.records as i64,
                    r.failed as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Which version of each live step of a run processed which batches.
    pub fn step_versions(&self, run_id: i64) -> Result<Vec<StepVersionRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT role, seq, digest, first_batch, batches, records, failed
             FROM run_step_versions WHERE run_id = ?1 ORDER BY role, seq",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(StepVersionRow {
                role: r.get(0)?,
                seq: r.get(1)?,
                digest: r.get(2)?,
                first_batch: r.get::<_, i64>(3)? as u64,
                batches: r.get::<_, i64>(4)? as u64,
                records: r.get::<_, i64>(5)? as u64,
                failed: r.get::<_, i64>(6)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every setting of the plugin store, as (key, value).
    pub fn store_settings(&self) -> Result<Vec<(String, String)>, RunLogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM store_settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Set settings of the plugin store, with one audit entry each.
    pub fn set_store_settings(
        &mut self,
        values: &[(String, String)],
        actor: &str,
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        for (key, value) in values {
            let before: Option<String> = tx
                .query_row(
                    "SELECT value FROM store_settings WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT INTO store_settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            insert_audit(
                &tx,
                &AuditEntry {
                    actor: actor.to_owned(),
                    action: "store-setting-changed".to_owned(),
                    subject: Some(key.clone()),
                    before,
                    after: Some(value.clone()),
                    ..AuditEntry::default()
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version<'a>(digest: &'a str) -> NewStoreVersion<'a> {
        NewStoreVersion {
            name: "casing",
            digest,
            kind: "field-transformer",
            version: Some("1.0.0"),
            contract: "0.2.0",
            size: 10,
            installed_by: "ada",
            cases: None,
        }
    }

    fn change<'a>(digest: &'a str, expected: Option<&'a str>) -> CurrentChange<'a> {
        CurrentChange {
            name: "casing",
            action: "promote",
            digest,
            expected,
            actor: "ada",
            reason: None,
            quarantine_previous: false,
        }
    }

    #[test]
    fn a_change_based_on_a_stale_current_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let audit = AuditEntry::default();
        assert!(log.store_add_version(&version("sha256:a"), &audit).unwrap());
        assert!(!log.store_add_version(&version("sha256:a"), &audit).unwrap());
        assert!(log.store_add_version(&version("sha256:b"), &audit).unwrap());
        assert_eq!(
            log.store_set_current(&change("sha256:a", None), &audit)
                .unwrap(),
            1
        );
        // Another process promoted meanwhile: this one still expects none.
        let err = log
            .store_set_current(&change("sha256:b", None), &audit)
            .unwrap_err();
        assert!(matches!(err, RunLogError::Conflict(_)), "{err}");
        assert_eq!(
            log.store_set_current(&change("sha256:b", Some("sha256:a")), &audit)
                .unwrap(),
            2
        );
        let rows = log
            .store_generations(&["casing".into(), "other".into()])
            .unwrap();
        assert_eq!(
            rows,
            [("casing".to_owned(), Some("sha256:b".to_owned()), 2)]
        );
        // An automatic rollback quarantines the version it leaves.
        let mut back = change("sha256:a", Some("sha256:b"));
        back.action = "auto-rollback";
        back.reason = Some("too many failures");
        back.quarantine_previous = true;
        log.store_set_current(&back, &audit).unwrap();
        let b = log
            .store_versions("casing")
            .unwrap()
            .into_iter()
            .find(|v| v.digest == "sha256:b")
            .unwrap();
        assert_eq!(b.quarantine_reason.as_deref(), Some("too many failures"));
        assert_eq!(
            log.store_last_action("casing").unwrap().as_deref(),
            Some("auto-rollback")
        );
        assert_eq!(log.store_history("casing").unwrap().len(), 3);
    }
}
