//! `[run_log]`: what the run log keeps for a pipeline.

use serde::{Deserialize, Serialize};

use crate::runlog::{Age, DEFAULT_MAX_PAYLOAD_BYTES};

/// Largest `max_payload_kib` accepted (64 MiB).
const MAX_PAYLOAD_KIB_LIMIT: u32 = 64 << 10;

/// `[run_log]`: retention and payload bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLogConfig {
    /// When a run of this pipeline ends, delete this pipeline's finished
    /// runs that started longer ago than this (`30d`, `12h`, `90m`, `2w`),
    /// as `sluice runs prune --older-than` does; runs an open dead-letter
    /// entry refers to are kept. Default: keep every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Age>,
    /// Largest record payload stored with an error, in KiB (default 256,
    /// at most 65,536). A larger payload is stored as a marker with its
    /// size instead, and that record cannot be replayed from the
    /// dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_kib: Option<u32>,
}

impl RunLogConfig {
    /// Whether nothing is set (the section is then left out of the
    /// configuration hash).
    pub fn is_default(&self) -> bool {
        *self == RunLogConfig::default()
    }

    /// The largest payload stored, in bytes.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_kib
            .map_or(DEFAULT_MAX_PAYLOAD_BYTES, |k| k as usize * 1024)
    }

    /// What is wrong with the section, if anything.
    pub fn check(&self) -> Result<(), String> {
        match self.max_payload_kib {
            Some(k) if k == 0 || k > MAX_PAYLOAD_KIB_LIMIT => Err(format!(
                "`run_log.max_payload_kib` must be between 1 and {MAX_PAYLOAD_KIB_LIMIT}, not {k}"
            )),
            _ => Ok(()),
        }
    }
}
