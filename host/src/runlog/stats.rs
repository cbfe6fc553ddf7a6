//! Error metrics over the run log: runs by status, error rate per pipeline,
//! errors by category per day, and how often retries succeed.
//!
//! Every metric covers the runs that started in a window (`--since`) and,
//! optionally, one pipeline.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::tz::Offset;
use jiff::{Timestamp, civil};
use rusqlite::{Row, params};
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// Where a stats window starts: a point in time, or a time before now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// From this UTC time, as run log text (`2026-11-01T00:00:00.000Z`).
    At(String),
    /// From this long ago.
    Ago(Duration),
}

/// A `--since` value that is neither a date, a UTC time nor a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a date (2026-11-01), an RFC 3339 time (2026-11-01T10:00:00Z) or a duration (7d, 24h, 90m, 30s, 2w)"
)]
pub struct InvalidSince {
    /// The value given.
    pub value: String,
}

impl FromStr for Since {
    type Err = InvalidSince;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidSince {
            value: s.to_owned(),
        };
        let t = s.trim();
        if let Some(d) = parse_duration(t) {
            return Ok(Since::Ago(d));
        }
        parse_time(t).map(Since::At).ok_or_else(invalid)
    }
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Since::At(t) => f.write_str(t),
            Since::Ago(d) => write!(f, "{}s ago", d.as_secs()),
        }
    }
}

/// `7d`, `24h`, `90m`, `30s`, `2w`: a positive whole number and a unit.
fn parse_duration(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let seconds: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let digits = &s[..s.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    // Past about 30,000 years there is nothing in a run log to see anyway.
    let total = n.checked_mul(seconds).filter(|t| *t <= 1_000_000_000_000)?;
    (total > 0).then(|| Duration::from_secs(total))
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time such as
/// `2026-11-01T10:00:00Z` or `2026-11-01T12:00+02:00` (seconds and a
/// fraction optional), as run log text in UTC, `2026-11-01T10:00:00.000Z`.
fn parse_time(s: &str) -> Option<String> {
    let at = match s.parse::<Timestamp>() {
        Ok(at) => at,
        Err(_) => s
            .parse::<civil::Date>()
            .ok()
            .filter(|_| s.len() == 10)
            .and_then(|d| {
                Offset::UTC
                    .to_timestamp(d.to_datetime(civil::Time::midnight()))
                    .ok()
            })?,
    };
    Some(run_log_time(at))
}

/// `at` as run log text: UTC, milliseconds, `2026-11-01T10:00:00.000Z`.
pub(crate) fn run_log_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Which runs the metrics cover.
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    /// Only runs started at or after this.
    pub since: Option<Since>,
    /// Only runs of this pipeline.
    pub pipeline: Option<String>,
}

/// Error metrics over a window of runs.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Start of the window (UTC), or none for the whole run log.
    pub since: Option<String>,
    /// The pipeline, when restricted to one.
    pub pipeline: Option<String>,
    /// Runs in the window.
    pub runs: u64,
    /// Runs by status, in the order succeeded, partial, failed, aborted,
    /// interrupted, running.
    pub runs_by_status: Vec<StatusCount>,
    /// Error rate and retries per pipeline, by name.
    pub pipelines: Vec<PipelineStats>,
    /// Final errors by day and category (from `record_errors`), oldest first.
    pub errors_by_day: Vec<DayErrors>,
    /// Retried errors by day and category (from `record_retries`): problems
    /// the engine handled by retrying, counted apart from final errors.
    pub retries_by_day: Vec<DayRetries>,
    /// Retries over the whole window.
    pub retries: RetryTotals,
}

/// How many runs ended with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    /// `succeeded`, `partial`, `failed`, `aborted`, `interrupted` or `running`.
    pub status: String,
    /// Runs.
    pub runs: u64,
}

/// Error rate and retries of one pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineStats {
    /// Pipeline name.
    pub pipeline: String,
    /// Runs.
    pub runs: u64,
    /// Items read from the source, over its runs.
    pub extracted: u64,
    /// Records loaded.
    pub loaded: u64,
    /// Records failed, held-back records included (`runs.failed`).
    pub failed: u64,
    /// Of `failed`, records held back because a run stopped early.
    pub held_back: u64,
    /// `failed / extracted` (0 to 1, rounded to 4 decimals); none when
    /// nothing was extracted.
    pub error_rate: Option<f64>,
    /// Retries of its runs.
    pub retries: RetryTotals,
}

