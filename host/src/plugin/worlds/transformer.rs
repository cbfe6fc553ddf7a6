use super::{check_len, error_size, value_size};
use crate::bindings::current::field_transformer::{FieldTransformer, FieldTransformerPre};
use crate::bindings::current::{PluginError, Value};
use crate::plugin::{PluginFailure, PluginKind, Sandbox};

world_binding!(
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
            |w, store| w.sluice_plugin_transform().call_transform(store, values),
        )?;
        check_len(self.id(), "transform", values.len(), answer)
            .map_err(|f| self.contract_failure(f))
    }
}
