//! The host's watch over a target's granted directory: a write quota per
//! run, and no symbolic link out of the directory left behind.
//!
//! A target may write anything inside its `dir`, so a hostile or broken one
//! could fill the disk, or leave a link such as `escape -> ../../..` for
//! the next program that follows links (the sandbox itself never follows a
//! link out of a granted directory, but an operator's tools do). So:
//!
//! - **Quota.** When the plan is built, the bytes under the directory are
//!   counted. After every `write` and `commit` of the target they are
//!   counted again; once they have grown by more than the connector's
//!   `write_quota_mb` (default 1,024 MiB), that call fails with
//!   `write-quota-exceeded` (so the batch, or at commit the stream, fails)
//!   and so does every later one. One call can overshoot by what it writes
//!   before it returns (bounded by its time limit).
//! - **Links.** Before the run and after every `commit`, every symbolic
//!   link under the directory whose target is absolute or climbs out of the
//!   directory is removed. One found after a commit fails that commit with
//!   `capability-denied`, naming the links; links that stay inside the
//!   directory are left alone.
//!
//! Counting walks the directory without following links; files count with
//! their length.

use std::path::{Component, Path, PathBuf};

use super::failure::{FailureKind, PluginFailure};
use super::host_state::Grants;
use crate::model::PluginId;

/// The default write quota of a target's directory, in MiB.
pub const DEFAULT_WRITE_QUOTA_MB: u64 = 1024;

/// Most directory entries a walk visits (the rest are not counted).
const MAX_WALK_ENTRIES: usize = 1_000_000;

/// A target's directory under watch.
#[derive(Debug)]
pub struct DirGuard {
    dir: PathBuf,
    quota_bytes: u64,
    baseline: u64,
}

impl DirGuard {
    /// Watch `dir` with a quota of `quota_mb` MiB for this run: count what
    /// is there now, and remove links out of it left by an earlier run.
    pub fn new(dir: &Path, quota_mb: u64) -> Self {
        let guard = DirGuard {
            dir: dir.to_owned(),
            quota_bytes: quota_mb.saturating_mul(1 << 20),
            baseline: dir_bytes(dir),
        };
        for link in guard.sweep() {
            tracing::warn!(dir = %dir.display(), link = %link.display(), "Removed a symbolic link out of a target's directory, left before this run.");
        }
        guard
    }

    /// Fail if the directory grew by more than the quota since the plan was built.
    pub fn check_quota(&self, plugin: &PluginId) -> Result<(), PluginFailure> {
        let now = dir_bytes(&self.dir);
        let grown = now.saturating_sub(self.baseline);
        if grown > self.quota_bytes {
            tracing::warn!(plugin = %plugin, dir = %self.dir.display(), grown, quota = self.quota_bytes, "Target write quota exceeded.");
            return Err(PluginFailure::new(
                FailureKind::WriteQuota,
                format!(
                    "target `{}` has added {grown} bytes to {} in this run, more than its write quota of {} MiB; raise `write_quota_mb` on [target] if the output is legitimately this large",
                    plugin.name,
                    self.dir.display(),
                    self.quota_bytes >> 20
                ),
            ));
        }
        Ok(())
    }

    /// Remove every link under the directory that points out of it; fail
    /// naming them if there were any.
    pub fn check_links(&self, plugin: &PluginId) -> Result<(), PluginFailure> {
        let removed = self.sweep();
        if removed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
        tracing::warn!(plugin = %plugin, dir = %self.dir.display(), links = ?names, "Removed symbolic links a target left pointing out of its directory.");
        Err(PluginFailure::new(
            FailureKind::CapabilityDenied,
            format!(
                "target `{}` left {} symbolic link(s) in {} pointing out of it ({}); they were removed",
                plugin.name,
                removed.len(),
                self.dir.display(),
                names.join(", ")
            ),
        ))
    }

    /// Remove the links out of the directory; returns their paths relative to it.
    fn sweep(&self) -> Vec<PathBuf> {
        let mut removed = Vec::new();
        walk(&self.dir, &mut |path, meta| {
            if meta.file_type().is_symlink()
                && let Ok(target) = std::fs::read_link(path)
                && let Ok(relative) = path.strip_prefix(&self.dir)
                && escapes(relative, &target)
            {
                match std::fs::remove_file(path) {
                    Ok(()) => removed.push(relative.to_owned()),
                    Err(e) => {
                        tracing::error!(link = %path.display(), error = %e, "Cannot remove a symbolic link out of a target's directory.");
                    }
                }
            }
        });
        removed
    }
}

/// After a target's `write` (or, with `commit`, its `commit`): enforce the
/// quota and, at commit, remove links out of its directory. Nothing to do
/// for a plugin without a watched directory.
pub fn guard_target(grants: &Grants, plugin: &PluginId, commit: bool) -> Result<(), PluginFailure> {
    let Some(guard) = &grants.dir_guard else {
        return Ok(());
    };
    guard.check_quota(plugin)?;
    if commit {
        guard.check_links(plugin)?;
    }
    Ok(())
}

/// Whether a link at `link` (relative to the directory) to `target` leads
/// out of the directory, judged on the text of the target alone.
fn escapes(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return true;
    }
    // Depth of the directory holding the link, below the granted directory.
    let mut depth = link.components().count().saturating_sub(1) as i64;
    for c in target.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// Bytes of the files under `dir`, links not followed.
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0u64;
    walk(dir, &mut |_, meta| {
        if meta.is_file() {
            total = total.saturating_add(meta.len());
        }
    });
    total
}

/// Visit every entry under `dir` (not following links), at most
/// [`MAX_WALK_ENTRIES`].
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, &std::fs::Metadata)) {
    let mut stack = vec![dir.to_owned()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_WALK_ENTRIES {
                return;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            visit(&path, &meta);
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_climb_out_are_recognised() {
        let p = Path::new;
        assert!(escapes(p("a"), p("../x")));
        assert!(escapes(p("a"), p("/etc/passwd")));
        assert!(escapes(p("d/a"), p("../../x")));
        assert!(escapes(p("a"), p("b/../../x")));
        assert!(!escapes(p("a"), p("b")));
        assert!(!escapes(p("d/a"), p("../b")));
        assert!(!escapes(p("a"), p("./b/../c")));
    }

    #[cfg(unix)]
    #[test]
    fn quota_and_links_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.txt"), vec![0u8; 3 << 20]).unwrap();
        std::os::unix::fs::symlink("../outside", dir.path().join("escape")).unwrap();
        let guard = DirGuard::new(dir.path(), 1);
        assert!(dir.path().join("escape").symlink_metadata().is_err());
        let id = PluginId {
            name: "t".into(),
            digest: "sha256:00".into(),
        };
        assert!(
            guard.check_quota(&id).is_ok(),
            "what was there before does not count"
        );
        std::fs::write(dir.path().join("new.txt"), vec![0u8; 2 << 20]).unwrap();
        let failure = guard.check_quota(&id).unwrap_err();
        assert_eq!(failure.kind, FailureKind::WriteQuota);
        std::os::unix::fs::symlink("new.txt", dir.path().join("inside")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("../../x", dir.path().join("sub/up")).unwrap();
        let failure = guard.check_links(&id).unwrap_err();
        assert_eq!(failure.kind, FailureKind::CapabilityDenied);
        assert!(failure.message.contains("sub/up"), "{failure}");
        assert!(dir.path().join("inside").symlink_metadata().is_ok());
        assert!(guard.check_links(&id).is_ok());
    }
}
