use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::PluginId;

/// The role a plugin plays, i.e. which world of the contract it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// World `field-transformer`.
    FieldTransformer,
    /// World `normalizer`.
    Normalizer,
    /// World `source`.
    Source,
    /// World `target`.
    Target,
}

impl PluginKind {
    /// Every role.
    pub const ALL: [PluginKind; 4] = [
        PluginKind::FieldTransformer,
        PluginKind::Normalizer,
        PluginKind::Source,
        PluginKind::Target,
    ];

    /// The world's name in the contract.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::FieldTransformer => "field-transformer",
            PluginKind::Normalizer => "normalizer",
            PluginKind::Source => "source",
            PluginKind::Target => "target",
        }
    }

    /// The interface the world exports (besides `describe`).
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::FieldTransformer => "transform",
            PluginKind::Normalizer => "normalize",
            PluginKind::Source => "extract",
            PluginKind::Target => "load",
        }
    }

    /// The role whose world exports `interface`.
    pub fn from_interface(interface: &str) -> Option<PluginKind> {
        PluginKind::ALL
            .into_iter()
            .find(|k| k.interface() == interface)
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.world())
    }
}

/// Where a plugin's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "path")]
pub enum Origin {
    /// Shipped inside the `sluice` binary.
    Builtin,
    /// A `.wasm` file.
    File(PathBuf),
    /// A version in the plugin store (`sluice plugin install`): its bytes'
    /// file in the store.
    Store(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Store(p) => write!(f, "store {}", p.display()),
        }
    }
}

/// A plugin's bytes with its identity.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Name and digest.
    pub id: PluginId,
    /// The component bytes.
    pub bytes: Arc<[u8]>,
    /// Where they came from.
    pub origin: Origin,
}

impl Artifact {
    /// An artifact named `name` with `bytes`, digesting them.
    pub fn new(name: &str, bytes: Arc<[u8]>, origin: Origin) -> Self {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        Artifact {
            id: PluginId {
                name: name.into(),
                digest: digest.into(),
            },
            bytes,
            origin,
        }
    }
}

/// A plugin reference that could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No built-in or installed plugin of that name and role.
    #[error("unknown {kind} plugin `{name}`{suggestion}; available: {available}")]
    Unknown {
        /// The reference.
        name: String,
        /// The role it was wanted for.
        kind: PluginKind,
        /// ", did you mean `x`?" or empty.
        suggestion: String,
        /// Names that would have worked.
        available: String,
    },
    /// The plugin store knows the name but could not hand over the
    /// version asked for (an unknown or ambiguous digest, another world,
    /// nothing promoted, a damaged file).
    #[error("{0}")]
    Store(String),
    /// A plugin file could not be read.
    #[error("cannot read plugin file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A plugin compiled into the `sluice` binary.
#[derive(Debug)]
pub struct Builtin {
    /// Its name in pipelines.
    pub name: &'static str,
    /// Its role.
    pub kind: PluginKind,
    /// Its component bytes.
    pub bytes: &'static [u8],
}

mod generated {
    use super::{Builtin, PluginKind};
    include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
}

/// Plugins known by name to something above the registry: the plugin
/// store (`crate::store`), which keeps versions in the run log. The
/// registry asks it after the built-ins and before the search path.
pub trait NamedPlugins: Send + Sync + fmt::Debug {
    /// `name`'s version pinned to `pin` (a digest), or its current version
    /// if `pin` is `None`, for use as `kind`. `None`: the name is unknown.
    fn resolve_named(
        &self,
        name: &str,
        pin: Option<&str>,
        kind: PluginKind,
    ) -> Option<Result<Artifact, ResolveError>>;
    /// Every name it knows.
    fn names(&self) -> Vec<String>;
}

/// Finds plugins by reference: built-in names, `.wasm` paths relative to
/// the pipeline file, names in the plugin store, or `<name>.wasm` in the
/// plugin search path.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    search_path: Vec<PathBuf>,
    named: Option<Arc<dyn NamedPlugins>>,
}

impl Registry {
    /// A registry that also looks for `<name>.wasm` in `search_path`, in order.
    pub fn new(search_path: Vec<PathBuf>) -> Self {
        Registry {
            search_path,
            named: None,
        }
    }

    /// Also resolve names through `named` (the plugin store).
    pub fn with_named(mut self, named: Arc<dyn NamedPlugins>) -> Self {
        self.named = Some(named);
        self
    }

    /// Every built-in plugin.
    pub fn builtins() -> &'static [Builtin] {
        generated::BUILTINS
    }

    /// The directories searched for installed plugins.
    pub fn search_path(&self) -> &[PathBuf] {
        &self.search_path
    }

    /// Resolve `reference` for use as `kind`; relative paths are taken from `base_dir`.
    pub fn resolve(
        &self,
        reference: &str,
        kind: PluginKind,
        base_dir: &Path,
    ) -> Result<Artifact, ResolveError> {
        self.resolve_pinned(reference, None, kind, base_dir)
    }

    /// Resolve `reference` pinned to `pin`: a name in the plugin store
    /// gives that version even when it is not the current one; anything
    /// else resolves as [`Registry::resolve`] (the caller checks the pin).
    pub fn resolve_pinned(
        &self,
        reference: &str,
        pin: Option<&str>,
        kind: PluginKind,
        base_dir: &Path,
    ) -> Result<Artifact, ResolveError> {
        if is_path(reference) {
            let path = base_dir.join(reference);
            return read_artifact(reference, &path);
        }
        if let Some(b) = Self::builtins()
            .iter()
            .find(|b| b.name == reference && b.kind == kind)
        {
            return Ok(Artifact::new(b.name, Arc::from(b.bytes), Origin::Builtin));
        }
        if let Some(found) = self
            .named
            .as_ref()
            .and_then(|n| n.resolve_named(reference, pin, kind))
        {
            return found;
        }
        for dir in &self.search_path {
            let path = dir.join(format!("{reference}.wasm"));
            if path.is_file() {
                return read_artifact(reference, &path);
            }
        }
        let mut available: Vec<String> = Self::builtins()
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.name.to_owned())
            .collect();
        available.extend(self.installed().into_iter().map(|(name, _)| name));
        if let Some(named) = &self.named {
            available.extend(named.names());
        }
        available.sort();
        available.dedup();
        let suggestion = closest(reference, &available)
            .map(|s| format!(", did you mean `{s}`?"))
            .unwrap_or_default();
        Err(ResolveError::Unknown {
            name: reference.to_owned(),
            kind,
            suggestion,
            available: available.join(", "),
        })
    }

    /// `.wasm` files found in the search path, as (name, path).
    pub fn installed(&self) -> Vec<(String, PathBuf)> {
        let mut found = Vec::new();
        for dir in &self.search_path {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "wasm")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                {
                    found.push((stem.to_owned(), path));
                }
            }
        }
        found.sort();
        found
    }
}

fn is_path(reference: &str) -> bool {
    reference.ends_with(".wasm") || reference.contains('/') || reference.contains('\\')
}

fn read_artifact(name: &str, path: &Path) -> Result<Artifact, ResolveError> {
    let bytes = std::fs::read(path).map_err(|source| ResolveError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Artifact::new(
        name,
        Arc::from(bytes),
        Origin::File(path.to_owned()),
    ))
}

fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}
