//! The five stages a record passes through, one module each:
//! ingest → normalize → transform → execute → finalize.
//!
//! Stages run on their own threads and hand each other [`Flow`] messages
//! over bounded channels, so a slow target holds back the source instead of
//! filling memory.

pub mod execute;
pub mod finalize;
pub mod ingest;
mod isolate;
pub mod normalize;
mod report;
pub mod transform;

use std::fmt;
use std::str::FromStr;

use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};

pub use isolate::call_isolating;
pub use report::{Capture, Reporter, SkipRecord, StageReport};

use crate::record::Record;

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

/// A batch of records of one entity.
#[derive(Debug)]
pub struct Batch {
    /// Index of the entity in the pipeline.
    pub entity: usize,
    /// The records.
    pub records: Vec<Record>,
    /// The first stage that processes these records; earlier stages pass
    /// the batch on untouched. `Ingest` for records read from the source;
    /// later for records replayed from the dead-letter queue, which re-enter
    /// at the stage they failed in.
    pub enter_at: Stage,
}

impl Batch {
    /// Records read from the source, for every stage to process.
    pub fn new(entity: usize, records: Vec<Record>) -> Self {
        Batch {
            entity,
            records,
            enter_at: Stage::Ingest,
        }
    }
}

/// The loop of middle stage `stage`: pass end-of-entity markers and
/// batches that enter later on, turn each other batch into the next with
/// `process`, and send on what is left of it. Stops when the input is
/// exhausted or the next stage is gone.
pub(crate) fn relay(
    stage: Stage,
    input: &Receiver<Flow>,
    out: &Sender<Flow>,
    mut process: impl FnMut(Batch) -> Batch,
) {
    for flow in input {
        let next = match flow {
            Flow::Batch(batch) if batch.enter_at > stage => Flow::Batch(batch),
            Flow::Batch(batch) => {
                let batch = process(batch);
                if batch.records.is_empty() {
                    continue;
                }
                Flow::Batch(batch)
            }
            marker => marker,
        };
        if out.send(next).is_err() {
            break;
        }
    }
}

/// What flows between stages.
#[derive(Debug)]
pub enum Flow {
    /// Records to process.
    Batch(Batch),
    /// No more records of this entity will come.
    EndOfEntity(usize),
    /// Make what the target holds of the entity durable now (a replay sends
    /// it every few batches, so a replay killed part-way keeps what it had
    /// committed and resolved).
    Commit(usize),
    /// Every record of the entity read before this point has been sent; once
    /// each is loaded, dead-lettered or skipped, reading may resume at
    /// `cursor` (incremental entities only).
    Checkpoint {
        /// Index of the entity.
        entity: usize,
        /// Where the source resumes.
        cursor: Option<String>,
        /// Items read since the previous checkpoint.
        records: u64,
    },
}
