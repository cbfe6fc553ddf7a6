//! The operator's view of a run's errors: one group per cause instead of one
//! row per record, with what it means and where to fix it, and the transient
//! errors that retries absorbed folded into one line per code.
//!
//! A group's cause is its stage, category, code, field and plugin. Records
//! held back because the run stopped are filed under the error that stopped
//! it (same category, code, field and plugin) and counted apart: they did not
//! fail, they were not processed.
//!
//! An error about a whole entity stream (stored with neither a record key
//! nor a source position: the source stopped reading, or the target could
//! not commit) is not a record: groups count such streams apart, with how
//! many records of the stream were read before it stopped.

use std::cmp::Reverse;

use rusqlite::types::Value as Sql;
use serde::Serialize;

use super::error::RunLogError;
use super::queries::ErrorFilter;
use super::store::RunLog;
use crate::errors::{Category, ErrorFacts, Guidance};
use crate::model::Stage;

/// A run's errors grouped by cause, and its retries folded by code.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorGroups {
    /// Groups in the order an operator should look at them: actionable
    /// first, then by category rank, then largest first.
    pub groups: Vec<ErrorGroup>,
    /// Retried errors, one entry per category and code.
    pub retried: Vec<RetryGroup>,
    /// Distinct records that failed (or were parked for review), over every
    /// group: a record with errors in several groups counts once here.
    /// Failed streams are not records and are not counted.
    pub failed_records: u64,
}

impl ErrorGroups {
    /// Records held back, over every group.
    pub fn held_back(&self) -> u64 {
        self.groups.iter().map(|g| g.held_back).sum()
    }

    /// How many groups need a person.
    pub fn actionable(&self) -> usize {
        self.groups.iter().filter(|g| g.actionable).count()
    }

    /// Entity streams that failed as a whole, over every group.
    pub fn failed_streams(&self) -> u64 {
        self.groups.iter().map(|g| g.streams.len() as u64).sum()
    }
}

/// Errors sharing one cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    /// Stage where the records failed.
    pub stage: String,
    /// Entities whose records are in the group, sorted.
    pub entities: Vec<String>,
    /// Category (`auth`, `validation`...).
    pub category: String,
    /// Stable code.
    pub code: String,
    /// Field concerned, if any.
    pub field: Option<String>,
    /// Plugin that reported or caused the errors, if any.
    pub plugin: Option<String>,
    /// Whether a person must change something for these records to get through.
    pub actionable: bool,
    /// Records that failed with this cause (disposition `failed` or `review`).
    pub count: u64,
    /// Of `count`, those parked for review (disposition `review`).
    pub in_review: u64,
    /// Records not processed because the run stopped at this error
    /// (disposition `held-back`).
    pub held_back: u64,
    /// Entity streams that failed as a whole with this cause: not records.
    pub streams: Vec<StreamFailure>,
    /// What went wrong, in one line without counts (current wording, not
    /// the wording stored when the run happened).
    pub summary: String,
    /// What to change, and where.
    pub hint: String,
    /// The first record of the group.
    pub example: Option<ErrorExample>,
}

impl ErrorGroup {
    /// Records failed and held back.
    pub fn affected(&self) -> u64 {
        self.count + self.held_back
    }
}

/// An entity stream that failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamFailure {
    /// The entity.
    pub entity: String,
    /// For a source that stopped: the items it had read before (they went
    /// on through the pipeline; the rest of the stream was not read). None
    /// for a target's stream, or when the run recorded no counts.
    pub read_before: Option<u64>,
}

/// One record of a group, to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorExample {
    /// Id of the error row.
    pub error_id: i64,
    /// Entity.
    pub entity: String,
    /// Record key (none for an error about a whole stream).
    pub record_key: Option<String>,
    /// Where the record came from.
    pub source_position: Option<String>,
    /// The error's message.
    pub message: String,
}

/// Retries of one category and code, folded into one line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryGroup {
    /// Category (`transient`, `connectivity`).
    pub category: String,
    /// Code (`rate-limited`, `bad-gateway`...).
    pub code: String,
    /// Stages that retried, in data-path order.
    pub stages: Vec<String>,
    /// What the error means, in one line without counts.
    pub summary: String,
    /// Attempts that failed with this code: how many times it happened.
    pub occurrences: u64,
    /// Records that hit it and were retried.
    pub records: u64,
    /// Of those, records that got through in the end.
    pub succeeded: u64,
    /// Of those, records that still failed after their retries; they also
    /// appear in an error group.
    pub failed: u64,
}

