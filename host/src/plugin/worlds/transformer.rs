use super::text_batch::{self, TextResults};
use super::{check_len, result_size};
use crate::bindings::v0_2_0::{TextAnswer, TextBatch};
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

/// Bytes `transform`'s results occupy.
fn results_size(out: &[Result<Value, PluginError>]) -> u64 {
    out.iter().map(result_size).sum()
}

/// Bytes an answer occupies.
fn answer_size(answer: &Answer) -> u64 {
    match answer {
        Answer::Values(out) => results_size(out),
        Answer::Text(out) => text_batch::answer_size(out),
    }
}

impl Sandbox<FieldTransformer> {
    /// Transform a batch of values: one result per value, in order. A batch
    /// of text values goes through `transform-text` when the plugin has it
    /// (0.2.0), packed as one string; any other through `transform`.
    pub fn transform(
        &mut self,
        values: &[Value],
    ) -> Result<Vec<Result<Value, PluginError>>, PluginFailure> {
        if self.takes_texts()
            && let Some(batch) = text_batch::pack(values)
        {
            return self.transform_texts(&batch).map(TextResults::into_values);
        }
        let answer = self.call(
            values.len(),
            |out: &Vec<_>| results_size(out),
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

    /// Whether the plugin takes packed texts (`transform-text`, 0.2.0):
    /// [`Self::transform_texts`] then lends it the batch as it is.
    pub fn takes_texts(&self) -> bool {
        self.contract() == ContractVersion::V0_2_0
    }

    /// Transform a batch of texts, packed: the results checked and still
    /// packed, so that they can be the next transformer's batch. Through
    /// `transform-text` when the plugin has it (0.2.0); a 0.1.0 plugin gets
    /// one value per text through `transform`.
    pub fn transform_texts(&mut self, batch: &TextBatch) -> Result<TextResults, PluginFailure> {
        let sent = batch.ends.len();
        let answer = self.call(sent, answer_size, |w, store| match w {
            FieldTransformer::V0_1_0(w) => {
                let old: Vec<v0_1_0::Value> = text_batch::text_values(batch)
                    .iter()
                    .map(Into::into)
                    .collect();
                w.sluice_plugin_transform()
                    .call_transform(store, &old)
                    .map(|out| Answer::Values(adapt::results(out)))
            }
            FieldTransformer::V0_2_0(w) => w
                .sluice_plugin_transform()
                .call_transform_text(store, batch)
                .map(Answer::Text),
        })?;
        self.checked(sent, answer)
    }

    /// The answer to `sent` inputs, checked; a broken rule is a contract
    /// violation of the whole call.
    fn checked(&mut self, sent: usize, answer: Answer) -> Result<TextResults, PluginFailure> {
        match answer {
            Answer::Values(out) => check_len(self.id(), "transform", sent, out)
                .map(TextResults::from_values)
                .map_err(|f| self.contract_failure(f)),
            Answer::Text(out) => TextResults::check(sent, out).map_err(|why| {
                let failure = PluginFailure::contract(format!(
                    "plugin `{}` broke the contract in its answer from `transform-text`: {why}",
                    self.id().name
                ));
                self.contract_failure(failure)
            }),
        }
    }
}
