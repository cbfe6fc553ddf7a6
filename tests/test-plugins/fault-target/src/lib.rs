//! A target that fails records on demand, for the host's error-model tests.
//!
//! Each record's `fault` field says what happens to it:
//!
//! - missing or `ok`: created;
//! - `rate-limited:K`, `bad-gateway:K`: a `transient` error with that code
//!   the first K times the record is written, then created;
//! - `connection-reset:K`: the same with category `connectivity`;
//! - `reject:CATEGORY`: always an error of CATEGORY (`auth`, `permissions`,
//!   `plan-quota`, `validation`, `correlation`, `dependency-not-ready`,
//!   `mapping`, `config`, `transient`, `connectivity`) with code
//!   `CATEGORY-rejected`; `validation` names the field `email`.
//!
//! A record written again after it was created gets a `correlation` error
//! with code `duplicate`: a test that sees one knows a record was loaded
//! twice.
//!
//! Options:
//!
//! - `fail_all` (optional category): every write fails as a whole with an
//!   error of that category (`auth` gives code `EXPIRED_AUTHENTICATION`),
//!   like a remote system refusing the credentials.
//! - `path` (optional): append the key of every created record, one per
//!   line, to this file in the granted directory.

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;

use serde::Deserialize;
use sluice_sdk::files::data_path;
use sluice_sdk::{ErrorCategory, Options, Outgoing, PluginError, Target, WriteOutcome};

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultOptions {
    #[serde(default)]
    fail_all: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// The `fault-target` test plugin.
#[derive(Debug)]
pub struct FaultTarget {
    fail_all: Option<ErrorCategory>,
    path: Option<std::path::PathBuf>,
    /// Failed writes so far, by record key.
    failures: HashMap<String, u32>,
    created: HashSet<String>,
}

fn category(name: &str) -> Option<ErrorCategory> {
    Some(match name {
        "auth" => ErrorCategory::Auth,
        "permissions" => ErrorCategory::Permissions,
        "plan-quota" => ErrorCategory::PlanQuota,
        "validation" => ErrorCategory::Validation,
        "transient" => ErrorCategory::Transient,
        "connectivity" => ErrorCategory::Connectivity,
        "dependency-not-ready" => ErrorCategory::DependencyNotReady,
        "correlation" => ErrorCategory::Correlation,
        "mapping" => ErrorCategory::Mapping,
        "config" => ErrorCategory::Config,
        _ => return None,
    })
}

impl FaultTarget {
    fn outcome(&mut self, record: &Outgoing) -> Result<WriteOutcome, PluginError> {
        let body = record.record()?;
        let fault = body.get("fault").and_then(|f| f.as_str()).unwrap_or("ok");
        if self.created.contains(&record.key) {
            return Err(PluginError::new(
                ErrorCategory::Correlation,
                "duplicate",
                format!("record {} was already created", record.key),
            ));
        }
        if let Some(name) = fault.strip_prefix("reject:") {
            let c = category(name).ok_or_else(|| {
                PluginError::validation("bad-fault", format!("unknown category {name}"))
            })?;
            let e = PluginError::new(c, format!("{name}-rejected"), format!("rejected as {name}"));
            return Err(if c == ErrorCategory::Validation {
                e.with_field("email")
            } else {
                e
            });
        }
        if let Some((code, times)) = fault.split_once(':') {
            let times: u32 = times.parse().map_err(|_| {
                PluginError::validation("bad-fault", format!("bad count in {fault}"))
            })?;
            let failed = self.failures.entry(record.key.clone()).or_default();
            if *failed < times {
                *failed += 1;
                let c = if code == "connection-reset" {
                    ErrorCategory::Connectivity
                } else {
                    ErrorCategory::Transient
                };
                return Err(PluginError::new(
                    c,
                    code,
                    format!("{code} (failure {failed} of {times})"),
                )
                .retryable());
            }
        }
        if let Some(path) = &self.path {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| PluginError::transient("io", e.to_string()))?;
            writeln!(file, "{}", record.key)
                .map_err(|e| PluginError::transient("io", e.to_string()))?;
        }
        self.created.insert(record.key.clone());
        Ok(WriteOutcome::Created(None))
    }
}

impl Target for FaultTarget {
    type Options = sluice_sdk::serde_json::Value;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: FaultOptions = options.parse()?;
        let fail_all = match options.fail_all.as_deref() {
            None => None,
            Some(name) => Some(
                category(name)
                    .ok_or_else(|| PluginError::config(format!("unknown category `{name}`")))?,
            ),
        };
        let path = options.path.as_deref().map(data_path).transpose()?;
        Ok(FaultTarget {
            fail_all,
            path,
            failures: HashMap::new(),
            created: HashSet::new(),
        })
    }

    fn begin(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn write(
        &mut self,
        _entity: &str,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError> {
        if let Some(c) = self.fail_all {
            let code = if c == ErrorCategory::Auth {
                "EXPIRED_AUTHENTICATION"
            } else {
                "rejected"
            };
            return Err(PluginError::new(
                c,
                code,
                "the remote system refused the request",
            ));
        }
        Ok(records.iter().map(|r| self.outcome(r)).collect())
    }

    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

sluice_sdk::export_target!(FaultTarget);
