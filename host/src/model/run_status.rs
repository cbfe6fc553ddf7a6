use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Still running (or the process died while it ran).
    Running,
    /// Every record was loaded or skipped with a reason.
    Succeeded,
    /// Some records failed, some were loaded.
    Partial,
    /// Nothing was loaded while records failed, or a stage failed as a whole.
    Failed,
    /// Stopped early on purpose (fail-fast, circuit breaker).
    Aborted,
    /// Its process ended (was killed or crashed) before the run finished;
    /// found and marked by a later `sluice` command.
    Interrupted,
}

impl RunStatus {
    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Aborted,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("unknown run status `{s}`"))
    }
}

/// Where every extracted record of a run (or entity) ended up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Items read from the source, including ones that failed to parse.
    pub extracted: u64,
    /// Records the target accepted.
    pub loaded: u64,
    /// Records that failed in any stage.
    pub failed: u64,
    /// Records skipped with a reason in any stage.
    pub skipped: u64,
}

impl Totals {
    /// Add another total into this one.
    pub fn add(&mut self, o: &Totals) {
        self.extracted += o.extracted;
        self.loaded += o.loaded;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }

    /// Check `extracted = loaded + failed + skipped`.
    pub fn check_conservation(&self) -> Result<(), String> {
        let accounted = self.loaded + self.failed + self.skipped;
        if accounted == self.extracted {
            Ok(())
        } else {
            Err(format!(
                "records are unaccounted for: extracted {} but loaded {} + failed {} + skipped {} = {}",
                self.extracted, self.loaded, self.failed, self.skipped, accounted
            ))
        }
    }

    /// The status these totals give, with `stream_failures` streams or
    /// stages that failed as a whole.
    pub fn status(&self, stream_failures: u32) -> RunStatus {
        if stream_failures > 0 || (self.failed > 0 && self.loaded == 0) {
            RunStatus::Failed
        } else if self.failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let t = |loaded, failed| Totals {
            extracted: loaded + failed,
            loaded,
            failed,
            skipped: 0,
        };
        assert_eq!(t(5, 0).status(0), RunStatus::Succeeded);
        assert_eq!(t(5, 1).status(0), RunStatus::Partial);
        assert_eq!(t(0, 1).status(0), RunStatus::Failed);
        assert_eq!(t(5, 0).status(1), RunStatus::Failed);
        assert_eq!(t(0, 0).status(0), RunStatus::Succeeded);
    }

    #[test]
    fn conservation() {
        let ok = Totals {
            extracted: 10,
            loaded: 6,
            failed: 3,
            skipped: 1,
        };
        assert!(ok.check_conservation().is_ok());
        let lost = Totals { loaded: 5, ..ok };
        assert!(
            lost.check_conservation()
                .unwrap_err()
                .contains("unaccounted")
        );
    }
}
