//! The target key ledger: per pipeline, target plugin and entity, every
//! record key a target said it created, updated or left unchanged, with the
//! id the target gave it and a digest of the body sent (never the body).
//!
//! The target contract has no "would this create or update?" call, so a dry
//! run (`sluice run --dry-run`) answers from this ledger instead: a key it
//! does not know would be created, a known key with the same body digest
//! would be unchanged, a known key with another digest would be updated.
//! It knows only what this data directory loaded: a record created in the
//! target by anything else shows as "would create".
//!
//! The run log writer fills it in the transactions it already commits
//! (prepared upserts of 32 rows; a record sent again as it was, with the
//! same answer, leaves its row untouched); it is state, like cursors, so it
//! is neither pruned with runs nor part of `sluice runs export`.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::RunLogError;
use super::store::RunLog;

/// Bytes of a body's SHA-256 the ledger keeps: enough to tell bodies apart,
/// half the space of the whole digest.
pub const DIGEST_BYTES: usize = 16;

/// The longest target id the ledger keeps, in bytes (a target's answer is
/// hostile: a longer one is cut at a character boundary).
pub const MAX_TARGET_ID_BYTES: usize = 256;

/// The skip reason of a record a dry run would create in the target.
pub const WOULD_CREATE: &str = "dry run: would create";
/// The skip reason of a record a dry run would update in the target.
pub const WOULD_UPDATE: &str = "dry run: would update";
/// The skip reason of a record a dry run would send unchanged.
pub const WOULD_BE_UNCHANGED: &str = "dry run: would be unchanged";
/// The skip reason of a record a dry run could not compare (the ledger
/// could not be read).
pub const DRY_RUN_REASON: &str = "dry run: not written to the target";

/// A digest of a body as sent to the target.
pub type BodyDigest = [u8; DIGEST_BYTES];

/// The digest the ledger keeps of `body`.
pub fn body_digest(body: &str) -> BodyDigest {
    let full = Sha256::digest(body.as_bytes());
    let mut d = [0; DIGEST_BYTES];
    d.copy_from_slice(&full[..DIGEST_BYTES]);
    d
}

/// What the target answered for a record it loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadOutcome {
    /// `created`.
    Created,
    /// `updated`.
    Updated,
    /// `unchanged`.
    Unchanged,
}

impl LoadOutcome {
    /// The name kept in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadOutcome::Created => "created",
            LoadOutcome::Updated => "updated",
            LoadOutcome::Unchanged => "unchanged",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "created" => LoadOutcome::Created,
            "updated" => LoadOutcome::Updated,
            _ => LoadOutcome::Unchanged,
        }
    }
}

/// One record a target loaded, for the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The record's key.
    pub record_key: String,
    /// The id the target answered with, if it gave one.
    pub target_id: Option<String>,
    /// The digest of the body sent.
    pub digest: BodyDigest,
    /// What the target answered.
    pub outcome: LoadOutcome,
}

impl LedgerEntry {
    /// The entry for `key`, sent as `body`, answered with `outcome` and
    /// `target_id` (cut to [`MAX_TARGET_ID_BYTES`]).
    pub fn new(key: &str, body: &str, outcome: LoadOutcome, target_id: Option<&str>) -> Self {
        LedgerEntry {
            record_key: key.to_owned(),
            target_id: target_id.map(|id| cut(id, MAX_TARGET_ID_BYTES).to_owned()),
            digest: body_digest(body),
            outcome,
        }
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What the ledger knows of one record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    /// The id the target gave it, if any.
    pub target_id: Option<String>,
    /// The digest of the body last loaded.
    pub digest: BodyDigest,
    /// The target's last answer.
    pub outcome: LoadOutcome,
    /// The run that last changed what is known of it (loaded it first, or
    /// sent another body, or got another answer or id).
    pub run_id: i64,
}

/// What a dry run says would become of a record in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Would {
    /// Unknown to the ledger: it would be created.
    Create,
    /// Known with another body: it would be updated.
    Update {
        /// The target's id for it.
        target_id: Option<String>,
    },
    /// Known with the same body.
    BeUnchanged {
        /// The target's id for it.
        target_id: Option<String>,
    },
}

