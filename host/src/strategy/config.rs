use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happens to a record whose error is final.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Record the error and go on with the other records (the default).
    #[default]
    Skip,
    /// Retry recoverable errors (transient, connectivity) with exponential
    /// backoff and jitter, then record what still fails and go on.
    Retry,
    /// Stop the run at the first error; the run ends `aborted`.
    FailFast,
    /// Retry recoverable errors like `retry`, then park failed records for a
    /// person to inspect, edit and approve.
    Review,
}

impl Strategy {
    /// The strategy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Skip => "skip",
            Strategy::Retry => "retry",
            Strategy::FailFast => "fail-fast",
            Strategy::Review => "review",
        }
    }

    /// Whether recoverable errors are retried under this strategy.
    pub fn retries(self) -> bool {
        matches!(self, Strategy::Retry | Strategy::Review)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[errors]` of a pipeline: how failures are handled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsConfig {
    /// `skip` (default), `retry`, `fail-fast` or `review`.
    #[serde(default)]
    pub strategy: Option<Strategy>,
    /// Backoff for strategies that retry.
    #[serde(default)]
    pub retry: RetryConfig,
    /// When to stop a run early instead of failing record after record.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
}

/// `errors` of one entity: overrides the pipeline's `[errors]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityErrorsConfig {
    /// `skip`, `retry`, `fail-fast` or `review` for this entity.
    #[serde(default)]
    pub strategy: Option<Strategy>,
    /// Backoff for this entity; unset fields come from the pipeline.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Retry settings. Unset fields take the defaults shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in total, the first included (default 5, at most 100).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Wait before the second attempt, in milliseconds (default 500).
    #[serde(default)]
    pub initial_backoff_ms: Option<u64>,
    /// Longest wait between two attempts, in milliseconds (default 30,000).
    #[serde(default)]
    pub max_backoff_ms: Option<u64>,
    /// Factor applied to the wait after each attempt (default 2.0, at least 1).
    #[serde(default)]
    pub multiplier: Option<f64>,
    /// Fraction of each wait that is randomized, 0 to 1 (default 0.2), so
    /// that retries of many records do not arrive together.
    #[serde(default)]
    pub jitter: Option<f64>,
    /// Most time spent retrying one batch, waits included, in milliseconds
    /// (default 120,000). A Retry-After longer than what is left ends the
    /// retries.
    #[serde(default)]
    pub max_total_ms: Option<u64>,
}

/// Circuit breaker thresholds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Pause the run at the first `auth` error (default true): with bad
    /// credentials every further record would fail the same way.
    #[serde(default)]
    pub pause_on_auth: Option<bool>,
    /// Abort the run when this many records in a row failed with actionable
    /// errors and none loaded in between (default 1,000; 0 turns it off).
    #[serde(default)]
    pub blocked_window: Option<u64>,
}

/// Retry settings with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total (1: no retries).
    pub max_attempts: u32,
    /// First wait.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
    /// Growth factor.
    pub multiplier: f64,
    /// Randomized fraction of each wait.
    pub jitter: f64,
    /// Most time spent retrying one batch.
    pub max_total: Duration,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        multiplier: 1.0,
        jitter: 0.0,
        max_total: Duration::ZERO,
    };
}

/// How one entity's failures are handled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorPolicy {
    /// The strategy.
    pub strategy: Strategy,
    /// Retries (`RetryPolicy::NONE` for strategies that do not retry).
    pub retry: RetryPolicy,
}

/// Circuit breaker thresholds with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Pause at the first auth error.
    pub pause_on_auth: bool,
    /// Records failing in a row before the run aborts (0: never).
    pub blocked_window: u64,
}

impl RetryConfig {
    /// These settings, with unset fields taken from `fallback`.
    pub fn or(&self, fallback: &RetryConfig) -> RetryConfig {
        RetryConfig {
            max_attempts: self.max_attempts.or(fallback.max_attempts),
            initial_backoff_ms: self.initial_backoff_ms.or(fallback.initial_backoff_ms),
            max_backoff_ms: self.max_backoff_ms.or(fallback.max_backoff_ms),
            multiplier: self.multiplier.or(fallback.multiplier),
            jitter: self.jitter.or(fallback.jitter),
            max_total_ms: self.max_total_ms.or(fallback.max_total_ms),
        }
    }

