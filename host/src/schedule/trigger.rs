//! What makes a job fire: a cron schedule, a fixed interval, or only a
//! person (or another job).

use jiff::{SignedDuration, Timestamp};

use super::cron::CronSchedule;

/// Shortest interval accepted for `every`.
pub const MIN_INTERVAL: SignedDuration = SignedDuration::from_secs(1);

/// When a job fires by itself.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// At the times a cron expression names, in a time zone.
    Cron(Box<CronSchedule>),
    /// Every so often, counted from the previous fire (or from when the job
    /// was first scheduled).
    Every(SignedDuration),
    /// Never by itself: triggered over the API, or after other jobs.
    Manual,
}

/// An `every` value that is not an interval.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "`{0}` is not an interval: write a duration such as `30s`, `15m`, `2h` or `1h 30m` (at least one second)"
)]
pub struct InvalidInterval(String);

/// Parse an interval such as `15m`, `90s`, `2h`, `1h 30m` or `1d`.
pub fn parse_interval(text: &str) -> Result<SignedDuration, InvalidInterval> {
    let bad = || InvalidInterval(text.to_owned());
    let trimmed = text.trim();
    // jiff's friendly format takes `1d` only as a calendar unit; a day here
    // is 24 hours.
    let d: SignedDuration = match trimmed.strip_suffix('d') {
        Some(days) if days.chars().all(|c| c.is_ascii_digit()) && !days.is_empty() => {
            let days: i64 = days.parse().map_err(|_| bad())?;
            SignedDuration::from_hours(days.checked_mul(24).ok_or_else(bad)?)
        }
        _ => trimmed.parse().map_err(|_| bad())?,
    };
    if d < MIN_INTERVAL {
        return Err(bad());
    }
    Ok(d)
}

impl Trigger {
    /// The first fire strictly after `after`, counting an interval from
    /// `after` (which is the previous fire, or when scheduling began).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Trigger::Cron(c) => c.next_after(after),
            Trigger::Every(d) => after.checked_add(*d).ok(),
            Trigger::Manual => None,
        }
    }

    /// The last fire at or before `now`, given that `first` (at or before
    /// `now`) was a fire: where a daemon that was down resumes with
    /// `catchup = "latest"`.
    pub fn last_due(&self, first: Timestamp, now: Timestamp) -> Timestamp {
        match self {
            Trigger::Cron(c) => c
                .last_at_or_before(now)
                .filter(|t| *t >= first)
                .unwrap_or(first),
            Trigger::Every(d) => {
                let span = now.duration_since(first).as_nanos();
                let step = d.as_nanos();
                if span <= 0 || step <= 0 {
                    return first;
                }
                i64::try_from(span / step * step)
                    .ok()
                    .and_then(|n| first.checked_add(SignedDuration::from_nanos(n)).ok())
                    .unwrap_or(first)
            }
            Trigger::Manual => first,
        }
    }

    /// How the trigger reads, for people and the API: the expression and
    /// zone, `every 15m`, or `manual`.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Cron(c) => format!("cron `{}` ({})", c.expression(), c.zone_name()),
            Trigger::Every(d) => format!("every {d:#}"),
            Trigger::Manual => "manual".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_in_the_usual_units() {
        assert_eq!(
            parse_interval("15m").unwrap(),
            SignedDuration::from_mins(15)
        );
        assert_eq!(
            parse_interval("90s").unwrap(),
            SignedDuration::from_secs(90)
        );
        assert_eq!(parse_interval("2h").unwrap(), SignedDuration::from_hours(2));
        assert_eq!(
            parse_interval("1h 30m").unwrap(),
            SignedDuration::from_mins(90)
        );
        assert_eq!(
            parse_interval("1d").unwrap(),
            SignedDuration::from_hours(24)
        );
    }

    #[test]
    fn intervals_that_make_no_sense_are_refused() {
        for bad in ["", "15", "0s", "-5m", "500ms", "fortnight", "1x"] {
            assert!(parse_interval(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_interval_counts_from_the_previous_fire() {
        let t: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let every = Trigger::Every(SignedDuration::from_mins(15));
        assert_eq!(
            every.next_after(t).unwrap(),
            "2026-12-06T08:15:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(Trigger::Manual.next_after(t).is_none());
    }

    #[test]
    fn the_last_due_fire_is_found_without_walking_every_one() {
        let first: Timestamp = "2026-12-01T00:00:01Z".parse().unwrap();
        let now: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let every = Trigger::Every(SignedDuration::from_secs(1));
        assert_eq!(every.last_due(first, now), now);
        let hourly = Trigger::Cron(Box::new(CronSchedule::new("15 * * * *", None).unwrap()));
        assert_eq!(
            hourly.last_due(first, now),
            "2026-12-06T07:15:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