/// One row of the grouping query: errors of one stage, cause, entity and
/// disposition.
struct Part {
    stage: String,
    category: String,
    code: String,
    field: Option<String>,
    plugin: Option<String>,
    entity: String,
    disposition: String,
    records: u64,
    /// Errors about the whole stream rather than a record.
    streams: u64,
    example: ErrorExample,
}

impl Part {
    fn cause(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (
            &self.category,
            &self.code,
            self.field.as_deref(),
            self.plugin.as_deref(),
        )
    }
}

impl ErrorGroup {
    fn cause(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (
            &self.category,
            &self.code,
            self.field.as_deref(),
            self.plugin.as_deref(),
        )
    }

    fn from_part(p: &Part) -> Self {
        let category = p.category.parse::<Category>().ok();
        let guidance = guidance(
            category,
            &p.category,
            &p.code,
            p.field.as_deref(),
            p.plugin.as_deref(),
            &p.stage,
        );
        ErrorGroup {
            stage: p.stage.clone(),
            entities: Vec::new(),
            category: p.category.clone(),
            code: p.code.clone(),
            field: p.field.clone(),
            plugin: p.plugin.clone(),
            actionable: category.is_none_or(Category::is_actionable),
            count: 0,
            in_review: 0,
            held_back: 0,
            streams: Vec::new(),
            summary: guidance.summary,
            hint: guidance.hint,
            example: None,
        }
    }

    fn add(&mut self, p: Part) {
        if p.streams > 0 && !self.streams.iter().any(|s| s.entity == p.entity) {
            self.streams.push(StreamFailure {
                entity: p.entity.clone(),
                read_before: None,
            });
        }
        if p.disposition == "held-back" {
            self.held_back += p.records;
        } else {
            self.count += p.records;
            if p.disposition == "review" {
                self.in_review += p.records;
            }
        }
        if !self.entities.contains(&p.entity) {
            self.entities.push(p.entity);
            self.entities.sort();
        }
        // Parts come in the order of their first error, failures before
        // held-back records: the first one seen is the example.
        if self.example.is_none() {
            self.example = Some(p.example);
        }
    }
}

/// Guidance for a stored error; categories this version does not know get
/// a plain description.
fn guidance(
    category: Option<Category>,
    category_name: &str,
    code: &str,
    field: Option<&str>,
    plugin: Option<&str>,
    stage: &str,
) -> Guidance {
    match category {
        Some(category) => Guidance::for_error(ErrorFacts {
            category,
            code,
            field,
            plugin,
            stage,
        }),
        None => Guidance {
            summary: format!("{category_name} error ({code})"),
            hint: "Check the records with --rows; fix the source data or the mapping.".to_owned(),
        },
    }
}

/// Where `category` ranks; unknown categories go last.
fn rank(category: &str) -> u8 {
    category.parse::<Category>().map_or(u8::MAX, Category::rank)
}

/// Where `stage` is in the data path; unknown stages go last.
fn stage_order(stage: &str) -> usize {
    stage
        .parse::<Stage>()
        .ok()
        .and_then(|s| Stage::ALL.iter().position(|x| *x == s))
        .unwrap_or(usize::MAX)
}

/// `AND column = ?n` for each filter that is set, except `stage` when
/// `with_stage` is false.
fn filter_sql(filter: &ErrorFilter, with_stage: bool, args: &mut Vec<Sql>, sql: &mut String) {
    let stage = if with_stage { &filter.stage } else { &None };
    for (column, value) in [
        ("stage", stage),
        ("category", &filter.category),
        ("code", &filter.code),
        ("field", &filter.field),
        ("entity", &filter.entity),
        ("record_key", &filter.record_key),
        ("plugin", &filter.plugin),
    ] {
        if let Some(v) = value {
            args.push(Sql::Text(v.clone()));
            sql.push_str(&format!(" AND {column} = ?{}", args.len()));
        }
    }
}

