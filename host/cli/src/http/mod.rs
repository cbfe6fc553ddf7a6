//! What the daemon's API and the dashboard share: the API token
//! (`token.rs`) and the `Host` check against DNS rebinding
//! (`host_guard.rs`). Below both `daemon` and `ui`, so neither depends on
//! the other for them.

mod host_guard;
pub mod token;

pub use host_guard::host_guard;
