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
    /// The daemon serving the pages, if one does: jobs can then be
    /// triggered, paused and resumed.
    pub daemon: Option<Arc<dyn DaemonControl>>,
}

/// What the dashboard may ask of the daemon that serves it.
pub trait DaemonControl: Send + Sync {
    /// The daemon's project key in the run log.
    fn project(&self) -> String;
    /// Its jobs as the scheduler sees them.
    fn jobs(&self) -> Vec<sluice::daemon::JobView>;
    /// Its runs in progress with their counts so far (as `GET /v1/runs`
    /// lists them under `active`).
    fn active_runs(&self) -> Vec<serde_json::Value>;
    /// Trigger, pause or resume `job`: what happened, or why not.
    fn act(&self, job: &str, action: JobAction) -> Result<String, String>;
}

/// An operator's action on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    /// Run it now.
    Trigger,
    /// Stop firing it on schedule.
    Pause,
    /// Fire it on schedule again.
    Resume,
}

impl UiState {
    /// State for the data directory of `sluice`, with the API `token`.
    pub fn new(sluice: Arc<Sluice>, token: &str, daemon: Option<Arc<dyn DaemonControl>>) -> Self {
        UiState {
            sluice,
            token: token.to_owned(),
            session: derive(token, "sluice dashboard session"),
            csrf: derive(token, "sluice dashboard form"),
            daemon,
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
