//! What a plugin says about itself (`describe`, contract 0.2.0 and later):
//! bounded and checked, and the option schema it carries applied to a
//! pipeline's options before `configure`.
//!
//! Everything in a descriptor comes from the plugin and is hostile: each
//! field has a size cap, the world must be the one the plugin is used as,
//! and the schema must be a JSON Schema the host can compile (no remote
//! references: the validator resolves none).

use serde_json::Value as Json;

#[cfg(test)]
use super::failure::FailureKind;
use super::failure::PluginFailure;
use super::registry::PluginKind;
use crate::bindings::Descriptor;
use crate::text::escape;

/// Longest name, version or world accepted, in bytes.
pub const MAX_DESCRIPTOR_NAME: usize = 128;
/// Longest description accepted, in bytes.
pub const MAX_DESCRIPTION: usize = 4 * 1024;
/// Longest option schema accepted, in bytes.
pub const MAX_OPTIONS_SCHEMA: usize = 64 * 1024;
/// Fuel for one `describe` call. The host asks, not the pipeline, so the
/// call runs under this fixed budget (and the call deadline) whatever the
/// pipeline's `fuel_per_call`: a pipeline that tunes its per-call fuel
/// down for its records must not starve a plugin building its schema, and
/// one that tunes it up does not give `describe` more.
pub const DESCRIBE_FUEL: u64 = 200_000_000;
/// Schema violations named in one message.
const MAX_REPORTED: usize = 3;

/// Whether a pipeline's options fit the plugin's option schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidOptions {
    /// They do.
    Yes,
    /// They do not: what is wrong, with the JSON path of each bad option.
    No(String),
}

/// Check a descriptor `plugin` returned when used as `kind`.
pub fn check(plugin: &str, kind: PluginKind, d: Descriptor) -> Result<Descriptor, PluginFailure> {
    let broken = |what: String| {
        PluginFailure::contract(format!("plugin `{plugin}` described itself badly: {what}"))
    };
    for (field, text, cap) in [
        ("name", &d.name, MAX_DESCRIPTOR_NAME),
        ("version", &d.version, MAX_DESCRIPTOR_NAME),
        ("world", &d.world, MAX_DESCRIPTOR_NAME),
        ("description", &d.description, MAX_DESCRIPTION),
        ("options-schema", &d.options_schema, MAX_OPTIONS_SCHEMA),
    ] {
        if text.len() > cap {
            return Err(broken(format!(
                "its {field} is {} bytes, more than the {cap} allowed",
                text.len()
            )));
        }
    }
    if d.world != kind.world() {
        return Err(broken(format!(
            "it says it serves the `{}` world but is used as a {kind}",
            escape(&d.world)
        )));
    }
    schema(&d).map_err(broken)?;
    Ok(d)
}

/// The descriptor's option schema, parsed and compiled.
fn schema(d: &Descriptor) -> Result<(Json, jsonschema::Validator), String> {
    let json: Json = serde_json::from_str(&d.options_schema)
        .map_err(|e| format!("its options schema is not JSON: {e}"))?;
    let validator = jsonschema::validator_for(&json).map_err(|e| {
        format!(
            "its options schema is not a usable JSON Schema: {}",
            escape(&e.to_string())
        )
    })?;
    Ok((json, validator))
}

