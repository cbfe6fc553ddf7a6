//! Finalize: total the stage counts, check that every record is accounted
//! for, and decide the run's status.

use super::StageReport;
use crate::model::Stage;
pub use crate::model::{RunStatus, Totals};

impl Totals {
    /// Totals for entity `entity` from every stage's report.
    pub fn for_entity(reports: &[StageReport], entity: usize) -> Totals {
        let mut t = Totals::default();
        for r in reports {
            let c = r.counts[entity];
            if r.stage == Stage::Ingest {
                t.extracted += c.records_in;
            }
            if r.stage == Stage::Execute {
                t.loaded += c.records_out;
            }
            t.failed += c.failed;
            t.skipped += c.skipped;
        }
        t
    }
}
