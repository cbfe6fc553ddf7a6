//! A run log with DLQ entries at fixed times, for tests.

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
