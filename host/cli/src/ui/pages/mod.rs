//! One file per page (and the actions posted from it).

pub mod audit;
pub mod dlq;
pub mod jobs;
pub mod live;
pub mod plugins;
pub mod review;
pub mod run;
pub mod runs;
pub mod timeline;

use axum::http::HeaderMap;
use axum::response::Response;

use super::respond::internal;

/// Run blocking run-log work off the async threads; a panic or an error
/// becomes a 500 page.
pub async fn blocking<T, E>(
    headers: &HeaderMap,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Box<Response>>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Box::new(internal(headers, e))),
        Err(e) => Err(Box::new(internal(headers, e))),
    }
}

/// A date filter (`2026-11-03`, or a full UTC time) as the run log's time
/// text; with `end_of_day`, a bare date means the end of that day.
pub fn date_bound(name: &str, value: &str, end_of_day: bool) -> Result<String, String> {
    // jiff reads the date of a whole time too: only a bare date is a day.
    if let Some(date) = (value.len() == 10)
        .then(|| value.parse::<jiff::civil::Date>().ok())
        .flatten()
    {
        let day = if end_of_day {
            date.tomorrow().map_err(|e| format!("`{name}`: {e}"))?
        } else {
            date
        };
        return Ok(format!("{day}T00:00:00.000Z"));
    }
    match value.parse::<jiff::Timestamp>() {
        Ok(t) => Ok(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        Err(_) => Err(format!(
            "`{name}`: cannot read `{value}` as a date (2026-11-03) or a UTC time (2026-11-03T10:15:00Z)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::date_bound;

    #[test]
    fn dates_become_bounds() {
        assert_eq!(
            date_bound("since", "2026-11-03", false).unwrap(),
            "2026-11-03T00:00:00.000Z"
        );
        assert_eq!(
            date_bound("until", "2026-11-30", true).unwrap(),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            date_bound("since", "2026-11-03T10:15:00+01:00", false).unwrap(),
            "2026-11-03T09:15:00.000Z"
        );
        let e = date_bound("since", "yesterday", false).unwrap_err();
        assert!(e.contains("`since`") && e.contains("`yesterday`"), "{e}");
    }
}
