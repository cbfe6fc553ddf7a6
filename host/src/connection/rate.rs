use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Spaces requests so that at most `per_second` start in any second: each
/// request waits for its slot instead of being refused.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second.
    pub fn new(per_second: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Wait for the next slot unless it starts after `deadline` (a plugin's
    /// call deadline): then no slot is taken, nothing is waited for, and the
    /// answer is `None`. Otherwise returns how long it waited.
    pub fn acquire_before(&self, deadline: Option<Instant>) -> Option<Duration> {
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let start = (*next).max(now);
            if deadline.is_some_and(|d| start > d) {
                return None;
            }
            *next = start + self.interval;
            start - now
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let started = Instant::now();
        let limiter = RateLimiter::new(100.0);
        // The first slot is free.
        assert_eq!(limiter.acquire_before(None), Some(Duration::ZERO));
        for _ in 0..4 {
            limiter.acquire_before(None).unwrap();
        }
        // The fifth of five requests at 100/s starts 40 ms after the first,
        // or later (a late wake-up shortens the next wait, never the span).
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_slot_past_the_deadline_is_not_waited_for() {
        // One request per 10 s: the second slot is far past a 50 ms deadline.
        let limiter = RateLimiter::new(0.1);
        assert!(limiter.acquire_before(None).is_some());
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        assert_eq!(limiter.acquire_before(Some(deadline)), None);
        assert!(started.elapsed() < Duration::from_secs(1));
        // The refused call took no slot: the next one still waits ~10 s, not 20 s.
        let next = *limiter.next.lock().unwrap();
        assert!(next <= started + Duration::from_secs(10));
    }
}
