//! What the daemon's API and the dashboard share: the API token
//! (`token.rs`), the `Host` check against DNS rebinding (`host_guard.rs`),
//! the HTTP status of a plugin store error (`store_status.rs`) and
//! query-string parsing. Below both `daemon` and `ui`, so neither depends
//! on the other for them.

mod host_guard;
mod store_status;
pub mod token;

use std::collections::HashMap;

pub use host_guard::host_guard;
pub use store_status::store_status;

/// A query string's parameters (the last of a repeated name wins).
pub fn query(raw: Option<String>) -> HashMap<String, String> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}
