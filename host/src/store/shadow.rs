//! Shadowing a candidate version before it goes live (`sluice plugin
//! promote --shadow N`): the candidate and the current version run side by
//! side on the last records the current version was given that the run
//! log still holds, and the answers that differ are shown.
//!
//! Samples come from the run log, newest first: dead-letter entries that
//! failed in a step using the name (their payload is the record as it
//! entered the transform stage) and, for runs that kept captures, the
//! records each source returned (`extract`), for entities without
//! normalizers (whose records enter the transform stage as read). Only
//! field transformers that are the first step of their field's chain are
//! shadowed: a later step's input is the output of the steps before it,
//! which the run log does not keep.

use std::path::Path;

use serde::Serialize;
use serde_json::Value as Json;

use super::{PluginStore, StoreError};
use crate::bindings::{PluginError, Value};
use crate::config::{LoadedPipeline, load_pipeline, split_pin};
use crate::model::Stage;
use crate::plugin::{Artifact, Grants, LimitsConfig, Runtime, TransformerPlugin};
use crate::record::{Object, from_value, get_path, is_blank, to_value};
use crate::runlog::{DlqFilter, RunLog};

/// Runs looked at for captures, newest first.
const RUNS_LOOKED_AT: u64 = 50;
/// Records per call.
const BATCH: usize = 256;

/// One sample and both answers.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowRow {
    /// Where it came from: `dlq:<id>` or `run:<id>`.
    pub sample: String,
    /// The pipeline, entity and field.
    pub pipeline: String,
    /// The entity.
    pub entity: String,
    /// The target field.
    pub field: String,
    /// The record's key.
    pub key: String,
    /// The value given to both versions (JSON).
    pub input: Json,
    /// The current version's answer: `{"value": …}` or `{"error": code}`.
    pub current: Json,
    /// The candidate's answer.
    pub candidate: Json,
    /// Whether they differ.
    pub differs: bool,
}

/// What shadowing found.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowReport {
    /// The name.
    pub name: String,
    /// The current version.
    pub current: String,
    /// The candidate.
    pub candidate: String,
    /// Samples run.
    pub samples: usize,
    /// Samples whose answers differ.
    pub differ: usize,
    /// Every sample, differing ones first.
    pub rows: Vec<ShadowRow>,
    /// Samples passed over, and why (a later step of a chain...).
    pub skipped: Vec<String>,
}

/// A value to run, with where it came from and the step's options.
struct Sample {
    row: ShadowRow,
    value: Value,
    options: String,
    allow: Vec<String>,
}

impl PluginStore {
    /// Run `candidate` (a digest or prefix of `name`) and the current
    /// version side by side on the last `n` samples (see the module doc).
    pub fn shadow(
        &self,
        runtime: &Runtime,
        name: &str,
        candidate: &str,
        n: usize,
    ) -> Result<ShadowReport, StoreError> {
        let version = self.find_version(name, candidate)?;
        let log = self.run_log()?;
        let Some(current) = log.store_name(name)?.and_then(|r| r.current) else {
            return Err(StoreError::Refused(format!(
                "`{name}` has no current version to shadow"
            )));
        };
        if version.kind != "field-transformer" {
            return Err(StoreError::Refused(format!(
                "--shadow runs field transformers; `{name}` is a {}",
                version.kind
            )));
        }
        let mut skipped = Vec::new();
        let samples = collect(&log, name, n, &mut skipped)?;
        let current_artifact = self.artifact(name, &current)?;
        let candidate_artifact = self.artifact(name, &version.digest)?;
        let mut rows = Vec::new();
        // Samples share options when they come from one step: run each
        // group in batches on one instance per version.
        let mut groups: Vec<(String, Vec<String>, Vec<Sample>)> = Vec::new();
        for s in samples {
            match groups
                .iter_mut()
                .find(|(o, a, _)| *o == s.options && *a == s.allow)
            {
                Some((_, _, g)) => g.push(s),
                None => groups.push((s.options.clone(), s.allow.clone(), vec![s])),
            }
        }
        for (options, allow, group) in groups {
            let values: Vec<Value> = group.iter().map(|s| s.value.clone()).collect();
            let a = answers(runtime, &current_artifact, &options, &allow, &values);
            let b = answers(runtime, &candidate_artifact, &options, &allow, &values);
            for ((mut s, a), b) in group.into_iter().zip(a).zip(b) {
                s.row.differs = a != b;
                s.row.current = a;
                s.row.candidate = b;
                rows.push(s.row);
            }
        }
        rows.sort_by_key(|r| !r.differs);
        Ok(ShadowReport {
            name: name.to_owned(),
            current,
            candidate: version.digest,
            samples: rows.len(),
            differ: rows.iter().filter(|r| r.differs).count(),
            rows,
            skipped,
        })
    }
}

