//! `connections.toml`: named connection profiles. A profile says where a
//! connector may go (base URL and allow-list), how the host authenticates
//! for it, and where each secret comes from. Secrets are never written in
//! the file itself, nor in pipeline files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// The environment variable naming the connections file.
pub const CONNECTIONS_ENV: &str = "SLUICE_CONNECTIONS";

/// Every profile of a connections file, by name.
#[derive(Debug, Clone)]
pub struct Connections {
    /// The file they came from.
    pub path: PathBuf,
    /// The profiles.
    pub profiles: BTreeMap<String, ConnectionProfile>,
}

/// One connection profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionProfile {
    /// The remote system's base URL. Relative request URLs are resolved
    /// against it, and it is always allowed: its scheme, host, port and
    /// path prefix.
    pub base_url: String,
    /// More URL prefixes the connector may reach, such as
    /// `https://auth.example.com/oauth/`: scheme, host, port and path prefix
    /// must all match.
    #[serde(default)]
    pub allow: Vec<String>,
    /// How the host authenticates requests (default: no credentials).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Time one request may take, in milliseconds (default 30,000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Largest response body accepted, in bytes (default 16 MiB).
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
    /// Most requests per second sent through this connection (default: no
    /// cap). Requests wait their turn instead of being rejected.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Record every raw HTTP request and response of runs using this
    /// connection (secrets and sensitive fields redacted). Off by default;
    /// `sluice run --capture-http` turns it on for one run.
    #[serde(default)]
    pub capture_http: bool,
    /// Field names whose values are redacted wherever they appear in
    /// captured JSON (besides the secrets, which always are).
    #[serde(default)]
    pub sensitive_fields: Vec<String>,
    /// The request `sluice connection test` sends (default: `GET` the base URL).
    #[serde(default)]
    pub check: Option<CheckRequest>,
}

/// The request a connection test sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// `GET` (default), `POST`...
    #[serde(default)]
    pub method: Option<String>,
    /// A path relative to the base URL, or an allowed absolute URL.
    pub path: String,
}

/// How the host authenticates requests. Connectors never see credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// An API key in a header.
    ApiKey {
        /// The header (`X-Api-Key`).
        header: String,
        /// The key.
        key: Secret,
    },
    /// HTTP Basic authentication.
    Basic {
        /// The user name.
        username: Secret,
        /// The password.
        password: Secret,
    },
    /// OAuth 2 client credentials: the host fetches an access token from
    /// `token_url`, caches it until it expires, and fetches a new one once
    /// when a request comes back 401.
    Oauth2ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: Secret,
        /// The client secret.
        client_secret: Secret,
        /// Scopes to ask for.
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// OAuth 2 refresh token: like client credentials, but access tokens
    /// come from a long-lived refresh token.
    Oauth2RefreshToken {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: Secret,
        /// The client secret.
        client_secret: Secret,
        /// The refresh token.
        refresh_token: Secret,
    },
}

/// Where a secret comes from: an environment variable or a file (relative
/// to the connections file). Never the value itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum Secret {
    /// `{ env = "NAME" }`.
    Env(String),
    /// `{ file = "path" }`; surrounding whitespace is trimmed.
    File(String),
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Source {
            env: Option<String>,
            file: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Table(Source),
            Inline(serde::de::IgnoredAny),
        }
        match Form::deserialize(d)? {
            Form::Inline(_) => Err(serde::de::Error::custom(
                "secrets are never written inline: use { env = \"NAME\" } or { file = \"path\" }",
            )),
            Form::Table(Source {
                env: Some(e),
                file: None,
            }) => Ok(Secret::Env(e)),
            Form::Table(Source {
                env: None,
                file: Some(f),
            }) => Ok(Secret::File(f)),
            Form::Table(_) => Err(serde::de::Error::custom(
                "a secret needs exactly one of `env` or `file`",
            )),
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env(name) => write!(f, "environment variable {name}"),
            Secret::File(path) => write!(f, "file {path}"),
        }
    }
}

impl Secret {
    /// Read the secret's value. `base` is the connections file's directory.
    pub fn resolve(&self, base: &Path) -> Result<String, String> {
        let value = match self {
            Secret::Env(name) => std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"))?,
            Secret::File(path) => std::fs::read_to_string(base.join(path))
                .map_err(|e| format!("cannot read secret file {path}: {e}"))?
                .trim()
                .to_owned(),
        };
        if value.is_empty() {
            return Err(format!("{self} is empty"));
        }
        Ok(value)
    }
}

impl Connections {
    /// The connections file for a pipeline in `pipeline_dir`:
    /// `$SLUICE_CONNECTIONS`, or `connections.toml` beside the pipeline.
    pub fn path_for(pipeline_dir: &Path) -> PathBuf {
        std::env::var_os(CONNECTIONS_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| pipeline_dir.join("connections.toml"))
    }

    /// The directory secrets files are relative to.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

impl ConnectionProfile {
    /// Check the profile: an http(s) base URL, valid allow rules, a
    /// positive rate.
    pub(crate) fn check(&self) -> Result<(), String> {
        let base = url::Url::parse(&self.base_url)
            .map_err(|e| format!("base_url `{}` is not a URL: {e}", self.base_url))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "base_url `{}` must be http or https",
                self.base_url
            ));
        }
        for prefix in &self.allow {
            super::allow::AllowRule::parse(prefix)?;
        }
        if let Some(rps) = self.requests_per_second
            && !(rps.is_finite() && rps > 0.0)
        {
            return Err(format!("requests_per_second must be positive, not {rps}"));
        }
        Ok(())
    }
}
