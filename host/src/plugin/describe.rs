//! What a plugin says about itself (`describe`, contract 0.2.0 and later):
//! bounded and checked, and the option schema it carries applied to a
//! pipeline's options before `configure`.
//!
//! Everything in a descriptor comes from the plugin and is hostile: each
//! field has a size cap, the world must be the one the plugin is used as,
//! and the schema must be a JSON Schema the host can compile, whole in
//! itself: the compiler's loader refuses every URL, so a reference cannot
//! read the host's files or reach the network.

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

/// Where an option schema is placed for compiling: a name no loader can
/// fetch, so a relative `$ref` in it resolves inside the schema or not at all.
const SCHEMA_LOCATION: &str = "urn:sluice:plugin-options";

/// The descriptor's option schema, parsed and compiled.
///
/// The compiler gets a loader that refuses every URL: a `$ref` or `$schema`
/// that points outside the schema (`file:`, `http:`…) fails to compile
/// instead of reading the host's files or the network. The JSON Schema
/// drafts' own metaschemas are built in.
fn schema(d: &Descriptor) -> Result<(boon::Schemas, boon::SchemaIndex), String> {
    let json: Json = serde_json::from_str(&d.options_schema)
        .map_err(|e| format!("its options schema is not JSON: {e}"))?;
    let unusable = |why: String| {
        format!(
            "its options schema is not a usable JSON Schema: {}",
            escape(&why)
        )
    };
    let mut compiler = boon::Compiler::new();
    compiler.use_loader(Box::new(boon::SchemeUrlLoader::new()));
    compiler
        .add_resource(SCHEMA_LOCATION, json)
        .map_err(|e| unusable(e.to_string()))?;
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile(SCHEMA_LOCATION, &mut schemas)
        .map_err(|e| unusable(compile_error(&e)))?;
    Ok((schemas, index))
}

/// A compile error in words: what the metaschema found wrong, where.
fn compile_error(e: &boon::CompileError) -> String {
    match e {
        boon::CompileError::ValidationError { src, .. } => {
            format!("it breaks its metaschema: {}", listed(src))
        }
        boon::CompileError::LoadUrlError { url, .. }
        | boon::CompileError::UnsupportedUrlScheme { url } => format!(
            "it refers to `{url}`, outside the schema (an option schema must be self-contained)"
        ),
        other => other.to_string(),
    }
}

