//! Paths and I/O errors for file connectors.
//!
//! The host mounts the directory a file connector is granted at
//! [`DATA_DIR`]. Options name files relative to it; [`data_path`] checks
//! that such a path stays inside.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::{ErrorCategory, PluginError};

/// Where the host mounts a file connector's granted directory.
pub const DATA_DIR: &str = "/data";

/// Resolves a `path` option under [`DATA_DIR`]. See [`resolve_under`].
pub fn data_path(relative: &str) -> Result<PathBuf, PluginError> {
    resolve_under(Path::new(DATA_DIR), relative)
}

/// Resolves `relative` under `base`. An empty path, an absolute path or one
/// with a `..` component is a `config` error: a connector only reaches
/// files inside its granted directory.
pub fn resolve_under(base: &Path, relative: &str) -> Result<PathBuf, PluginError> {
    if relative.trim().is_empty() {
        return Err(PluginError::config("`path` must not be empty"));
    }
    let path = Path::new(relative);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(PluginError::config(format!(
                    "`path` must stay inside the granted directory, but {relative:?} contains \"..\""
                )));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(PluginError::config(format!(
                    "`path` must be relative to the granted directory, but {relative:?} is absolute"
                )));
            }
        }
    }
    Ok(base.join(path))
}

/// Turns an I/O error on the file a connector was configured with (shown
/// as `path`, the option's value) into a [`PluginError`]:
///
/// - not found: `config`, code `file-not-found`;
/// - permission denied: `config`, code `permission-denied`;
/// - anything else: `transient` (retryable), code `io-error`.
///
/// `action` completes "... failed while {action}", e.g. `"opening"`.
pub fn io_error(path: &str, action: &str, error: &io::Error) -> PluginError {
    match error.kind() {
        io::ErrorKind::NotFound => {
            PluginError::config(format!("{path:?} was not found in the granted directory"))
                .with_code("file-not-found")
        }
        io::ErrorKind::PermissionDenied => {
            PluginError::config(format!("permission denied while {action} {path:?}"))
                .with_code("permission-denied")
        }
        _ => PluginError::new(
            ErrorCategory::Transient,
            "io-error",
            format!("{action} {path:?} failed: {error}"),
        )
        .retryable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_under_the_base() {
        assert_eq!(data_path("a/b.csv"), Ok(PathBuf::from("/data/a/b.csv")));
        assert_eq!(data_path("./b.csv"), Ok(PathBuf::from("/data/./b.csv")));
    }

    #[test]
    fn escaping_paths_are_config_errors() {
        for bad in ["", "  ", "/etc/passwd", "../x", "a/../../x", "a/.."] {
            let error = data_path(bad).unwrap_err();
            assert_eq!(error.category, ErrorCategory::Config, "{bad}");
        }
        assert!(data_path("/x").unwrap_err().message.contains("absolute"));
        assert!(data_path("../x").unwrap_err().message.contains(".."));
    }

    #[test]
    fn io_errors_are_categorised() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        let error = io_error("a.csv", "opening", &missing);
        assert_eq!(error.code, "file-not-found");
        assert_eq!(
            error.message,
            "\"a.csv\" was not found in the granted directory"
        );
        let other = io::Error::other("disk on fire");
        let error = io_error("a.csv", "reading", &other);
        assert_eq!(error.category, ErrorCategory::Transient);
        assert_eq!(error.message, "reading \"a.csv\" failed: disk on fire");
    }
}