    /// Check the values; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(n) = self.max_attempts
            && !(1..=100).contains(&n)
        {
            return Err(format!(
                "retry.max_attempts must be between 1 and 100, not {n}"
            ));
        }
        if let Some(m) = self.multiplier
            && !(m.is_finite() && m >= 1.0)
        {
            return Err(format!("retry.multiplier must be at least 1, not {m}"));
        }
        if let Some(j) = self.jitter
            && !(0.0..=1.0).contains(&j)
        {
            return Err(format!("retry.jitter must be between 0 and 1, not {j}"));
        }
        if let (Some(lo), Some(hi)) = (self.initial_backoff_ms, self.max_backoff_ms)
            && lo > hi
        {
            return Err(format!(
                "retry.initial_backoff_ms ({lo}) is larger than retry.max_backoff_ms ({hi})"
            ));
        }
        Ok(())
    }

    fn resolve(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(5),
            initial_backoff: Duration::from_millis(self.initial_backoff_ms.unwrap_or(500)),
            max_backoff: Duration::from_millis(self.max_backoff_ms.unwrap_or(30_000)),
            multiplier: self.multiplier.unwrap_or(2.0),
            jitter: self.jitter.unwrap_or(0.2),
            max_total: Duration::from_millis(self.max_total_ms.unwrap_or(120_000)),
        }
    }
}

impl ErrorsConfig {
    /// The policy of an entity with overrides `entity`.
    pub fn policy_for(&self, entity: Option<&EntityErrorsConfig>) -> ErrorPolicy {
        let strategy = entity
            .and_then(|e| e.strategy)
            .or(self.strategy)
            .unwrap_or_default();
        let retry = match entity {
            Some(e) => e.retry.or(&self.retry),
            None => self.retry.clone(),
        };
        ErrorPolicy {
            strategy,
            retry: if strategy.retries() {
                retry.resolve()
            } else {
                RetryPolicy::NONE
            },
        }
    }

    /// The circuit breaker thresholds.
    pub fn breaker(&self) -> BreakerPolicy {
        BreakerPolicy {
            pause_on_auth: self.circuit_breaker.pause_on_auth.unwrap_or(true),
            blocked_window: self.circuit_breaker.blocked_window.unwrap_or(1_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_overrides_pipeline() {
        let pipeline = ErrorsConfig {
            strategy: Some(Strategy::Retry),
            retry: RetryConfig {
                max_attempts: Some(3),
                initial_backoff_ms: Some(10),
                ..RetryConfig::default()
            },
            ..ErrorsConfig::default()
        };
        let p = pipeline.policy_for(None);
        assert_eq!(p.strategy, Strategy::Retry);
        assert_eq!(p.retry.max_attempts, 3);
        let entity = EntityErrorsConfig {
            strategy: None,
            retry: RetryConfig {
                max_attempts: Some(7),
                ..RetryConfig::default()
            },
        };
        let p = pipeline.policy_for(Some(&entity));
        assert_eq!(p.retry.max_attempts, 7);
        assert_eq!(p.retry.initial_backoff, Duration::from_millis(10));
        let entity = EntityErrorsConfig {
            strategy: Some(Strategy::FailFast),
            ..EntityErrorsConfig::default()
        };
        assert_eq!(pipeline.policy_for(Some(&entity)).retry, RetryPolicy::NONE);
        assert_eq!(
            ErrorsConfig::default().policy_for(None).strategy,
            Strategy::Skip
        );
    }

    #[test]
    fn bad_values_are_named() {
        let bad = RetryConfig {
            jitter: Some(1.5),
            ..RetryConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("retry.jitter"));
        let bad = RetryConfig {
            max_attempts: Some(0),
            ..RetryConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("retry.max_attempts"));
    }
}
