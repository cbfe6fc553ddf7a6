//! A target that is never written to: what a dry run (`sluice run
//! --dry-run`) puts in front of the pipeline's real target.
//!
//! The target contract has no way to ask "would this create or update?"
//! without writing, so the dry run asks the run log's target key ledger
//! instead: what this data directory's earlier runs loaded through the same
//! target (see [`crate::runlog::Would`]).

use std::time::Duration;

use super::execute::RecordTarget;
use crate::bindings::{Outgoing, PluginError, WriteOutcome};
use crate::connection::HttpExchange;
use crate::plugin::{PluginFailure, PluginId};
pub use crate::runlog::DRY_RUN_REASON;
use crate::runlog::{RunLog, Would, body_digest};

/// Wraps a target so that `begin`, `write` and `commit` never reach it:
/// every record handed to `write` comes back skipped, with a reason that
/// says what the target would do with it (`dry run: would create`, `would
/// update`, `would be unchanged`) as the target key ledger knows it, or
/// [`DRY_RUN_REASON`] without a ledger. The run counts it as reaching the
/// target without claiming it was loaded; records rejected at earlier
/// stages keep their real errors.
#[derive(Debug)]
pub struct DryRunTarget<'a, T: RecordTarget> {
    inner: &'a mut T,
    /// The run log to read the ledger from, and the pipeline's name.
    ledger: Option<(RunLog, String)>,
}

impl<'a, T: RecordTarget> DryRunTarget<'a, T> {
    /// Stand in front of `inner`, comparing nothing.
    pub fn new(inner: &'a mut T) -> Self {
        DryRunTarget {
            inner,
            ledger: None,
        }
    }

    /// Stand in front of `inner`, comparing each record with what the
    /// target key ledger in `log` knows of `pipeline`'s loads.
    pub fn comparing(inner: &'a mut T, log: RunLog, pipeline: &str) -> Self {
        DryRunTarget {
            inner,
            ledger: Some((log, pipeline.to_owned())),
        }
    }

    fn reason(&self, entity: &str, record: &Outgoing) -> &'static str {
        let Some((log, pipeline)) = &self.ledger else {
            return DRY_RUN_REASON;
        };
        match log.ledger_key(pipeline, &self.inner.plugin().name, entity, &record.key) {
            Ok(known) => Would::of(known.as_ref(), &body_digest(&record.body)).reason(),
            Err(e) => {
                tracing::warn!(entity, error = %e, "The target key ledger could not be read; the dry run does not compare this record.");
                DRY_RUN_REASON
            }
        }
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
        entity: &str,
        records: &[Outgoing],
    ) -> Result<Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>, PluginFailure> {
        Ok(Ok(records
            .iter()
            .map(|r| Ok(WriteOutcome::Skip(self.reason(entity, r).to_owned())))
            .collect()))
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

    /// Run `records` (key, body) of entity `contacts` through a dry run
    /// in front of `inner`; the skip reasons per key.
    fn dry_run_reasons(
        inner: &mut Counting,
        ledger: Option<(RunLog, &str)>,
        records: &[(&str, serde_json::Value)],
    ) -> Vec<(String, String)> {
        let errors = ErrorsConfig::default();
        let control = Arc::new(RunControl::new(
            [("contacts".to_owned(), errors.policy_for(None))].into(),
            errors.breaker(),
        ));
        let (log_tx, log_rx) = unbounded();
        let reporter = Reporter::new(log_tx, Arc::new(Progress::default()), control);
        let records: Vec<Record> = records
            .iter()
            .map(|(key, body)| Record {
                key: (*key).to_owned(),
                position: (*key).to_owned(),
                body: body.as_object().unwrap().clone().into(),
                source_payload: Arc::from("{}"),
            })
            .collect();
        let (tx, input) = unbounded();
        tx.send(Flow::Batch(Batch::new(0, records))).unwrap();
        tx.send(Flow::EndOfEntity(0)).unwrap();
        drop(tx);
        let mut dry = [match ledger {
            Some((log, pipeline)) => DryRunTarget::comparing(inner, log, pipeline),
            None => DryRunTarget::new(inner),
        }];
        execute::run(&mut dry, &["contacts".to_owned()], &input, &reporter);
        drop(reporter);
        log_rx
            .try_iter()
            .filter_map(|e| match e {
                LogEvent::Skips(s) => Some(s),
                _ => None,
            })
            .flatten()
            .map(|s| (s.record_key, s.reason))
            .collect()
    }

    #[test]
    fn a_dry_run_says_what_the_ledger_says_would_become_of_each_record() {
        use serde_json::json;

        use crate::runlog::{
            LedgerEntry, LoadOutcome, RunContext, WOULD_BE_UNCHANGED, WOULD_CREATE, WOULD_UPDATE,
            spawn_writer,
        };

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        // An earlier run of `crm` loaded `same` and `edited` through
        // `jsonl-file`, and `other` through another target.
        let body = |v: serde_json::Value| v.to_string();
        let writer = spawn_writer(
            path.clone(),
            RunContext {
                run_id: 1,
                pipeline: "crm".into(),
                config_hash: "h".into(),
                test: false,
            },
        )
        .unwrap();
        let entries = vec![
            LedgerEntry::new(
                "same",
                &body(json!({"n": 1})),
                LoadOutcome::Created,
                Some("t-1"),
            ),
            LedgerEntry::new(
                "edited",
                &body(json!({"n": 2})),
                LoadOutcome::Created,
                Some("t-2"),
            ),
        ];
        for (target, entries) in [
            ("jsonl-file", entries),
            (
                "http",
                vec![LedgerEntry::new(
                    "other",
                    &body(json!({"n": 3})),
                    LoadOutcome::Created,
                    None,
                )],
            ),
        ] {
            writer
                .tx
                .send(LogEvent::Loaded {
                    entity: "contacts".into(),
                    target: target.into(),
                    entries,
                })
                .unwrap();
        }
        drop(writer.tx);
        writer.thread.join().unwrap().unwrap();

        let mut inner = Counting {
            id: PluginId {
                name: "jsonl-file".into(),
                digest: "sha256:0".into(),
            },
            calls: 0,
        };
        let records = [
            ("same", json!({"n": 1})),
            ("edited", json!({"n": 20})),
            ("new", json!({"n": 4})),
            ("other", json!({"n": 3})),
        ];
        let log = RunLog::open(&path).unwrap();
        let reasons = dry_run_reasons(&mut inner, Some((log, "crm")), &records);
        assert_eq!(inner.calls, 0, "the real target was called");
        let want = [
            ("same", WOULD_BE_UNCHANGED),
            ("edited", WOULD_UPDATE),
            ("new", WOULD_CREATE),
            // Loaded through another target: unknown to this one.
            ("other", WOULD_CREATE),
        ];
        assert_eq!(
            reasons,
            want.map(|(k, r)| (k.to_owned(), r.to_owned())).to_vec()
        );
        // Another pipeline knows none of them.
        let log = RunLog::open(&path).unwrap();
        let reasons = dry_run_reasons(&mut inner, Some((log, "billing")), &records[..1]);
        assert_eq!(reasons, [("same".to_owned(), WOULD_CREATE.to_owned())]);
        // Without a ledger, nothing is compared.
        let reasons = dry_run_reasons(&mut inner, None, &records[..1]);
        assert_eq!(reasons, [("same".to_owned(), DRY_RUN_REASON.to_owned())]);
    }
}
