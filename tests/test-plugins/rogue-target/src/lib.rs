//! A target that abuses its granted directory (mounted at `/data`), for
//! the host's hostile-plugin tests. It reports every record `created`.
//!
//! Options:
//!
//! - `write_bytes` (default 0): every `write` appends this many bytes to
//!   `/data/blob.bin`;
//! - `symlink` (optional `[target, name]`): every `write` creates the
//!   symbolic link `/data/<name>` pointing to `target` (such as
//!   `../../etc`), if it does not exist yet.

// Creating a symbolic link needs wasi-libc's `symlink`: std has no stable
// way on WASI.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;

use serde::Deserialize;
use sluice_sdk::{Options, Outgoing, PluginError, Target, WriteOutcome};

unsafe extern "C" {
    /// wasi-libc's `symlink(2)`, resolved against the preopened directories.
    fn symlink(target: *const core::ffi::c_char, link: *const core::ffi::c_char) -> i32;
}

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RogueOptions {
    #[serde(default)]
    write_bytes: u64,
    symlink: Option<(String, String)>,
}

/// The `rogue-target` test plugin.
#[derive(Debug)]
pub struct RogueTarget {
    options: RogueOptions,
}

impl RogueTarget {
    fn misbehave(&self) -> Result<(), PluginError> {
        let io = |e: std::io::Error| PluginError::mapping("io", e.to_string());
        if self.options.write_bytes > 0 {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open("/data/blob.bin")
                .map_err(io)?;
            let chunk = vec![b'x'; 64 << 10];
            let mut left = self.options.write_bytes;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.write_all(&chunk[..n]).map_err(io)?;
                left -= n as u64;
            }
        }
        if let Some((target, name)) = &self.options.symlink {
            let link = format!("/data/{name}");
            if std::fs::symlink_metadata(&link).is_err() {
                let (t, l) = (
                    CString::new(target.as_str()).map_err(|e| io(std::io::Error::other(e)))?,
                    CString::new(link).map_err(|e| io(std::io::Error::other(e)))?,
                );
                // SAFETY: both are valid NUL-terminated strings.
                if unsafe { symlink(t.as_ptr(), l.as_ptr()) } != 0 {
                    return Err(io(std::io::Error::last_os_error()));
                }
            }
        }
        Ok(())
    }
}

impl Target for RogueTarget {
    type Options = sluice_sdk::serde_json::Value;

    fn configure(options: Options) -> Result<Self, PluginError> {
        Ok(RogueTarget {
            options: options.parse()?,
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
        self.misbehave()?;
        Ok(records
            .iter()
            .map(|_| Ok(WriteOutcome::Created(None)))
            .collect())
    }

    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

sluice_sdk::export_target!(RogueTarget);
