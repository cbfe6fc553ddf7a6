//! Running one plugin over inputs the way a pipeline would, for `sluice
//! plugin test` and its `--cases`: what each batch used and how it went,
//! and per record the output, skip or error (with the category a pipeline
//! would record).

use serde::Serialize;
use serde_json::Value as Json;
use sluice::Sluice;
use sluice::bindings::{Normalized, PluginError, Value};
use sluice::model::{Category, PluginId, RecordError, Stage};
use sluice::plugin::{
    Artifact, CallReport, Grants, Limits, LoadError, NormalizerPlugin, PluginFailure, PluginKind,
    Sandbox, TransformerPlugin, WorldBinding,
};
use sluice::record::{to_value, try_from_value};

/// One call's outcome.
#[derive(Debug, Serialize)]
pub(crate) struct BatchReport {
    pub batch: usize,
    #[serde(flatten)]
    pub usage: CallReport,
    pub ok: usize,
    pub errors: usize,
    pub failure: Option<PluginFailure>,
}

/// One record's outcome.
#[derive(Debug, Serialize)]
pub(crate) struct RecordResult {
    pub line: usize,
    pub input: Json,
    pub output: Option<Json>,
    pub skipped: Option<String>,
    /// `code: message`.
    pub error: Option<String>,
    /// The error's category, as a pipeline would record it.
    pub category: Option<Category>,
    /// The error's code.
    pub code: Option<String>,
}

/// A record's error (or a setup failure): its category as a pipeline would
/// record it, its code and its message.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failed {
    pub category: Category,
    pub code: String,
    pub message: String,
}

impl Failed {
    /// The plugin could not be loaded: a `config` error, as a pipeline
    /// records it.
    fn load(e: LoadError) -> Failed {
        Failed {
            category: Category::Config,
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }

    /// The plugin could not be started or configured.
    fn setup(f: PluginFailure) -> Failed {
        Failed {
            category: Category::Config,
            code: f.code().to_owned(),
            message: f.message,
        }
    }

    /// A plugin's error as data, categorized as the transform or normalize
    /// stage records it (a remote category becomes `mapping`).
    fn reported(stage: Stage, plugin: &PluginId, e: PluginError) -> Failed {
        let recorded = RecordError::from_plugin_error(stage, "*", plugin, e);
        Failed {
            category: recorded.category,
            code: recorded.code,
            message: recorded.message,
        }
    }

    fn contract(message: String) -> Failed {
        Failed {
            category: Category::Mapping,
            code: "contract-violation".to_owned(),
            message,
        }
    }
}

/// One plugin set up to be run over inputs, the same way every time.
pub(crate) struct Bench<'a> {
    pub sluice: &'a Sluice,
    pub artifact: &'a Artifact,
    pub kind: PluginKind,
    pub limits: Limits,
    pub grants: Grants,
    pub batch_size: usize,
}

impl Bench<'_> {
    /// Load the plugin, configure a fresh instance with `options` and run
    /// it over `inputs` batch by batch. `Err`: it could not be set up (an
    /// import refused, its options rejected...), as a `config` error.
    pub(crate) fn run(
        &self,
        options: &Json,
        inputs: &[(usize, Json)],
    ) -> Result<(Vec<BatchReport>, Vec<RecordResult>), Failed> {
        let plugin_id = self.artifact.id.clone();
        let runtime = self.sluice.runtime();
        let options = options.to_string();
        let (limits, grants) = (self.limits, self.grants.clone());
        match self.kind {
            PluginKind::Normalizer => {
                let mut p = NormalizerPlugin::new(runtime, self.artifact, limits, grants, options)
                    .map_err(Failed::load)?;
                p.start().map_err(Failed::setup)?;
                Ok(run_batches(
                    &mut p,
                    inputs,
                    self.batch_size,
                    |p, chunk| {
                        let texts: Vec<String> = chunk.iter().map(|(_, v)| v.to_string()).collect();
                        p.normalize(&texts)
                    },
                    |r| match r {
                        Ok(Normalized::Keep(t)) => (
                            Some(serde_json::from_str(&t).unwrap_or(Json::String(t))),
                            None,
                            None,
                        ),
                        Ok(Normalized::Skip(reason)) => (None, Some(reason), None),
                        Err(e) => (
                            None,
                            None,
                            Some(Failed::reported(Stage::Normalize, &plugin_id, e)),
                        ),
                    },
                ))
            }
            _ => {
                let mut p = TransformerPlugin::new(runtime, self.artifact, limits, grants, options)
                    .map_err(Failed::load)?;
                p.start().map_err(Failed::setup)?;
                Ok(run_batches(
                    &mut p,
                    inputs,
                    self.batch_size,
                    |p, chunk| {
                        let values: Vec<Value> =
                            chunk.iter().map(|(_, v)| to_value(Some(v))).collect();
                        p.transform(&values)
                    },
                    |r| match r {
                        Ok(v) => match try_from_value(v) {
                            Ok(json) => (Some(json), None, None),
                            Err(e) => (
                                None,
                                None,
                                Some(Failed::contract(format!(
                                    "the plugin returned a `json` value that is not JSON ({e})"
                                ))),
                            ),
                        },
                        Err(e) => (
                            None,
                            None,
                            Some(Failed::reported(Stage::Transform, &plugin_id, e)),
                        ),
                    },
                ))
            }
        }
    }
}

/// What became of one record: output, skip reason, or error.
type Outcome = (Option<Json>, Option<String>, Option<Failed>);

/// Call `call` on each batch of `inputs` and record per batch what the call
/// used and how it went, and per record what `outcome` makes of its answer.
fn run_batches<W: WorldBinding, T>(
    plugin: &mut Sandbox<W>,
    inputs: &[(usize, Json)],
    batch_size: usize,
    mut call: impl FnMut(&mut Sandbox<W>, &[(usize, Json)]) -> Result<Vec<T>, PluginFailure>,
    outcome: impl Fn(T) -> Outcome,
) -> (Vec<BatchReport>, Vec<RecordResult>) {
    let mut batches = Vec::new();
    let mut results = Vec::new();
    for (n, chunk) in inputs.chunks(batch_size).enumerate() {
        let answer = call(plugin, chunk);
        let mut report = BatchReport {
            batch: n + 1,
            usage: plugin.last_call().clone(),
            ok: 0,
            errors: 0,
            failure: None,
        };
        let outcomes: Vec<Outcome> = match answer {
            Ok(items) => items.into_iter().map(&outcome).collect(),
            Err(f) => {
                let error = Failed {
                    category: Category::Mapping,
                    code: f.code().to_owned(),
                    message: format!("the whole batch failed: {}", f.message),
                };
                report.failure = Some(f);
                chunk
                    .iter()
                    .map(|_| (None, None, Some(error.clone())))
                    .collect()
            }
        };
        if report.failure.is_none() {
            report.errors = outcomes.iter().filter(|o| o.2.is_some()).count();
            report.ok = outcomes.len() - report.errors;
        }
        for ((line, input), (output, skipped, error)) in chunk.iter().zip(outcomes) {
            results.push(RecordResult {
                line: *line,
                input: input.clone(),
                output,
                skipped,
                error: error.as_ref().map(|e| format!("{}: {}", e.code, e.message)),
                category: error.as_ref().map(|e| e.category),
                code: error.map(|e| e.code),
            });
        }
        batches.push(report);
    }
    (batches, results)
}
