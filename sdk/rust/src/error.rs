//! Constructors and builders for [`PluginError`].

use crate::{ErrorCategory, PluginError};

/// The code of the `config` errors made by [`PluginError::config`].
pub const INVALID_OPTIONS: &str = "invalid-options";

impl PluginError {
    /// An error of any category.
    pub fn new(
        category: ErrorCategory,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            category,
            code: code.into(),
            message: message.into(),
            field: None,
            retryable: false,
            retry_after_ms: None,
        }
    }

    /// A value is not acceptable, e.g. `validation("invalid-email", "...")`.
    pub fn validation(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Validation, code, message)
    }

    /// The plugin's options are wrong. The code is `invalid-options`; use
    /// [`with_code`](Self::with_code) for a more specific one.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Config, INVALID_OPTIONS, message)
    }

    /// A transform failed on this record.
    pub fn mapping(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Mapping, code, message)
    }

    /// A temporary failure; marked retryable.
    pub fn transient(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Transient, code, message).retryable()
    }

    /// Names the field the error is about.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Replaces the machine-readable code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }

    /// Marks the error as one that may go away if the same input is tried
    /// again later. The host retries only retryable errors.
    #[must_use]
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }

    /// Marks the error retryable, not before `delay` (as a `Retry-After`
    /// header says): the host waits at least this long, up to its own
    /// maximum, before trying again. Delays past `u32::MAX` ms are capped.
    #[must_use]
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retryable = true;
        self.retry_after_ms = Some(u32::try_from(delay.as_millis()).unwrap_or(u32::MAX));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_every_field() {
        let error = PluginError::validation("invalid-email", "bad")
            .with_field("email")
            .retryable();
        assert_eq!(error.category, ErrorCategory::Validation);
        assert_eq!(error.code, "invalid-email");
        assert_eq!(error.message, "bad");
        assert_eq!(error.field.as_deref(), Some("email"));
        assert!(error.retryable);
    }

    #[test]
    fn config_errors_have_a_default_code() {
        let error = PluginError::config("nope").with_code("missing-file");
        assert_eq!(error.category, ErrorCategory::Config);
        assert_eq!(error.code, "missing-file");
        assert_eq!(PluginError::config("x").code, INVALID_OPTIONS);
    }

    #[test]
    fn retry_after_sets_the_delay_and_retryable() {
        let error = PluginError::transient("busy", "later")
            .retry_after(std::time::Duration::from_millis(1500));
        assert!(error.retryable);
        assert_eq!(error.retry_after_ms, Some(1500));
        assert_eq!(PluginError::mapping("m", "x").retry_after_ms, None);
    }

    #[test]
    fn transient_errors_are_retryable() {
        assert!(PluginError::transient("busy", "try later").retryable);
        assert!(!PluginError::mapping("m", "x").retryable);
    }
}
