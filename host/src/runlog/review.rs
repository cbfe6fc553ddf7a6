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
use crate::record::{Object, set_path};

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

/// A change to a parked payload.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadEdit {
    /// Replace the whole payload (must be a JSON object).
    Replace(Value),
    /// Set fields (dotted paths create nested objects) to JSON values.
    Set(Vec<(String, Value)>),
}

/// Read `FIELD=JSONVALUE` (`email="ana@example.com"`, `age=42`,
/// `address.city="Lyon"`, `phone=null`). The value must be JSON, so that a
/// string and a number are never confused.
pub fn parse_assignment(text: &str) -> Result<(String, Value), ReviewError> {
    let invalid = |reason: &str| ReviewError::InvalidAssignment {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let (field, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("there is no `=`"))?;
    let field = field.trim();
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(invalid("the field name is empty"));
    }
    let value: Value = serde_json::from_str(value).map_err(|_| {
        invalid(&format!(
            "`{value}` is not JSON; quote strings, e.g. --set '{field}=\"{value}\"'"
        ))
    })?;
    Ok((field.to_owned(), value))
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

/// What a JSON value is, for messages: `an array`, `a string`...
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `payload` pretty-printed when it is JSON, as stored otherwise.
pub fn pretty_payload(payload: &str) -> String {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_owned())
}

