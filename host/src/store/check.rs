//! What a version must pass to be installed and, again, to go live: it is
//! a component of a world the host implements, it compiles (which fills
//! the compile cache), its imports pass the import policy, and its
//! `describe` answers within bounds for that world.

use crate::plugin::{
    Artifact, Grants, LimitsConfig, NormalizerPlugin, PluginKind, Runtime, SourcePlugin,
    TargetPlugin, TransformerPlugin,
};

/// What the checks found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The world.
    pub kind: PluginKind,
    /// The contract version its exports name.
    pub contract: String,
    /// The version `describe` gives (`None`: contract 0.1.0, no `describe`).
    pub version: Option<String>,
}

/// Check `artifact` as described in the module doc; connectors may
/// import `wasi:filesystem` (pipelines grant them a `dir`), anything else
/// beyond the default grants needs `allow`. The error says why, in plain
/// words.
pub fn check_artifact(
    runtime: &Runtime,
    artifact: &Artifact,
    allow: &[String],
) -> Result<Checked, String> {
    let info = runtime.describe(artifact).map_err(|e| e.to_string())?;
    let Some(kind) = info.kind else {
        return Err(
            "it exports no world of the contract sluice:plugin (field-transformer, normalizer, source, target)"
                .to_owned(),
        );
    };
    let contract = info.contract.clone().unwrap_or_default();
    let mut allow = allow.to_vec();
    if matches!(kind, PluginKind::Source | PluginKind::Target) {
        allow.push("wasi:filesystem".to_owned());
    }
    let grants = Grants {
        allow,
        ..Grants::default()
    };
    let limits = LimitsConfig::default().resolve();
    let options = "{}".to_owned();
    macro_rules! describe {
        ($plugin:ty) => {{
            let mut sandbox = <$plugin>::new(runtime, artifact, limits, grants, options)
                .map_err(|e| e.to_string())?;
            sandbox
                .describe()
                .map_err(|f| f.to_string())?
                .map(|d| d.version.clone())
        }};
    }
    let version = match kind {
        PluginKind::FieldTransformer => describe!(TransformerPlugin),
        PluginKind::Normalizer => describe!(NormalizerPlugin),
        PluginKind::Source => describe!(SourcePlugin),
        PluginKind::Target => describe!(TargetPlugin),
    };
    Ok(Checked {
        kind,
        contract,
        version,
    })
}
