//! Pipelines resolve store names through the registry
//! ([`crate::plugin::NamedPlugins`]).

use super::{PluginStore, StoreError, reference};
use crate::plugin::{Artifact, NamedPlugins, PluginKind, ResolveError};

impl NamedPlugins for PluginStore {
    fn resolve_named(
        &self,
        name: &str,
        pin: Option<&str>,
        kind: PluginKind,
    ) -> Option<Result<Artifact, ResolveError>> {
        // A store that cannot be read (or a data directory without a run
        // log yet) knows no names: the registry then goes on to the search
        // path and reports what it found there.
        if !self.has_run_log() {
            return None;
        }
        let log = self.run_log().ok()?;
        let row = log.store_name(name).ok()??;
        Some(
            self.resolve_row(&log, name, row.current, pin, kind)
                .map_err(|e| ResolveError::Store(e.to_string())),
        )
    }

    fn names(&self) -> Vec<String> {
        if !self.has_run_log() {
            return Vec::new();
        }
        self.run_log()
            .and_then(|log| Ok(log.store_names()?))
            .map(|rows| rows.into_iter().map(|r| r.name).collect())
            .unwrap_or_default()
    }
}

impl PluginStore {
    fn resolve_row(
        &self,
        log: &crate::runlog::RunLog,
        name: &str,
        current: Option<String>,
        pin: Option<&str>,
        kind: PluginKind,
    ) -> Result<Artifact, StoreError> {
        let versions = log.store_versions(name)?;
        let digest = match pin {
            Some(pin) => {
                let hex = reference::parse_digest(&pin.to_ascii_lowercase())?;
                reference::find(name, &versions, &hex)?.digest.clone()
            }
            None => current.ok_or_else(|| {
                StoreError::Refused(format!(
                    "plugin `{name}` has no current version; promote one with `sluice plugin promote {name}@sha256:…`"
                ))
            })?,
        };
        if let Some(v) = versions.iter().find(|v| v.digest == digest)
            && v.kind != kind.world()
        {
            return Err(StoreError::Refused(format!(
                "plugin `{name}` in the store is a {}, not a {kind}",
                v.kind
            )));
        }
        self.artifact(name, &digest)
    }
}
