use super::{check_len, error_size, value_size};
use crate::bindings::{PluginError, Value, adapt, v0_1_0};
use crate::plugin::{PluginFailure, PluginKind, Sandbox};

versioned_world!(
    /// A field transformer's bindings, at the contract version it was built for.
    FieldTransformer,
    FieldTransformerPre,
    PluginKind::FieldTransformer,
    sluice_plugin_transform
);

/// A field transformer plugin in its sandbox.
pub type TransformerPlugin = Sandbox<FieldTransformer>;

impl Sandbox<FieldTransformer> {
    /// Transform a batch of values: one result per value, in order.
    pub fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
        let answer = self.call(
            values.len(),
            |out: &Vec<Result<Value, PluginError>>| {
                out.iter()
                    .map(|r| match r {
                        Ok(v) => value_size(v),
                        Err(e) => error_size(e),
                    })
                    .sum()
            },
            |w, store| match w {
                FieldTransformer::V0_1_0(w) => {
                    let old: Vec<v0_1_0::Value> = values.iter().map(Into::into).collect();
                    w.sluice_plugin_transform()
                        .call_transform(store, &old)
                        .map(adapt::results)
                }
                FieldTransformer::V0_2_0(w) => {
                    w.sluice_plugin_transform().call_transform(store, values)
                }
            },
        )?;
        check_len(self.id(), "transform", values.len(), answer)
            .map_err(|f| self.contract_failure(f))
    }
}
