//! Run log times, which SQLite writes as UTC text with milliseconds
//! (`2026-11-03T10:15:02.123Z`), as the commands show them. Text that is
//! not such a time is shown as it is.

use jiff::Timestamp;

/// The time now.
pub(super) fn now() -> Timestamp {
    Timestamp::now()
}

/// `2026-11-03 10:15`.
pub(super) fn minutes(at: &str) -> String {
    show(at, "%Y-%m-%d %H:%M")
}

/// `2026-11-03 10:15:02`.
pub(super) fn seconds(at: &str) -> String {
    show(at, "%Y-%m-%d %H:%M:%S")
}

/// `2026-11-03` over `10:15:02.123Z`, for a narrow column.
pub(super) fn two_lines(at: &str) -> String {
    show(at, "%Y-%m-%d\n%H:%M:%S%.3fZ")
}

fn show(at: &str, format: &str) -> String {
    at.parse::<Timestamp>()
        .map_or_else(|_| at.to_owned(), |t| t.strftime(format).to_string())
}

/// How long before `now` the time `at` was: `3d ago`, `5h ago`, `12m ago`,
/// `just now` (also for a time after `now`); `None` if `at` is not a time.
pub(super) fn age(at: &str, now: Timestamp) -> Option<String> {
    let then = at.parse::<Timestamp>().ok()?;
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    Some(match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-03T10:00:00Z.
    const NOW: Timestamp = Timestamp::constant(1_793_700_000, 0);

    #[test]
    fn times_read_as_ages() {
        assert_eq!(
            "2026-11-03T10:00:00.000Z".parse::<Timestamp>().unwrap(),
            NOW
        );
        let age = |at| age(at, NOW);
        assert_eq!(age("2026-11-03T09:59:30.000Z").as_deref(), Some("just now"));
        assert_eq!(age("2026-11-03T09:15:00.000Z").as_deref(), Some("45m ago"));
        assert_eq!(age("2026-11-02T09:31:12.250Z").as_deref(), Some("1d ago"));
        assert_eq!(age("2026-11-03T04:00:00.000Z").as_deref(), Some("6h ago"));
        assert_eq!(age("2024-02-29T12:00:00Z").as_deref(), Some("977d ago"));
        assert_eq!(age("2026-11-04T04:00:00.000Z").as_deref(), Some("just now"));
        assert_eq!(age("not a time"), None);
    }

    #[test]
    fn times_are_shown_to_the_minute_the_second_or_on_two_lines() {
        let at = "2026-11-03T10:15:02.123Z";
        assert_eq!(minutes(at), "2026-11-03 10:15");
        assert_eq!(seconds(at), "2026-11-03 10:15:02");
        assert_eq!(two_lines(at), "2026-11-03\n10:15:02.123Z");
        assert_eq!(
            two_lines("2026-11-03T10:15:02Z"),
            "2026-11-03\n10:15:02.000Z"
        );
        assert_eq!(minutes("garbled"), "garbled");
        assert_eq!(seconds(""), "");
    }
}
