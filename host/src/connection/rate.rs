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

    /// Wait for the next slot; returns how long it waited.
    pub fn acquire(&self) -> Duration {
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + self.interval;
            start - now
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let limiter = RateLimiter::new(100.0);
        let waits: Vec<_> = (0..5).map(|_| limiter.acquire()).collect();
        assert!(waits[0] < Duration::from_millis(2));
        // Five requests at 100/s span at least 40 ms in total.
        let total: Duration = waits.iter().sum();
        assert!(total >= Duration::from_millis(35), "{waits:?}");
    }
}
