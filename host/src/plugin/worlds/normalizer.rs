use super::{check_len, error_size};
use crate::bindings::{Normalized, PluginError, adapt};
use crate::plugin::{PluginFailure, PluginKind, Sandbox};

versioned_world!(
    /// A normalizer's bindings, at the contract version it was built for.
    Normalizer,
    NormalizerPre,
    PluginKind::Normalizer,
    sluice_plugin_normalize
);

/// A normalizer plugin in its sandbox.
pub type NormalizerPlugin = Sandbox<Normalizer>;

impl Sandbox<Normalizer> {
    /// Normalize a batch of records (JSON object text): one result per record.
    pub fn normalize(
        &mut self,
        records: &[String],
    ) -> Result<Vec<Result<Normalized, PluginError>>, PluginFailure> {
        let answer = self.call(
            records.len(),
            |out: &Vec<Result<Normalized, PluginError>>| {
                out.iter()
                    .map(|r| match r {
                        Ok(Normalized::Keep(s) | Normalized::Skip(s)) => s.len() as u64,
                        Err(e) => error_size(e),
                    })
                    .sum()
            },
            |w, store| match w {
                Normalizer::V0_1_0(w) => w
                    .sluice_plugin_normalize()
                    .call_normalize(store, records)
                    .map(adapt::results),
                Normalizer::V0_2_0(w) => w.sluice_plugin_normalize().call_normalize(store, records),
            },
        )?;
        check_len(self.id(), "normalize", records.len(), answer)
            .map_err(|f| self.contract_failure(f))
    }
}
