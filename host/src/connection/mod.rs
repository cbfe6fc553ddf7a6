//! Connections: how connectors reach remote systems. A profile in
//! `connections.toml` names a base URL, an allow-list, credentials and
//! limits; the host opens it for the connectors that name it, and every
//! request of theirs goes through [`Connection::send`]: allow-list checked,
//! rate-limited, credentials added by the host (they never enter the
//! sandbox), response size capped, Retry-After remembered, and exchanges
//! captured (redacted) when asked.

mod allow;
mod client;
mod profile;
mod rate;
mod redact;

pub use allow::AllowRule;
pub use client::{Connection, ConnectionError, HttpExchange};
pub use profile::{
    AuthConfig, CONNECTIONS_ENV, CheckRequest, ConnectionProfile, Connections, Secret,
};
pub use redact::{REDACTED, Redactor};
