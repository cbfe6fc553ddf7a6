//! The plugin store: versions of plugins kept by the digest of their bytes
//! in the data directory, under names pipelines use.
//!
//! - Bytes: `<data-dir>/store/sha256/<hex>.wasm`, written once, never
//!   changed; checked against their digest whenever they are read.
//! - Records (the run log, schema 11): every version of every name with
//!   who installed it and when (`store_versions`), the current version of
//!   each name and a generation counter (`store_names`), every change of
//!   the current version (`store_history`), and the settings of automatic
//!   rollback (`store_settings`). Every change is also in the audit log.
//!
//! A pipeline names a stored plugin by name (its current version, which a
//! run in progress picks up at a batch boundary: [`swap`]), or by
//! `name@sha256:<hex>` (that version, pinned).

mod check;
mod error;
pub mod event;
mod history;
pub mod reference;
mod resolve;
mod settings;
mod shadow;
pub mod swap;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use check::{Checked, check_artifact};
pub use error::StoreError;
pub use event::{StoreEvent, emit, on_event};
pub use settings::RollbackSettings;
pub use shadow::{ShadowReport, ShadowRow};

use crate::plugin::{Artifact, Origin, PluginKind, Registry, Runtime};
use crate::runlog::{
    AuditEntry, CurrentChange, NewStoreVersion, RunLog, StoreHistoryRow, StoreNameRow,
    StoreVersionRow,
};

/// Largest case file accepted with `--cases`.
pub const MAX_CASES_BYTES: u64 = 1024 * 1024;
/// Longest plugin name.
pub const MAX_NAME: usize = 64;

/// The plugin store of one data directory.
#[derive(Debug, Clone)]
pub struct PluginStore {
    dir: PathBuf,
    run_log: PathBuf,
}

/// What `install` did.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    /// The name.
    pub name: String,
    /// The digest.
    pub digest: String,
    /// Its world.
    pub kind: PluginKind,
    /// What `describe` says its version is.
    pub version: Option<String>,
    /// The contract version.
    pub contract: String,
    /// Bytes.
    pub size: u64,
    /// False when this very version was installed under the name before.
    pub new: bool,
    /// The name's current version (`None`: nothing promoted yet, so the
    /// caller promotes this one).
    pub current: Option<String>,
}

/// What a promotion or rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct Promoted {
    /// The name.
    pub name: String,
    /// The version now current.
    pub digest: String,
    /// The version current before.
    pub previous: Option<String>,
    /// The name's generation after the change.
    pub generation: i64,
}

/// A name with its current version, as `GET /v1/plugins` and `sluice
/// plugin versions` show it.
#[derive(Debug, Clone, Serialize)]
pub struct NameSummary {
    /// The name.
    pub name: String,
    /// Its current version.
    pub current: Option<String>,
    /// Its world.
    pub kind: Option<String>,
    /// Versions installed.
    pub versions: usize,
    /// When `current` last changed.
    pub updated_at: String,
}

/// Every version of a name, with the history of its current version.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// The name.
    pub name: String,
    /// Its current version.
    pub current: Option<String>,
    /// Every version, oldest first.
    pub versions: Vec<StoreVersionRow>,
    /// Every change of `current`, oldest first.
    pub history: Vec<StoreHistoryRow>,
}

