use std::time::{Duration, Instant};

use super::RetryPolicy;

/// Whether the host retries what met `e`: its category is one that can go
/// away (transient, connectivity...) and the plugin marked it `retryable`.
/// A plugin that says an error will not go away is believed.
pub fn is_retried(e: &crate::errors::RecordError) -> bool {
    e.category.is_recoverable() && e.retryable
}

/// The longest wait a plugin's `retry-after-ms` can ask for; longer asks
/// are cut to it (the policy's total retry time still applies).
pub const MAX_PLUGIN_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The wait a plugin asked for with `retry-after-ms`, capped at
/// [`MAX_PLUGIN_RETRY_AFTER`].
pub fn plugin_retry_after(ms: Option<u32>) -> Option<Duration> {
    ms.map(|ms| Duration::from_millis(u64::from(ms)).min(MAX_PLUGIN_RETRY_AFTER))
}

/// Paces the attempts of one retry sequence: exponential backoff with
/// jitter, a bounded number of attempts and a bounded total time, with the
/// remote system's Retry-After taking precedence over a shorter wait.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
    next_wait: Duration,
    waited: Duration,
    rng: fastrand::Rng,
}

/// Why a retry sequence ended without success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Every allowed attempt was made.
    AttemptsExhausted,
    /// The next wait would go past the total time allowed.
    OutOfTime,
}

impl Backoff {
    /// A sequence whose first attempt is about to be made.
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            started: Instant::now(),
            attempts: 1,
            next_wait: policy.initial_backoff,
            waited: Duration::ZERO,
            rng: fastrand::Rng::new(),
        }
    }

    /// Attempts made so far, the current one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time spent waiting so far.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The current attempt failed with a recoverable error: how long to wait
    /// before the next one, or why not to make one. `retry_after` is what the
    /// remote system asked for, if anything.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Result<Duration, GiveUp> {
        if self.attempts >= self.policy.max_attempts {
            return Err(GiveUp::AttemptsExhausted);
        }
        let base = self.next_wait.min(self.policy.max_backoff);
        // Randomize the top `jitter` fraction of the wait.
        let spread = base.mul_f64(self.policy.jitter);
        let wait = base - spread + spread.mul_f64(self.rng.f64());
        let wait = retry_after.map_or(wait, |ra| ra.max(wait));
        if self.started.elapsed() + wait > self.policy.max_total {
            return Err(GiveUp::OutOfTime);
        }
        self.next_wait = base.mul_f64(self.policy.multiplier);
        self.attempts += 1;
        self.waited += wait;
        Ok(wait)
    }
}

impl GiveUp {
    /// Words for a person, naming the policy's bound.
    pub fn describe(self, policy: &RetryPolicy) -> String {
        match self {
            GiveUp::AttemptsExhausted => {
                format!("gave up after {} attempts", policy.max_attempts)
            }
            GiveUp::OutOfTime => format!(
                "gave up: the next wait would pass the retry time limit of {} ms",
                policy.max_total.as_millis()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            multiplier: 2.0,
            jitter: 0.0,
            max_total: Duration::from_secs(60),
        }
    }

    #[test]
    fn waits_grow_up_to_the_cap_and_attempts_are_bounded() {
        let mut b = Backoff::new(policy());
        let waits: Vec<_> = std::iter::from_fn(|| b.next(None).ok())
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(waits, vec![100, 200, 350, 350]);
        assert_eq!(b.attempts(), 5);
        assert_eq!(b.next(None), Err(GiveUp::AttemptsExhausted));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let p = RetryPolicy {
            jitter: 0.5,
            ..policy()
        };
        for _ in 0..100 {
            let w = Backoff::new(p).next(None).unwrap();
            assert!(
                w >= Duration::from_millis(50) && w <= Duration::from_millis(100),
                "{w:?}"
            );
        }
    }

    #[test]
    fn retry_after_wins_and_is_bounded_by_total_time() {
        let mut b = Backoff::new(policy());
        assert_eq!(
            b.next(Some(Duration::from_secs(2))),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            b.next(Some(Duration::from_secs(3600))),
            Err(GiveUp::OutOfTime)
        );
    }
}
