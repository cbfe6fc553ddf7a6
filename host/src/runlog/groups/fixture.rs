//! A run log filled with a realistic mix of errors and retries, for tests.

use std::time::Duration;

use tempfile::TempDir;

use crate::errors::{Category, Disposition, RecordError};
use crate::model::{RunStatus, Stage, StageCounts, Totals};
use crate::plugin::PluginId;
use crate::runlog::RunLog;
use crate::strategy::{RetryRecord, Strategy};

/// A plugin id with a fixed digest.
pub fn plugin(name: &str) -> PluginId {
    PluginId {
        name: name.into(),
        digest: format!("sha256:{}", "ab".repeat(32)).into(),
    }
}

fn error(
    stage: Stage,
    category: Category,
    code: &str,
    field: Option<&str>,
    plugin_name: Option<&str>,
    key: usize,
    message: &str,
) -> RecordError {
    RecordError {
        record_key: Some(format!("c-{key:04}")),
        source_position: Some(format!("contacts.csv:{}", key + 1)),
        field: field.map(str::to_owned),
        plugin: plugin_name.map(plugin),
        ..RecordError::new(stage, "contacts", category, code, message.to_owned())
    }
}

fn retry(code: &str, key: usize, failures: u32, succeeded: bool) -> RetryRecord {
    RetryRecord {
        stage: Stage::Execute,
        entity: "contacts".to_owned(),
        record_key: Some(format!("c-{key:04}")),
        plugin: Some(plugin("crm")),
        category: Category::Transient,
        code: code.to_owned(),
        failures,
        attempts: failures + u32::from(succeeded),
        succeeded,
        waited_ms: 500 * u64::from(failures),
    }
}

/// The errors of the sample run: 40 invalid emails, 12 invalid phones,
/// 5 traps of plugin `hostile`, one expired token at the target that
/// held back 816 records, and 10 bad gateways left after retries.
pub fn sample_errors() -> Vec<RecordError> {
    let mut errors = Vec::new();
    for k in 0..40 {
        errors.push(error(
            Stage::Transform,
            Category::Validation,
            "invalid-email",
            Some("email"),
            Some("email"),
            100 + k,
            &format!("`user{k}@` is not a valid email address"),
        ));
    }
    for k in 0..12 {
        errors.push(error(
            Stage::Transform,
            Category::Validation,
            "invalid-phone",
            Some("phone"),
            Some("phone-e164"),
            200 + k,
            "`call me maybe` is not a phone number",
        ));
    }
    for k in 0..5 {
        errors.push(error(
            Stage::Transform,
            Category::Mapping,
            "trap",
            Some("name"),
            Some("hostile"),
            300 + k,
            "wasm trap: wasm `unreachable` instruction executed",
        ));
    }
    for k in 0..10 {
        errors.push(RecordError {
            attempts: 5,
            retryable: true,
            ..error(
                Stage::Execute,
                Category::Transient,
                "bad-gateway",
                None,
                Some("crm"),
                400 + k,
                "502 Bad Gateway (gave up after 5 attempts)",
            )
        });
    }
    let auth = error(
        Stage::Execute,
        Category::Auth,
        "EXPIRED_AUTHENTICATION",
        None,
        Some("crm"),
        500,
        "401 Unauthorized: the access token expired",
    );
    errors.push(auth.clone());
    for k in 0..816 {
        let stage = if k < 600 {
            Stage::Execute
        } else {
            Stage::Transform
        };
        errors.push(RecordError {
            stage,
            record_key: Some(format!("c-{:04}", 1000 + k)),
            source_position: Some(format!("contacts.csv:{}", 1001 + k)),
            message: "not processed: paused at the first authentication error".to_owned(),
            attempts: 0,
            disposition: Disposition::HeldBack,
            ..auth.clone()
        });
    }
    errors
}