impl PluginStore {
    /// The store of the data directory `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        PluginStore {
            dir: data_dir.join("store"),
            run_log: data_dir.join("runs.db"),
        }
    }

    /// Whether the data directory has a run log (and so maybe a store).
    pub fn has_run_log(&self) -> bool {
        self.run_log.is_file()
    }

    /// Open the run log the store keeps its records in.
    pub fn run_log(&self) -> Result<RunLog, StoreError> {
        Ok(RunLog::open(&self.run_log)?)
    }

    /// The file holding the bytes of `digest`.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join("sha256").join(format!("{hex}.wasm"))
    }

    /// Install `file` under `name` (default: the file's name without
    /// `.wasm`): check it (component, import policy with `allow`,
    /// `describe`), compile it into the compile cache, keep its bytes
    /// under their digest and record who installed it. A name's first
    /// version is not made current here: the caller promotes it (after
    /// its case file passes).
    pub fn install(
        &self,
        runtime: &Runtime,
        file: &Path,
        name: Option<&str>,
        actor: &str,
        cases: Option<&Path>,
        allow: &[String],
    ) -> Result<Installed, StoreError> {
        let name = match name {
            Some(n) => n.to_owned(),
            None => file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned(),
        };
        check_name(&name)?;
        let io = |source| StoreError::Io {
            what: "cannot read",
            path: file.to_owned(),
            source,
        };
        // Refused before it is read whole: the host never loads a larger
        // component anyway.
        let size = std::fs::metadata(file).map_err(io)?.len();
        let max = crate::plugin::StaticBounds::default().max_bytes as u64;
        if size > max {
            return Err(StoreError::Invalid {
                file: file.display().to_string(),
                why: format!("it has {size} bytes; a component may have at most {max}"),
            });
        }
        let bytes = std::fs::read(file).map_err(io)?;
        let cases = match cases {
            Some(path) => Some(read_cases(path)?),
            None => None,
        };
        let artifact = Artifact::new(&name, Arc::from(bytes), Origin::File(file.to_owned()));
        let checked =
            check_artifact(runtime, &artifact, allow).map_err(|why| StoreError::Invalid {
                file: file.display().to_string(),
                why,
            })?;
        let digest = artifact.id.digest.to_string();
        let mut log = self.run_log()?;
        if let Some(existing) = log.store_versions(&name)?.first()
            && existing.kind != checked.kind.world()
        {
            return Err(StoreError::Invalid {
                file: file.display().to_string(),
                why: format!(
                    "`{name}` holds {} plugins and this is a {}; install it under another name",
                    existing.kind, checked.kind
                ),
            });
        }
        self.write_blob(&digest, &artifact.bytes)?;
        let audit = AuditEntry {
            actor: actor.to_owned(),
            action: "plugin-installed".to_owned(),
            subject: Some(name.clone()),
            after: Some(digest.clone()),
            ..AuditEntry::default()
        };
        let new = log.store_add_version(
            &NewStoreVersion {
                name: &name,
                digest: &digest,
                kind: checked.kind.world(),
                version: checked.version.as_deref(),
                contract: &checked.contract,
                size: artifact.bytes.len() as u64,
                installed_by: actor,
                cases: cases.as_deref(),
            },
            &audit,
        )?;
        if new {
            emit(&StoreEvent::Installed {
                name: name.clone(),
                digest: digest.clone(),
                actor: actor.to_owned(),
            });
        }
        let current = log.store_name(&name)?.and_then(|n| n.current);
        Ok(Installed {
            name,
            digest,
            kind: checked.kind,
            version: checked.version,
            contract: checked.contract,
            size: artifact.bytes.len() as u64,
            new,
            current,
        })
    }

    fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.blob_path(digest);
        if path.is_file() {
            return Ok(());
        }
        let dir = path.parent().expect("blob path has a parent");
        let io = |what, path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io { what, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(io("cannot write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("cannot write", &path))?;
        Ok(())
    }

    /// The bytes of `name`'s version `digest`, checked against the digest.
    pub fn artifact(&self, name: &str, digest: &str) -> Result<Artifact, StoreError> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|source| StoreError::Io {
            what: "cannot read the stored plugin",
            path: path.clone(),
            source,
        })?;
        let artifact = Artifact::new(name, Arc::from(bytes), Origin::Store(path.clone()));
        if *artifact.id.digest != *digest {
            return Err(StoreError::Refused(format!(
                "the stored file {} of `{name}` is {}, not {digest}: it was changed on disk; install the plugin again",
                path.display(),
                artifact.id.digest
            )));
        }
        Ok(artifact)
    }

    /// Every name with its current version.
    pub fn names(&self) -> Result<Vec<NameSummary>, StoreError> {
        let log = self.run_log()?;
        let mut out = Vec::new();
        for StoreNameRow {
            name,
            current,
            updated_at,
            ..
        } in log.store_names()?
        {
            let versions = log.store_versions(&name)?;
            out.push(NameSummary {
                kind: versions.first().map(|v| v.kind.clone()),
                versions: versions.len(),
                name,
                current,
                updated_at,
            });
        }
        Ok(out)
    }

    /// Every version of `name`.
    pub fn versions(&self, name: &str) -> Result<Versions, StoreError> {
        let log = self.run_log()?;
        let current = self.known(&log, name)?.current;
        Ok(Versions {
            name: name.to_owned(),
            current,
            versions: log.store_versions(name)?,
            history: log.store_history(name)?,
        })
    }

    /// The version of `name` a digest (or a prefix of at least 12 hex
    /// digits) names.
    pub fn find_version(&self, name: &str, digest: &str) -> Result<StoreVersionRow, StoreError> {
        let log = self.run_log()?;
        self.known(&log, name)?;
        let versions = log.store_versions(name)?;
        let hex = reference::parse_digest(digest)?;
        Ok(reference::find(name, &versions, &hex)?.clone())
    }

    /// The row of `name`, or an error suggesting the closest name.
    fn known(&self, log: &RunLog, name: &str) -> Result<StoreNameRow, StoreError> {
        if let Some(row) = log.store_name(name)? {
            return Ok(row);
        }
        let names: Vec<String> = log.store_names()?.into_iter().map(|n| n.name).collect();
        let suggestion = reference::closest(name, &names)
            .filter(|c| c.len().abs_diff(name.len()) <= 2)
            .map(|c| format!(", did you mean `{c}`?"))
            .unwrap_or_default();
        Err(StoreError::UnknownName {
            name: name.to_owned(),
            suggestion,
        })
    }

    /// The case file installed with a version.
    pub fn cases(&self, name: &str, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self.run_log()?.store_cases(name, digest)?)
    }

    /// Make `name`'s version `digest` (a prefix is enough) current.
    ///
    /// Before it goes live it must compile, pass the import policy (with
    /// `allow`) and `describe` again, and pass `gate` (the command line
    /// runs the version's case file there). A quarantined version needs
    /// `force`, which lifts the quarantine.
    #[allow(clippy::too_many_arguments)]
    pub fn promote(
        &self,
        runtime: &Runtime,
        name: &str,
        digest: &str,
        actor: &str,
        force: bool,
        allow: &[String],
        gate: &dyn Fn(&Artifact, &StoreVersionRow) -> Result<(), String>,
    ) -> Result<Promoted, StoreError> {
        let version = self.find_version(name, digest)?;
        let mut log = self.run_log()?;
        let now = self.known(&log, name)?.current;
        if now.as_deref() == Some(version.digest.as_str()) {
            return Err(StoreError::Refused(format!(
                "{} is already the current version of `{name}`",
                version.digest
            )));
        }
        if let Some(reason) = &version.quarantine_reason
            && !force
        {
            return Err(StoreError::Refused(format!(
                "{} of `{name}` is quarantined ({}); promote it with --force if it is fixed",
                version.digest,
                crate::text::escape(reason)
            )));
        }
        let artifact = self.artifact(name, &version.digest)?;
        let refused = |why: String| {
            StoreError::Refused(format!(
                "{name}@{} cannot go live: {why}",
                reference::short(&version.digest)
            ))
        };
        check_artifact(runtime, &artifact, allow).map_err(refused)?;
        gate(&artifact, &version).map_err(refused)?;
        if version.quarantine_reason.is_some() {
            log.store_unquarantine(name, &version.digest)?;
        }
        let generation = log.store_set_current(
            &CurrentChange {
                name,
                action: "promote",
                digest: &version.digest,
                expected: now.as_deref(),
                actor,
                reason: force.then_some("forced"),
                quarantine_previous: false,
            },
            &AuditEntry {
                actor: actor.to_owned(),
                action: "plugin-promoted".to_owned(),
                subject: Some(name.to_owned()),
                before: now.clone(),
                after: Some(version.digest.clone()),
                ..AuditEntry::default()
            },
        )?;
        emit(&StoreEvent::Promoted {
            name: name.to_owned(),
            digest: version.digest.clone(),
            previous: now.clone(),
            actor: actor.to_owned(),
        });
        Ok(Promoted {
            name: name.to_owned(),
            digest: version.digest,
            previous: now,
            generation,
        })
    }

    /// Make the version current before the current one current again
    /// (skipping quarantined ones). `automatic` (a run saw the current
    /// version fail too often) also quarantines the version rolled back
    /// from; `expected` then guards against rolling back a version an
    /// operator promoted meanwhile.
    pub fn rollback(
        &self,
        name: &str,
        actor: &str,
        reason: Option<&str>,
        automatic: Option<(&str, Option<i64>)>,
    ) -> Result<Promoted, StoreError> {
        let mut log = self.run_log()?;
        let now = self.known(&log, name)?.current;
        let Some(from) = now.clone() else {
            return Err(StoreError::Refused(format!(
                "`{name}` has no current version to roll back"
            )));
        };
        if let Some((expected, _)) = automatic
            && expected != from
        {
            return Err(StoreError::Refused(format!(
                "`{name}` is no longer on {expected} (now {from}); nothing rolled back"
            )));
        }
        let versions = log.store_versions(name)?;
        let history = log.store_history(name)?;
        let quarantined = |d: &str| {
            versions
                .iter()
                .any(|v| v.digest == d && v.quarantined_at.is_some())
        };
        let to = history::previous(&history, &from, &quarantined).ok_or_else(|| {
            StoreError::Refused(format!(
                "`{name}` has no earlier version to roll back to; promote one with `sluice plugin promote {name}@sha256:…`"
            ))
        })?;
        let action = if automatic.is_some() {
            "auto-rollback"
        } else {
            "rollback"
        };
        let generation = log.store_set_current(
            &CurrentChange {
                name,
                action,
                digest: &to,
                expected: Some(&from),
                actor,
                reason,
                quarantine_previous: automatic.is_some(),
            },
            &AuditEntry {
                actor: actor.to_owned(),
                action: format!(
                    "plugin-{}",
                    if automatic.is_some() {
                        "auto-rolled-back"
                    } else {
                        "rolled-back"
                    }
                ),
                subject: Some(name.to_owned()),
                before: Some(from.clone()),
                after: Some(to.clone()),
                diff: reason.map(str::to_owned),
                run_id: automatic.and_then(|(_, run)| run),
                ..AuditEntry::default()
            },
        )?;
        emit(&StoreEvent::RolledBack {
            name: name.to_owned(),
            from: from.clone(),
            to: to.clone(),
            actor: actor.to_owned(),
            reason: reason.map(str::to_owned),
            automatic: automatic.is_some(),
            run_id: automatic.and_then(|(_, run)| run),
        });
        Ok(Promoted {
            name: name.to_owned(),
            digest: to,
            previous: Some(from),
            generation,
        })
    }
}

