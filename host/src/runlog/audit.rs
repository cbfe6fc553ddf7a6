//! The audit log: who changed what, when, with a before/after diff.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// One change to record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEntry {
    /// Who made it: `--actor`, or the OS user.
    pub actor: String,
    /// The pipeline concerned, if any.
    pub pipeline: Option<String>,
    /// What happened: `config-changed`, `plugin-changed`, `cursor-reset`,
    /// `dlq-discarded`, `review-edited`, `review-approved`...
    pub action: String,
    /// What it happened to: an entity, a DLQ entry id, a plugin role.
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

impl RunLog {
    /// Append an entry to the audit log.
    pub fn record_audit(&self, entry: &AuditEntry) -> Result<(), RunLogError> {
        insert_audit(&self.conn, entry)
    }
}

/// Append an entry using `conn` (a transaction derefs to one).
pub(crate) fn insert_audit(conn: &Connection, e: &AuditEntry) -> Result<(), RunLogError> {
    conn.execute(
        "INSERT INTO audit_log (actor, pipeline, action, subject, before, after, diff, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.actor, e.pipeline, e.action, e.subject, e.before, e.after, e.diff, e.run_id
        ],
    )?;
    Ok(())
}
