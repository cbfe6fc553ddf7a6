//! Host paths no plugin may ever be granted: the data directory (run log,
//! installed plugins), the compile cache (native code the host executes),
//! connection files and secret files.
//!
//! A granted directory is refused when it contains one of them or lies
//! inside one, compared after resolving symbolic links on both sides, so
//! `dir = "."` beside the default `./.sluice`, `dir = ".sluice/out"` and a
//! symbolic link pointing at either are all refused.

use std::path::{Component, Path, PathBuf};

/// One protected path and what it holds, for the refusal message.
#[derive(Debug, Clone)]
struct Entry {
    resolved: PathBuf,
    shown: PathBuf,
    what: String,
}

/// Paths no grant may overlap.
#[derive(Debug, Clone, Default)]
pub struct ProtectedPaths {
    entries: Vec<Entry>,
}

impl ProtectedPaths {
    /// Protect `path` (a directory or a file), described as `what`.
    pub fn add(&mut self, path: &Path, what: impl Into<String>) {
        self.entries.push(Entry {
            resolved: resolve(path),
            shown: path.to_owned(),
            what: what.into(),
        });
    }

    /// These paths plus `other`'s.
    pub fn with(&self, other: &ProtectedPaths) -> ProtectedPaths {
        let mut all = self.clone();
        all.entries.extend(other.entries.iter().cloned());
        all
    }

    /// Why granting `dir` is refused, if it is: it contains a protected path
    /// or lies inside one.
    pub fn conflict(&self, dir: &Path) -> Option<String> {
        let granted = resolve(dir);
        self.entries.iter().find_map(|e| {
            let how = if granted == e.resolved {
                "is"
            } else if e.resolved.starts_with(&granted) {
                "contains"
            } else if granted.starts_with(&e.resolved) {
                "lies inside"
            } else {
                return None;
            };
            Some(format!(
                "{} {how} {} ({}); a plugin granted it could read or rewrite it, so it is never granted. Grant a directory that neither contains nor lies inside it",
                dir.display(),
                e.what,
                e.shown.display()
            ))
        })
    }
}

/// `path` made absolute with every symbolic link resolved; the part that
/// does not exist yet is appended to its longest existing ancestor, with
/// `.` and `..` applied lexically.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_owned())
    };
    if let Ok(real) = std::fs::canonicalize(&absolute) {
        return real;
    }
    // Walk up to the longest prefix that exists.
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_owned();
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        for c in Path::new(&name).components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containing_inside_and_equal_grants_conflict_others_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join(".sluice");
        std::fs::create_dir_all(data.join("cache")).unwrap();
        std::fs::create_dir_all(tmp.path().join("out")).unwrap();
        let mut p = ProtectedPaths::default();
        p.add(&data, "the data directory");
        assert!(p.conflict(tmp.path()).unwrap().contains("contains"));
        assert!(p.conflict(&data).unwrap().contains(" is "));
        assert!(
            p.conflict(&data.join("cache"))
                .unwrap()
                .contains("lies inside")
        );
        assert!(p.conflict(&data.join("not-yet")).is_some());
        assert!(p.conflict(&tmp.path().join("out")).is_none());
        assert!(p.conflict(&tmp.path().join("out/../.sluice")).is_some());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&data, tmp.path().join("link")).unwrap();
            assert!(p.conflict(&tmp.path().join("link")).is_some());
        }
    }
}