/// A registry that also resolves names in the store of `data_dir`.
pub fn registry_with_store(search_path: Vec<PathBuf>, data_dir: &Path) -> Registry {
    Registry::new(search_path).with_named(Arc::new(PluginStore::new(data_dir)))
}

/// Names are lowercase letters, digits, `-`, `_` and `.`, start with a
/// letter or digit, are at most [`MAX_NAME`] bytes, do not end in `.wasm`
/// (that reads as a path) and are not a built-in's.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    let starts = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok_chars || !starts || name.len() > MAX_NAME || name.ends_with(".wasm") {
        return Err(StoreError::BadName(format!(
            "`{}` cannot name a plugin: use 1 to {MAX_NAME} lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit (give one with --name)",
            crate::text::escape(name)
        )));
    }
    if Registry::builtins().iter().any(|b| b.name == name) {
        return Err(StoreError::BadName(format!(
            "`{name}` is a built-in plugin's name; install under another name with --name"
        )));
    }
    Ok(())
}

fn read_cases(path: &Path) -> Result<String, StoreError> {
    let io = |source| StoreError::Io {
        what: "cannot read the case file",
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_CASES_BYTES {
        return Err(StoreError::Invalid {
            file: path.display().to_string(),
            why: format!(
                "a case file may have at most {MAX_CASES_BYTES} bytes, this one has {len}"
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    if let Err(e) = text.parse::<toml::Table>() {
        return Err(StoreError::Invalid {
            file: path.display().to_string(),
            why: format!("not a TOML case file: {e}"),
        });
    }
    Ok(text)
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