/// Each value's answer from `artifact`, as `{"value": …}` or `{"error":
/// code, "message": …}`; a version that cannot start answers every value
/// with its setup error.
fn answers(
    runtime: &Runtime,
    artifact: &Artifact,
    options: &str,
    allow: &[String],
    values: &[Value],
) -> Vec<Json> {
    let grants = Grants {
        allow: allow.to_vec(),
        ..Grants::default()
    };
    let mut plugin = match TransformerPlugin::new(
        runtime,
        artifact,
        LimitsConfig::default().resolve(),
        grants,
        options.to_owned(),
    ) {
        Ok(p) => p,
        Err(e) => {
            return vec![
                serde_json::json!({ "error": e.code(), "message": e.to_string() });
                values.len()
            ];
        }
    };
    let mut out = Vec::with_capacity(values.len());
    for chunk in values.chunks(BATCH) {
        match plugin.transform(chunk) {
            Ok(results) => out.extend(results.into_iter().map(answer)),
            Err(f) => {
                out.extend(chunk.iter().map(
                    |_| serde_json::json!({ "error": f.kind.code(), "message": f.to_string() }),
                ))
            }
        }
    }
    out
}

fn answer(r: Result<Value, PluginError>) -> Json {
    match r {
        Ok(v) => serde_json::json!({ "value": from_value(v) }),
        Err(e) => {
            serde_json::json!({ "error": e.code, "category": format!("{:?}", e.category).to_lowercase() })
        }
    }
}

