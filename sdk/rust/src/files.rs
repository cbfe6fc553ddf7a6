//! Paths and I/O errors for file connectors.
//!
//! The host mounts the directory a file connector is granted at
//! [`DATA_DIR`]. Options name files relative to it; [`data_path`] checks
//! that such a path stays inside.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::{ErrorCategory, PluginError, wasi_errno};

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
/// as `path`, the option's value) into a [`PluginError`] whose message is
/// in plain words, never an error number (inside the sandbox the number is
/// a WASI one, which means nothing to an operator):
///
/// - not found: `config`, code `file-not-found`;
/// - permission denied: `config`, code `permission-denied`;
/// - a directory where a file was expected: `config`, code `not-a-file`;
/// - a file where a directory was expected: `config`, code `not-a-directory`;
/// - anything else: `transient` (retryable), code `io-error`.
///
/// `action` completes "... failed while {action}", e.g. `"opening"`.
pub fn io_error(path: &str, action: &str, error: &io::Error) -> PluginError {
    match error_kind(error) {
        io::ErrorKind::NotFound => {
            PluginError::config(format!("{path:?} was not found in the granted directory"))
                .with_code("file-not-found")
        }
        io::ErrorKind::PermissionDenied => {
            PluginError::config(format!("permission denied while {action} {path:?}"))
                .with_code("permission-denied")
        }
        io::ErrorKind::IsADirectory => PluginError::config(format!(
            "{path}: is a directory, not a file; set `path` to a file inside it"
        ))
        .with_code("not-a-file"),
        io::ErrorKind::NotADirectory => PluginError::config(format!(
            "{path}: a part of the path that should be a directory is a file"
        ))
        .with_code("not-a-directory"),
        _ => PluginError::new(
            ErrorCategory::Transient,
            "io-error",
            format!("{action} {path:?} failed: {}", plain_words(error)),
        )
        .retryable(),
    }
}

/// The error's kind: inside the sandbox from its WASI error number, which
/// the standard library does not always classify.
fn error_kind(error: &io::Error) -> io::ErrorKind {
    if cfg!(target_os = "wasi")
        && let Some(kind) = error.raw_os_error().and_then(wasi_errno::kind)
    {
        return kind;
    }
    error.kind()
}

/// The error in plain words: an OS error's description without its number
/// (inside the sandbox, the WASI error number's meaning).
pub fn plain_words(error: &io::Error) -> String {
    if let Some(code) = error.raw_os_error() {
        if cfg!(target_os = "wasi")
            && let Some(words) = wasi_errno::words(code)
        {
            return words.to_owned();
        }
        let text = error.to_string();
        let suffix = format!(" (os error {code})");
        return text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    }
    error.to_string()
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

    #[test]
    fn a_directory_is_not_a_file() {
        let dir = tempfile_dir();
        let error = std::fs::read(&dir).unwrap_err();
        let error = io_error("contacts.csv", "reading", &error);
        assert_eq!(error.category, ErrorCategory::Config);
        assert_eq!(error.code, "not-a-file");
        assert_eq!(
            error.message,
            "contacts.csv: is a directory, not a file; set `path` to a file inside it"
        );
    }

    #[test]
    fn os_errors_lose_their_number() {
        let error = io::Error::from_raw_os_error(28);
        assert!(!plain_words(&error).contains("os error"), "{error}");
        let error = io_error("a.csv", "reading", &error);
        assert!(!error.message.contains("os error"), "{}", error.message);
    }

    /// A directory that exists on every test machine.
    fn tempfile_dir() -> PathBuf {
        std::env::temp_dir()
    }
}