impl RunLog {
    /// The errors of a run grouped by cause, and its retries folded by code,
    /// restricted by `filter` (`limit` is ignored).
    ///
    /// Held-back records join the group of the error that stopped the run
    /// (same category, code, field and plugin, whatever the stage they were
    /// held at); the stage filter applies to the group's stage.
    pub fn error_groups(
        &self,
        run_id: i64,
        filter: &ErrorFilter,
    ) -> Result<ErrorGroups, RunLogError> {
        let parts = self.error_parts(run_id, filter)?;
        let mut groups: Vec<ErrorGroup> = Vec::new();
        let (held, failed): (Vec<Part>, Vec<Part>) = parts
            .into_iter()
            .partition(|p| p.disposition == "held-back");
        for p in failed {
            let key = (p.stage.as_str(), p.cause());
            match groups
                .iter_mut()
                .find(|g| (g.stage.as_str(), g.cause()) == key)
            {
                Some(g) => g.add(p),
                None => {
                    let mut g = ErrorGroup::from_part(&p);
                    g.add(p);
                    groups.push(g);
                }
            }
        }
        for p in held {
            // The group of the error that stopped the run: the earliest
            // failure with the same cause, at any stage.
            let target = groups
                .iter_mut()
                .filter(|g| (g.count > 0 || !g.streams.is_empty()) && g.cause() == p.cause())
                .min_by_key(|g| g.example.as_ref().map_or(i64::MAX, |e| e.error_id));
            match target {
                Some(g) => g.add(p),
                None => match groups
                    .iter_mut()
                    .find(|g| (g.stage.as_str(), g.cause()) == (p.stage.as_str(), p.cause()))
                {
                    Some(g) => g.add(p),
                    None => {
                        let mut g = ErrorGroup::from_part(&p);
                        g.add(p);
                        groups.push(g);
                    }
                },
            }
        }
        if let Some(stage) = &filter.stage {
            groups.retain(|g| g.stage == *stage);
        }
        if groups.iter().any(|g| !g.streams.is_empty()) {
            let counts = self.stage_counts(run_id)?;
            for g in groups
                .iter_mut()
                .filter(|g| g.stage == Stage::Ingest.as_str())
            {
                for stream in &mut g.streams {
                    stream.read_before = counts
                        .iter()
                        .find(|c| c.entity == stream.entity && c.stage == Stage::Ingest.as_str())
                        .map(|c| c.records_in.max(0) as u64);
                }
            }
        }
        groups.sort_by(|a, b| {
            let key = |g: &ErrorGroup| {
                (
                    !g.actionable,
                    rank(&g.category),
                    Reverse(g.affected()),
                    stage_order(&g.stage),
                    g.code.clone(),
                    g.field.clone(),
                    g.plugin.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        let retries = self.retry_groups(run_id, filter)?;
        let failed_records = self.failed_records(run_id, filter)?;
        Ok(ErrorGroups {
            groups,
            retried: retries,
            failed_records,
        })
    }

    fn failed_records(&self, run_id: i64, filter: &ErrorFilter) -> Result<u64, RunLogError> {
        let mut sql = String::from(
            "SELECT count(DISTINCT entity || char(31) || coalesce(record_key, source_position, '#' || id))
             FROM record_errors WHERE run_id = ?1 AND disposition <> 'held-back'
               AND (record_key IS NOT NULL OR source_position IS NOT NULL)",
        );
        let mut args = vec![Sql::Integer(run_id)];
        filter_sql(filter, true, &mut args, &mut sql);
        let n: i64 = self
            .conn
            .query_row(&sql, rusqlite::params_from_iter(args), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn error_parts(&self, run_id: i64, filter: &ErrorFilter) -> Result<Vec<Part>, RunLogError> {
        // SQLite fills the bare columns from the row holding `min(id)`.
        let mut sql = String::from(
            "SELECT stage, category, code, field, plugin, entity, disposition,
                    count(DISTINCT coalesce(record_key, source_position)),
                    sum(record_key IS NULL AND source_position IS NULL),
                    min(id), record_key, source_position, message
             FROM record_errors WHERE run_id = ?1",
        );
        let mut args = vec![Sql::Integer(run_id)];
        filter_sql(filter, false, &mut args, &mut sql);
        sql.push_str(
            " GROUP BY stage, category, code, field, plugin, entity, disposition ORDER BY min(id)",
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            let entity: String = r.get(5)?;
            Ok(Part {
                stage: r.get(0)?,
                category: r.get(1)?,
                code: r.get(2)?,
                field: r.get(3)?,
                plugin: r.get(4)?,
                disposition: r.get(6)?,
                records: r.get::<_, i64>(7)?.max(0) as u64,
                streams: r.get::<_, i64>(8)?.max(0) as u64,
                example: ErrorExample {
                    error_id: r.get(9)?,
                    entity: entity.clone(),
                    record_key: r.get(10)?,
                    source_position: r.get(11)?,
                    message: r.get(12)?,
                },
                entity,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn retry_groups(
        &self,
        run_id: i64,
        filter: &ErrorFilter,
    ) -> Result<Vec<RetryGroup>, RunLogError> {
        // Retries are not about a field.
        if filter.field.is_some() {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT category, code, stage, min(plugin), sum(failures),
                    count(DISTINCT entity || char(31) || coalesce(record_key, '#' || id)),
                    count(DISTINCT CASE WHEN outcome = 'succeeded'
                          THEN entity || char(31) || coalesce(record_key, '#' || id) END),
                    count(DISTINCT CASE WHEN outcome = 'failed'
                          THEN entity || char(31) || coalesce(record_key, '#' || id) END)
             FROM record_retries WHERE run_id = ?1",
        );
        let mut args = vec![Sql::Integer(run_id)];
        filter_sql(filter, true, &mut args, &mut sql);
        sql.push_str(" GROUP BY category, code, stage");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            let count = |i| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                [count(4)?, count(5)?, count(6)?, count(7)?],
            ))
        })?;
        let mut groups: Vec<RetryGroup> = Vec::new();
        for row in rows {
            let (category, code, stage, plugin, [occurrences, records, succeeded, failed]) = row?;
            let g = match groups
                .iter_mut()
                .find(|g| g.category == category && g.code == code)
            {
                Some(g) => g,
                None => {
                    let summary = guidance(
                        category.parse().ok(),
                        &category,
                        &code,
                        None,
                        plugin.as_deref(),
                        &stage,
                    )
                    .summary;
                    groups.push(RetryGroup {
                        category,
                        code,
                        stages: Vec::new(),
                        summary,
                        occurrences: 0,
                        records: 0,
                        succeeded: 0,
                        failed: 0,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            g.stages.push(stage);
            g.stages.sort_by_key(|s| stage_order(s));
            g.occurrences += occurrences;
            g.records += records;
            g.succeeded += succeeded;
            g.failed += failed;
        }
        groups.sort_by(|a, b| {
            let key = |g: &RetryGroup| (rank(&g.category), Reverse(g.occurrences), g.code.clone());
            key(a).cmp(&key(b))
        });
        Ok(groups)
    }
}

/// A run log filled with a realistic mix of errors and retries, for tests.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture {
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
}

#[cfg(test)]
mod tests {
    use super::fixture::sample_log;
    use super::*;

    fn summary_of(g: &ErrorGroup) -> (&str, &str, Option<&str>, u64, u64, bool) {
        (
            g.category.as_str(),
            g.code.as_str(),
            g.field.as_deref(),
            g.count,
            g.held_back,
            g.actionable,
        )
    }

    #[test]
    fn groups_come_actionable_first_by_rank_then_size() {
        let (_dir, log, id) = sample_log();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let got: Vec<_> = grouped.groups.iter().map(summary_of).collect();
        assert_eq!(
            got,
            vec![
                ("auth", "EXPIRED_AUTHENTICATION", None, 1, 816, true),
                ("mapping", "trap", Some("name"), 5, 0, true),
                ("validation", "invalid-email", Some("email"), 40, 0, true),
                ("validation", "invalid-phone", Some("phone"), 12, 0, true),
                ("transient", "bad-gateway", None, 10, 0, false),
            ]
        );
        assert_eq!(grouped.failed_records, 68);
        assert_eq!(grouped.held_back(), 816);
        assert_eq!(grouped.actionable(), 4);
    }

    #[test]
    fn held_back_records_join_the_group_that_stopped_the_run() {
        let (_dir, log, id) = sample_log();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let auth = &grouped.groups[0];
        // Held back at execute and at transform, filed under the execute error.
        assert_eq!(auth.stage, "execute");
        assert_eq!(auth.entities, vec!["contacts".to_owned()]);
        let example = auth.example.as_ref().unwrap();
        assert_eq!(example.record_key.as_deref(), Some("c-0500"));
        assert_eq!(
            example.message,
            "401 Unauthorized: the access token expired"
        );
        assert!(auth.hint.contains("target connection profile"), "{auth:?}");
    }

    #[test]
    fn summaries_and_hints_come_from_current_guidance() {
        let (_dir, log, id) = sample_log();
        // Make the stored hints stale: the view must not show them.
        log.conn
            .execute("UPDATE record_errors SET hint = 'stale hint'", [])
            .unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let email = &grouped.groups[2];
        assert_eq!(
            email.summary,
            "Invalid value for field `email` (invalid-email)"
        );
        assert!(email.hint.contains("mapping of field `email`"));
        let trap = &grouped.groups[1];
        assert_eq!(
            trap.summary,
            "Plugin `hostile` crashed (trap) on field `name`"
        );
        assert_eq!(trap.plugin.as_deref(), Some("hostile"));
        assert!(grouped.groups.iter().all(|g| g.hint != "stale hint"));
        let first_email = email.example.as_ref().unwrap();
        assert_eq!(first_email.record_key.as_deref(), Some("c-0100"));
        assert_eq!(
            first_email.source_position.as_deref(),
            Some("contacts.csv:101")
        );
    }

    #[test]
    fn retries_fold_into_one_line_per_code() {
        let (_dir, log, id) = sample_log();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let retries: Vec<_> = grouped
            .retried
            .iter()
            .map(|r| {
                (
                    r.code.as_str(),
                    r.occurrences,
                    r.records,
                    r.succeeded,
                    r.failed,
                )
            })
            .collect();
        assert_eq!(
            retries,
            vec![
                ("rate-limited", 1204, 800, 800, 0),
                ("bad-gateway", 43, 12, 2, 10)
            ]
        );
        assert_eq!(
            grouped.retried[0].summary,
            "Rate limited by the remote system"
        );
        assert_eq!(grouped.retried[0].stages, vec!["execute".to_owned()]);
    }

    #[test]
    fn filters_narrow_groups_and_retries() {
        let (_dir, log, id) = sample_log();
        let by_field = log
            .error_groups(
                id,
                &ErrorFilter {
                    field: Some("phone".into()),
                    ..ErrorFilter::default()
                },
            )
            .unwrap();
        assert_eq!(by_field.groups.len(), 1);
        assert_eq!(by_field.groups[0].count, 12);
        assert!(by_field.retried.is_empty(), "retries have no field");

        let by_category = log
            .error_groups(
                id,
                &ErrorFilter {
                    category: Some("transient".into()),
                    ..ErrorFilter::default()
                },
            )
            .unwrap();
        assert_eq!(by_category.groups.len(), 1);
        assert_eq!(by_category.retried.len(), 2);

        let by_stage = log
            .error_groups(
                id,
                &ErrorFilter {
                    stage: Some("transform".into()),
                    ..ErrorFilter::default()
                },
            )
            .unwrap();
        let codes: Vec<_> = by_stage.groups.iter().map(|g| g.code.as_str()).collect();
        assert_eq!(codes, vec!["trap", "invalid-email", "invalid-phone"]);
        assert!(by_stage.retried.is_empty());

        let other_entity = log
            .error_groups(
                id,
                &ErrorFilter {
                    entity: Some("companies".into()),
                    ..ErrorFilter::default()
                },
            )
            .unwrap();
        assert!(other_entity.groups.is_empty());
        assert!(other_entity.retried.is_empty());
    }

    #[test]
    fn review_records_are_counted_apart_and_unknown_categories_survive() {
        let (_dir, log, id) = sample_log();
        log.conn
            .execute(
                "UPDATE record_errors SET disposition = 'review' WHERE code = 'invalid-phone' AND record_key < 'c-0204'",
                [],
            )
            .unwrap();
        log.conn
            .execute(
                "UPDATE record_errors SET category = 'from-the-future' WHERE code = 'trap'",
                [],
            )
            .unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let phone = grouped
            .groups
            .iter()
            .find(|g| g.code == "invalid-phone")
            .unwrap();
        assert_eq!((phone.count, phone.in_review), (12, 4));
        let future = grouped.groups.iter().find(|g| g.code == "trap").unwrap();
        assert!(future.actionable);
        assert_eq!(future.summary, "from-the-future error (trap)");
        // Unknown categories rank after the known actionable ones.
        assert_eq!(grouped.groups[3].code, "trap");
    }

    #[test]
    fn a_record_in_two_groups_counts_once() {
        let (_dir, log, id) = sample_log();
        // c-0100 also has a bad phone.
        log.conn
            .execute(
                "UPDATE record_errors SET record_key = 'c-0100' WHERE record_key = 'c-0200'",
                [],
            )
            .unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let per_group: u64 = grouped.groups.iter().map(|g| g.count).sum();
        assert_eq!((per_group, grouped.failed_records), (68, 67));
    }

    #[test]
    fn a_run_without_errors_has_no_groups() {
        let (_dir, log, _) = sample_log();
        let id = log.start_run("empty", "empty.toml", "sha256:00").unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        assert!(grouped.groups.is_empty() && grouped.retried.is_empty());
    }
}
