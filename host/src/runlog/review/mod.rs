//! Manual review and discards on the dead-letter queue: the payload
//! versions of entries edited in review, editing a parked payload,
//! discarding entries, and auditing approvals. Every change is made in one
//! transaction together with its audit log entries.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;

use super::audit::{AuditEntry, insert_audit};
use super::dlq::{DlqEntry, current_payload};
use super::error::RunLogError;
use super::store::RunLog;
use crate::model::{Disposition, DlqStatus, Resolution};

mod payload_edit;

use payload_edit::apply_edit;
pub use payload_edit::{PayloadEdit, parse_assignment, pretty_payload, unified_diff};

/// Actor recorded for payload versions Sluice itself captured (the payload
/// a record failed with).
pub const SYSTEM_ACTOR: &str = "sluice";

/// A review or discard could not be carried out. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The run log could not be read or written.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    /// The entry is not parked for review.
    #[error(
        "DLQ entry {id} is not in review (its disposition is `{disposition}`); `sluice dlq show {id}` shows it"
    )]
    NotInReview {
        /// The entry.
        id: i64,
        /// Its disposition.
        disposition: Disposition,
    },
    /// The entry has already left the queue.
    #[error("DLQ entry {id} is {status}, not open; only open entries can be changed")]
    NotOpen {
        /// The entry.
        id: i64,
        /// Its status: resolved or discarded.
        status: DlqStatus,
    },
    /// An edited payload is not a JSON object.
    #[error("the new payload of DLQ entry {id} must be a JSON object, not {found}")]
    NotAnObject {
        /// The entry.
        id: i64,
        /// What it is instead: `an array`, `a string`...
        found: &'static str,
    },
    /// `--set` on an entry that has no payload to change.
    #[error(
        "DLQ entry {id} has no payload to set fields in (it failed before one was made); give the whole record with --payload"
    )]
    NoPayload {
        /// The entry.
        id: i64,
    },
    /// `--set` on an entry whose stored payload is not a JSON object.
    #[error(
        "the payload of DLQ entry {id} is not a JSON object, so fields cannot be set in it; give the whole record with --payload"
    )]
    StoredPayloadNotObject {
        /// The entry.
        id: i64,
    },
    /// A `FIELD=JSONVALUE` assignment could not be read.
    #[error("cannot read `{text}` as FIELD=JSONVALUE: {reason}")]
    InvalidAssignment {
        /// The assignment as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The edit leaves the payload as it is.
    #[error("the edit leaves the payload of DLQ entry {id} unchanged; no version was added")]
    Unchanged {
        /// The entry.
        id: i64,
    },
    /// A discard without a reason.
    #[error("a reason is required to discard DLQ entries (--reason TEXT)")]
    NoReason,
    /// No entry was named.
    #[error("no DLQ entry was named")]
    NoEntries,
}

impl From<rusqlite::Error> for ReviewError {
    fn from(e: rusqlite::Error) -> Self {
        ReviewError::RunLog(RunLogError::Query(e))
    }
}

/// One version of a DLQ entry's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadVersion {
    /// The entry.
    pub entry_id: i64,
    /// Version number; 1 is the payload the record failed with.
    pub version: i64,
    /// The payload (JSON text).
    pub payload: Option<String>,
    /// Who made it: a person, or `sluice` for a failure's payload.
    pub actor: String,
    /// Why it was made.
    pub note: Option<String>,
    /// When (UTC).
    pub created_at: String,
    /// False for version 1 of an entry never edited: it is the entry's
    /// payload, not yet copied into the version history.
    pub recorded: bool,
}

/// A payload edit that was stored.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadEdited {
    /// The entry.
    pub entry_id: i64,
    /// The version the edit replaced.
    pub previous_version: i64,
    /// The new version.
    pub version: i64,
    /// The payload before, pretty-printed.
    pub before: Option<String>,
    /// The payload after, pretty-printed.
    pub after: String,
    /// Unified diff of `before` and `after`.
    pub diff: String,
}

/// The state of an entry that an edit or a discard checks.
struct EntryState {
    pipeline: String,
    status: DlqStatus,
    disposition: Disposition,
    payload: Option<String>,
    payload_version: i64,
    last_run_id: i64,
    updated_at: String,
}

