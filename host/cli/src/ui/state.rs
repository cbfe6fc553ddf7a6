//! What every dashboard handler shares.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sluice::Sluice;
use sluice::runlog::{RunLog, RunLogError};

/// The library, and the secrets derived from the API token.
pub struct UiState {
    /// The library: data directory, run log, plugins (for replays).
    pub sluice: Arc<Sluice>,
    /// The API token (`Authorization: Bearer` for scripts).
    pub token: String,
    /// The value of the session cookie: derived from the token, so a new
    /// token ends every session.
    pub session: String,
    /// The value every form that changes something carries.
    pub csrf: String,
    /// Served by `sluice daemon` (pages for jobs link to its API).
    pub in_daemon: bool,
}

impl UiState {
    /// State for the data directory of `sluice`, with the API `token`.
    pub fn new(sluice: Arc<Sluice>, token: &str, in_daemon: bool) -> Self {
        UiState {
            sluice,
            token: token.to_owned(),
            session: derive(token, "sluice dashboard session"),
            csrf: derive(token, "sluice dashboard form"),
            in_daemon,
        }
    }

    /// Open the run log (each request its own connection).
    pub fn log(&self) -> Result<RunLog, RunLogError> {
        self.sluice.run_log()
    }

    /// Who acts through the dashboard, for the audit log.
    pub fn actor(&self) -> String {
        format!("{} (dashboard)", self.sluice.actor())
    }
}

/// HMAC-SHA256 of `purpose` under `token`, hex.
fn derive(token: &str, purpose: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(purpose.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
