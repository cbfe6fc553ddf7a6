//! Retention: deleting old runs and everything recorded under them.
//!
//! `sluice runs prune --older-than 30d` and a pipeline's
//! `[run_log] retention = "30d"` (applied to that pipeline when one of its
//! runs ends) delete every finished run that started before the cutoff,
//! with its stage counts, errors, skips, retries, plugin use and captures.
//!
//! Dead-letter entries decide what must stay:
//!
//! - an entry that is still open (failed, held back or in review) keeps
//!   every run it refers to (first and last failure, and the run of its
//!   error row, which holds its payloads), whole, however old: a replay
//!   needs them;
//! - a resolved or discarded entry last updated before the cutoff is
//!   deleted with its payload versions; one updated later keeps its runs.
//!
//! Cursors, cursor history and audit entries are kept (their run reference
//! becomes empty), as are runs still `running`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Transaction, params};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::RunLogError;
use super::store::RunLog;

/// An age such as `30d`, `12h`, `90m` or `2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(Duration);

/// An age that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not an age: write a positive number followed by `m` (minutes), `h` (hours), `d` (days) or `w` (weeks), such as `30d`"
)]
pub struct InvalidAge(String);

impl Age {
    /// The age as a duration.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Age {
    type Err = InvalidAge;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidAge(s.to_owned());
        let t = s.trim();
        let unit = t.chars().last().ok_or_else(bad)?;
        let n: u64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
        let secs = match unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        match n.checked_mul(secs) {
            Some(total) if n > 0 && total < 1_000 * 365 * 86_400 => {
                Ok(Age(Duration::from_secs(total)))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        for (unit, size) in [('w', 7 * 86_400), ('d', 86_400), ('h', 3600)] {
            if secs.is_multiple_of(size) {
                return write!(f, "{}{unit}", secs / size);
            }
        }
        write!(f, "{}m", secs / 60)
    }
}

impl Serialize for Age {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Age {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What a prune deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// Runs that started before this instant (UTC) were considered.
    pub cutoff: String,
    /// Runs deleted.
    pub runs: u64,
    /// Their error rows.
    pub errors: u64,
    /// Their skip rows.
    pub skips: u64,
    /// Their captured documents.
    pub captures: u64,
    /// Resolved or discarded dead-letter entries deleted.
    pub dlq_entries: u64,
    /// Old runs kept because a dead-letter entry still refers to them.
    pub kept_for_dlq: u64,
    /// Webhook deliveries that ended (delivered, failed or abandoned)
    /// before the cutoff, with their attempts; pending ones are kept.
    /// Only when no pipeline is named: deliveries belong to the project.
    pub webhook_deliveries: u64,
    /// Whether nothing was deleted (`--dry-run`).
    pub dry_run: bool,
}

impl RunLog {
    /// Delete finished runs (of `pipeline`, or of every pipeline) that
    /// started more than `older_than` ago, and what was recorded under
    /// them, keeping what dead-letter entries still need (see the module
    /// documentation). With `dry_run`, count only.
    pub fn prune(
        &mut self,
        older_than: Age,
        pipeline: Option<&str>,
        dry_run: bool,
    ) -> Result<PruneReport, RunLogError> {
        let tx = self.conn.transaction()?;
        let report = prune_in(&tx, older_than, pipeline, dry_run)?;
        if dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(report)
    }
}

fn prune_in(
    tx: &Transaction<'_>,
    older_than: Age,
    pipeline: Option<&str>,
    dry_run: bool,
) -> Result<PruneReport, RunLogError> {
    let cutoff: String = tx.query_row(
        "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
        [format!("-{} seconds", older_than.duration().as_secs())],
        |r| r.get(0),
    )?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS prune_dlq (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS prune_runs (id INTEGER PRIMARY KEY);
         DELETE FROM prune_dlq;
         DELETE FROM prune_runs;",
    )?;
    let dlq_entries = tx.execute(
        "INSERT INTO prune_dlq (id) SELECT id FROM dlq
         WHERE status <> 'open' AND updated_at < ?1 AND (?2 IS NULL OR pipeline = ?2)",
        params![cutoff, pipeline],
    )? as u64;
    let old = "SELECT id FROM runs WHERE started_at < ?1 AND status <> 'running' AND (?2 IS NULL OR pipeline = ?2)";
    let needed = "SELECT first_run_id FROM dlq WHERE id NOT IN (SELECT id FROM prune_dlq)
         UNION SELECT last_run_id FROM dlq WHERE id NOT IN (SELECT id FROM prune_dlq)
         UNION SELECT resolved_by_run FROM dlq WHERE resolved_by_run IS NOT NULL AND id NOT IN (SELECT id FROM prune_dlq)
         UNION SELECT e.run_id FROM dlq d JOIN record_errors e ON e.id = d.error_id WHERE d.id NOT IN (SELECT id FROM prune_dlq)";
    let runs = tx.execute(
        &format!("INSERT INTO prune_runs (id) {old} AND id NOT IN ({needed})"),
        params![cutoff, pipeline],
    )? as u64;
    let old_runs: i64 = tx.query_row(
        &format!("SELECT count(*) FROM ({old})"),
        params![cutoff, pipeline],
        |r| r.get(0),
    )?;
    let old_runs = old_runs as u64;
    let count = |table: &str| -> Result<u64, rusqlite::Error> {
        tx.query_row(
            &format!("SELECT count(*) FROM {table} WHERE run_id IN (SELECT id FROM prune_runs)"),
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
    };
    let webhook_deliveries = if pipeline.is_none() {
        tx.query_row(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ?1",
            [&cutoff],
            |r| r.get::<_, i64>(0),
        )? as u64
    } else {
        0
    };
    let report = PruneReport {
        cutoff: cutoff.clone(),
        runs,
        errors: count("record_errors")?,
        skips: count("record_skips")?,
        captures: count("captures")?,
        dlq_entries,
        kept_for_dlq: old_runs - runs,
        webhook_deliveries,
        dry_run,
    };
    if !dry_run && webhook_deliveries > 0 {
        tx.execute(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ?1",
            [&cutoff],
        )?;
    }
    if !dry_run && (runs > 0 || dlq_entries > 0) {
        tx.execute_batch(
            "DELETE FROM dlq_payloads WHERE entry_id IN (SELECT id FROM prune_dlq);
             DELETE FROM dlq WHERE id IN (SELECT id FROM prune_dlq);
             UPDATE cursors SET run_id = NULL WHERE run_id IN (SELECT id FROM prune_runs);
             UPDATE cursor_history SET run_id = NULL WHERE run_id IN (SELECT id FROM prune_runs);
             UPDATE audit_log SET run_id = NULL WHERE run_id IN (SELECT id FROM prune_runs);
             UPDATE runs SET parent_run_id = NULL WHERE parent_run_id IN (SELECT id FROM prune_runs);
             DELETE FROM runs WHERE id IN (SELECT id FROM prune_runs);",
        )?;
    }
    tx.execute_batch("DELETE FROM prune_dlq; DELETE FROM prune_runs;")?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_and_print() {
        assert_eq!(
            "30d".parse::<Age>().unwrap().duration().as_secs(),
            30 * 86_400
        );
        assert_eq!("12h".parse::<Age>().unwrap().to_string(), "12h");
        assert_eq!("90m".parse::<Age>().unwrap().to_string(), "90m");
        assert_eq!("14d".parse::<Age>().unwrap().to_string(), "2w");
        for bad in ["", "d", "30", "0d", "-1d", "3y", "1.5d"] {
            assert!(bad.parse::<Age>().is_err(), "{bad}");
        }
    }
}
