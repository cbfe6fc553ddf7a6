//! Inserting the rows a run produces: record errors, skips and retries.

use rusqlite::{Transaction, params};

use super::error::RunLogError;
use crate::errors::{Category, RecordError};
use crate::model::{RetryRecord, SkipRecord, Stage};

/// What an error's hint depends on.
type HintKey = (Category, String, Option<String>, Stage);

/// Insert error rows; returns the id of the first (they are consecutive).
pub(crate) fn insert_errors(
    tx: &Transaction<'_>,
    run_id: i64,
    errors: &[RecordError],
) -> Result<i64, RunLogError> {
    let mut first_id = 0;
    // One timestamp for the batch rather than a `strftime` per row.
    let occurred_at: String = tx
        .prepare_cached("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")?
        .query_row([], |row| row.get(0))?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO record_errors (run_id, stage, entity, record_key, source_position, field, plugin, plugin_digest,
             category, code, message, retryable, payload, source_payload, actionable, hint, attempts, disposition,
             occurred_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?;
    // Errors of one batch mostly share their cause: write each hint once.
    let mut hints: Vec<(HintKey, String)> = Vec::new();
    for e in errors {
        let facts = (e.category, e.code.clone(), e.field.clone(), e.stage);
        let hint = match hints.iter().find(|(k, _)| *k == facts) {
            Some((_, h)) => h.clone(),
            None => {
                let h = e.guidance().hint;
                hints.push((facts, h.clone()));
                h
            }
        };
        stmt.execute(params![
            run_id,
            e.stage.as_str(),
            e.entity,
            e.record_key,
            e.source_position,
            e.field,
            e.plugin.as_ref().map(|p| p.name.to_string()),
            e.plugin.as_ref().map(|p| p.digest.to_string()),
            e.category.as_str(),
            e.code,
            e.message,
            e.retryable,
            e.payload,
            e.source_payload,
            e.actionable(),
            hint,
            e.attempts,
            e.disposition.as_str(),
            occurred_at
        ])?;
        if first_id == 0 {
            first_id = tx.last_insert_rowid();
        }
    }
    Ok(first_id)
}

pub(crate) fn insert_skips(
    tx: &Transaction<'_>,
    run_id: i64,
    skips: &[SkipRecord],
) -> Result<(), RunLogError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO record_skips (run_id, stage, entity, record_key, source_position, reason, plugin, plugin_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for s in skips {
        stmt.execute(params![
            run_id,
            s.stage.as_str(),
            s.entity,
            s.record_key,
            s.source_position,
            s.reason,
            s.plugin.as_ref().map(|p| p.name.to_string()),
            s.plugin.as_ref().map(|p| p.digest.to_string())
        ])?;
    }
    Ok(())
}

pub(crate) fn insert_retries(
    tx: &Transaction<'_>,
    run_id: i64,
    retries: &[RetryRecord],
) -> Result<(), RunLogError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO record_retries (run_id, stage, entity, record_key, plugin, plugin_digest, category, code,
             failures, attempts, outcome, waited_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for r in retries {
        stmt.execute(params![
            run_id,
            r.stage.as_str(),
            r.entity,
            r.record_key,
            r.plugin.as_ref().map(|p| p.name.to_string()),
            r.plugin.as_ref().map(|p| p.digest.to_string()),
            r.category.as_str(),
            r.code,
            r.failures,
            r.attempts,
            if r.succeeded { "succeeded" } else { "failed" },
            r.waited_ms as i64
        ])?;
    }
    Ok(())
}
