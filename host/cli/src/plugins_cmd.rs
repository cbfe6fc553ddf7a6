use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::render::{clip, esc, print_json, table};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::plugin::short_digest;
use sluice::plugin::{Artifact, Origin, PluginKind, Registry, describe_artifact};
use sluice::store::PluginStore;

/// `sluice plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    format: Format,
}

/// What `sluice plugins` reports about one plugin.
#[derive(Debug, Serialize)]
struct PluginInfo {
    name: String,
    kind: Option<PluginKind>,
    origin: Origin,
    size: usize,
    digest: String,
    contract: Option<String>,
    /// What the plugin says about itself (contract 0.2.0 and later).
    described: Option<Described>,
    imports: Vec<String>,
    exports: Vec<String>,
    error: Option<String>,
}

/// What a plugin's `describe` said, as `sluice plugins` reports it.
#[derive(Debug, Serialize)]
pub(super) struct Described {
    /// Its own name.
    pub name: String,
    /// Its own version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// Its options as a JSON Schema (JSON text).
    pub options_schema: String,
}

/// List every plugin Sluice can load.
pub fn plugins(sluice: &Sluice, args: &PluginsArgs) -> anyhow::Result<Exit> {
    let mut artifacts: Vec<Artifact> = Registry::builtins()
        .iter()
        .map(|b| Artifact::new(b.name, Arc::from(b.bytes), Origin::Builtin))
        .collect();
    for (name, path) in sluice.registry().installed() {
        match std::fs::read(&path) {
            Ok(bytes) => artifacts.push(Artifact::new(&name, Arc::from(bytes), Origin::File(path))),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Cannot read installed plugin.")
            }
        }
    }
    // The current version of every name in the plugin store.
    let store = PluginStore::new(sluice.data_dir());
    if store.has_run_log() {
        for name in store.names()? {
            let Some(current) = name.current else {
                continue;
            };
            match store.artifact(&name.name, &current) {
                Ok(a) => artifacts.push(a),
                Err(e) => {
                    tracing::warn!(name = %name.name, error = %e, "Cannot read a stored plugin.")
                }
            }
        }
    }
    let infos: Vec<PluginInfo> = artifacts.iter().map(|a| inspect(sluice, a)).collect();
    if args.format.json {
        print_json(&infos)?;
        return Ok(Exit::Success);
    }
    let mut t = table(
        &[
            "NAME",
            "KIND",
            "CONTRACT",
            "PLUGIN",
            "DESCRIPTION",
            "ORIGIN",
            "SIZE",
            "DIGEST",
            "IMPORTS",
        ],
        &["SIZE"],
    );
    for p in &infos {
        t.add_row(vec![
            p.name.clone(),
            p.kind
                .map_or_else(|| "-".to_owned(), |k| k.world().to_owned()),
            p.contract.clone().unwrap_or_else(|| "-".to_owned()),
            p.described.as_ref().map_or_else(
                || "-".to_owned(),
                |d| format!("{} {}", esc(&d.name), esc(&d.version)),
            ),
            p.described
                .as_ref()
                .map_or_else(|| "-".to_owned(), |d| clip(&d.description, 60)),
            p.origin.to_string(),
            format!("{:.0} KiB", p.size as f64 / 1024.0),
            short_digest(&p.digest).to_owned(),
            match &p.error {
                Some(e) => format!("unloadable: {e}"),
                None => summarize_imports(&p.imports),
            },
        ]);
    }
    outln!("{t}");
    outln!(
        "Full digests, imports and exports: sluice plugins --json; options: sluice plugin docs NAME; store versions: sluice plugin versions NAME"
    );
    Ok(Exit::Success)
}

fn inspect(sluice: &Sluice, artifact: &Artifact) -> PluginInfo {
    let mut info = PluginInfo {
        name: artifact.id.name.to_string(),
        kind: None,
        origin: artifact.origin.clone(),
        size: artifact.bytes.len(),
        digest: artifact.id.digest.to_string(),
        contract: None,
        described: None,
        imports: Vec::new(),
        exports: Vec::new(),
        error: None,
    };
    match sluice.runtime().describe(artifact) {
        Ok(d) => {
            info.imports = d.imports;
            info.exports = d.exports;
            info.kind = d.kind;
            info.contract = d.contract;
        }
        Err(e) => info.error = Some(e.to_string()),
    }
    if let Some(kind) = info.kind {
        match describe_artifact(sluice.runtime(), artifact, kind) {
            Ok(d) => info.described = d.map(described),
            Err(e) => info.error = Some(e.to_string()),
        }
    }
    info
}

/// A descriptor as reported.
pub(super) fn described(d: sluice::bindings::Descriptor) -> Described {
    Described {
        name: d.name,
        version: d.version,
        description: d.description,
        options_schema: d.options_schema,
    }
}

/// `sluice:plugin/log, wasi: cli, filesystem…` — interfaces grouped by package.
fn summarize_imports(imports: &[String]) -> String {
    let mut sluice = Vec::new();
    let mut wasi = Vec::new();
    let mut other = Vec::new();
    for i in imports {
        let bare = i.split('@').next().unwrap_or(i);
        if let Some(rest) = bare.strip_prefix("sluice:plugin/") {
            sluice.push(rest.to_owned());
        } else if let Some(rest) = bare.strip_prefix("wasi:") {
            let pkg = rest.split('/').next().unwrap_or(rest).to_owned();
            if !wasi.contains(&pkg) {
                wasi.push(pkg);
            }
        } else {
            other.push(bare.to_owned());
        }
    }
    let mut parts = Vec::new();
    if !sluice.is_empty() {
        parts.push(format!("sluice: {}", sluice.join(", ")));
    }
    if !wasi.is_empty() {
        parts.push(format!("wasi: {}", wasi.join(", ")));
    }
    if !other.is_empty() {
        parts.push(other.join(", "));
    }
    parts.join("; ")
}
