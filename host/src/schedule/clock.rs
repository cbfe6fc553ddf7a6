//! The clock the scheduler reads, injectable so tests drive time without
//! sleeping.

use std::fmt;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Set the time (it may go backwards, as a wall clock can).
    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Move the time forward by `by`.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The environment variable naming a [`FileClock`]'s file (a test hook).
pub const TEST_CLOCK_ENV: &str = "SLUICE_TEST_CLOCK_FILE";

/// A clock read from a file holding an RFC 3339 time, so end-to-end tests
/// set the time a daemon process sees by writing the file. A test hook:
/// [`test_clock_from_env`] creates one only in test builds. When the file
/// cannot be read or parsed, the last time read stands (the system's time
/// before the first).
#[derive(Debug)]
pub struct FileClock {
    path: std::path::PathBuf,
    last: Mutex<Timestamp>,
}

impl FileClock {
    /// A clock reading `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        FileClock {
            path: path.into(),
            last: Mutex::new(Timestamp::now()),
        }
    }

    /// The file read.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Clock for FileClock {
    fn now(&self) -> Timestamp {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<Timestamp>().ok())
        {
            *last = t;
        }
        *last
    }
}

/// The clock named by `$SLUICE_TEST_CLOCK_FILE`, in test builds only (the
/// library built with feature `test-fixtures`, as `cargo test` builds the
/// `sluice` binary for the end-to-end tests); `None` in a product build,
/// whatever the environment says.
pub fn test_clock_from_env() -> Option<FileClock> {
    if !cfg!(any(test, feature = "test-fixtures")) {
        return None;
    }
    std::env::var_os(TEST_CLOCK_ENV).map(FileClock::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_clock_shows_the_time_written_and_keeps_it_through_bad_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("now");
        let before = Timestamp::now();
        let clock = FileClock::new(&file);
        assert!(clock.now() >= before, "no file yet: the system's time");
        std::fs::write(&file, "2030-01-01T03:00:00Z\n").unwrap();
        assert_eq!(clock.now(), "2030-01-01T03:00:00Z".parse().unwrap());
        std::fs::write(&file, "not a time").unwrap();
        assert_eq!(clock.now(), "2030-01-01T03:00:00Z".parse().unwrap());
    }
}
