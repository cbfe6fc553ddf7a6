//! The five stages a record passes through, one module each:
//! ingest → normalize → transform → execute → finalize.
//!
//! Stages run on their own threads and hand each other [`Flow`] messages
//! over bounded channels, so a slow target holds back the source instead of
//! filling memory.

pub mod dry_run;
pub mod execute;
pub mod finalize;
pub mod ingest;
mod isolate;
pub mod normalize;
mod report;
mod sample;
pub mod transform;

use crossbeam_channel::{Receiver, Sender};

pub use crate::model::SkipRecord;
pub use isolate::call_isolating;
pub use report::{Capture, Reporter, StageReport};

pub use crate::model::{Stage, StageCounts};
use crate::record::Record;

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
