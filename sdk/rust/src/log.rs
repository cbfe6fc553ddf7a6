//! Logging through the host's `log` import.
//!
//! Lines end up in the host's structured log, tagged with the plugin's name.
//! The host caps the volume per call, so log sparingly in per-value code.
//! Outside WebAssembly (in a plugin's native unit tests) lines go to
//! standard error instead.

use crate::bindings::imports::sluice::plugin::log::Level;

/// Writes one line at `level`.
fn write(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::imports::sluice::plugin::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let label = match level {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        eprintln!("{label} {message}");
    }
}

/// Logs very detailed diagnostics.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs diagnostics.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs normal operation.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs something unexpected that did not stop the work.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs a failure.
pub fn error(message: &str) {
    write(Level::Error, message);
}
