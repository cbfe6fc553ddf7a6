use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::{check_len, error_size, value_size};
use crate::bindings::current::field_transformer::{FieldTransformer, FieldTransformerPre};
use crate::bindings::current::{PluginError, Value};
use crate::plugin::{HostState, PluginFailure, PluginKind, Sandbox, WorldBinding};

impl WorldBinding for FieldTransformer {
    type Pre = FieldTransformerPre<HostState>;
    const KIND: PluginKind = PluginKind::FieldTransformer;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
        FieldTransformerPre::new(instance_pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }

    fn configure(
        &self,
        store: &mut Store<HostState>,
        options: &str,
    ) -> wasmtime::Result<Result<(), PluginError>> {
        self.sluice_plugin_transform()
            .call_configure(store, options)
    }
}

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
