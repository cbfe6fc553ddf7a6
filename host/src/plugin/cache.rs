use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Bytes of the key that signs cache entries.
const KEY_BYTES: usize = 32;
/// Bytes of the HMAC-SHA256 tag in front of every entry.
const TAG_BYTES: usize = 32;
/// Largest entry read back; a larger file is not ours.
const MAX_ENTRY_BYTES: u64 = 1 << 30;
/// The key's file name inside the cache directory.
const KEY_FILE: &str = "cache.key";

/// On-disk cache of precompiled components, keyed by the component's
/// sha256 digest and the engine's compatibility hash, so a new wasmtime or
/// different engine settings never load a stale artifact.
///
/// Compiled code is native code: a cache entry is only ever loaded when its
/// HMAC-SHA256 tag, keyed by a random key private to this cache (created
/// with 0600 permissions) and computed over the engine key, the source
/// component's digest and the artifact, matches. The entry is read into
/// memory, checked, and deserialized from those very bytes; no cache file
/// is ever memory-mapped, so rewriting one under a running host changes
/// nothing. A mismatch is a cache miss: the component is compiled again.
#[derive(Clone)]
pub(super) struct CompileCache {
    dir: PathBuf,
    engine_key: String,
    key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for CompileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileCache")
            .field("dir", &self.dir)
            .field("engine_key", &self.engine_key)
            .finish_non_exhaustive()
    }
}

impl CompileCache {
    /// The cache in `dir`, creating it and its key if needed. `None` (with a
    /// warning) when the key cannot be read or created: then nothing is cached.
    pub fn new(dir: PathBuf, engine: &Engine) -> Option<Self> {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let key = match load_or_create_key(&dir) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "Cannot read or create the compile cache key; compiled plugins will not be cached.");
                return None;
            }
        };
        Some(CompileCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
            key,
        })
    }

    fn path_for(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join(format!("{hex}-{}.cwasm", self.engine_key))
    }

    fn tag(&self, digest: &str, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(self.engine_key.as_bytes());
        mac.update(&[0]);
        mac.update(digest.as_bytes());
        mac.update(&[0]);
        mac.update(artifact);
        mac
    }

    /// A cached artifact for `digest`, if one exists and its tag verifies.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        let bytes = match read_bounded(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Ignoring unreadable compile cache entry.");
                return None;
            }
        };
        let verified = bytes.len() >= TAG_BYTES && {
            let (tag, artifact) = bytes.split_at(TAG_BYTES);
            self.tag(digest, artifact).verify_slice(tag).is_ok()
        };
        if !verified {
            tracing::warn!(path = %path.display(), "Compile cache entry failed verification (not written by this host for this component); compiling again.");
            let _ = fs::remove_file(&path);
            return None;
        }
        match deserialize_verified(engine, &bytes[TAG_BYTES..]) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Ignoring unloadable compile cache entry.");
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
        crate::private_file::create_dir(&self.dir)?;
        let tag = self.tag(digest, serialized).finalize().into_bytes();
        crate::private_file::write_atomically(&self.path_for(digest), &[&tag, serialized])
    }
}

/// Read a whole cache entry into memory; `None` when there is none.
fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(std::io::Error::other("larger than any compiled component"));
    }
    Ok(Some(bytes))
}

fn load_or_create_key(dir: &Path) -> std::io::Result<[u8; KEY_BYTES]> {
    crate::private_file::create_dir(dir)?;
    let path = dir.join(KEY_FILE);
    match fs::read(&path) {
        Ok(bytes) if bytes.len() == KEY_BYTES => {
            let mut key = [0; KEY_BYTES];
            key.copy_from_slice(&bytes);
            return Ok(key);
        }
        Ok(_) => {
            tracing::warn!(path = %path.display(), "Compile cache key has the wrong size; replacing it (every cached entry will be compiled again).");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut key = [0; KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    // Two processes racing here each write a complete key; the loser's
    // entries merely fail verification.
    crate::private_file::write_atomically(&path, &[&key])?;
    // Another process may have renamed its key over ours meanwhile.
    match fs::read(&path) {
        Ok(bytes) if bytes.len() == KEY_BYTES => key.copy_from_slice(&bytes),
        _ => {}
    }
    Ok(key)
}

#[allow(unsafe_code)]
fn deserialize_verified(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` requires bytes produced by
    // `Component::serialize`/`precompile_component` with a compatible
    // engine. These bytes carry a valid HMAC tag under this cache's private
    // key, bound to the component digest and engine key, which only
    // `CompileCache::store` produces, from `precompile_component` output. They
    // are already in memory, so nothing can change them after the check
    // (wasmtime copies them into its own code memory; the file is not mapped).
    unsafe { Component::deserialize(engine, bytes) }
}
