use super::{check_len, error_size};
use crate::bindings::{Outgoing, PluginError, WriteOutcome, adapt, v0_1_0};
use crate::plugin::{PluginFailure, PluginKind, Sandbox};

versioned_world!(
    /// A target connector's bindings, at the contract version it was built for.
    Target,
    TargetPre,
    PluginKind::Target,
    sluice_plugin_load
);

/// A target connector in its sandbox.
pub type TargetPlugin = Sandbox<Target>;

/// The answer to a batch write: a whole-batch error, or one outcome per record.
pub type WriteAnswer = Result<Vec<Result<WriteOutcome, PluginError>>, PluginError>;

impl Sandbox<Target> {
    /// Prepare to write `entity`.
    pub fn begin(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        self.call(0, unit_size, |w, store| match w {
            Target::V0_1_0(w) => w
                .sluice_plugin_load()
                .call_begin(store, entity)
                .map(adapt::result),
            Target::V0_2_0(w) => w.sluice_plugin_load().call_begin(store, entity),
        })
    }

    /// Write a batch: a whole-batch error, or one outcome per record.
    pub fn write(
        &mut self,
        entity: &str,
        records: &[Outgoing],
    ) -> Result<WriteAnswer, PluginFailure> {
        let answer = self.call(
            records.len(),
            |out: &WriteAnswer| match out {
                Ok(items) => items
                    .iter()
                    .map(|r| match r {
                        Ok(WriteOutcome::Created(id) | WriteOutcome::Updated(id)) => {
                            id.as_ref().map_or(8, |s| s.len() as u64)
                        }
                        Ok(WriteOutcome::Skip(s)) => s.len() as u64,
                        Ok(WriteOutcome::Unchanged) => 8,
                        Err(e) => error_size(e),
                    })
                    .sum(),
                Err(e) => error_size(e),
            },
            |w, store| match w {
                Target::V0_1_0(w) => {
                    let old: Vec<v0_1_0::Outgoing> = records.iter().map(Into::into).collect();
                    w.sluice_plugin_load()
                        .call_write(store, entity, &old)
                        .map(|answer| answer.map(adapt::results).map_err(PluginError::from))
                }
                Target::V0_2_0(w) => w.sluice_plugin_load().call_write(store, entity, records),
            },
        )?;
        match answer {
            Ok(items) => Ok(Ok(check_len(self.id(), "write", records.len(), items)
                .map_err(|f| self.contract_failure(f))?)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Finish writing `entity`.
    pub fn commit(&mut self, entity: &str) -> Result<Result<(), PluginError>, PluginFailure> {
        self.call(0, unit_size, |w, store| match w {
            Target::V0_1_0(w) => w
                .sluice_plugin_load()
                .call_commit(store, entity)
                .map(adapt::result),
            Target::V0_2_0(w) => w.sluice_plugin_load().call_commit(store, entity),
        })
    }
}

fn unit_size(out: &Result<(), PluginError>) -> u64 {
    out.as_ref().err().map_or(0, error_size)
}