impl Would {
    /// Compare the body about to be sent (`digest`) with what the ledger
    /// knows of its key.
    pub fn of(known: Option<&KnownKey>, digest: &BodyDigest) -> Self {
        match known {
            None => Would::Create,
            Some(k) if k.digest == *digest => Would::BeUnchanged {
                target_id: k.target_id.clone(),
            },
            Some(k) => Would::Update {
                target_id: k.target_id.clone(),
            },
        }
    }

    /// The skip reason a dry run records for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Would::Create => WOULD_CREATE,
            Would::Update { .. } => WOULD_UPDATE,
            Would::BeUnchanged { .. } => WOULD_BE_UNCHANGED,
        }
    }
}

/// Ledger streams already looked up by a writer: `(target, entity)` → id.
pub(crate) type StreamIds = HashMap<(String, String), i64>;

/// Record what a target loaded for `entity` of `pipeline` in run `run_id`,
/// in the writer's transaction `tx`.
pub(crate) fn record_loads(
    tx: &Transaction<'_>,
    streams: &mut StreamIds,
    run_id: i64,
    pipeline: &str,
    target: &str,
    entity: &str,
    entries: &[LedgerEntry],
) -> Result<(), RunLogError> {
    if entries.is_empty() {
        return Ok(());
    }
    let stream = match streams.get(&(target.to_owned(), entity.to_owned())) {
        Some(id) => *id,
        None => {
            tx.prepare_cached(
                "INSERT INTO ledger_streams (pipeline, target, entity) VALUES (?1, ?2, ?3)
                 ON CONFLICT (pipeline, target, entity) DO NOTHING",
            )?
            .execute(params![pipeline, target, entity])?;
            let id: i64 = tx
                .prepare_cached(
                    "SELECT id FROM ledger_streams WHERE pipeline = ?1 AND target = ?2 AND entity = ?3",
                )?
                .query_row(params![pipeline, target, entity], |r| r.get(0))?;
            streams.insert((target.to_owned(), entity.to_owned()), id);
            id
        }
    };
    // One timestamp for the batch rather than a `strftime` per row.
    let loaded_at: String = tx
        .prepare_cached("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")?
        .query_row([], |row| row.get(0))?;
    // Rows go in CHUNK at a time, with one statement: fewer statement
    // steps per record than one upsert each.
    let mut chunks = entries.chunks_exact(CHUNK);
    if chunks.len() > 0 {
        let mut stmt = tx.prepare_cached(&upsert_sql(CHUNK))?;
        for chunk in chunks.by_ref() {
            bind_rows(&mut stmt, stream, run_id, &loaded_at, chunk)?;
            stmt.raw_execute()?;
        }
    }
    for e in chunks.remainder() {
        let mut stmt = tx.prepare_cached(&upsert_sql(1))?;
        bind_rows(
            &mut stmt,
            stream,
            run_id,
            &loaded_at,
            std::slice::from_ref(e),
        )?;
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Ledger rows written by one statement.
const CHUNK: usize = 32;

/// The upsert of `rows` ledger rows: `?1` the stream, `?2` the run, `?3`
/// the time, then four parameters per row. A row that would not change
/// (the same body digest, answer and id: a record sent again as it was)
/// is left as it is, so no page is written for it.
fn upsert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let p = 4 + 4 * i;
            format!("(?1, ?{}, ?{}, ?{}, ?{}, ?2, ?3)", p, p + 1, p + 2, p + 3)
        })
        .collect();
    format!(
        "INSERT INTO target_ledger (stream_id, record_key, target_id, body_digest, outcome, run_id, loaded_at)
         VALUES {}
         ON CONFLICT (stream_id, record_key) DO UPDATE SET
             target_id = coalesce(excluded.target_id, target_ledger.target_id),
             body_digest = excluded.body_digest,
             outcome = excluded.outcome,
             run_id = excluded.run_id,
             loaded_at = excluded.loaded_at
         WHERE excluded.body_digest IS NOT target_ledger.body_digest
            OR excluded.outcome IS NOT target_ledger.outcome
            OR (excluded.target_id IS NOT NULL AND excluded.target_id IS NOT target_ledger.target_id)",
        values.join(", ")
    )
}