/// Final errors of one category on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayErrors {
    /// UTC day, `2026-11-03`.
    pub day: String,
    /// Category.
    pub category: String,
    /// Errors recorded (disposition `failed` or `review`).
    pub errors: u64,
    /// Records held back under errors of this category.
    pub held_back: u64,
}

/// Retried errors of one category on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayRetries {
    /// UTC day.
    pub day: String,
    /// Category (`transient`, `connectivity`).
    pub category: String,
    /// Attempts that failed with an error of this category.
    pub occurrences: u64,
    /// Records retried.
    pub records: u64,
    /// Of those, records that got through in the end.
    pub succeeded: u64,
}

/// Retries of a run or of a window of runs.
///
/// A record counts once however many codes it hit; its retries are the
/// attempts it was given beyond the first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RetryTotals {
    /// Retries made: attempts beyond each record's first.
    pub retries: u64,
    /// Records retried at least once.
    pub records_retried: u64,
    /// Of those, records that got through in the end.
    pub succeeded: u64,
    /// Of those, records that still failed after their retries.
    pub failed: u64,
    /// `succeeded / records_retried` (0 to 1, rounded to 4 decimals); none
    /// when nothing was retried.
    pub success_rate: Option<f64>,
}

/// `part / whole`, rounded to 4 decimals; none when `whole` is 0.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// Statuses in display order.
const STATUSES: [&str; 6] = [
    "succeeded",
    "partial",
    "failed",
    "aborted",
    "interrupted",
    "running",
];

/// The runs of the window: `?1` the start (or NULL), `?2` the pipeline (or NULL).
const WINDOW: &str = "(?1 IS NULL OR r.started_at >= ?1) AND (?2 IS NULL OR r.pipeline = ?2)";

/// One row per retried record, with its pipeline: attempts beyond the
/// first, and whether it got through. Takes `WHERE` conditions on `r`
/// (runs) and `t` (record_retries).
fn per_record_retries(condition: &str) -> String {
    format!(
        "SELECT r.pipeline AS pipeline, max(max(t.attempts) - 1, 0) AS retries,
                min(t.outcome = 'succeeded') AS succeeded
         FROM record_retries AS t JOIN runs AS r ON r.id = t.run_id
         WHERE {condition}
         GROUP BY t.run_id, t.stage, t.entity, coalesce(t.record_key, '#' || t.id)"
    )
}

fn count(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
}

/// Retry totals from a row of `retries, records, succeeded`.
fn retry_totals(r: &Row<'_>, first: usize) -> rusqlite::Result<RetryTotals> {
    let records_retried = count(r, first + 1)?;
    let succeeded = count(r, first + 2)?;
    Ok(RetryTotals {
        retries: count(r, first)?,
        records_retried,
        succeeded,
        failed: records_retried - succeeded.min(records_retried),
        success_rate: ratio(succeeded, records_retried),
    })
}

impl RunLog {
    /// Retries of one run.
    pub fn run_retries(&self, run_id: i64) -> Result<RetryTotals, RunLogError> {
        let sql = format!(
            "SELECT sum(retries), count(*), sum(succeeded) FROM ({})",
            per_record_retries("t.run_id = ?1")
        );
        Ok(self
            .conn
            .query_row(&sql, [run_id], |r| retry_totals(r, 0))?)
    }

    /// The UTC time `since` stands for, as run log text.
    pub fn resolve_since(&self, since: &Since) -> Result<String, RunLogError> {
        match since {
            Since::At(t) => Ok(t.clone()),
            Since::Ago(d) => Ok(self.conn.query_row(
                "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
                [format!("-{} seconds", d.as_secs())],
                |r| r.get(0),
            )?),
        }
    }

