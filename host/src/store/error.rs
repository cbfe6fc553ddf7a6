//! What can go wrong in the plugin store.

use std::path::PathBuf;

use crate::plugin::LoadError;
use crate::runlog::RunLogError;

/// A plugin store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The name is not in the store.
    #[error(
        "no plugin `{name}` in the store{suggestion}; `sluice plugin versions` lists the stored plugins"
    )]
    UnknownName {
        /// The name asked for.
        name: String,
        /// ", did you mean `x`?" or empty.
        suggestion: String,
    },
    /// No version of the name has that digest.
    #[error("plugin `{name}` has no version {digest}{suggestion}; installed: {installed}")]
    UnknownDigest {
        /// The name.
        name: String,
        /// The digest (or prefix) asked for.
        digest: String,
        /// ", did you mean `x`?" or empty.
        suggestion: String,
        /// Its versions, short digests.
        installed: String,
    },
    /// A digest prefix matches several versions.
    #[error("{digest} matches {count} versions of `{name}` ({matches}); give more of the digest")]
    AmbiguousDigest {
        /// The name.
        name: String,
        /// The prefix.
        digest: String,
        /// How many matched.
        count: usize,
        /// The versions it matched.
        matches: String,
    },
    /// A reference that is not `name@sha256:<hex>`.
    #[error("{0}")]
    BadReference(String),
    /// A name that cannot be used.
    #[error("{0}")]
    BadName(String),
    /// The file is not a plugin the host can use.
    #[error("{file} cannot be installed: {why}")]
    Invalid {
        /// The file (or name@digest).
        file: String,
        /// Why.
        why: String,
    },
    /// A version may not become current.
    #[error("{0}")]
    Refused(String),
    /// A file of the store could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The run log (where the store keeps its records) failed.
    #[error(transparent)]
    RunLog(#[from] RunLogError),
}

impl From<LoadError> for StoreError {
    fn from(e: LoadError) -> Self {
        StoreError::Refused(e.to_string())
    }
}
