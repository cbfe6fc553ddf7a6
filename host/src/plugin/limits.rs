use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Resource limits for a plugin, as written in a pipeline file. Every field
/// is optional; unset fields fall back to the pipeline's `[limits]` and then
/// to the built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Fuel (roughly, WebAssembly instructions) every call may use on top of
    /// the per-record allowance.
    pub fuel_per_call: Option<u64>,
    /// Fuel added to a call's allowance for each record in its batch.
    pub fuel_per_record: Option<u64>,
    /// Wall-clock time one call may take, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Largest total size all linear memories of one plugin instance may
    /// grow to together, in MiB.
    pub memory_mb: Option<u64>,
    /// Bytes of output a call may return per record in its batch (plus a fixed 1 MiB).
    pub output_bytes_per_record: Option<u64>,
    /// Log lines a call may write; lines past this are dropped with one warning.
    pub log_lines_per_call: Option<u32>,
    /// Most elements all tables of one plugin instance may hold together.
    pub max_table_elements: Option<u32>,
    /// Most core instances (and tables) one plugin instance may create.
    /// Language runtimes such as Python use a dozen.
    pub max_instances: Option<u32>,
    /// Most linear memories one plugin instance may create.
    pub max_memories: Option<u32>,
    /// Quarantine the plugin for the rest of the run once it has failed this
    /// many calls...
    pub quarantine_after_failures: Option<u64>,
    /// ...and at least this percentage of its calls failed.
    pub quarantine_failure_percent: Option<u8>,
}

impl LimitsConfig {
    /// These settings, with unset fields taken from `fallback`.
    pub fn or(&self, fallback: &LimitsConfig) -> LimitsConfig {
        LimitsConfig {
            fuel_per_call: self.fuel_per_call.or(fallback.fuel_per_call),
            fuel_per_record: self.fuel_per_record.or(fallback.fuel_per_record),
            timeout_ms: self.timeout_ms.or(fallback.timeout_ms),
            memory_mb: self.memory_mb.or(fallback.memory_mb),
            output_bytes_per_record: self
                .output_bytes_per_record
                .or(fallback.output_bytes_per_record),
            log_lines_per_call: self.log_lines_per_call.or(fallback.log_lines_per_call),
            max_table_elements: self.max_table_elements.or(fallback.max_table_elements),
            max_instances: self.max_instances.or(fallback.max_instances),
            max_memories: self.max_memories.or(fallback.max_memories),
            quarantine_after_failures: self
                .quarantine_after_failures
                .or(fallback.quarantine_after_failures),
            quarantine_failure_percent: self
                .quarantine_failure_percent
                .or(fallback.quarantine_failure_percent),
        }
    }

    /// Resolve against the built-in defaults.
    pub fn resolve(&self) -> Limits {
        let d = Limits::default();
        Limits {
            fuel_per_call: self.fuel_per_call.unwrap_or(d.fuel_per_call),
            fuel_per_record: self.fuel_per_record.unwrap_or(d.fuel_per_record),
            timeout: self
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(d.timeout),
            memory_bytes: self
                .memory_mb
                .map(|mb| usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX))
                .unwrap_or(d.memory_bytes),
            output_bytes_per_record: self
                .output_bytes_per_record
                .unwrap_or(d.output_bytes_per_record),
            log_lines_per_call: self.log_lines_per_call.unwrap_or(d.log_lines_per_call),
            max_table_elements: self
                .max_table_elements
                .map_or(d.max_table_elements, |n| n as usize),
            max_instances: self.max_instances.map_or(d.max_instances, |n| n as usize),
            max_memories: self.max_memories.map_or(d.max_memories, |n| n as usize),
            quarantine_after_failures: self
                .quarantine_after_failures
                .unwrap_or(d.quarantine_after_failures),
            quarantine_failure_percent: self
                .quarantine_failure_percent
                .unwrap_or(d.quarantine_failure_percent)
                .min(100),
        }
    }
}

/// Resolved limits for one plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel every call gets regardless of batch size.
    pub fuel_per_call: u64,
    /// Extra fuel per record in the batch.
    pub fuel_per_record: u64,
    /// Wall-clock deadline of one call.
    pub timeout: Duration,
    /// Largest total size of all linear memories of the instance, in bytes.
    pub memory_bytes: usize,
    /// Output bytes allowed per record (a call also gets a fixed 1 MiB).
    pub output_bytes_per_record: u64,
    /// Log lines per call.
    pub log_lines_per_call: u32,
    /// Most elements of all tables together.
    pub max_table_elements: usize,
    /// Most core instances and tables.
    pub max_instances: usize,
    /// Most linear memories.
    pub max_memories: usize,
    /// Failed calls before quarantine is considered.
    pub quarantine_after_failures: u64,
    /// Share of failed calls, in percent, that quarantines the plugin.
    pub quarantine_failure_percent: u8,
}

/// Output every call may return regardless of batch size.
pub const OUTPUT_BYTES_PER_CALL: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Interpreted guests (Python, JavaScript) need orders of magnitude
            // more fuel than compiled ones; these defaults fit both.
            fuel_per_call: 5_000_000_000,
            fuel_per_record: 20_000_000,
            timeout: Duration::from_secs(10),
            memory_bytes: 256 << 20,
            output_bytes_per_record: 256 << 10,
            log_lines_per_call: 1_000,
            max_table_elements: 1 << 20,
            max_instances: 64,
            max_memories: 8,
            quarantine_after_failures: 20,
            quarantine_failure_percent: 50,
        }
    }
}

impl Limits {
    /// Fuel for a call over `records` records.
    pub fn fuel_for(&self, records: usize) -> u64 {
        self.fuel_per_call
            .saturating_add(self.fuel_per_record.saturating_mul(records as u64))
    }

    /// Output bytes allowed for a call over `records` records.
    pub fn output_for(&self, records: usize) -> u64 {
        OUTPUT_BYTES_PER_CALL
            .saturating_add(self.output_bytes_per_record.saturating_mul(records as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_limits_override_pipeline_limits_override_defaults() {
        let pipeline = LimitsConfig {
            timeout_ms: Some(500),
            memory_mb: Some(32),
            ..LimitsConfig::default()
        };
        let step = LimitsConfig {
            memory_mb: Some(8),
            max_instances: Some(4),
            ..LimitsConfig::default()
        };
        let l = step.or(&pipeline).resolve();
        assert_eq!(l.timeout, Duration::from_millis(500));
        assert_eq!(l.memory_bytes, 8 << 20);
        assert_eq!(l.max_instances, 4);
        assert_eq!(l.fuel_per_record, Limits::default().fuel_per_record);
    }

    #[test]
    fn fuel_and_output_scale_with_batch_size() {
        let l = Limits::default();
        assert_eq!(l.fuel_for(0), l.fuel_per_call);
        assert_eq!(l.fuel_for(100) - l.fuel_for(0), 100 * l.fuel_per_record);
        assert_eq!(
            l.output_for(10) - l.output_for(0),
            10 * l.output_bytes_per_record
        );
        let percent = LimitsConfig {
            quarantine_failure_percent: Some(250),
            ..LimitsConfig::default()
        };
        assert_eq!(percent.resolve().quarantine_failure_percent, 100);
    }
}
