//! A target that is never written to: what a dry run (`sluice run
//! --dry-run`) puts in front of the pipeline's real target.

use std::time::Duration;

use super::execute::RecordTarget;
use crate::bindings::{Outgoing, PluginError, WriteOutcome};
use crate::connection::HttpExchange;
use crate::plugin::{PluginFailure, PluginId};

/// Why every record that reaches a dry run's target is skipped.
pub const DRY_RUN_REASON: &str = "dry run: not written to the target";

/// Wraps a target so that `begin`, `write` and `commit` never reach it:
/// every record handed to `write` comes back skipped with
/// [`DRY_RUN_REASON`], so the run counts it as reaching the target without
/// claiming it was loaded; records rejected at earlier stages keep their
/// real errors.
#[derive(Debug)]
pub struct DryRunTarget<'a, T: RecordTarget> {
    inner: &'a mut T,
}

impl<'a, T: RecordTarget> DryRunTarget<'a, T> {
    /// Stand in front of `inner`.
    pub fn new(inner: &'a mut T) -> Self {
        DryRunTarget { inner }
    }
}

impl<T: RecordTarget> RecordTarget for DryRunTarget<'_, T> {
    fn plugin(&self) -> &PluginId {
        self.inner.plugin()
    }

    fn begin(&mut self, _entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        Ok(Ok(()))
    }

    fn write(
        &mut self,
        _entity: &str,
        records: &[Outgoing],
    ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure> {
        Ok(Ok(vec![
            Ok(WriteOutcome::Skip(DRY_RUN_REASON.to_owned()));
            records.len()
        ]))
    }

    fn commit(&mut self, _entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        Ok(Ok(()))
    }

    fn retry_after(&mut self) -> Option<Duration> {
        None
    }

    fn take_http(&mut self) -> Vec<HttpExchange> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossbeam_channel::unbounded;

    use super::*;
    use crate::model::Progress;
    use crate::record::Record;
    use crate::runlog::LogEvent;
    use crate::stages::{Batch, Flow, Reporter, execute};
    use crate::strategy::{ErrorsConfig, RunControl};

    /// Counts every call that reaches it.
    struct Counting {
        id: PluginId,
        calls: u32,
    }

    impl RecordTarget for Counting {
        fn plugin(&self) -> &PluginId {
            &self.id
        }
        fn begin(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            self.calls += 1;
            Ok(Ok(()))
        }
        fn write(
            &mut self,
            _: &str,
            records: &[Outgoing],
        ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure>
        {
            self.calls += 1;
            Ok(Ok(records
                .iter()
                .map(|_| Ok(WriteOutcome::Created(None)))
                .collect()))
        }
        fn commit(&mut self, _: &str) -> Result<Result<(), PluginError>, PluginFailure> {
            self.calls += 1;
            Ok(Ok(()))
        }
    }

    #[test]
    fn a_dry_run_target_never_calls_the_target_and_skips_every_record() {
        let errors = ErrorsConfig::default();
        let control = Arc::new(RunControl::new(
            [("contacts".to_owned(), errors.policy_for(None))].into(),
            errors.breaker(),
        ));
        let (log_tx, log_rx) = unbounded();
        let reporter = Reporter::new(log_tx, Arc::new(Progress::default()), control);
        let mut inner = [Counting {
            id: PluginId {
                name: "jsonl-file".into(),
                digest: "sha256:0".into(),
            },
            calls: 0,
        }];
        let records: Vec<Record> = (0..3)
            .map(|i| Record {
                key: format!("k{i}"),
                position: format!("in:{i}"),
                body: Default::default(),
                source_payload: Arc::from("{}"),
            })
            .collect();
        let (tx, input) = unbounded();
        tx.send(Flow::Batch(Batch::new(0, records))).unwrap();
        tx.send(Flow::EndOfEntity(0)).unwrap();
        drop(tx);
        let report = {
            let mut dry: Vec<DryRunTarget<'_, Counting>> =
                inner.iter_mut().map(DryRunTarget::new).collect();
            execute::run(&mut dry, &["contacts".to_owned()], &input, &reporter)
        };
        drop(reporter);
        assert_eq!(inner[0].calls, 0, "the real target was called");
        assert_eq!(report.counts[0].records_in, 3);
        assert_eq!(report.counts[0].records_out, 0, "nothing counts as loaded");
        assert_eq!(report.counts[0].skipped, 3);
        let skipped: Vec<(String, String)> = log_rx
            .try_iter()
            .filter_map(|e| match e {
                LogEvent::Skips(s) => Some(s),
                _ => None,
            })
            .flatten()
            .map(|s| (s.record_key, s.reason))
            .collect();
        assert_eq!(
            skipped,
            (0..3)
                .map(|i| (format!("k{i}"), DRY_RUN_REASON.to_owned()))
                .collect::<Vec<_>>()
        );
    }
}
