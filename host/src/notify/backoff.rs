//! When to try a delivery again: exponential backoff with jitter, and the
//! receiver's `Retry-After`.

use jiff::{SignedDuration, Timestamp};

use super::config::MAX_BACKOFF;

/// Whether an answer with HTTP `code` is worth another attempt: server
/// errors, 429 (too many requests) and 408 (request timeout).
pub fn retryable(code: u16) -> bool {
    code >= 500 || code == 429 || code == 408
}

/// The wait after failed attempt `attempt` (1 for the first): `base`
/// doubled for each attempt before, capped at an hour, then a uniformly
/// random point in its upper half (`jitter` in 0..1), so receivers that
/// come back are not hit by every sender at once. A `Retry-After` the
/// receiver sent is honoured when longer (still at most an hour).
pub fn delay(
    attempt: u32,
    base: SignedDuration,
    jitter: f64,
    retry_after: Option<SignedDuration>,
) -> SignedDuration {
    let factor = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let full = (base.as_secs_f64() * factor).min(MAX_BACKOFF.as_secs_f64());
    let jittered = full * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    let d = SignedDuration::from_secs_f64(jittered);
    match retry_after {
        Some(r) if r > d => r.min(MAX_BACKOFF),
        _ => d,
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (counted from `now`).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<SignedDuration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(SignedDuration::from_secs(secs.min(i64::MAX as u64) as i64));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = Timestamp::try_from(at).ok()?;
    let d = at.duration_since(now);
    Some(if d.is_negative() {
        SignedDuration::ZERO
    } else {
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = SignedDuration::from_secs(10);
        assert_eq!(delay(1, base, 1.0, None), SignedDuration::from_secs(10));
        assert_eq!(delay(1, base, 0.0, None), SignedDuration::from_secs(5));
        assert_eq!(delay(3, base, 1.0, None), SignedDuration::from_secs(40));
        assert_eq!(delay(40, base, 1.0, None), MAX_BACKOFF);
        let mid = delay(2, base, 0.5, None);
        assert!(mid > SignedDuration::from_secs(10) && mid < SignedDuration::from_secs(20));
    }

    #[test]
    fn a_longer_retry_after_wins_but_is_capped() {
        let base = SignedDuration::from_secs(1);
        let ra = SignedDuration::from_secs(30);
        assert_eq!(delay(1, base, 1.0, Some(ra)), ra);
        assert_eq!(
            delay(1, base, 1.0, Some(SignedDuration::ZERO)),
            SignedDuration::from_secs(1)
        );
        assert_eq!(
            delay(1, base, 1.0, Some(SignedDuration::from_hours(5))),
            MAX_BACKOFF
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(SignedDuration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Dec 2026 10:01:00 GMT", now),
            Some(SignedDuration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Dec 2026 09:00:00 GMT", now),
            Some(SignedDuration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_server_errors_and_throttling_are_retried() {
        for c in [500, 502, 503, 429, 408] {
            assert!(retryable(c), "{c}");
        }
        for c in [400, 401, 404, 410, 301] {
            assert!(!retryable(c), "{c}");
        }
    }
}