    /// Error metrics over the runs `filter` selects.
    pub fn stats(&self, filter: &StatsFilter) -> Result<Stats, RunLogError> {
        let since = filter
            .since
            .as_ref()
            .map(|s| self.resolve_since(s))
            .transpose()?;
        let window = params![since, filter.pipeline];

        let mut stmt = self.conn.prepare(&format!(
            "SELECT r.status, count(*) FROM runs AS r WHERE {WINDOW} GROUP BY r.status"
        ))?;
        let mut runs_by_status: Vec<StatusCount> = stmt
            .query_map(window, |r| {
                Ok(StatusCount {
                    status: r.get(0)?,
                    runs: count(r, 1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        runs_by_status.sort_by_key(|s| {
            (
                STATUSES
                    .iter()
                    .position(|x| *x == s.status)
                    .unwrap_or(usize::MAX),
                s.status.clone(),
            )
        });

        let mut stmt = self.conn.prepare(&format!(
            "SELECT r.pipeline, count(*), sum(r.extracted), sum(r.loaded), sum(r.failed),
                    (SELECT count(*) FROM record_errors AS e JOIN runs AS r2 ON r2.id = e.run_id
                     WHERE e.disposition = 'held-back' AND r2.pipeline = r.pipeline
                       AND (?1 IS NULL OR r2.started_at >= ?1))
             FROM runs AS r WHERE {WINDOW} GROUP BY r.pipeline ORDER BY r.pipeline"
        ))?;
        let mut pipelines: Vec<PipelineStats> = stmt
            .query_map(window, |r| {
                let extracted = count(r, 2)?;
                let failed = count(r, 4)?;
                Ok(PipelineStats {
                    pipeline: r.get(0)?,
                    runs: count(r, 1)?,
                    extracted,
                    loaded: count(r, 3)?,
                    failed,
                    held_back: count(r, 5)?,
                    error_rate: ratio(failed, extracted),
                    retries: RetryTotals::default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT pipeline, sum(retries), count(*), sum(succeeded) FROM ({}) GROUP BY pipeline",
            per_record_retries(WINDOW)
        ))?;
        let rows = stmt.query_map(window, |r| {
            Ok((r.get::<_, String>(0)?, retry_totals(r, 1)?))
        })?;
        for row in rows {
            let (pipeline, totals) = row?;
            if let Some(p) = pipelines.iter_mut().find(|p| p.pipeline == pipeline) {
                p.retries = totals;
            }
        }

        let mut stmt = self.conn.prepare(&format!(
            "SELECT substr(e.occurred_at, 1, 10) AS day, e.category,
                    sum(e.disposition <> 'held-back'), sum(e.disposition = 'held-back')
             FROM record_errors AS e JOIN runs AS r ON r.id = e.run_id
             WHERE {WINDOW} GROUP BY day, e.category"
        ))?;
        let mut errors_by_day: Vec<DayErrors> = stmt
            .query_map(window, |r| {
                Ok(DayErrors {
                    day: r.get(0)?,
                    category: r.get(1)?,
                    errors: count(r, 2)?,
                    held_back: count(r, 3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        errors_by_day
            .sort_by(|a, b| day_order(&a.day, &a.category).cmp(&day_order(&b.day, &b.category)));

        let mut stmt = self.conn.prepare(&format!(
            "SELECT substr(t.occurred_at, 1, 10) AS day, t.category, sum(t.failures), count(*),
                    sum(t.outcome = 'succeeded')
             FROM record_retries AS t JOIN runs AS r ON r.id = t.run_id
             WHERE {WINDOW} GROUP BY day, t.category"
        ))?;
        let mut retries_by_day: Vec<DayRetries> = stmt
            .query_map(window, |r| {
                Ok(DayRetries {
                    day: r.get(0)?,
                    category: r.get(1)?,
                    occurrences: count(r, 2)?,
                    records: count(r, 3)?,
                    succeeded: count(r, 4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        retries_by_day
            .sort_by(|a, b| day_order(&a.day, &a.category).cmp(&day_order(&b.day, &b.category)));

        let retries = self.conn.query_row(
            &format!(
                "SELECT sum(retries), count(*), sum(succeeded) FROM ({})",
                per_record_retries(WINDOW)
            ),
            window,
            |r| retry_totals(r, 0),
        )?;

        Ok(Stats {
            since,
            pipeline: filter.pipeline.clone(),
            runs: runs_by_status.iter().map(|s| s.runs).sum(),
            runs_by_status,
            pipelines,
            errors_by_day,
            retries_by_day,
            retries,
        })
    }
}

/// Rows of a per-day table: by day, then category in rank order.
fn day_order<'a>(day: &'a str, category: &'a str) -> (&'a str, u8, &'a str) {
    (day, category_rank(category), category)
}

fn category_rank(category: &str) -> u8 {
    category
        .parse::<crate::errors::Category>()
        .map_or(u8::MAX, crate::errors::Category::rank)
}

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture {
    //! A run log with several runs over three days and two pipelines.

    use tempfile::TempDir;

    use crate::errors::{Category, RecordError};
    use crate::model::{RunStatus, Stage, StageCounts, Totals};
    use crate::runlog::RunLog;
    use crate::runlog::groups::fixture::{add_run, add_sample_run};
    use crate::strategy::Strategy;

    fn validation_errors(n: usize) -> Vec<RecordError> {
        (0..n)
            .map(|k| RecordError {
                record_key: Some(format!("o-{k}")),
                field: Some("email".into()),
                ..RecordError::new(
                    Stage::Transform,
                    "contacts",
                    Category::Validation,
                    "invalid-email",
                    "bad email".into(),
                )
            })
            .collect()
    }

    fn totals(extracted: u64, loaded: u64, failed: u64) -> Totals {
        Totals {
            extracted,
            loaded,
            failed,
            skipped: 0,
        }
    }

    fn finalize(t: &Totals) -> [(Stage, StageCounts); 1] {
        [(
            Stage::Finalize,
            StageCounts {
                records_in: t.extracted,
                records_out: t.loaded,
                failed: t.failed,
                skipped: 0,
            },
        )]
    }

    /// Five runs: an old one (Oct 28) outside a window starting Nov 1, then
    /// `contacts-to-crm` succeeding, partial and aborted (the sample run),
    /// and `orders-nightly` failing.
    pub fn history() -> (TempDir, RunLog) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut log = RunLog::open(&dir.path().join("runs.db")).expect("open run log");
        let t = totals(500, 480, 20);
        add_run(
            &mut log,
            "contacts-to-crm",
            Strategy::Skip,
            RunStatus::Partial,
            None,
            t,
            &finalize(&t),
            &validation_errors(20),
            &[],
            "2026-10-28T08:00:00.000Z",
        );
        let t = totals(1000, 1000, 0);
        add_run(
            &mut log,
            "contacts-to-crm",
            Strategy::Retry,
            RunStatus::Succeeded,
            None,
            t,
            &finalize(&t),
            &[],
            &[],
            "2026-11-01T06:00:00.000Z",
        );
        let t = totals(1000, 970, 30);
        add_run(
            &mut log,
            "contacts-to-crm",
            Strategy::Skip,
            RunStatus::Partial,
            None,
            t,
            &finalize(&t),
            &validation_errors(30),
            &[],
            "2026-11-02T06:00:00.000Z",
        );
        add_sample_run(&mut log, "contacts-to-crm", "2026-11-03T09:15:00.000Z");
        let t = totals(0, 0, 0);
        let config = RecordError::new(
            Stage::Ingest,
            "*",
            Category::Config,
            "invalid-pipeline",
            "orders.toml:3:1: unknown field `sourse`".into(),
        );
        add_run(
            &mut log,
            "orders-nightly",
            Strategy::Skip,
            RunStatus::Failed,
            Some("orders.toml:3:1: unknown field `sourse`"),
            t,
            &[],
            &[config],
            &[],
            "2026-11-03T02:00:00.000Z",
        );
        (dir, log)
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::history;
    use super::*;
    use crate::runlog::groups::fixture::sample_log;

    fn since(s: &str) -> Result<Since, InvalidSince> {
        s.parse()
    }

    #[test]
    fn since_accepts_dates_times_and_durations() {
        let at = |s: &str| Ok(Since::At(s.to_owned()));
        assert_eq!(since("2026-11-01"), at("2026-11-01T00:00:00.000Z"));
        assert_eq!(
            since("2026-11-01T10:00:00Z"),
            at("2026-11-01T10:00:00.000Z")
        );
        assert_eq!(since("2026-11-01T10:00Z"), at("2026-11-01T10:00:00.000Z"));
        assert_eq!(
            since("2026-11-01T10:00:00.25Z"),
            at("2026-11-01T10:00:00.250Z")
        );
        assert_eq!(since("2024-02-29"), at("2024-02-29T00:00:00.000Z"));
        // A space or lower case may stand for `T` and `Z`; a fraction beyond
        // milliseconds is cut, not rounded; an offset is brought to UTC.
        assert_eq!(
            since("2026-11-01 10:00:00.9999z"),
            at("2026-11-01T10:00:00.999Z")
        );
        assert_eq!(
            since("2026-11-01t23:30:00+02:00"),
            at("2026-11-01T21:30:00.000Z")
        );
        assert_eq!(
            since("2026-11-01T01:00:00-02:30"),
            at("2026-11-01T03:30:00.000Z")
        );
        assert_eq!(since("7d"), Ok(Since::Ago(Duration::from_secs(7 * 86_400))));
        assert_eq!(since("24h"), Ok(Since::Ago(Duration::from_secs(86_400))));
        assert_eq!(since("90m"), Ok(Since::Ago(Duration::from_secs(5_400))));
        assert_eq!(
            since("2w"),
            Ok(Since::Ago(Duration::from_secs(14 * 86_400)))
        );
    }

    #[test]
    fn since_rejects_everything_else_naming_the_value() {
        for bad in [
            "",
            "yesterday",
            "7",
            "d",
            "-7d",
            "0d",
            "7 d",
            "7y",
            "1.5h",
            "2026-13-01",
            "2026-02-29",
            "2026-11-31",
            "26-11-01",
            "2026-11-01T10:00:00",
            "2026-11-01T25:00:00Z",
            "2026-11-01T10:00:00.Z",
            "99999999999999999999d",
        ] {
            let err = since(bad).expect_err(bad);
            let text = err.to_string();
            assert!(text.contains(&format!("`{bad}`")), "{text}");
            assert!(
                text.contains("7d") && text.contains("2026-11-01T10:00:00Z"),
                "{text}"
            );
        }
    }

    #[test]
    fn retries_of_a_run_count_records_once_and_attempts_beyond_the_first() {
        let (_dir, log, id) = sample_log();
        let totals = log.run_retries(id).unwrap();
        // 800 rate-limited records: 404 needed 2 retries, 396 one (1,204);
        // bad gateways: 1 + 2 for the two that got through, 4 × 10 for the rest.
        assert_eq!(
            totals,
            RetryTotals {
                retries: 1204 + 3 + 40,
                records_retried: 812,
                succeeded: 802,
                failed: 10,
                success_rate: Some(0.9877),
            }
        );
    }

    #[test]
    fn stats_cover_the_window_and_pipeline() {
        let (_dir, log) = history();
        let all = log.stats(&StatsFilter::default()).unwrap();
        assert_eq!(all.runs, 5);
        let window = StatsFilter {
            since: Some(since("2026-11-01").unwrap()),
            pipeline: None,
        };
        let stats = log.stats(&window).unwrap();
        assert_eq!(stats.since.as_deref(), Some("2026-11-01T00:00:00.000Z"));
        assert_eq!(stats.runs, 4);
        let statuses: Vec<_> = stats
            .runs_by_status
            .iter()
            .map(|s| (s.status.as_str(), s.runs))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("succeeded", 1),
                ("partial", 1),
                ("failed", 1),
                ("aborted", 1)
            ]
        );
        let contacts = &stats.pipelines[0];
        assert_eq!(contacts.pipeline, "contacts-to-crm");
        assert_eq!(
            (contacts.runs, contacts.extracted, contacts.failed),
            (3, 5000, 914)
        );
        assert_eq!(contacts.held_back, 816);
        assert_eq!(contacts.error_rate, Some(0.1828));
        assert_eq!(contacts.retries.records_retried, 812);
        let orders = &stats.pipelines[1];
        assert_eq!(
            (orders.pipeline.as_str(), orders.error_rate),
            ("orders-nightly", None)
        );

        let days: Vec<_> = stats
            .errors_by_day
            .iter()
            .map(|d| (d.day.as_str(), d.category.as_str(), d.errors, d.held_back))
            .collect();
        assert_eq!(
            days,
            vec![
                ("2026-11-02", "validation", 30, 0),
                ("2026-11-03", "auth", 1, 816),
                ("2026-11-03", "config", 1, 0),
                ("2026-11-03", "mapping", 5, 0),
                ("2026-11-03", "validation", 52, 0),
                ("2026-11-03", "transient", 10, 0),
            ]
        );
        let retried: Vec<_> = stats
            .retries_by_day
            .iter()
            .map(|d| {
                (
                    d.day.as_str(),
                    d.category.as_str(),
                    d.occurrences,
                    d.records,
                    d.succeeded,
                )
            })
            .collect();
        assert_eq!(retried, vec![("2026-11-03", "transient", 1247, 812, 802)]);
        assert_eq!(stats.retries.success_rate, Some(0.9877));

        let orders_only = log
            .stats(&StatsFilter {
                pipeline: Some("orders-nightly".into()),
                ..window
            })
            .unwrap();
        assert_eq!(orders_only.runs, 1);
        assert_eq!(orders_only.retries, RetryTotals::default());
        assert_eq!(orders_only.errors_by_day.len(), 1);
    }

    #[test]
    fn a_duration_resolves_to_a_time_before_now() {
        let (_dir, log) = history();
        let cutoff = log
            .resolve_since(&Since::Ago(Duration::from_secs(3600)))
            .unwrap();
        let now: String = log
            .conn
            .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(
            cutoff < now && cutoff.len() == now.len(),
            "{cutoff} vs {now}"
        );
        let later = log
            .stats(&StatsFilter {
                since: Some(since("2027-01-01").unwrap()),
                pipeline: None,
            })
            .unwrap();
        assert_eq!(later.runs, 0);
        let recent = later;
        assert!(recent.pipelines.is_empty() && recent.retries.success_rate.is_none());
    }
}
