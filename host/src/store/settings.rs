//! Settings of automatic rollback (`sluice plugin settings`), kept in the
//! run log's `store_settings`.

use serde::Serialize;

use super::{PluginStore, StoreError};

/// When a run rolls a newly promoted version back by itself.
///
/// A live step that switched to a version promoted while it ran counts,
/// over its first `window` records on that version, the records that
/// failed in the step. Once at least `min_sample` records went through,
/// a failure rate of `failure_rate` or more rolls the name back to the
/// version before and quarantines the new one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RollbackSettings {
    /// Failed records over records, from 0 to 1; 0 turns rollback off.
    pub failure_rate: f64,
    /// Records on the new version the rate is measured over.
    pub window: u64,
    /// Records needed before the rate is trusted.
    pub min_sample: u64,
}

impl Default for RollbackSettings {
    fn default() -> Self {
        RollbackSettings {
            failure_rate: 0.5,
            window: 1_000,
            min_sample: 100,
        }
    }
}

/// The keys, in `store_settings` and on the command line.
pub const KEYS: [&str; 3] = [
    "rollback.failure_rate",
    "rollback.window",
    "rollback.min_sample",
];

impl RollbackSettings {
    /// Whether `failed` of `records` on a new version call for a rollback.
    pub fn breached(&self, records: u64, failed: u64) -> bool {
        self.failure_rate > 0.0
            && records >= self.min_sample.max(1)
            && failed as f64 >= self.failure_rate * records as f64
    }

    /// Check and apply `key = value`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let bad = |why: &str| {
            StoreError::BadReference(format!("{key} = {}: {why}", crate::text::escape(value)))
        };
        match key {
            "rollback.failure_rate" => {
                let v: f64 = value.parse().map_err(|_| bad("not a number"))?;
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad("must be from 0 (off) to 1"));
                }
                self.failure_rate = v;
            }
            "rollback.window" | "rollback.min_sample" => {
                let v: u64 = value.parse().map_err(|_| bad("not a whole number"))?;
                if !(1..=100_000_000).contains(&v) {
                    return Err(bad("must be from 1 to 100000000"));
                }
                if key == "rollback.window" {
                    self.window = v;
                } else {
                    self.min_sample = v;
                }
            }
            _ => {
                return Err(StoreError::BadReference(format!(
                    "unknown setting `{}`; the settings are {}",
                    crate::text::escape(key),
                    KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl PluginStore {
    /// The rollback settings (defaults for those never set).
    pub fn rollback_settings(&self) -> Result<RollbackSettings, StoreError> {
        let mut s = RollbackSettings::default();
        for (key, value) in self.run_log()?.store_settings()? {
            // A value another version wrote and this one refuses keeps the default.
            let _ = s.set(&key, &value);
        }
        Ok(s)
    }

    /// Change settings (`key=value` each), checked first, all or none.
    pub fn set_settings(
        &self,
        values: &[(String, String)],
        actor: &str,
    ) -> Result<RollbackSettings, StoreError> {
        let mut s = self.rollback_settings()?;
        for (key, value) in values {
            s.set(key, value)?;
        }
        if s.min_sample > s.window {
            return Err(StoreError::BadReference(format!(
                "rollback.min_sample ({}) cannot be more than rollback.window ({})",
                s.min_sample, s.window
            )));
        }
        self.run_log()?.set_store_settings(values, actor)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_needs_the_sample_and_the_rate() {
        let s = RollbackSettings {
            failure_rate: 0.5,
            window: 100,
            min_sample: 20,
        };
        assert!(!s.breached(19, 19), "below the minimum sample");
        assert!(s.breached(20, 10));
        assert!(!s.breached(20, 9));
        let off = RollbackSettings {
            failure_rate: 0.0,
            ..s
        };
        assert!(!off.breached(1_000, 1_000));
    }

    #[test]
    fn settings_are_checked() {
        let mut s = RollbackSettings::default();
        s.set("rollback.failure_rate", "0.25").unwrap();
        s.set("rollback.window", "500").unwrap();
        assert_eq!((s.failure_rate, s.window), (0.25, 500));
        for (k, v) in [
            ("rollback.failure_rate", "1.5"),
            ("rollback.failure_rate", "x"),
            ("rollback.window", "0"),
            ("rollback.min_sample", "-3"),
            ("rollback.speed", "1"),
        ] {
            assert!(s.set(k, v).is_err(), "{k}={v} accepted");
        }
    }
}