fn bind_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    stream: i64,
    run_id: i64,
    loaded_at: &str,
    rows: &[LedgerEntry],
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(1, stream)?;
    stmt.raw_bind_parameter(2, run_id)?;
    stmt.raw_bind_parameter(3, loaded_at)?;
    for (i, e) in rows.iter().enumerate() {
        let p = 4 + 4 * i;
        stmt.raw_bind_parameter(p, &e.record_key)?;
        stmt.raw_bind_parameter(p + 1, &e.target_id)?;
        stmt.raw_bind_parameter(p + 2, &e.digest[..])?;
        stmt.raw_bind_parameter(p + 3, e.outcome.as_str())?;
    }
    Ok(())
}

/// How a dry run's records came out, for its report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DryRunOutcomes {
    /// Records the ledger does not know: they would be created.
    pub would_create: u64,
    /// Records known with another body: they would be updated.
    pub would_update: u64,
    /// Records known with the same body.
    pub would_be_unchanged: u64,
    /// Records that reached the target but could not be compared (the
    /// ledger could not be read).
    pub not_compared: u64,
    /// Records rejected before the target.
    pub rejected: u64,
    /// The first records, by entity and key.
    pub records: Vec<DryRunRecord>,
    /// Records beyond those listed.
    pub more: u64,
}

/// One record of a dry run's report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DryRunRecord {
    /// The entity.
    pub entity: String,
    /// The record's key (none for an error of a whole stream).
    pub record_key: Option<String>,
    /// `would-create`, `would-update`, `would-be-unchanged`,
    /// `not-compared` or `rejected`.
    pub outcome: String,
    /// The target's id for it, from the ledger (would update / unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// Rejected: the stage, error code and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Rejected: the error's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Rejected: the error's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn outcome_of_reason(reason: &str) -> &'static str {
    match reason {
        WOULD_CREATE => "would-create",
        WOULD_UPDATE => "would-update",
        WOULD_BE_UNCHANGED => "would-be-unchanged",
        _ => "not-compared",
    }
}