/// The last `n` samples of `name` in the run log.
fn collect(
    log: &RunLog,
    name: &str,
    n: usize,
    skipped: &mut Vec<String>,
) -> Result<Vec<Sample>, StoreError> {
    let mut samples = Vec::new();
    let mut pipelines: Vec<(String, Option<LoadedPipeline>)> = Vec::new();
    let mut pipeline = |log: &RunLog, run_id: i64| -> Option<LoadedPipeline> {
        let path = log.run(run_id).ok()?.pipeline_path;
        if let Some((_, p)) = pipelines.iter().find(|(k, _)| *k == path) {
            return p.clone();
        }
        let loaded = load_pipeline(Path::new(&path)).ok();
        pipelines.push((path, loaded.clone()));
        loaded
    };
    // Dead-letter entries that failed in a step using the name.
    let entries = log.dlq_entries(&DlqFilter::default())?;
    for e in entries.iter().rev() {
        if samples.len() >= n {
            return Ok(samples);
        }
        if e.plugin.as_deref() != Some(name) || e.stage != Stage::Transform {
            continue;
        }
        let Some(field) = e.field.as_deref() else {
            continue;
        };
        let Some(loaded) = pipeline(log, e.last_run_id) else {
            skipped.push(format!("dlq:{}: its pipeline file no longer loads", e.id));
            continue;
        };
        let Some(body) = e
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<Object>(p).ok())
        else {
            continue;
        };
        match sample(&loaded, &e.entity, Some(field), name, &body) {
            Ok(mut found) => {
                for s in &mut found {
                    s.row.sample = format!("dlq:{}", e.id);
                    s.row.key = e.record_key.clone();
                }
                samples.extend(found);
            }
            Err(why) => skipped.push(format!("dlq:{}: {why}", e.id)),
        }
    }
    // Records the sources returned, in runs that kept captures.
    for run in log.runs(None, RUNS_LOOKED_AT)? {
        if samples.len() >= n {
            break;
        }
        if !log
            .plugin_uses(run.id)?
            .iter()
            .any(|u| u.plugin == name && u.role.starts_with("transform:"))
        {
            continue;
        }
        let captures = log.captures(run.id, "extract")?;
        if captures.is_empty() {
            continue;
        }
        let Some(loaded) = pipeline(log, run.id) else {
            continue;
        };
        for c in captures.iter().rev() {
            let Json::Array(items) = &c.document else {
                continue;
            };
            for item in items.iter().rev() {
                if samples.len() >= n {
                    break;
                }
                let Some(body) = item.get("body").and_then(Json::as_object) else {
                    continue;
                };
                let key = item
                    .get("key")
                    .map(|k| k.as_str().map_or_else(|| k.to_string(), str::to_owned))
                    .unwrap_or_default();
                match sample(&loaded, &c.entity, None, name, body) {
                    Ok(found) => {
                        for mut s in found {
                            s.row.sample = format!("run:{}", run.id);
                            s.row.key = key.clone();
                            samples.push(s);
                        }
                    }
                    Err(why) => {
                        let why = format!("run {}: {why}", run.id);
                        if !skipped.contains(&why) {
                            skipped.push(why);
                        }
                        break;
                    }
                }
            }
        }
    }
    samples.truncate(n);
    Ok(samples)
}

/// The samples of one record: the value of every field of `entity`
/// (only `field`, if given) whose chain starts with `name`.
fn sample(
    loaded: &LoadedPipeline,
    entity: &str,
    field: Option<&str>,
    name: &str,
    body: &Object,
) -> Result<Vec<Sample>, String> {
    let Some(e) = loaded
        .pipeline
        .entities
        .iter()
        .find(|e| e.name.get_ref() == entity)
    else {
        return Err(format!("entity `{entity}` is no longer in the pipeline"));
    };
    let mut found = Vec::new();
    for f in &e.fields {
        if field.is_some_and(|t| t != f.target.get_ref()) {
            continue;
        }
        let Some(position) = f.transform.iter().position(|s| {
            let step = s.get_ref();
            split_pin(&step.plugin, step.digest.as_deref()).0 == name
        }) else {
            continue;
        };
        if position > 0 {
            return Err(format!(
                "`{name}` is step {} of field `{}`: only first steps are shadowed",
                position + 1,
                f.target.get_ref()
            ));
        }
        if field.is_none() && !e.normalize.is_empty() {
            return Err(format!(
                "entity `{entity}` has normalizers: the captured source records are not what the step was given"
            ));
        }
        let step = f.transform[position].get_ref();
        let mut value = to_value(get_path(body, f.source_path()));
        if let Some(default) = &f.default
            && is_blank(&value)
        {
            value = to_value(Some(&toml_to_json(default)));
        }
        let input = from_value(value.clone());
        found.push(Sample {
            row: ShadowRow {
                sample: String::new(),
                pipeline: loaded.pipeline.name.clone(),
                entity: entity.to_owned(),
                field: f.target.get_ref().clone(),
                key: String::new(),
                input,
                current: Json::Null,
                candidate: Json::Null,
                differs: false,
            },
            value,
            options: serde_json::to_string(&toml_to_json(&toml::Value::Table(
                step.options.clone(),
            )))
            .expect("options serialize"),
            allow: step.allow.clone(),
        });
    }
    Ok(found)
}

/// TOML as JSON, as plans hand options to plugins (`run::toml_to_json`,
/// a layer above this one): dates become their TOML text.
fn toml_to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
