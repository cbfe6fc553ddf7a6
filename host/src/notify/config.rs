//! `[[webhook]]` tables and a job's `alerts`, as written in `sluice.toml`,
//! and as checked.

use std::fmt;

use jiff::SignedDuration;
use serde::Deserialize;
use toml::Spanned;

use super::event::EventKind;

/// Attempts at most, per delivery, when a webhook does not say.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Most attempts a webhook may ask for.
pub const MAX_ATTEMPTS: u32 = 20;
/// The first retry's delay when a webhook does not say.
pub const DEFAULT_BACKOFF: SignedDuration = SignedDuration::from_secs(10);
/// The longest wait between two attempts (a `Retry-After` included).
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(3600);
/// How long one attempt may take when a webhook does not say.
pub const DEFAULT_TIMEOUT: SignedDuration = SignedDuration::from_secs(10);
/// How late a scheduled fire may start before `job.late` is sent, when a
/// job does not say.
pub const DEFAULT_LATE_AFTER: SignedDuration = SignedDuration::from_secs(300);

/// `[[webhook]]`: where events are sent, signed with a secret.
///
/// ```toml
/// [[webhook]]
/// name = "ops"
/// url = "https://hooks.example.com/sluice"
/// secret_env = "SLUICE_WEBHOOK_SECRET"
/// events = ["run.failed", "run.recovered", "job.late"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The webhook's name: unique in the project, shown in the deliveries
    /// list. Letters, digits, `-`, `_` and `.`.
    pub name: Spanned<String>,
    /// Where events are POSTed (`http` or `https`; no user name or password
    /// in it: the signature authenticates the sender).
    pub url: Spanned<String>,
    /// The environment variable holding the signing secret (at least 16
    /// bytes). The secret is read from the environment when the project
    /// is loaded and never written to the run log.
    pub secret_env: Spanned<String>,
    /// The events sent (`run.failed`, `run.partial`, `run.aborted`,
    /// `run.recovered`, `run.error_rate`, `dlq.growth`, `job.late`,
    /// `job.missed`, `plugin.rolled_back`). Default: all.
    #[serde(default)]
    pub events: Option<Vec<Spanned<String>>>,
    /// Only events about these jobs (events about no job, such as a plugin
    /// rollback, are always sent). Default: every job.
    #[serde(default)]
    pub jobs: Option<Vec<Spanned<String>>>,
    /// Attempts per delivery, at most (1 to 20, default 8).
    #[serde(default)]
    pub max_attempts: Option<Spanned<u32>>,
    /// The wait before the first retry (`500ms`, `10s`, default `10s`); it
    /// doubles with each further retry, with jitter, up to an hour.
    #[serde(default)]
    pub backoff: Option<Spanned<String>>,
    /// How long one attempt may take (default `10s`, at most `60s`).
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}

/// A job's `alerts`: when its runs are worth a webhook beyond their status.
///
/// ```toml
/// alerts = { error_rate = 0.05, dlq_growth = 100, late_after = "10m" }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Send `run.error_rate` when a run's failed records divided by the
    /// records it read reach this fraction (0 < rate ≤ 1).
    #[serde(default)]
    pub error_rate: Option<Spanned<f64>>,
    /// Send `dlq.growth` when a run adds at least this many dead-letter
    /// entries (at least 1).
    #[serde(default)]
    pub dlq_growth: Option<Spanned<u64>>,
    /// Send `job.late` when a scheduled fire starts more than this after
    /// its time (`30s`, `10m`; default `5m`).
    #[serde(default)]
    pub late_after: Option<Spanned<String>>,
}

/// A signing secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, to sign with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A webhook, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: url::Url,
    /// The environment variable the secret came from.
    pub secret_env: String,
    /// The signing secret.
    pub secret: Secret,
    /// The events it wants (all when empty).
    pub events: Vec<EventKind>,
    /// The jobs it wants (all when empty).
    pub jobs: Vec<String>,
    /// Attempts per delivery.
    pub max_attempts: u32,
    /// The first retry's delay.
    pub backoff: SignedDuration,
    /// One attempt's time limit.
    pub timeout: SignedDuration,
}

impl Webhook {
    /// Whether this webhook wants `kind` about `job`.
    pub fn wants(&self, kind: EventKind, job: Option<&str>) -> bool {
        (self.events.is_empty() || self.events.contains(&kind))
            && (self.jobs.is_empty() || job.is_none_or(|j| self.jobs.iter().any(|w| w == j)))
    }

    /// Where it goes, for the run log and messages: the origin, without
    /// the path and query that often carry a token.
    pub fn target(&self) -> String {
        let path = if self.url.path() == "/" && self.url.query().is_none() {
            "/"
        } else {
            "/…"
        };
        format!("{}{path}", self.url.origin().ascii_serialization())
    }
}

/// A job's alert thresholds, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerts {
    /// `run.error_rate` from this fraction of failed records.
    pub error_rate: Option<f64>,
    /// `dlq.growth` from this many new dead-letter entries in a run.
    pub dlq_growth: Option<u64>,
    /// `job.late` when a scheduled fire starts later than this.
    pub late_after: SignedDuration,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            error_rate: None,
            dlq_growth: None,
            late_after: DEFAULT_LATE_AFTER,
        }
    }
}