impl RunLog {
    /// What the ledger knows of `key` of `entity`, loaded by `target` for
    /// `pipeline`.
    pub fn ledger_key(
        &self,
        pipeline: &str,
        target: &str,
        entity: &str,
        key: &str,
    ) -> Result<Option<KnownKey>, RunLogError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT l.target_id, l.body_digest, l.outcome, l.run_id
                 FROM target_ledger l JOIN ledger_streams s ON s.id = l.stream_id
                 WHERE s.pipeline = ?1 AND s.target = ?2 AND s.entity = ?3 AND l.record_key = ?4",
            )?
            .query_row(params![pipeline, target, entity, key], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(target_id, digest, outcome, run_id)| {
            let mut d = [0; DIGEST_BYTES];
            let n = digest.len().min(DIGEST_BYTES);
            d[..n].copy_from_slice(&digest[..n]);
            KnownKey {
                target_id,
                digest: d,
                outcome: LoadOutcome::parse(&outcome),
                run_id,
            }
        }))
    }

    /// Record keys the ledger holds for `pipeline`.
    pub fn ledger_len(&self, pipeline: &str) -> Result<u64, RunLogError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM target_ledger l JOIN ledger_streams s ON s.id = l.stream_id
             WHERE s.pipeline = ?1",
            [pipeline],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// How the records of dry run `run_id` came out: counts per outcome and
    /// the first `limit` records by entity and key, with the target's id
    /// for those the ledger knows.
    pub fn dry_run_outcomes(
        &self,
        run_id: i64,
        limit: usize,
    ) -> Result<DryRunOutcomes, RunLogError> {
        let mut out = DryRunOutcomes::default();
        {
            let mut stmt = self.conn.prepare(
                "SELECT reason, count(*) FROM record_skips
                 WHERE run_id = ?1 AND stage = 'execute' AND reason LIKE 'dry run: %'
                 GROUP BY reason",
            )?;
            let rows = stmt.query_map([run_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            for row in rows {
                let (reason, n) = row?;
                match outcome_of_reason(&reason) {
                    "would-create" => out.would_create += n,
                    "would-update" => out.would_update += n,
                    "would-be-unchanged" => out.would_be_unchanged += n,
                    _ => out.not_compared += n,
                }
            }
        }
        out.rejected = self.conn.query_row(
            "SELECT count(*) FROM record_errors WHERE run_id = ?1 AND record_key IS NOT NULL",
            [run_id],
            |r| r.get::<_, i64>(0),
        )? as u64;
        let mut stmt = self.conn.prepare(
            "SELECT entity, record_key, kind, reason_or_stage, target_id, code, message FROM (
                 SELECT k.entity, k.record_key, 0 AS kind, k.reason AS reason_or_stage,
                        (SELECT l.target_id FROM target_ledger l JOIN ledger_streams s ON s.id = l.stream_id
                          WHERE s.pipeline = r.pipeline AND s.target = k.plugin AND s.entity = k.entity
                            AND l.record_key = k.record_key) AS target_id,
                        NULL AS code, NULL AS message
                 FROM record_skips k JOIN runs r ON r.id = k.run_id
                 WHERE k.run_id = ?1 AND k.stage = 'execute' AND k.reason LIKE 'dry run: %'
                 UNION ALL
                 SELECT e.entity, e.record_key, 1, e.stage, NULL, e.code, e.message
                 FROM record_errors e WHERE e.run_id = ?1 AND e.record_key IS NOT NULL
             ) ORDER BY entity, record_key, kind LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![run_id, limit as i64], |r| {
            let kind: i64 = r.get(2)?;
            let reason_or_stage: String = r.get(3)?;
            Ok(if kind == 0 {
                let outcome = outcome_of_reason(&reason_or_stage);
                DryRunRecord {
                    entity: r.get(0)?,
                    record_key: r.get(1)?,
                    outcome: outcome.to_owned(),
                    // A key created since is not what this run compared with.
                    target_id: if outcome == "would-create" {
                        None
                    } else {
                        r.get(4)?
                    },
                    stage: None,
                    code: None,
                    message: None,
                }
            } else {
                DryRunRecord {
                    entity: r.get(0)?,
                    record_key: r.get(1)?,
                    outcome: "rejected".to_owned(),
                    target_id: None,
                    stage: Some(reason_or_stage),
                    code: r.get(5)?,
                    message: r.get(6)?,
                }
            })
        })?;
        for row in rows {
            out.records.push(row?);
        }
        let total = out.would_create
            + out.would_update
            + out.would_be_unchanged
            + out.not_compared
            + out.rejected;
        out.more = total.saturating_sub(out.records.len() as u64);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> (tempfile::TempDir, RunLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        (dir, log)
    }

    #[test]
    fn loads_are_kept_per_pipeline_target_and_entity_and_updated_in_place() {
        let (_dir, mut log) = log();
        let mut streams = StreamIds::new();
        let tx = log.conn.transaction().unwrap();
        record_loads(
            &tx,
            &mut streams,
            1,
            "p",
            "http",
            "contacts",
            &[
                LedgerEntry::new("a", r#"{"n":1}"#, LoadOutcome::Created, Some("id-a")),
                LedgerEntry::new("b", r#"{"n":2}"#, LoadOutcome::Created, None),
            ],
        )
        .unwrap();
        // The same key under another entity, target or pipeline is another
        // record.
        record_loads(
            &tx,
            &mut streams,
            1,
            "p",
            "http",
            "deals",
            &[LedgerEntry::new(
                "a",
                "{}",
                LoadOutcome::Created,
                Some("d-a"),
            )],
        )
        .unwrap();
        tx.commit().unwrap();
        let a = log
            .ledger_key("p", "http", "contacts", "a")
            .unwrap()
            .unwrap();
        assert_eq!(a.target_id.as_deref(), Some("id-a"));
        assert_eq!(a.digest, body_digest(r#"{"n":1}"#));
        assert_eq!(a.outcome, LoadOutcome::Created);
        assert_eq!(
            log.ledger_key("p", "http", "deals", "a")
                .unwrap()
                .unwrap()
                .target_id
                .as_deref(),
            Some("d-a")
        );
        assert_eq!(log.ledger_key("p", "jsonl", "contacts", "a").unwrap(), None);
        assert_eq!(log.ledger_key("q", "http", "contacts", "a").unwrap(), None);
        assert_eq!(log.ledger_len("p").unwrap(), 3);

        // A later run: `unchanged` without an id keeps the known id, a new
        // body replaces the digest.
        let mut streams = StreamIds::new();
        let tx = log.conn.transaction().unwrap();
        record_loads(
            &tx,
            &mut streams,
            2,
            "p",
            "http",
            "contacts",
            &[
                LedgerEntry::new("a", r#"{"n":9}"#, LoadOutcome::Unchanged, None),
                LedgerEntry::new("b", r#"{"n":2}"#, LoadOutcome::Updated, Some("id-b")),
            ],
        )
        .unwrap();
        tx.commit().unwrap();
        let a = log
            .ledger_key("p", "http", "contacts", "a")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.target_id.as_deref(), a.digest, a.outcome, a.run_id),
            (
                Some("id-a"),
                body_digest(r#"{"n":9}"#),
                LoadOutcome::Unchanged,
                2
            )
        );
        let b = log
            .ledger_key("p", "http", "contacts", "b")
            .unwrap()
            .unwrap();
        assert_eq!(b.target_id.as_deref(), Some("id-b"));
        assert_eq!(log.ledger_len("p").unwrap(), 3);
    }

    #[test]
    fn many_loads_go_in_chunks_and_a_key_loaded_twice_keeps_its_last_answer() {
        let (_dir, mut log) = log();
        let mut streams = StreamIds::new();
        // 2 chunks and a remainder; `k3` is loaded again in the same chunk
        // and again in the remainder.
        let mut entries: Vec<LedgerEntry> = (0..70)
            .map(|i| LedgerEntry::new(&format!("k{i}"), "{}", LoadOutcome::Created, None))
            .collect();
        entries[10] = LedgerEntry::new("k3", "{\"v\":1}", LoadOutcome::Updated, Some("x"));
        entries[68] = LedgerEntry::new("k3", "{\"v\":2}", LoadOutcome::Unchanged, None);
        let tx = log.conn.transaction().unwrap();
        record_loads(&tx, &mut streams, 5, "p", "t", "e", &entries).unwrap();
        tx.commit().unwrap();
        assert_eq!(log.ledger_len("p").unwrap(), 68);
        let k3 = log.ledger_key("p", "t", "e", "k3").unwrap().unwrap();
        assert_eq!(
            (k3.target_id.as_deref(), k3.digest, k3.outcome, k3.run_id),
            (
                Some("x"),
                body_digest("{\"v\":2}"),
                LoadOutcome::Unchanged,
                5
            )
        );
        assert!(log.ledger_key("p", "t", "e", "k69").unwrap().is_some());

        // The same answer for the same body changes nothing: the row keeps
        // the run that last changed it.
        let tx = log.conn.transaction().unwrap();
        let again = LedgerEntry::new("k69", "{}", LoadOutcome::Created, None);
        record_loads(&tx, &mut streams, 6, "p", "t", "e", &[again]).unwrap();
        tx.commit().unwrap();
        assert_eq!(
            log.ledger_key("p", "t", "e", "k69")
                .unwrap()
                .unwrap()
                .run_id,
            5
        );
    }

    #[test]
    fn a_dry_run_compares_body_digests() {
        let known = KnownKey {
            target_id: Some("42".into()),
            digest: body_digest(r#"{"a":1}"#),
            outcome: LoadOutcome::Created,
            run_id: 1,
        };
        assert_eq!(Would::of(None, &body_digest("{}")), Would::Create);
        assert_eq!(
            Would::of(Some(&known), &body_digest(r#"{"a":1}"#)),
            Would::BeUnchanged {
                target_id: Some("42".into())
            }
        );
        assert_eq!(
            Would::of(Some(&known), &body_digest(r#"{"a":2}"#)),
            Would::Update {
                target_id: Some("42".into())
            }
        );
        assert_eq!(Would::Create.reason(), WOULD_CREATE);
    }

    #[test]
    fn a_hostile_target_id_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_TARGET_ID_BYTES);
        let e = LedgerEntry::new("k", "{}", LoadOutcome::Created, Some(&long));
        let id = e.target_id.unwrap();
        assert!(id.len() <= MAX_TARGET_ID_BYTES && id.len() >= MAX_TARGET_ID_BYTES - 1);
        assert!(id.chars().all(|c| c == 'é'));
    }
}
