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
pub mod fixture;

#[cfg(test)]
mod tests;