fn entry_state(conn: &rusqlite::Connection, id: i64) -> Result<EntryState, ReviewError> {
    conn.query_row(
        concat!(
            "SELECT pipeline, status, disposition, ",
            current_payload!("payload"),
            ", payload_version, last_run_id, updated_at FROM dlq WHERE id = ?1"
        ),
        [id],
        |r| {
            Ok(EntryState {
                pipeline: r.get(0)?,
                status: r.get(1)?,
                disposition: r.get(2)?,
                payload: r.get(3)?,
                payload_version: r.get(4)?,
                last_run_id: r.get(5)?,
                updated_at: r.get(6)?,
            })
        },
    )
    .optional()?
    .ok_or(ReviewError::RunLog(RunLogError::NoSuchDlqEntry(id)))
}

/// An error unless the entry is open and, with `review`, parked for review.
fn check_state(id: i64, s: &EntryState, review: bool) -> Result<(), ReviewError> {
    if review && s.disposition != Disposition::Review {
        return Err(ReviewError::NotInReview {
            id,
            disposition: s.disposition,
        });
    }
    if s.status != DlqStatus::Open {
        return Err(ReviewError::NotOpen {
            id,
            status: s.status,
        });
    }
    Ok(())
}

impl RunLog {
    /// The payload versions of an entry, oldest first. An entry never
    /// edited has one: its payload as version 1 (`recorded: false`).
    pub fn payload_versions(&self, id: i64) -> Result<Vec<PayloadVersion>, RunLogError> {
        let entry = self.dlq_entry(id)?;
        let mut stmt = self.conn.prepare(
            "SELECT entry_id, version, payload, actor, note, created_at FROM dlq_payloads
             WHERE entry_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(PayloadVersion {
                entry_id: r.get(0)?,
                version: r.get(1)?,
                payload: r.get(2)?,
                actor: r.get(3)?,
                note: r.get(4)?,
                created_at: r.get(5)?,
                recorded: true,
            })
        })?;
        let mut versions: Vec<PayloadVersion> = rows.collect::<Result<_, _>>()?;
        if versions.is_empty() {
            versions.push(PayloadVersion {
                entry_id: id,
                version: entry.payload_version,
                payload: entry.payload,
                actor: SYSTEM_ACTOR.to_owned(),
                note: Some(format!(
                    "the payload it failed with in run {}",
                    entry.last_run_id
                )),
                created_at: entry.updated_at,
                recorded: false,
            });
        }
        Ok(versions)
    }

    /// An open entry parked for review.
    pub fn review_entry(&self, id: i64) -> Result<DlqEntry, ReviewError> {
        let entry = self.dlq_entry(id)?;
        if entry.disposition != Disposition::Review {
            return Err(ReviewError::NotInReview {
                id,
                disposition: entry.disposition,
            });
        }
        if entry.status != DlqStatus::Open {
            return Err(ReviewError::NotOpen {
                id,
                status: entry.status,
            });
        }
        Ok(entry)
    }

    /// Change the payload of an open entry parked for review: the new
    /// payload (a JSON object) becomes a new version, the payload the entry
    /// had stays in the history (copied there first if it is not), and the
    /// edit is audited (`review-edited`, with a diff) by `actor`.
    pub fn edit_review_payload(
        &mut self,
        id: i64,
        edit: &PayloadEdit,
        actor: &str,
        note: Option<&str>,
    ) -> Result<PayloadEdited, ReviewError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = entry_state(&tx, id)?;
        check_state(id, &state, true)?;
        let after = apply_edit(id, state.payload.as_deref(), edit)?;
        let before_value = state
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<Value>(p).ok());
        if before_value.as_ref() == Some(&after) {
            return Err(ReviewError::Unchanged { id });
        }

        // Keep the payload the entry has in the history before replacing it.
        let max: i64 = tx.query_row(
            "SELECT coalesce(max(version), 0) FROM dlq_payloads WHERE entry_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let recorded: Option<Option<String>> = tx
            .query_row(
                "SELECT payload FROM dlq_payloads WHERE entry_id = ?1 AND version = ?2",
                params![id, state.payload_version],
                |r| r.get(0),
            )
            .optional()?;
        let keep_as = match recorded {
            Some(p) if p == state.payload => None,
            None if max < state.payload_version => Some(state.payload_version),
            // A later failure replaced the payload of an edited entry.
            _ => Some(max.max(state.payload_version) + 1),
        };
        if let Some(version) = keep_as {
            tx.execute(
                "INSERT INTO dlq_payloads (entry_id, version, payload, actor, note, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    version,
                    state.payload,
                    SYSTEM_ACTOR,
                    format!("the payload it failed with in run {}", state.last_run_id),
                    state.updated_at
                ],
            )?;
        }
        let version: i64 = tx.query_row(
            "SELECT max(version) + 1 FROM dlq_payloads WHERE entry_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let stored = after.to_string();
        tx.execute(
            "INSERT INTO dlq_payloads (entry_id, version, payload, actor, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, version, stored, actor, note],
        )?;
        tx.execute(
            "UPDATE dlq SET payload = ?2, payload_version = ?3,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1",
            params![id, stored, version],
        )?;

        let before = state.payload.as_deref().map(pretty_payload);
        let after_pretty = serde_json::to_string_pretty(&after).unwrap_or(stored);
        let diff = unified_diff(
            before.as_deref().unwrap_or(""),
            &after_pretty,
            &format!("dlq {id} payload v{}", state.payload_version),
            &format!("dlq {id} payload v{version}"),
        );
        insert_audit(
            &tx,
            &AuditEntry {
                actor: actor.to_owned(),
                pipeline: Some(state.pipeline),
                action: "review-edited".to_owned(),
                subject: Some(id.to_string()),
                before: before.clone(),
                after: Some(after_pretty.clone()),
                diff: Some(diff.clone()),
                run_id: None,
            },
        )?;
        tx.commit()?;
        Ok(PayloadEdited {
            entry_id: id,
            previous_version: state.payload_version,
            version,
            before,
            after: after_pretty,
            diff,
        })
    }

    /// Discard open entries: each gets status `discarded` and resolution
    /// `discarded: <reason>`, and one `dlq-discarded` audit entry by
    /// `actor`. All or nothing: if one entry is not open, none is
    /// discarded. Returns the entries as they are now.
    pub fn discard_dlq_entries(
        &mut self,
        ids: &[i64],
        reason: &str,
        actor: &str,
    ) -> Result<Vec<DlqEntry>, ReviewError> {
        self.discard(ids, reason, actor, false)
    }

    /// [`RunLog::discard_dlq_entries`] for entries that must be parked for
    /// review.
    pub fn discard_review_entries(
        &mut self,
        ids: &[i64],
        reason: &str,
        actor: &str,
    ) -> Result<Vec<DlqEntry>, ReviewError> {
        self.discard(ids, reason, actor, true)
    }

    fn discard(
        &mut self,
        ids: &[i64],
        reason: &str,
        actor: &str,
        review: bool,
    ) -> Result<Vec<DlqEntry>, ReviewError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ReviewError::NoReason);
        }
        if ids.is_empty() {
            return Err(ReviewError::NoEntries);
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let resolution = Resolution::Discarded(reason.to_owned());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for &id in &ids {
            let state = entry_state(&tx, id)?;
            check_state(id, &state, review)?;
            tx.execute(
                "UPDATE dlq SET status = 'discarded', resolution = ?2,
                     resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1",
                params![id, resolution],
            )?;
            insert_audit(
                &tx,
                &AuditEntry {
                    actor: actor.to_owned(),
                    pipeline: Some(state.pipeline),
                    action: "dlq-discarded".to_owned(),
                    subject: Some(id.to_string()),
                    before: Some(state.status.to_string()),
                    after: Some(resolution.to_string()),
                    diff: None,
                    run_id: None,
                },
            )?;
        }
        tx.commit()?;
        ids.iter()
            .map(|&id| self.dlq_entry(id).map_err(ReviewError::from))
            .collect()
    }

    /// Audit the approval of review entries by `actor` (`review-approved`,
    /// one per entry, with the approved payload), replayed in `run_id`.
    pub fn record_review_approvals(
        &mut self,
        entries: &[DlqEntry],
        actor: &str,
        run_id: Option<i64>,
    ) -> Result<(), ReviewError> {
        let tx = self.conn.transaction()?;
        for e in entries {
            insert_audit(
                &tx,
                &AuditEntry {
                    actor: actor.to_owned(),
                    pipeline: Some(e.pipeline.clone()),
                    action: "review-approved".to_owned(),
                    subject: Some(e.id.to_string()),
                    before: None,
                    after: e.payload.as_deref().map(pretty_payload),
                    diff: None,
                    run_id,
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// A run log with DLQ entries at fixed times, for tests.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture;

#[cfg(test)]
mod tests;
