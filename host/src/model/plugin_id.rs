use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A plugin's identity: the name it was referenced by and the sha256 digest
/// of its component bytes. The digest is what the run log trusts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PluginId {
    /// The name used in the pipeline (`email`, `./plugins/mine.wasm`).
    pub name: Arc<str>,
    /// `sha256:` followed by 64 hex digits.
    pub digest: Arc<str>,
}

impl PluginId {
    /// The first 12 hex digits of the digest, for people.
    pub fn short_digest(&self) -> &str {
        short_digest(&self.digest)
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.short_digest())
    }
}

/// The first 12 hex digits of a `sha256:` digest, for people.
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}
