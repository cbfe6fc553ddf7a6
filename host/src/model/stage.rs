use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stage of the data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Reading records from the source.
    Ingest,
    /// Reshaping whole records.
    Normalize,
    /// Mapping and transforming fields.
    Transform,
    /// Writing to the target.
    Execute,
    /// Committing and checking the run.
    Finalize,
}

impl Stage {
    /// Every stage, in data-path order.
    pub const ALL: [Stage; 5] = [
        Stage::Ingest,
        Stage::Normalize,
        Stage::Transform,
        Stage::Execute,
        Stage::Finalize,
    ];

    /// The stage's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Normalize => "normalize",
            Stage::Transform => "transform",
            Stage::Execute => "execute",
            Stage::Finalize => "finalize",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown stage `{s}`; expected ingest, normalize, transform, execute or finalize"))
    }
}

/// Per-stage, per-entity record counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    /// Records that entered the stage.
    pub records_in: u64,
    /// Records passed on to the next stage (for execute: loaded).
    pub records_out: u64,
    /// Records that failed here.
    pub failed: u64,
    /// Records skipped here, with a reason.
    pub skipped: u64,
}
