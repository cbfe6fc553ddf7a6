//! Where the export macros keep the configured plugin instance between
//! calls.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::{Options, PluginError};

/// The configured instance of one plugin, if `configure` succeeded.
///
/// The export macros put one in a `thread_local!`; WebAssembly components
/// are single-threaded, so it is only ever reached from one thread.
#[doc(hidden)]
#[derive(Debug)]
pub struct Slot<T>(RefCell<Option<T>>);

impl<T> Slot<T> {
    /// An empty slot: the plugin is not configured yet.
    pub const fn new() -> Self {
        Self(RefCell::new(None))
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A slot in a `thread_local!`.
pub(crate) type SlotKey<T> = &'static LocalKey<Slot<T>>;

/// Parses `options`, builds the instance with `make` and stores it. Any
/// previous instance is dropped first, so a failed `configure` leaves the
/// plugin unconfigured.
pub(crate) fn configure<T>(
    slot: SlotKey<T>,
    options: &str,
    make: impl FnOnce(Options) -> Result<T, PluginError>,
) -> Result<(), PluginError> {
    slot.with(|slot| slot.0.borrow_mut().take());
    let instance = make(Options::from_json(options)?)?;
    slot.with(|slot| *slot.0.borrow_mut() = Some(instance));
    Ok(())
}

/// Runs `f` on the configured instance, or fails with a `config` error
/// (code `not-configured`) when `configure` has not succeeded.
pub(crate) fn with_instance<T, R>(
    slot: SlotKey<T>,
    f: impl FnOnce(&mut T) -> R,
) -> Result<R, PluginError> {
    slot.with(|slot| match slot.0.borrow_mut().as_mut() {
        Some(instance) => Ok(f(instance)),
        None => Err(not_configured()),
    })
}

/// The error for a call that arrives before a successful `configure`.
pub(crate) fn not_configured() -> PluginError {
    PluginError::config("the plugin was called before `configure` succeeded")
        .with_code("not-configured")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCategory;

    thread_local! {
        static SLOT: Slot<u32> = const { Slot::new() };
    }

    #[test]
    fn calls_before_configure_are_config_errors() {
        let error = with_instance(&SLOT, |n| *n).unwrap_err();
        assert_eq!(error.category, ErrorCategory::Config);
        assert_eq!(error.code, "not-configured");

        configure(&SLOT, "{}", |_| Ok(7)).unwrap();
        assert_eq!(with_instance(&SLOT, |n| *n), Ok(7));

        let failed = configure(&SLOT, "{}", |_| Err(PluginError::config("bad")));
        assert!(failed.is_err());
        assert!(with_instance(&SLOT, |n| *n).is_err());
    }
}
