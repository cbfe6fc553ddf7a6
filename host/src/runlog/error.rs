use std::path::PathBuf;

/// A run log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    /// The database could not be opened or created.
    #[error("cannot open the run log {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the run log {}: {source}", path.display())]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migration error.
        source: rusqlite_migration::Error,
    },
    /// The lock that serializes setting up the run log could not be taken.
    #[error("cannot lock {} to set up the run log: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A query failed.
    #[error("run log query failed: {0}")]
    Query(#[from] rusqlite::Error),
    /// No run has that id.
    #[error("no run {0} in the run log; `sluice runs` lists the runs")]
    NoSuchRun(String),
    /// No DLQ entry has that id.
    #[error("no dead-letter entry {0}; `sluice dlq list` lists them")]
    NoSuchDlqEntry(i64),
    /// Another process changed what this change was based on.
    #[error("{0}")]
    Conflict(String),
}
