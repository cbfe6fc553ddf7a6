//! Phase captures: the documents each batch went through.

use rusqlite::params;
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// One captured document.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureRow {
    /// Entity.
    pub entity: String,
    /// The batch's ordinal within the entity and phase.
    pub batch: i64,
    /// `extract`, `load`, `response` or `http`.
    pub phase: String,
    /// The document (JSON).
    pub document: serde_json::Value,
    /// When it was captured.
    pub created_at: String,
}

impl RunLog {
    /// The captures of `run_id` at `phase`, in batch order.
    pub fn captures(&self, run_id: i64, phase: &str) -> Result<Vec<CaptureRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT entity, batch, phase, document, created_at FROM captures
             WHERE run_id = ?1 AND phase = ?2 ORDER BY entity, batch, id",
        )?;
        let rows = stmt.query_map(params![run_id, phase], |r| {
            Ok(CaptureRow {
                entity: r.get(0)?,
                batch: r.get(1)?,
                phase: r.get(2)?,
                document: serde_json::from_str(&r.get::<_, String>(3)?)
                    .unwrap_or(serde_json::Value::Null),
                created_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The item for record `key` in the `phase` captures of `run_id`.
    pub fn captured_record(
        &self,
        run_id: i64,
        phase: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>, RunLogError> {
        Ok(self
            .captures(run_id, phase)?
            .into_iter()
            .flat_map(|c| match c.document {
                serde_json::Value::Array(items) => items,
                _ => Vec::new(),
            })
            .find(|item| item["key"].as_str() == Some(key)))
    }
}