/// The retries of the sample run: 1,204 rate-limit hits on 800 records
/// that all got through, and 2 + 10 records hitting bad gateways, 10 of
/// which failed after 4 failed attempts.
pub fn sample_retries() -> Vec<RetryRecord> {
    let mut retries = Vec::new();
    for k in 0..800 {
        // 404 records hit it twice, 396 once: 1,204 hits.
        retries.push(retry(
            "rate-limited",
            2000 + k,
            if k < 404 { 2 } else { 1 },
            true,
        ));
    }
    retries.push(retry("bad-gateway", 3000, 1, true));
    retries.push(retry("bad-gateway", 3001, 2, true));
    for k in 0..10 {
        let mut r = retry("bad-gateway", 400 + k, 4, false);
        r.attempts = 5;
        retries.push(r);
    }
    retries
}

/// Fix every timestamp of run `run_id` so output is deterministic:
/// the run starts at `started_at` and lasts `duration_ms`; its errors
/// and retries happen at its start.
pub fn pin_times(log: &RunLog, run_id: i64, started_at: &str, duration_ms: i64) {
    log.conn
            .execute(
                "UPDATE runs SET started_at = ?2,
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?2, '+' || (?3 / 1000.0) || ' seconds'),
                     duration_ms = ?3 WHERE id = ?1",
                rusqlite::params![run_id, started_at, duration_ms],
            )
            .expect("pin run times");
    for table in ["record_errors", "record_retries", "record_skips"] {
        log.conn
            .execute(
                &format!("UPDATE {table} SET occurred_at = ?2 WHERE run_id = ?1"),
                rusqlite::params![run_id, started_at],
            )
            .expect("pin error times");
    }
}

/// Record a finished run of `pipeline` with `errors` and `retries`.
#[allow(clippy::too_many_arguments)]
pub fn add_run(
    log: &mut RunLog,
    pipeline: &str,
    strategy: Strategy,
    status: RunStatus,
    reason: Option<&str>,
    totals: Totals,
    stages: &[(Stage, StageCounts)],
    errors: &[RecordError],
    retries: &[RetryRecord],
    started_at: &str,
) -> i64 {
    let id = log
        .start_run(
            pipeline,
            &format!("pipelines/{pipeline}.toml"),
            &format!("sha256:{}", "cd".repeat(32)),
        )
        .expect("start run");
    log.set_strategy(id, strategy).expect("strategy");
    log.insert_errors(id, errors).expect("errors");
    log.insert_retries(id, retries).expect("retries");
    let stages: Vec<_> = stages
        .iter()
        .map(|(s, c)| ("contacts".to_owned(), *s, *c))
        .collect();
    log.finish_run(id, status, reason, &totals, Duration::ZERO, &stages, &[])
        .expect("finish run");
    pin_times(log, id, started_at, 42_500);
    id
}

fn counts(records_in: u64, records_out: u64, failed: u64, skipped: u64) -> StageCounts {
    StageCounts {
        records_in,
        records_out,
        failed,
        skipped,
    }
}

/// A temporary run log holding the sample run (aborted at the auth
/// error, strategy `retry`); returns it with the run's id.
pub fn sample_log() -> (TempDir, RunLog, i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = RunLog::open(&dir.path().join("runs.db")).expect("open run log");
    let id = add_sample_run(&mut log, "contacts-to-crm", "2026-11-03T09:15:00.000Z");
    (dir, log, id)
}

/// Add the sample run to `log`.
pub fn add_sample_run(log: &mut RunLog, pipeline: &str, started_at: &str) -> i64 {
    // 3,000 extracted: 2,116 loaded, 68 failed, 816 held back.
    add_run(
        log,
        pipeline,
        Strategy::Retry,
        RunStatus::Aborted,
        Some(
            "paused at the first authentication error (EXPIRED_AUTHENTICATION: 401 Unauthorized: the access token expired); update the target connection profile, then re-run",
        ),
        Totals {
            extracted: 3000,
            loaded: 2116,
            failed: 884,
            skipped: 0,
        },
        &[
            (Stage::Ingest, counts(3000, 3000, 0, 0)),
            (Stage::Normalize, counts(3000, 3000, 0, 0)),
            (Stage::Transform, counts(3000, 2727, 273, 0)),
            (Stage::Execute, counts(2727, 2116, 611, 0)),
            (Stage::Finalize, counts(3000, 2116, 884, 0)),
        ],
        &sample_errors(),
        &sample_retries(),
        started_at,
    )
}
