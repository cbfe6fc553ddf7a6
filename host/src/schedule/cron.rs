//! Cron expressions evaluated in a time zone, with croner on jiff.
//!
//! Croner searches on wall-clock time and asks its date type to resolve a
//! wall-clock time in the zone; [`ZonedTime`] answers from jiff's time zone
//! database. Daylight saving time follows croner's rules (the Open Cron
//! Pattern Specification): a job at a fixed time that falls in a
//! spring-forward gap runs once, at the first instant after the gap; one in
//! a fall-back fold runs once, at the first of the two instants. Jobs with
//! wildcard or stepped hours run at every matching instant that exists.

use std::cmp::Ordering;
use std::str::FromStr;

use croner::errors::CronError;
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

/// A cron expression and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    expression: String,
    zone: TimeZone,
    zone_name: String,
}

/// A cron expression or time zone that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvalidCron {
    /// The expression does not parse.
    #[error("`{expression}` is not a cron expression: {reason}")]
    Expression {
        /// The expression.
        expression: String,
        /// Croner's reason.
        reason: String,
    },
    /// The time zone is not in the time zone database.
    #[error("`{0}` is not a time zone of the IANA database (such as `Europe/Berlin` or `UTC`)")]
    Zone(String),
}

impl CronSchedule {
    /// Parse `expression` (five fields: minute hour day-of-month month
    /// day-of-week, or an alias such as `@daily`) to be read in the zone
    /// named `zone` (IANA name; `UTC` when `None`).
    pub fn new(expression: &str, zone: Option<&str>) -> Result<Self, InvalidCron> {
        let cron = Cron::from_str(expression.trim()).map_err(|e| InvalidCron::Expression {
            expression: expression.to_owned(),
            reason: e.to_string(),
        })?;
        let zone_name = zone.unwrap_or("UTC").to_owned();
        let zone = TimeZone::get(&zone_name).map_err(|_| InvalidCron::Zone(zone_name.clone()))?;
        Ok(CronSchedule {
            cron,
            expression: expression.to_owned(),
            zone,
            zone_name,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone's name.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The first fire strictly after `after`, or `None` if the expression
    /// never matches again (a date that does not exist, a year past 5000).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let start = ZonedTime(after.to_zoned_datetime(self.zone.clone()));
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|z| z.0.timestamp())
    }

    /// The last fire at or before `at`, if there is one.
    pub fn last_at_or_before(&self, at: Timestamp) -> Option<Timestamp> {
        let start = ZonedTime(at.to_zoned_datetime(self.zone.clone()));
        self.cron
            .find_previous_occurrence(&start, true)
            .ok()
            .map(|z| z.0.timestamp())
    }
}

/// A `jiff::ZonedDateTime` croner can search over.
#[derive(Debug, Clone)]
struct ZonedTime(ZonedDateTime);

fn to_civil(dt: jiff::civil::DateTime) -> CivilDateTime {
    CivilDateTime::new(
        CivilDate::from_parts_unchecked(i32::from(dt.year()), dt.month() as u32, dt.day() as u32),
        CivilTime::from_parts_unchecked(dt.hour() as u32, dt.minute() as u32, dt.second() as u32),
    )
}

fn to_jiff(civil: CivilDateTime) -> Result<jiff::civil::DateTime, CronError> {
    let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
    jiff::civil::DateTime::new(
        year,
        civil.month() as i8,
        civil.day() as i8,
        civil.hour() as i8,
        civil.minute() as i8,
        civil.second() as i8,
        0,
    )
    .map_err(|_| CronError::InvalidDate)
}

impl CronDateTime for ZonedTime {
    fn to_civil(&self) -> CivilDateTime {
        to_civil(self.0.datetime())
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let ambiguous = self
            .0
            .time_zone()
            .to_ambiguous_zoned_datetime(to_jiff(civil)?);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(ZonedTime(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => {
                let earlier = ambiguous
                    .clone()
                    .earlier()
                    .map_err(|_| CronError::InvalidTime)?;
                let later = ambiguous.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(ZonedTime(earlier), ZonedTime(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(ZonedTime)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wall-clock time `civil` in `zone` (the earlier instant in a fold).
    fn at(zone: &str, civil: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = civil.parse().unwrap();
        dt.to_zoned_datetime(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
    }

    fn fires(s: &CronSchedule, from: Timestamp, n: usize) -> Vec<String> {
        let zone = TimeZone::get(s.zone_name()).unwrap();
        let mut t = from;
        (0..n)
            .map(|_| {
                t = s.next_after(t).unwrap();
                t.to_zoned_datetime(zone.clone())
                    .strftime("%Y-%m-%dT%H:%M%:z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn daily_0230_on_berlin_spring_forward_runs_once_after_the_gap() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let s = CronSchedule::new("30 2 * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            fires(&s, at("Europe/Berlin", "2026-03-28T12:00"), 3),
            [
                "2026-03-29T03:00+02:00",
                "2026-03-30T02:30+02:00",
                "2026-03-31T02:30+02:00",
            ]
        );
    }

    #[test]
    fn daily_0230_on_berlin_fall_back_runs_once_at_the_first_0230() {
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
        let s = CronSchedule::new("30 2 * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            fires(&s, at("Europe/Berlin", "2026-10-24T12:00"), 3),
            [
                "2026-10-25T02:30+02:00",
                "2026-10-26T02:30+01:00",
                "2026-10-27T02:30+01:00",
            ]
        );
        // Asked from inside the fold, after the first 02:30, it does not fire
        // again at the second one.
        let first = at("Europe/Berlin", "2026-10-25T02:30");
        let next = s.next_after(first).unwrap();
        assert_eq!(
            next,
            at("Europe/Berlin", "2026-10-26T02:30"),
            "the repeated 02:30 must not fire twice"
        );
    }

    #[test]
    fn daily_0230_in_new_york_across_both_transitions() {
        let s = CronSchedule::new("30 2 * * *", Some("America/New_York")).unwrap();
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(
            fires(&s, at("America/New_York", "2026-03-07T12:00"), 2),
            ["2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"]
        );
        // 2026-11-01: 02:00 EDT goes back to 01:00 EST; 02:30 happens once
        // (only 01:00-01:59 repeats).
        assert_eq!(
            fires(&s, at("America/New_York", "2026-10-31T12:00"), 2),
            ["2026-11-01T02:30-05:00", "2026-11-02T02:30-05:00"]
        );
    }

    #[test]
    fn fixed_time_in_the_new_york_fold_runs_once() {
        // 01:30 happens twice on 2026-11-01 in New York.
        let s = CronSchedule::new("30 1 * * *", Some("America/New_York")).unwrap();
        assert_eq!(
            fires(&s, at("America/New_York", "2026-10-31T12:00"), 2),
            ["2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"]
        );
    }

    #[test]
    fn hourly_job_skips_the_missing_hour_and_runs_in_both_halves_of_a_fold() {
        let s = CronSchedule::new("15 * * * *", Some("Europe/Berlin")).unwrap();
        assert_eq!(
            fires(&s, at("Europe/Berlin", "2026-03-29T01:00"), 2),
            ["2026-03-29T01:15+01:00", "2026-03-29T03:15+02:00"]
        );
        assert_eq!(
            fires(&s, at("Europe/Berlin", "2026-10-25T01:30"), 3),
            [
                "2026-10-25T02:15+02:00",
                "2026-10-25T02:15+01:00",
                "2026-10-25T03:15+01:00",
            ]
        );
    }

    #[test]
    fn utc_is_the_default_zone() {
        let s = CronSchedule::new("0 6 * * 1-5", None).unwrap();
        assert_eq!(s.zone_name(), "UTC");
        let from: Timestamp = "2026-12-05T00:00:00Z".parse().unwrap(); // a Saturday
        assert_eq!(
            s.next_after(from).unwrap(),
            "2026-12-07T06:00:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_refused_with_what_was_written() {
        let e = CronSchedule::new("61 * * * *", None).unwrap_err();
        assert!(e.to_string().contains("`61 * * * *`"), "{e}");
        let e = CronSchedule::new("0 0 * * *", Some("Mars/Olympus")).unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }
}