/// Check `options` (JSON object text) against the descriptor's schema.
pub fn check_options(d: &Descriptor, options: &str) -> ValidOptions {
    let Ok((_, validator)) = schema(d) else {
        // `check` accepted it; a schema that fails now accepts nothing.
        return ValidOptions::No("the plugin's option schema cannot be compiled".to_owned());
    };
    let instance: Json = match serde_json::from_str(options) {
        Ok(json) => json,
        Err(e) => return ValidOptions::No(format!("options are not JSON: {e}")),
    };
    let mut problems: Vec<String> = Vec::new();
    let mut more = 0usize;
    for error in validator.iter_errors(&instance) {
        if problems.len() == MAX_REPORTED {
            more += 1;
            continue;
        }
        let path = error.instance_path().to_string();
        let at = if path.is_empty() {
            "the options".to_owned()
        } else {
            format!("option `{}`", escape(&path))
        };
        problems.push(format!("{at}: {}", escape(&error.to_string())));
    }
    if problems.is_empty() {
        return ValidOptions::Yes;
    }
    let mut message = problems.join("; ");
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    message.push_str(
        " (checked against the option schema the plugin describes; see `sluice plugin docs`)",
    );
    ValidOptions::No(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(schema: &str) -> Descriptor {
        Descriptor {
            name: "truncate".into(),
            version: "1.0.0".into(),
            description: "Cuts text.".into(),
            world: "field-transformer".into(),
            options_schema: schema.into(),
        }
    }

    const SCHEMA: &str = r#"{"type":"object","properties":{"max_length":{"type":"integer","minimum":1}},"required":["max_length"],"additionalProperties":false}"#;

    #[test]
    fn options_are_checked_with_the_path_to_the_bad_one() {
        let d = check("truncate", PluginKind::FieldTransformer, descriptor(SCHEMA)).unwrap();
        assert_eq!(check_options(&d, r#"{"max_length": 3}"#), ValidOptions::Yes);
        let ValidOptions::No(why) = check_options(&d, r#"{"max_length": "x"}"#) else {
            panic!("accepted")
        };
        assert!(why.contains("option `/max_length`"), "{why}");
        let ValidOptions::No(why) = check_options(&d, r#"{"max_length": 3, "ellipsis": 1}"#) else {
            panic!("accepted")
        };
        assert!(
            why.contains("the options") && why.contains("ellipsis"),
            "{why}"
        );
    }

    #[test]
    fn bad_descriptors_are_refused() {
        let wrong_world = check("t", PluginKind::Target, descriptor(SCHEMA)).unwrap_err();
        assert!(
            wrong_world.message.contains("`field-transformer`"),
            "{}",
            wrong_world.message
        );
        let not_json = check("t", PluginKind::FieldTransformer, descriptor("{")).unwrap_err();
        assert!(
            not_json.message.contains("not JSON"),
            "{}",
            not_json.message
        );
        let huge = "x".repeat(MAX_OPTIONS_SCHEMA + 1);
        let too_big = check("t", PluginKind::FieldTransformer, descriptor(&huge)).unwrap_err();
        assert!(too_big.message.contains("more than"), "{}", too_big.message);
        assert_eq!(too_big.kind, FailureKind::ContractViolation);
    }
}

/// Why a plugin could not describe itself.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// It could not be loaded as `kind`.
    #[error(transparent)]
    Load(#[from] super::runtime::LoadError),
    /// Instantiating it or its `describe` failed.
    #[error(transparent)]
    Failed(#[from] PluginFailure),
}

/// Ask `artifact`, used as `kind`, to describe itself, on an instance with
/// nothing granted (files linked with no directory visible) and default
/// limits. `None`: it was built for a contract version without `describe`.
pub fn describe_artifact(
    runtime: &super::runtime::Runtime,
    artifact: &super::registry::Artifact,
    kind: PluginKind,
) -> Result<Option<Descriptor>, DescribeError> {
    use super::worlds::{NormalizerPlugin, SourcePlugin, TargetPlugin, TransformerPlugin};
    let limits = super::limits::LimitsConfig::default().resolve();
    let grants = super::host_state::Grants {
        allow: vec!["wasi:filesystem".to_owned()],
        ..Default::default()
    };
    let options = "{}".to_owned();
    Ok(match kind {
        PluginKind::FieldTransformer => {
            TransformerPlugin::new(runtime, artifact, limits, grants, options)?
                .describe()?
                .cloned()
        }
        PluginKind::Normalizer => {
            NormalizerPlugin::new(runtime, artifact, limits, grants, options)?
                .describe()?
                .cloned()
        }
        PluginKind::Source => SourcePlugin::new(runtime, artifact, limits, grants, options)?
            .describe()?
            .cloned(),
        PluginKind::Target => TargetPlugin::new(runtime, artifact, limits, grants, options)?
            .describe()?
            .cloned(),
    })
}
