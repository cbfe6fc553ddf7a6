//! Asking a run to stop from outside (the daemon's shutdown, or a job
//! whose overlap policy cancels the run in progress).

use std::sync::atomic::{AtomicU8, Ordering};

/// How far a run is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    /// Keep going.
    None = 0,
    /// Read no more: the source stops at its next batch boundary, and every
    /// record already read goes through to the target, which commits (and
    /// the cursors with it).
    Drain = 1,
    /// Stop at the next batch boundary of every stage: records not yet
    /// processed are held back in the dead-letter queue (replayable), the
    /// target commits what it wrote.
    Halt = 2,
}

/// A stop request shared between whoever may stop a run and the run.
#[derive(Debug, Default)]
pub struct StopSignal {
    level: AtomicU8,
    /// Why, for the run's status reason: the reason of the highest level
    /// asked for (the first one given at that level).
    why: std::sync::Mutex<Option<String>>,
}

impl StopSignal {
    /// A signal nobody pulled yet.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Ask the run to stop at `level` (never lowers an earlier request);
    /// `why` goes into the run's status reason when it raises the level
    /// (or is the first one given).
    pub fn request(&self, level: StopLevel, why: impl Into<String>) {
        let mut reason = self.why.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.level.fetch_max(level as u8, Ordering::SeqCst);
        if reason.is_none() || (level as u8) > before {
            *reason = Some(why.into());
        }
    }

    /// How far the run is asked to stop.
    pub fn level(&self) -> StopLevel {
        match self.level.load(Ordering::SeqCst) {
            0 => StopLevel::None,
            1 => StopLevel::Drain,
            _ => StopLevel::Halt,
        }
    }

    /// Why the stop was asked for.
    pub fn why(&self) -> String {
        let reason = self.why.lock().unwrap_or_else(|e| e.into_inner());
        reason.clone().unwrap_or_else(|| "asked to stop".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_only_escalates() {
        let s = StopSignal::new();
        assert_eq!(s.level(), StopLevel::None);
        s.request(StopLevel::Drain, "first signal");
        assert_eq!(s.why(), "first signal");
        s.request(StopLevel::Halt, "second signal");
        s.request(StopLevel::Drain, "later");
        s.request(StopLevel::Halt, "third signal");
        assert_eq!(s.level(), StopLevel::Halt);
        // The reason is the one that raised the level to where it is.
        assert_eq!(s.why(), "second signal");
    }
}
