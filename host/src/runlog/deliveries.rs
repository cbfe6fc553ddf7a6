//! Webhook deliveries (`webhook_deliveries`) and their attempts
//! (`webhook_attempts`): what was sent where, how each attempt went, and
//! what is still to be retried, so a restarted daemon resumes them.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// A delivery to record before its first attempt.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The project file (its canonical path).
    pub project: String,
    /// The webhook's name in the project file.
    pub webhook: String,
    /// Where it goes, without path or query (`https://host:443/…`).
    pub target: String,
    /// A random key, sent as `Sluice-Delivery` (the receiver's idempotency
    /// key).
    pub delivery_key: String,
    /// `run.failed`, `job.late`, …
    pub event: String,
    /// The job the event is about, if any.
    pub job: Option<String>,
    /// The run the event is about, if any.
    pub run_id: Option<i64>,
    /// The JSON body.
    pub payload: String,
    /// Attempts at most.
    pub max_attempts: u32,
    /// When the first attempt is due (RFC 3339).
    pub first_attempt_at: String,
}

/// One delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    /// Its id.
    pub id: i64,
    /// The project file.
    pub project: String,
    /// The webhook's name.
    pub webhook: String,
    /// Where it goes (origin only).
    pub target: String,
    /// The `Sluice-Delivery` key.
    pub delivery_key: String,
    /// The event.
    pub event: String,
    /// The job, if any.
    pub job: Option<String>,
    /// The run, if any.
    pub run_id: Option<i64>,
    /// The JSON body sent.
    #[serde(skip)]
    pub payload: String,
    /// `pending`, `delivered`, `failed` or `abandoned`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// Attempts at most.
    pub max_attempts: u32,
    /// The HTTP status of the last attempt.
    pub last_code: Option<u16>,
    /// The last network error, or why delivery stopped.
    pub last_error: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// When it was recorded.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// One attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRow {
    /// 1, 2, …
    pub attempt: u32,
    /// When it was made (RFC 3339).
    pub at: String,
    /// The HTTP status, unless the request failed.
    pub code: Option<u16>,
    /// The network error, if the request failed.
    pub error: Option<String>,
    /// The start of the response body, redacted.
    pub response: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// The receiver's `Retry-After`, in seconds, when it sent one.
    pub retry_after_s: Option<u64>,
}

/// What an attempt leaves the delivery as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// The receiver accepted it (2xx).
    Delivered,
    /// Another attempt is due then (RFC 3339).
    Retry(String),
    /// No more attempts: refused, or attempts exhausted; why.
    Failed(String),
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only this project's.
    pub project: Option<String>,
    /// Only about this job.
    pub job: Option<String>,
    /// Only with this status.
    pub status: Option<String>,
    /// At most this many (newest first); default 100.
    pub limit: Option<u32>,
}

const COLUMNS: &str = "id, project, webhook, target, delivery_key, event, job, run_id, payload,
    status, attempts, max_attempts, last_code, last_error, next_attempt_at, created_at, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        project: r.get(1)?,
        webhook: r.get(2)?,
        target: r.get(3)?,
        delivery_key: r.get(4)?,
        event: r.get(5)?,
        job: r.get(6)?,
        run_id: r.get(7)?,
        payload: r.get(8)?,
        status: r.get(9)?,
        attempts: r.get(10)?,
        max_attempts: r.get(11)?,
        last_code: r.get(12)?,
        last_error: r.get(13)?,
        next_attempt_at: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
    })
}

