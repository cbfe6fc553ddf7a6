//! The schema of `sluice.toml`.

use serde::Deserialize;
use toml::Spanned;

use super::job::JobConfig;
use crate::notify::WebhookConfig;

/// A project file: `sluice.toml` in a project directory.
///
/// ```toml
/// data_dir = ".sluice"
/// connections = "connections.toml"
///
/// [daemon]
/// listen = "127.0.0.1:7420"
///
/// [[job]]
/// name = "contacts"
/// pipeline = "pipelines/contacts.toml"
/// schedule = "30 2 * * *"
/// timezone = "Europe/Berlin"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The data directory (run log, compile cache, installed plugins),
    /// relative to the project directory. Default `.sluice`.
    /// `--data-dir` / `SLUICE_DATA_DIR` override it.
    #[serde(default)]
    pub data_dir: Option<Spanned<String>>,
    /// The connections file every job's pipeline uses, relative to the
    /// project directory. Default: `$SLUICE_CONNECTIONS`, or
    /// `connections.toml` beside each pipeline file.
    #[serde(default)]
    pub connections: Option<Spanned<String>>,
    /// How the daemon serves its API.
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// The jobs, each a pipeline and when it runs.
    #[serde(default, rename = "job")]
    pub jobs: Vec<Spanned<JobConfig>>,
    /// Webhooks the daemon sends events to.
    #[serde(default, rename = "webhook")]
    pub webhooks: Vec<Spanned<WebhookConfig>>,
}

/// `[daemon]`: the HTTP API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address the API listens on (default `127.0.0.1:7420`); `--listen`
    /// overrides it. Give a loopback address unless a proxy in front
    /// handles TLS.
    #[serde(default)]
    pub listen: Option<Spanned<String>>,
    /// A file holding the API token that requests which change anything
    /// must present (`Authorization: Bearer …`), relative to the project
    /// directory. `SLUICE_API_TOKEN` overrides it. Default: a random token
    /// the daemon writes to `<data_dir>/daemon.token` (mode 0600).
    #[serde(default)]
    pub token_file: Option<Spanned<String>>,
    /// Reload when the project file, a job's pipeline file or the
    /// connections file changes on disk (looked at every 2 seconds).
    /// Default `true`.
    #[serde(default)]
    pub watch: Option<bool>,
}
