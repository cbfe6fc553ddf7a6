use super::{check_len, error_size, text_batch, value_size};
use crate::bindings::v0_2_0::TextAnswer;
use crate::bindings::{ContractVersion, PluginError, Value, adapt, v0_1_0};
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

/// What a transformer answered, through whichever export was called.
enum Answer {
    /// `transform`: one result per value.
    Values(Vec<Result<Value, PluginError>>),
    /// `transform-text`: the results packed, not yet checked.
    Text(TextAnswer),
}

impl Sandbox<FieldTransformer> {
    /// Transform a batch of values: one result per value, in order. A batch
    /// of text values goes through `transform-text` when the plugin has it
    /// (0.2.0), packed as one string; any other through `transform`.
    pub fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
        let packed = match self.contract() {
            ContractVersion::V0_1_0 => None,
            ContractVersion::V0_2_0 => text_batch::pack(values),
        };
        let answer = self.call(
            values.len(),
            |out: &Answer| match out {
                Answer::Values(out) => out
                    .iter()
                    .map(|r| match r {
                        Ok(v) => value_size(v),
                        Err(e) => error_size(e),
                    })
                    .sum(),
                Answer::Text(out) => text_batch::answer_size(out),
            },
            |w, store| match w {
                FieldTransformer::V0_1_0(w) => {
                    let old: Vec<v0_1_0::Value> = values.iter().map(Into::into).collect();
                    w.sluice_plugin_transform()
                        .call_transform(store, &old)
                        .map(|out| Answer::Values(adapt::results(out)))
                }
                FieldTransformer::V0_2_0(w) => match &packed {
                    Some(batch) => w
                        .sluice_plugin_transform()
                        .call_transform_text(store, batch)
                        .map(Answer::Text),
                    None => w
                        .sluice_plugin_transform()
                        .call_transform(store, values)
                        .map(Answer::Values),
                },
            },
        )?;
        match answer {
            Answer::Values(out) => check_len(self.id(), "transform", values.len(), out)
                .map_err(|f| self.contract_failure(f)),
            Answer::Text(out) => text_batch::unpack(values.len(), out).map_err(|why| {
                let failure = PluginFailure::contract(format!(
                    "plugin `{}` broke the contract in its answer from `transform-text`: {why}",
                    self.id().name
                ));
                self.contract_failure(failure)
            }),
        }
    }
}
