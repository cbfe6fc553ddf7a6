use std::fmt;

use serde::Serialize;

/// How a plugin call failed, when the failure is not an error the plugin
/// reported as data. Each kind has its own stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The call used up its fuel.
    FuelExhausted,
    /// The call ran past its wall-clock deadline.
    Timeout,
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit,
    /// The call returned more output than allowed.
    OutputTooLarge,
    /// The plugin trapped (a bug in the plugin: panic, `unreachable`, stack overflow...).
    Trap,
    /// The plugin needs something the host does not grant it.
    CapabilityDenied,
    /// The plugin broke the contract (wrong world, wrong number of results, bad JSON...).
    ContractViolation,
    /// The plugin rejected its options in `configure`.
    ConfigRejected,
    /// The plugin failed too often in this run and is no longer called.
    Quarantined,
    /// No instance could be created: the host's instance pool is full.
    InstancePoolFull,
    /// A target added more to its directory in this run than its write quota.
    WriteQuota,
}

impl FailureKind {
    /// The stable error code recorded in the run log.
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::FuelExhausted => "fuel-exhausted",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory-limit",
            FailureKind::OutputTooLarge => "output-too-large",
            FailureKind::Trap => "trap",
            FailureKind::CapabilityDenied => "capability-denied",
            FailureKind::ContractViolation => "contract-violation",
            FailureKind::ConfigRejected => "config-rejected",
            FailureKind::Quarantined => "plugin-quarantined",
            FailureKind::InstancePoolFull => "instance-pool-full",
            FailureKind::WriteQuota => "write-quota-exceeded",
        }
    }

    /// Whether retrying smaller parts of the batch may succeed: false for a
    /// quarantined plugin, which is not called at all, and when no instance
    /// can be created.
    pub fn is_isolatable(self) -> bool {
        !matches!(
            self,
            FailureKind::Quarantined | FailureKind::InstancePoolFull
        )
    }
}

/// Whether a failed call failed because its answer was more than the host
/// copies out of a plugin in one call: wasmtime stops lifting a result
/// whose lists and strings exceed the store's hostcall fuel (128 MiB), or
/// that claims more than the plugin's memory holds. Such an answer is an
/// oversized output, not a crash of the plugin.
pub fn is_oversized_answer(e: &wasmtime::Error) -> bool {
    e.chain().any(|c| {
        let text = c.to_string();
        text.contains("fuel allocated for hostcalls has been exhausted")
            || (text.contains("pointer/length out of bounds of memory")
                && (text.starts_with("list") || text.starts_with("string")))
    })
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed plugin call: what kind of failure and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct PluginFailure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// What happened, naming the plugin and the limit involved.
    pub message: String,
    /// The plugin's own code for the failure, when it gave one (the code of
    /// the error its `configure` returned: `invalid-options`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_code: Option<String>,
}

/// Longest code a plugin's own failure code may have to be kept.
const MAX_PLUGIN_CODE: usize = 64;

impl PluginFailure {
    /// A failure of `kind` with `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        PluginFailure {
            kind,
            message: message.into(),
            plugin_code: None,
        }
    }

    /// This failure, carrying the plugin's own `code` when it is a plain
    /// code (lowercase ASCII letters, digits, `-`, `_` and `.`, at most 64
    /// characters); anything else a plugin calls a code is dropped and the
    /// kind's code stands.
    pub fn with_plugin_code(mut self, code: &str) -> Self {
        let plain = !code.is_empty()
            && code.len() <= MAX_PLUGIN_CODE
            && code.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        self.plugin_code = plain.then(|| code.to_owned());
        self
    }

    /// The stable code recorded for this failure: the plugin's own code if
    /// it gave a plain one, else the kind's.
    pub fn code(&self) -> &str {
        self.plugin_code.as_deref().unwrap_or(self.kind.code())
    }

    /// A contract violation.
    pub fn contract(message: impl Into<String>) -> Self {
        PluginFailure::new(FailureKind::ContractViolation, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_code_is_kept_only_when_plain() {
        let f = PluginFailure::new(FailureKind::ConfigRejected, "x");
        assert_eq!(f.code(), "config-rejected");
        assert_eq!(
            f.clone().with_plugin_code("invalid-options").code(),
            "invalid-options"
        );
        for bad in ["", "Bad Code", "x\u{1b}[31m", &"a".repeat(65)] {
            assert_eq!(
                f.clone().with_plugin_code(bad).code(),
                "config-rejected",
                "{bad:?}"
            );
        }
    }
}