/// A unified diff of two texts, with `old` and `new` as file names. Texts
/// are compared as if they ended with a newline.
pub fn unified_diff(before: &str, after: &str, old: &str, new: &str) -> String {
    let line_end = |t: &str| {
        if t.is_empty() || t.ends_with('\n') {
            t.to_owned()
        } else {
            format!("{t}\n")
        }
    };
    let (before, after) = (line_end(before), line_end(after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .header(old, new)
        .to_string()
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

/// The payload after `edit`, as a JSON object.
fn apply_edit(id: i64, current: Option<&str>, edit: &PayloadEdit) -> Result<Value, ReviewError> {
    match edit {
        PayloadEdit::Replace(v) if v.is_object() => Ok(v.clone()),
        PayloadEdit::Replace(v) => Err(ReviewError::NotAnObject {
            id,
            found: kind_of(v),
        }),
        PayloadEdit::Set(fields) => {
            let current = current.ok_or(ReviewError::NoPayload { id })?;
            let mut record: Object = match serde_json::from_str(current) {
                Ok(Value::Object(o)) => o,
                _ => return Err(ReviewError::StoredPayloadNotObject { id }),
            };
            for (field, value) in fields {
                set_path(&mut record, field, value.clone());
            }
            Ok(Value::Object(record))
        }
    }
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
pub mod fixture {
    use rusqlite::params;
    use tempfile::TempDir;

    use crate::runlog::RunLog;

    /// One DLQ row to insert.
    #[derive(Debug, Clone)]
    pub struct Row {
        pub pipeline: &'static str,
        pub entity: &'static str,
        pub key: &'static str,
        pub stage: &'static str,
        pub category: &'static str,
        pub code: &'static str,
        pub field: Option<&'static str>,
        pub message: &'static str,
        pub payload: Option<&'static str>,
        pub disposition: &'static str,
        pub status: &'static str,
        pub attempts: i64,
        pub failures: i64,
        pub run: i64,
        pub updated_at: &'static str,
    }

    impl Default for Row {
        fn default() -> Self {
            Row {
                pipeline: "crm",
                entity: "contacts",
                key: "c-0001",
                stage: "transform",
                category: "validation",
                code: "invalid-email",
                field: Some("email"),
                message: "`ana@` is not an email address",
                payload: Some(r#"{"email":"ana@","id":"c-0001","name":"Ana"}"#),
                disposition: "failed",
                status: "open",
                attempts: 1,
                failures: 1,
                run: 1,
                updated_at: "2026-11-01T10:00:00.000Z",
            }
        }
    }

    /// Insert `row`; returns its id.
    pub fn insert(log: &RunLog, row: &Row) -> i64 {
        log.conn
            .execute(
                "INSERT INTO dlq (pipeline, entity, record_key, source_position, stage, payload, source_payload,
                     category, code, field, message, plugin, plugin_digest, plugin_digests, config_hash,
                     attempts, failures, disposition, status, first_run_id, last_run_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, 'email-check', ?11, ?12, 'sha256:c0ffee',
                     ?13, ?14, ?15, ?16, 1, ?17, ?18, ?18)",
                params![
                    row.pipeline,
                    row.entity,
                    row.key,
                    format!("{}.csv:{}", row.entity, &row.key[2..]),
                    row.stage,
                    row.payload,
                    row.category,
                    row.code,
                    row.field,
                    row.message,
                    format!("sha256:{}", "ab".repeat(32)),
                    format!(r#"{{"transform:{}.email":"sha256:{}"}}"#, row.entity, "ab".repeat(32)),
                    row.attempts,
                    row.failures,
                    row.disposition,
                    row.status,
                    row.run,
                    row.updated_at,
                ],
            )
            .expect("insert a DLQ row");
        log.conn.last_insert_rowid()
    }

    /// Audit rows `(actor, pipeline, action, subject, before, after, diff)`, oldest first.
    #[allow(clippy::type_complexity)]
    pub fn audit_rows(
        log: &RunLog,
    ) -> Vec<(
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> {
        let mut stmt = log
            .conn
            .prepare(
                "SELECT actor, pipeline, action, subject, before, after, diff FROM audit_log ORDER BY id",
            )
            .expect("prepare");
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// A run log with two runs of `crm` and one of `erp`, and DLQ entries:
    ///
    /// 1. crm contacts c-0001 transform validation invalid-email (open, failed, run 1)
    /// 2. crm contacts c-0002 execute transient bad-gateway (open, failed, run 2, 3 attempts, 2 failures)
    /// 3. crm contacts c-0003 execute auth expired-token (open, held-back, run 2)
    /// 4. crm companies k-0001 normalize mapping missing-field (open, review, run 2)
    /// 5. crm contacts c-0004 transform validation invalid-email (resolved, run 1)
    /// 6. erp orders o-0001 execute validation negative-total (open, failed, run 3)
    /// 7. crm contacts c-0005 transform validation invalid-phone (discarded, run 1)
    /// 8. crm contacts c-0006 ingest validation unparseable (open, review, no payload, run 2)
    pub fn dlq_log() -> (TempDir, RunLog) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = RunLog::open(&dir.path().join("runs.db")).expect("open run log");
        for (pipeline, started) in [
            ("crm", "2026-11-01T10:00:00.000Z"),
            ("crm", "2026-11-02T09:30:00.000Z"),
            ("erp", "2026-11-02T11:00:00.000Z"),
        ] {
            log.conn
                .execute(
                    "INSERT INTO runs (pipeline, pipeline_path, config_hash, status, started_at, sluice_version)
                     VALUES (?1, ?2, 'sha256:c0ffee', 'partial', ?3, 'test')",
                    params![pipeline, format!("pipelines/{pipeline}.toml"), started],
                )
                .expect("insert a run");
        }
        let rows = [
            Row::default(),
            Row {
                key: "c-0002",
                stage: "execute",
                category: "transient",
                code: "bad-gateway",
                field: None,
                message: "502 Bad Gateway from https://crm.example.com/api/contacts after 3 attempts; the service may be overloaded",
                payload: Some(r#"{"email":"bo@example.com","id":"c-0002"}"#),
                attempts: 3,
                failures: 2,
                run: 2,
                updated_at: "2026-11-02T09:31:12.250Z",
                ..Row::default()
            },
            Row {
                key: "c-0003",
                stage: "execute",
                category: "auth",
                code: "expired-token",
                field: None,
                message: "Authentication failed: the access token expired",
                disposition: "held-back",
                run: 2,
                updated_at: "2026-11-02T09:31:13.000Z",
                ..Row::default()
            },
            Row {
                entity: "companies",
                key: "k-0001",
                stage: "normalize",
                category: "mapping",
                code: "missing-field",
                field: Some("country"),
                message: "required field `country` is missing",
                payload: Some(r#"{"id":"k-0001","name":"Acme"}"#),
                disposition: "review",
                run: 2,
                updated_at: "2026-11-02T09:32:00.000Z",
                ..Row::default()
            },
            Row {
                key: "c-0004",
                status: "resolved",
                updated_at: "2026-11-02T09:33:00.000Z",
                ..Row::default()
            },
            Row {
                pipeline: "erp",
                entity: "orders",
                key: "o-0001",
                stage: "execute",
                code: "negative-total",
                field: Some("total"),
                message: "total must not be negative",
                payload: Some(r#"{"id":"o-0001","total":-3}"#),
                run: 3,
                updated_at: "2026-11-02T11:00:05.000Z",
                ..Row::default()
            },
            Row {
                key: "c-0005",
                code: "invalid-phone",
                field: Some("phone"),
                status: "discarded",
                ..Row::default()
            },
            Row {
                key: "c-0006",
                stage: "ingest",
                code: "unparseable",
                field: None,
                message: "line 7: unterminated quote",
                payload: None,
                disposition: "review",
                run: 2,
                updated_at: "2026-11-02T09:30:01.000Z",
                ..Row::default()
            },
        ];
        for row in &rows {
            insert(&log, row);
        }
        (dir, log)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fixture::{Row, audit_rows, dlq_log, insert};
    use super::*;
    use crate::runlog::{DlqFilter, StatusFilter};

    fn ids(log: &RunLog, filter: &DlqFilter) -> Vec<i64> {
        log.dlq_entries(filter)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect()
    }

    #[test]
    fn filters_select_entries() {
        let (_dir, log) = dlq_log();
        // Open, not in review, by default.
        assert_eq!(ids(&log, &DlqFilter::default()), vec![1, 2, 3, 6]);
        let f = |f: DlqFilter| ids(&log, &f);
        assert_eq!(
            f(DlqFilter {
                pipeline: Some("crm".into()),
                stage: Some("execute".into()),
                ..DlqFilter::default()
            }),
            vec![2, 3]
        );
        assert_eq!(
            f(DlqFilter {
                category: Some("validation".into()),
                ..DlqFilter::default()
            }),
            vec![1, 6]
        );
        assert_eq!(
            f(DlqFilter {
                field: Some("email".into()),
                status: StatusFilter::Any,
                ..DlqFilter::default()
            }),
            vec![1, 5]
        );
        assert_eq!(
            f(DlqFilter {
                run_id: Some(2),
                include_review: true,
                ..DlqFilter::default()
            }),
            vec![2, 3, 4, 8]
        );
        assert_eq!(
            f(DlqFilter {
                disposition: Some(Disposition::Review),
                ..DlqFilter::default()
            }),
            vec![4, 8]
        );
        assert_eq!(
            f(DlqFilter {
                since: Some("2026-11-02T09:31:13.000Z".into()),
                ..DlqFilter::default()
            }),
            vec![3, 6]
        );
        assert_eq!(
            f(DlqFilter {
                created_before: Some("2026-11-02T09:31:13.000Z".into()),
                ..DlqFilter::default()
            }),
            vec![1, 2],
            "entries at least this old"
        );
        assert_eq!(
            f(DlqFilter {
                key_contains: Some("0002".into()),
                ..DlqFilter::default()
            }),
            vec![2]
        );
        assert_eq!(
            f(DlqFilter {
                key_contains: Some("%".into()),
                ..DlqFilter::default()
            }),
            Vec::<i64>::new(),
            "a key search is literal text, not a pattern"
        );
        assert_eq!(
            f(DlqFilter {
                plugin: Some("email-check".into()),
                pipeline: Some("crm".into()),
                ..DlqFilter::default()
            }),
            vec![1, 2, 3]
        );
        assert_eq!(
            f(DlqFilter {
                plugin: Some("phone".into()),
                ..DlqFilter::default()
            }),
            Vec::<i64>::new()
        );
        assert_eq!(
            f(DlqFilter {
                ids: vec![1, 4, 7],
                ..DlqFilter::default()
            }),
            vec![1],
            "ids do not override the other filters"
        );
    }

    #[test]
    fn assignments_are_json() {
        assert_eq!(
            parse_assignment(r#"email="ana@example.com""#).unwrap(),
            ("email".to_owned(), json!("ana@example.com"))
        );
        assert_eq!(
            parse_assignment("address.zip=69001").unwrap(),
            ("address.zip".to_owned(), json!(69001))
        );
        assert_eq!(
            parse_assignment("note=a=b").unwrap_err().to_string(),
            "cannot read `note=a=b` as FIELD=JSONVALUE: `a=b` is not JSON; quote strings, e.g. --set 'note=\"a=b\"'"
        );
        assert!(matches!(
            parse_assignment("email"),
            Err(ReviewError::InvalidAssignment { .. })
        ));
        assert!(matches!(
            parse_assignment("=1"),
            Err(ReviewError::InvalidAssignment { .. })
        ));
        assert!(matches!(
            parse_assignment("a..b=1"),
            Err(ReviewError::InvalidAssignment { .. })
        ));
    }

    #[test]
    fn an_edit_adds_a_version_and_keeps_the_original() {
        let (_dir, mut log) = dlq_log();
        let original = log.dlq_entry(4).unwrap().payload;
        let versions = log.payload_versions(4).unwrap();
        assert_eq!(versions.len(), 1);
        assert_eq!(
            (versions[0].version, versions[0].recorded),
            (1, false),
            "an unedited entry shows its payload as version 1"
        );

        let edited = log
            .edit_review_payload(
                4,
                &PayloadEdit::Set(vec![("country".into(), json!("FR"))]),
                "alice",
                Some("country from the CRM"),
            )
            .unwrap();
        assert_eq!((edited.previous_version, edited.version), (1, 2));
        assert!(
            edited.diff.contains("+  \"country\": \"FR\","),
            "{}",
            edited.diff
        );
        assert!(
            edited
                .diff
                .starts_with("--- dlq 4 payload v1\n+++ dlq 4 payload v2\n")
        );
        assert!(!edited.diff.contains("No newline"), "{}", edited.diff);

        let edited = log
            .edit_review_payload(
                4,
                &PayloadEdit::Replace(json!({"id": "k-0001", "name": "Acme SA", "country": "FR"})),
                "bob",
                None,
            )
            .unwrap();
        assert_eq!(edited.version, 3);

        let entry = log.dlq_entry(4).unwrap();
        assert_eq!(entry.payload_version, 3);
        assert_eq!(
            serde_json::from_str::<Value>(entry.payload.as_deref().unwrap()).unwrap(),
            json!({"id": "k-0001", "name": "Acme SA", "country": "FR"})
        );
        assert_eq!(entry.status, DlqStatus::Open);
        let versions = log.payload_versions(4).unwrap();
        let summary: Vec<_> = versions
            .iter()
            .map(|v| (v.version, v.actor.as_str(), v.note.as_deref(), v.recorded))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    1,
                    "sluice",
                    Some("the payload it failed with in run 2"),
                    true
                ),
                (2, "alice", Some("country from the CRM"), true),
                (3, "bob", None, true),
            ]
        );
        assert_eq!(
            versions[0].payload, original,
            "the original stays in history"
        );
        assert_eq!(
            versions[0].created_at, "2026-11-02T09:32:00.000Z",
            "version 1 is dated from the failure"
        );

        let audit = audit_rows(&log);
        assert_eq!(audit.len(), 2);
        let (actor, pipeline, action, subject, before, after, diff) = &audit[0];
        assert_eq!(
            (
                actor.as_str(),
                pipeline.as_deref(),
                action.as_str(),
                subject.as_deref()
            ),
            ("alice", Some("crm"), "review-edited", Some("4"))
        );
        assert_eq!(
            before.as_deref(),
            Some("{\n  \"id\": \"k-0001\",\n  \"name\": \"Acme\"\n}")
        );
        assert!(after.as_deref().unwrap().contains("\"country\": \"FR\""));
        assert!(diff.as_deref().unwrap().contains("+  \"country\": \"FR\","));
    }

    #[test]
    fn a_payload_edited_then_failed_again_is_kept_before_the_next_edit() {
        let (_dir, mut log) = dlq_log();
        log.edit_review_payload(
            4,
            &PayloadEdit::Set(vec![("country".into(), json!("FR"))]),
            "alice",
            None,
        )
        .unwrap();
        // A replay failed again with a payload of its own (the writer
        // replaces the payload and keeps the version number).
        log.conn
            .execute(
                r#"UPDATE dlq SET payload = '{"id":"k-0001","country":"FR","name":"ACME"}' WHERE id = 4"#,
                [],
            )
            .unwrap();
        let edited = log
            .edit_review_payload(
                4,
                &PayloadEdit::Set(vec![("name".into(), json!("Acme"))]),
                "alice",
                None,
            )
            .unwrap();
        assert_eq!((edited.previous_version, edited.version), (2, 4));
        let versions = log.payload_versions(4).unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(versions[2].actor, "sluice");
        assert!(versions[2].payload.as_deref().unwrap().contains("ACME"));
    }

    #[test]
    fn edits_are_validated_and_change_nothing_when_refused() {
        let (_dir, mut log) = dlq_log();
        let refused = |log: &mut RunLog, id: i64, edit: PayloadEdit| {
            log.edit_review_payload(id, &edit, "alice", None)
                .unwrap_err()
        };
        assert_eq!(
            refused(&mut log, 4, PayloadEdit::Replace(json!([1, 2]))).to_string(),
            "the new payload of DLQ entry 4 must be a JSON object, not an array"
        );
        assert!(matches!(
            refused(&mut log, 4, PayloadEdit::Replace(json!("x"))),
            ReviewError::NotAnObject {
                id: 4,
                found: "a string"
            }
        ));
        assert!(matches!(
            refused(&mut log, 8, PayloadEdit::Set(vec![("a".into(), json!(1))])),
            ReviewError::NoPayload { id: 8 }
        ));
        assert!(matches!(
            refused(&mut log, 1, PayloadEdit::Replace(json!({}))),
            ReviewError::NotInReview { id: 1, .. }
        ));
        assert!(matches!(
            refused(&mut log, 99, PayloadEdit::Replace(json!({}))),
            ReviewError::RunLog(RunLogError::NoSuchDlqEntry(99))
        ));
        assert!(matches!(
            refused(
                &mut log,
                4,
                PayloadEdit::Set(vec![("name".into(), json!("Acme"))])
            ),
            ReviewError::Unchanged { id: 4 }
        ));
        let closed = insert(
            &log,
            &Row {
                key: "k-0009",
                disposition: "review",
                status: "resolved",
                ..Row::default()
            },
        );
        assert!(matches!(
            refused(&mut log, closed, PayloadEdit::Replace(json!({}))),
            ReviewError::NotOpen { .. }
        ));

        // A whole payload replaces a missing one.
        let edited = log
            .edit_review_payload(
                8,
                &PayloadEdit::Replace(json!({"id": "c-0006"})),
                "alice",
                None,
            )
            .unwrap();
        assert_eq!(edited.before, None);
        assert_eq!(edited.version, 2);
        assert_eq!(log.payload_versions(8).unwrap()[0].payload, None);

        assert_eq!(log.dlq_entry(4).unwrap().payload_version, 1);
        assert!(log.payload_versions(4).unwrap().iter().all(|v| !v.recorded));
        assert_eq!(
            audit_rows(&log).len(),
            1,
            "only the accepted edit is audited"
        );
    }

    #[test]
    fn discards_are_audited_and_all_or_nothing() {
        let (_dir, mut log) = dlq_log();
        assert!(matches!(
            log.discard_dlq_entries(&[1], "  ", "alice"),
            Err(ReviewError::NoReason)
        ));
        // Entry 5 is resolved: nothing is discarded.
        assert!(matches!(
            log.discard_dlq_entries(&[1, 5], "bad data", "alice"),
            Err(ReviewError::NotOpen { id: 5, .. })
        ));
        assert_eq!(log.dlq_entry(1).unwrap().status, DlqStatus::Open);
        assert!(audit_rows(&log).is_empty());

        let discarded = log
            .discard_dlq_entries(&[2, 1, 2], "test records", "alice")
            .unwrap();
        assert_eq!(
            discarded.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        for e in &discarded {
            assert_eq!(e.status, DlqStatus::Discarded);
            assert_eq!(
                e.resolution,
                Some(Resolution::Discarded("test records".into()))
            );
            assert!(e.resolved_at.is_some());
        }
        let audit = audit_rows(&log);
        let summary: Vec<_> = audit
            .iter()
            .map(|(actor, _, action, subject, before, after, _)| {
                (
                    actor.as_str(),
                    action.as_str(),
                    subject.as_deref(),
                    before.as_deref(),
                    after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "alice",
                    "dlq-discarded",
                    Some("1"),
                    Some("open"),
                    Some("discarded: test records")
                ),
                (
                    "alice",
                    "dlq-discarded",
                    Some("2"),
                    Some("open"),
                    Some("discarded: test records")
                ),
            ]
        );
        assert_eq!(ids(&log, &DlqFilter::default()), vec![3, 6]);

        // Review discards only take entries in review.
        assert!(matches!(
            log.discard_review_entries(&[3], "x", "alice"),
            Err(ReviewError::NotInReview { id: 3, .. })
        ));
        assert_eq!(
            log.discard_review_entries(&[4], "duplicate company", "bob")
                .unwrap()[0]
                .status,
            DlqStatus::Discarded
        );
    }

    #[test]
    fn approvals_are_audited_with_the_payload() {
        let (_dir, mut log) = dlq_log();
        let entry = log.review_entry(4).unwrap();
        assert!(matches!(
            log.review_entry(1),
            Err(ReviewError::NotInReview { id: 1, .. })
        ));
        log.record_review_approvals(&[entry], "alice", Some(2))
            .unwrap();
        let audit = audit_rows(&log);
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].2, "review-approved");
        assert_eq!(audit[0].3.as_deref(), Some("4"));
        assert!(audit[0].5.as_deref().unwrap().contains("\"Acme\""));
    }
}
