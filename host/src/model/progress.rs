use std::sync::atomic::{AtomicU64, Ordering};

use super::Totals;

/// Live counts of a run, updated by the stages after every batch, for
/// progress displays. The run log holds the authoritative counts.
#[derive(Debug, Default)]
pub struct Progress {
    extracted: AtomicU64,
    loaded: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
}

impl Progress {
    /// Items read from the source.
    pub fn add_extracted(&self, n: u64) {
        self.extracted.fetch_add(n, Ordering::Relaxed);
    }

    /// Records the target accepted.
    pub fn add_loaded(&self, n: u64) {
        self.loaded.fetch_add(n, Ordering::Relaxed);
    }

    /// Records that failed.
    pub fn add_failed(&self, n: u64) {
        self.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// Records skipped.
    pub fn add_skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Totals {
        Totals {
            extracted: self.extracted.load(Ordering::Relaxed),
            loaded: self.loaded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}