impl RunLog {
    /// Record a delivery, pending its first attempt; its id.
    pub fn insert_delivery(&self, d: &NewDelivery) -> Result<i64, RunLogError> {
        self.conn.execute(
            "INSERT INTO webhook_deliveries (project, webhook, target, delivery_key, event, job,
                run_id, payload, max_attempts, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                d.project,
                d.webhook,
                d.target,
                d.delivery_key,
                d.event,
                d.job,
                d.run_id,
                d.payload,
                d.max_attempts,
                d.first_attempt_at
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Record attempt `attempt.attempt` of delivery `id` and what it leaves
    /// the delivery as, in one transaction.
    pub fn record_attempt(
        &mut self,
        id: i64,
        attempt: &AttemptRow,
        state: &DeliveryState,
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO webhook_attempts
                (delivery_id, attempt, at, code, error, response, duration_ms, retry_after_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                attempt.attempt,
                attempt.at,
                attempt.code,
                attempt.error,
                attempt.response,
                attempt.duration_ms as i64,
                attempt.retry_after_s.map(|s| s as i64)
            ],
        )?;
        let (status, next, why) = match state {
            DeliveryState::Delivered => ("delivered", None, None),
            DeliveryState::Retry(at) => ("pending", Some(at.as_str()), None),
            DeliveryState::Failed(why) => ("failed", None, Some(why.as_str())),
        };
        tx.execute(
            "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, last_code = ?4,
                last_error = COALESCE(?5, ?6), next_attempt_at = ?7,
                updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1",
            params![
                id,
                status,
                attempt.attempt,
                attempt.code,
                why,
                attempt.error,
                next
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Give up on a pending delivery without another attempt (its webhook
    /// was removed from the project), saying why.
    pub fn abandon_delivery(&self, id: i64, why: &str) -> Result<(), RunLogError> {
        self.conn.execute(
            "UPDATE webhook_deliveries SET status = 'abandoned', last_error = ?2,
                next_attempt_at = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1 AND status = 'pending'",
            params![id, why],
        )?;
        Ok(())
    }

    /// The pending deliveries of `project`, oldest first.
    pub fn pending_deliveries(&self, project: &str) -> Result<Vec<DeliveryRow>, RunLogError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries
             WHERE status = 'pending' AND project = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([project], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deliveries matching `filter`, newest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>, RunLogError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries
             WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR job = ?2)
               AND (?3 IS NULL OR status = ?3)
             ORDER BY id DESC LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.project,
                filter.job,
                filter.status,
                filter.limit.unwrap_or(100)
            ],
            row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One delivery, if it exists.
    pub fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, RunLogError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// The attempts of delivery `id`, first first.
    pub fn delivery_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT attempt, at, code, error, response, duration_ms, retry_after_s
             FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY attempt",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(AttemptRow {
                attempt: r.get(0)?,
                at: r.get(1)?,
                code: r.get(2)?,
                error: r.get(3)?,
                response: r.get(4)?,
                duration_ms: r.get::<_, i64>(5)?.max(0) as u64,
                retry_after_s: r.get::<_, Option<i64>>(6)?.map(|s| s.max(0) as u64),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Dead-letter entries run `run_id` added (first failed in it).
    pub fn dlq_entries_added_by(&self, run_id: i64) -> Result<u64, RunLogError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM dlq WHERE first_run_id = ?1",
            [run_id],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(key: &str, job: &str) -> NewDelivery {
        NewDelivery {
            project: "/p/sluice.toml".into(),
            webhook: "ops".into(),
            target: "http://127.0.0.1:9/…".into(),
            delivery_key: key.into(),
            event: "run.failed".into(),
            job: Some(job.into()),
            run_id: None,
            payload: "{}".into(),
            max_attempts: 3,
            first_attempt_at: "2026-12-06T10:00:00Z".into(),
        }
    }

    fn attempt(n: u32, code: Option<u16>) -> AttemptRow {
        AttemptRow {
            attempt: n,
            at: "2026-12-06T10:00:01Z".into(),
            code,
            error: code.is_none().then(|| "connection refused".into()),
            response: None,
            duration_ms: 3,
            retry_after_s: None,
        }
    }

    #[test]
    fn attempts_move_a_delivery_from_pending_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let a = log.insert_delivery(&new("k1", "a")).unwrap();
        let b = log.insert_delivery(&new("k2", "b")).unwrap();
        let c = log.insert_delivery(&new("k3", "a")).unwrap();
        assert_eq!(log.pending_deliveries("/p/sluice.toml").unwrap().len(), 3);

        log.record_attempt(
            a,
            &attempt(1, None),
            &DeliveryState::Retry("2026-12-06T10:00:02Z".into()),
        )
        .unwrap();
        log.record_attempt(a, &attempt(2, Some(200)), &DeliveryState::Delivered)
            .unwrap();
        log.record_attempt(
            b,
            &attempt(1, Some(500)),
            &DeliveryState::Failed("3 attempts made".into()),
        )
        .unwrap();
        log.abandon_delivery(c, "the webhook was removed").unwrap();

        let a = log.delivery(a).unwrap().unwrap();
        assert_eq!(
            (a.status.as_str(), a.attempts, a.last_code),
            ("delivered", 2, Some(200))
        );
        // Delivered: no error left over from the failed first attempt.
        assert_eq!(a.last_error, None);
        assert_eq!(a.next_attempt_at, None);
        let b = log.delivery(b).unwrap().unwrap();
        assert_eq!(b.status, "failed");
        assert_eq!(b.last_error.as_deref(), Some("3 attempts made"));
        assert_eq!(log.delivery(c).unwrap().unwrap().status, "abandoned");
        assert!(log.pending_deliveries("/p/sluice.toml").unwrap().is_empty());
        let attempts = log.delivery_attempts(a.id).unwrap();
        assert_eq!(
            attempts.iter().map(|t| t.code).collect::<Vec<_>>(),
            [None, Some(200)]
        );
        let of_a = log
            .deliveries(&DeliveryFilter {
                job: Some("a".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            of_a.iter()
                .map(|d| d.delivery_key.as_str())
                .collect::<Vec<_>>(),
            ["k3", "k1"]
        );
    }

    #[test]
    fn pruning_deletes_deliveries_that_ended_before_the_cutoff_and_keeps_pending_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let mut log = RunLog::open(&path).unwrap();
        let old_done = log.insert_delivery(&new("k1", "a")).unwrap();
        let old_pending = log.insert_delivery(&new("k2", "a")).unwrap();
        let new_done = log.insert_delivery(&new("k3", "a")).unwrap();
        for id in [old_done, new_done] {
            log.record_attempt(id, &attempt(1, Some(200)), &DeliveryState::Delivered)
                .unwrap();
        }
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute(
            "UPDATE webhook_deliveries SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-40 days')
              WHERE id IN (?1, ?2)",
            [old_done, old_pending],
        )
        .unwrap();
        let age: crate::runlog::Age = "30d".parse().unwrap();

        let dry = log.prune(age, None, true).unwrap();
        assert_eq!(dry.webhook_deliveries, 1);
        assert!(log.delivery(old_done).unwrap().is_some());
        // A pipeline's retention leaves the project's deliveries alone.
        assert_eq!(
            log.prune(age, Some("p"), false).unwrap().webhook_deliveries,
            0
        );

        let done = log.prune(age, None, false).unwrap();
        assert_eq!(done.webhook_deliveries, 1);
        assert!(log.delivery(old_done).unwrap().is_none());
        assert!(log.delivery_attempts(old_done).unwrap().is_empty());
        assert!(log.delivery(old_pending).unwrap().is_some());
        assert!(log.delivery(new_done).unwrap().is_some());
    }
}
