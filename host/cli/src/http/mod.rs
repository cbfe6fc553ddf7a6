//! What the daemon's API and the dashboard share: the API token
//! (`token.rs`), the `Host` check against DNS rebinding
//! (`host_guard.rs`) and the HTTP status of a plugin store error
//! (`store_status.rs`). Below both `daemon` and `ui`, so neither depends on
//! the other for them.

mod host_guard;
mod store_status;
pub mod token;

pub use host_guard::host_guard;
pub use store_status::store_status;