/// A value in a `[[webhook]]` or `alerts` table that is not acceptable:
/// the byte range to point at, and what is wrong.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Where, in the project file.
    pub span: std::ops::Range<usize>,
    /// What is wrong.
    pub message: String,
}

fn invalid<T>(span: std::ops::Range<usize>, message: String) -> Result<T, Invalid> {
    Err(Invalid { span, message })
}

/// Parse a duration such as `500ms`, `10s` or `1m 30s`.
pub fn parse_duration(text: &str) -> Option<SignedDuration> {
    text.trim()
        .parse::<SignedDuration>()
        .ok()
        .filter(|d| d.is_positive())
}

/// Shortest signing secret accepted.
pub const MIN_SECRET_BYTES: usize = 16;

impl WebhookConfig {
    /// Check this table, reading the secret with `env`.
    pub fn check(&self, env: impl Fn(&str) -> Option<String>) -> Result<Webhook, Invalid> {
        let name = self.name.get_ref();
        let url = match url::Url::parse(self.url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                return invalid(
                    self.url.span(),
                    format!("webhook `{name}`: `url` must be an http:// or https:// address"),
                );
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return invalid(
                self.url.span(),
                format!(
                    "webhook `{name}`: `url` must not hold a user name or password; the signature (`secret_env`) authenticates Sluice to the receiver"
                ),
            );
        }
        let var = self.secret_env.get_ref();
        let secret = match env(var) {
            Some(s) if s.len() >= MIN_SECRET_BYTES => Secret::new(s),
            Some(_) => {
                return invalid(
                    self.secret_env.span(),
                    format!(
                        "webhook `{name}`: the secret in ${var} is shorter than {MIN_SECRET_BYTES} bytes"
                    ),
                );
            }
            None => {
                return invalid(
                    self.secret_env.span(),
                    format!("webhook `{name}`: the environment variable ${var} is not set"),
                );
            }
        };
        let mut events = Vec::new();
        for e in self.events.iter().flatten() {
            match EventKind::parse(e.get_ref()) {
                Some(k) => events.push(k),
                None => {
                    return invalid(
                        e.span(),
                        format!(
                            "webhook `{name}`: `{}` is not an event; known: {}",
                            e.get_ref(),
                            EventKind::ALL
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
        let max_attempts = match &self.max_attempts {
            Some(m) if !(1..=MAX_ATTEMPTS).contains(m.get_ref()) => {
                return invalid(
                    m.span(),
                    format!("webhook `{name}`: `max_attempts` must be from 1 to {MAX_ATTEMPTS}"),
                );
            }
            Some(m) => *m.get_ref(),
            None => DEFAULT_MAX_ATTEMPTS,
        };
        let duration = |v: &Option<Spanned<String>>,
                        key: &str,
                        default: SignedDuration,
                        max: SignedDuration|
         -> Result<SignedDuration, Invalid> {
            match v {
                None => Ok(default),
                Some(s) => match parse_duration(s.get_ref()) {
                    Some(d) if d <= max => Ok(d),
                    _ => invalid(
                        s.span(),
                        format!(
                            "webhook `{name}`: `{key}` must be a duration such as `500ms` or `10s`, at most {max:#}"
                        ),
                    ),
                },
            }
        };
        let backoff = duration(&self.backoff, "backoff", DEFAULT_BACKOFF, MAX_BACKOFF)?;
        let timeout = duration(
            &self.timeout,
            "timeout",
            DEFAULT_TIMEOUT,
            SignedDuration::from_secs(60),
        )?;
        Ok(Webhook {
            name: name.clone(),
            url,
            secret_env: var.clone(),
            secret,
            events,
            jobs: self
                .jobs
                .iter()
                .flatten()
                .map(|j| j.get_ref().clone())
                .collect(),
            max_attempts,
            backoff,
            timeout,
        })
    }
}

impl AlertsConfig {
    /// Check this table.
    pub fn check(&self) -> Result<Alerts, Invalid> {
        let error_rate = match &self.error_rate {
            Some(r) if !(*r.get_ref() > 0.0 && *r.get_ref() <= 1.0) => {
                return invalid(
                    r.span(),
                    "`error_rate` is a fraction of the records read: more than 0, at most 1".into(),
                );
            }
            r => r.as_ref().map(|r| *r.get_ref()),
        };
        let dlq_growth = match &self.dlq_growth {
            Some(g) if *g.get_ref() == 0 => {
                return invalid(g.span(), "`dlq_growth` must be at least 1".into());
            }
            g => g.as_ref().map(|g| *g.get_ref()),
        };
        let late_after = match &self.late_after {
            None => DEFAULT_LATE_AFTER,
            Some(l) => match parse_duration(l.get_ref()) {
                Some(d) => d,
                None => {
                    return invalid(
                        l.span(),
                        format!(
                            "`late_after` must be a duration such as `30s` or `10m`, not `{}`",
                            l.get_ref()
                        ),
                    );
                }
            },
        };
        Ok(Alerts {
            error_rate,
            dlq_growth,
            late_after,
        })
    }
}
