use super::error_size;
use crate::bindings::{ExtractBatch, PluginError, adapt};
use crate::plugin::{PluginFailure, PluginKind, Sandbox};

versioned_world!(
    /// A source connector's bindings, at the contract version it was built for.
    Source,
    SourcePre,
    PluginKind::Source,
    sluice_plugin_extract
);

/// A source connector in its sandbox.
pub type SourcePlugin = Sandbox<Source>;

impl Sandbox<Source> {
    /// Read up to `max` items of `entity` after `cursor`.
    pub fn read(
        &mut self,
        entity: &str,
        cursor: Option<&str>,
        max: u32,
    ) -> Result<Result<ExtractBatch, PluginError>, PluginFailure> {
        let answer = self.call(
            max as usize,
            |out: &Result<ExtractBatch, PluginError>| match out {
                Ok(b) => {
                    b.items
                        .iter()
                        .map(|i| match i {
                            Ok(x) => (x.key.len() + x.body.len()) as u64,
                            Err(f) => (f.key.len() + f.raw.len()) as u64 + error_size(&f.error),
                        })
                        .sum::<u64>()
                        + b.cursor.as_ref().map_or(0, |c| c.len() as u64)
                }
                Err(e) => error_size(e),
            },
            |w, store| match w {
                Source::V0_1_0(w) => w
                    .sluice_plugin_extract()
                    .call_read(store, entity, cursor, max)
                    .map(adapt::result),
                Source::V0_2_0(w) => w
                    .sluice_plugin_extract()
                    .call_read(store, entity, cursor, max),
            },
        )?;
        // Armed for `max` items; it handled those it returned.
        self.recount_last_call(answer.as_ref().map_or(0, |b| b.items.len()));
        if let Ok(batch) = &answer
            && batch.items.len() > max as usize
        {
            let failure = PluginFailure::contract(format!(
                "source `{}` returned {} items when asked for at most {max}",
                self.id().name,
                batch.items.len()
            ));
            return Err(self.contract_failure(failure));
        }
        Ok(answer)
    }
}
