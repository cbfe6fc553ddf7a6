use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// On-disk cache of precompiled components, keyed by the component's
/// sha256 digest and the engine's compatibility hash, so a new wasmtime or
/// different engine settings never load a stale artifact.
#[derive(Debug, Clone)]
pub(super) struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

impl CompileCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CompileCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn path_for(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join(format!("{hex}-{}.cwasm", self.engine_key))
    }

    /// A cached artifact for `digest`, if one exists and loads.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY-relevant: only files this cache wrote are read, named by the
        // digest of the bytes they were compiled from; wasmtime additionally
        // checks the artifact's header against the engine.
        match load_precompiled(engine, &path) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Ignoring unreadable compile cache entry.");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Store the precompiled form of a component. Failures only cost speed,
    /// so they are logged, not returned.
    pub fn store(&self, digest: &str, serialized: &[u8]) {
        if let Err(e) = self.try_store(digest, serialized) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "Could not write the compile cache.");
        }
    }

    fn try_store(&self, digest: &str, serialized: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let path = self.path_for(digest);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(serialized)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    }
}

#[allow(unsafe_code)]
fn load_precompiled(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` requires that the file be a trusted artifact
    // produced by `Component::serialize` with a compatible engine. The cache
    // directory is private to Sluice and entries are only ever written by
    // `CompileCache::store` from `Component::serialize` output.
    unsafe { Component::deserialize_file(engine, path) }
}