/// The violations under `error`, in words with their JSON path, at most
/// [`MAX_REPORTED`] of them and how many more, in one line.
fn listed(error: &boon::ValidationError<'_, '_>) -> String {
    let mut problems = Vec::new();
    let mut more = 0;
    violations(error, &mut problems, &mut more);
    let mut text = problems.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

/// The violations under `error`, in words with their JSON path: at most
/// [`MAX_REPORTED`] in `out`, the rest counted in `more`. Wrappers (the
/// schema as a whole, a group, a `$ref`) are looked through; an `anyOf` or
/// `oneOf` is one violation that names what each choice wanted.
fn violations(error: &boon::ValidationError<'_, '_>, out: &mut Vec<String>, more: &mut usize) {
    use boon::ErrorKind;
    match &error.kind {
        ErrorKind::Group | ErrorKind::Schema { .. } | ErrorKind::Reference { .. }
            if !error.causes.is_empty() =>
        {
            for cause in &error.causes {
                violations(cause, out, more);
            }
            return;
        }
        _ => {}
    }
    if out.len() == MAX_REPORTED {
        *more += 1;
        return;
    }
    let path = error.instance_location.to_string();
    let at = if path.is_empty() {
        "the options".to_owned()
    } else {
        format!("option `{}`", escape(&path))
    };
    let mut what = error.kind.to_string();
    if matches!(error.kind, ErrorKind::AnyOf | ErrorKind::OneOf(None)) && !error.causes.is_empty() {
        let choices: Vec<String> = error.causes.iter().map(|c| c.kind.to_string()).collect();
        what.push_str(&format!(" ({})", choices.join(", or ")));
    }
    out.push(format!("{at}: {}", escape(&what)));
}

/// Check `options` (JSON object text) against the descriptor's schema.
pub fn check_options(d: &Descriptor, options: &str) -> ValidOptions {
    let Ok((schemas, index)) = schema(d) else {
        // `check` accepted it; a schema that fails now accepts nothing.
        return ValidOptions::No("the plugin's option schema cannot be compiled".to_owned());
    };
    let instance: Json = match serde_json::from_str(options) {
        Ok(json) => json,
        Err(e) => return ValidOptions::No(format!("options are not JSON: {e}")),
    };
    let Err(error) = schemas.validate(&instance, index) else {
        return ValidOptions::Yes;
    };
    let mut message = listed(&error);
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
        let bad_keyword = check(
            "t",
            PluginKind::FieldTransformer,
            descriptor(r#"{"properties":{"n":{"type":"nope"}}}"#),
        )
        .unwrap_err();
        assert!(
            bad_keyword.message.contains("metaschema")
                && bad_keyword.message.contains("/properties/n/type"),
            "{}",
            bad_keyword.message
        );
    }

    #[test]
    fn a_schema_cannot_reach_outside_itself() {
        // A schema on the host's disk that would accept anything if read.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("any.json");
        std::fs::write(&file, "{}").unwrap();
        let file_url = format!("file://{}", file.display());
        for target in [
            file_url.as_str(),
            "http://127.0.0.1:9/schema.json",
            "https://example.com/schema.json",
        ] {
            for schema in [
                format!(r#"{{"properties":{{"n":{{"$ref":"{target}"}}}}}}"#),
                format!(r#"{{"$schema":"{target}"}}"#),
            ] {
                let refused = check("t", PluginKind::FieldTransformer, descriptor(&schema))
                    .expect_err(&schema);
                assert!(
                    refused.message.contains("outside the schema"),
                    "{schema}: {}",
                    refused.message
                );
            }
        }
        // References inside the schema still work.
        let local =
            r##"{"$defs":{"n":{"type":"integer"}},"properties":{"n":{"$ref":"#/$defs/n"}}}"##;
        let d = check("t", PluginKind::FieldTransformer, descriptor(local)).unwrap();
        assert_eq!(check_options(&d, r#"{"n": 1}"#), ValidOptions::Yes);
        let ValidOptions::No(why) = check_options(&d, r#"{"n": "x"}"#) else {
            panic!("accepted")
        };
        assert!(why.contains("option `/n`"), "{why}");
    }

    #[test]
    fn every_violation_is_named_up_to_a_few() {
        let schema = r#"{"type":"object","properties":{
            "mode":{"anyOf":[{"const":"fast"},{"type":"integer"}]},
            "a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"},
            "d":{"type":"string"}}}"#;
        let d = check("t", PluginKind::FieldTransformer, descriptor(schema)).unwrap();
        let ValidOptions::No(why) = check_options(&d, r#"{"mode": true}"#) else {
            panic!("accepted")
        };
        assert!(
            why.contains("option `/mode`") && why.contains("'fast'") && why.contains("integer"),
            "{why}"
        );
        let ValidOptions::No(why) = check_options(&d, r#"{"a":1,"b":2,"c":3,"d":4,"mode":true}"#)
        else {
            panic!("accepted")
        };
        assert_eq!(why.matches("option `/").count(), MAX_REPORTED, "{why}");
        assert!(why.contains("and 2 more"), "{why}");
        // What a plugin wrote is escaped before it reaches a terminal.
        let d = check(
            "t",
            PluginKind::FieldTransformer,
            descriptor(r#"{"additionalProperties":{"type":"string"}}"#),
        )
        .unwrap();
        let ValidOptions::No(why) = check_options(&d, r#"{"x\u001b[31m": 1}"#) else {
            panic!("accepted")
        };
        assert!(why.contains("option `/x"), "{why}");
        assert!(!why.contains('\u{1b}'), "{why:?}");
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
