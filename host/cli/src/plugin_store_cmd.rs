//! The plugin store on the command line: `sluice plugin install`,
//! `versions`, `promote`, `rollback` and `settings` (see
//! docs/PLUGIN_STORE.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::plugin_bench::Bench;
use super::render::{esc, esc_or_dash, print_json, table};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::plugin::{Artifact, GrantVia, Grants, LimitsConfig, PluginKind};
use sluice::runlog::StoreVersionRow;
use sluice::store::{PluginStore, reference};

/// The store's subcommands of `sluice plugin`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Put a plugin into the store: check it (component, import policy,
    /// `describe`), compile it, keep its bytes under their sha256 and
    /// record who installed it. A name's first version becomes current.
    Install(InstallArgs),
    /// List the versions of a stored plugin (or, without a name, every
    /// stored plugin with its current version).
    Versions(VersionsArgs),
    /// Make a version current, after it passes the checks and its test
    /// cases; runs in progress switch to it at their next batch.
    Promote(PromoteArgs),
    /// Make the version current before the current one current again.
    Rollback(RollbackArgs),
    /// Show or change when runs roll a newly promoted version back.
    Settings(SettingsArgs),
}

/// `sluice plugin install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The component (`.wasm`).
    file: PathBuf,
    /// The name pipelines use (default: the file name without `.wasm`).
    #[arg(long)]
    name: Option<String>,
    /// Who installs it (default: `--actor`, or the OS user).
    #[arg(long)]
    by: Option<String>,
    /// A case file (`sluice plugin test --cases` format) kept with the
    /// version and run before it goes live.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Interfaces the plugin may import beyond the default
    /// (`wasi:filesystem`, `wasi:sockets`), as a pipeline's `allow`.
    #[arg(long)]
    allow: Vec<String>,
    #[command(flatten)]
    format: Format,
}

/// `sluice plugin versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The name (none: every stored plugin).
    name: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// `sluice plugin promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// `NAME@sha256:<hex>`: at least 12 hex digits if unambiguous.
    reference: String,
    /// Promote a quarantined version (and lift its quarantine).
    #[arg(long)]
    force: bool,
    /// Do not promote: run the version and the current one side by side
    /// on the last N records the current one was given (dead-letter
    /// entries and captured source records in the run log) and show the
    /// answers that differ.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    shadow: Option<u32>,
    /// Interfaces the plugin may import beyond the default, as at install.
    #[arg(long)]
    allow: Vec<String>,
    #[command(flatten)]
    format: Format,
}

/// `sluice plugin rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The name.
    name: String,
    /// Why, for the audit log.
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// `sluice plugin settings`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// `KEY=VALUE` to set: `rollback.failure_rate` (0 to 1; 0 turns
    /// automatic rollback off), `rollback.window` (records),
    /// `rollback.min_sample` (records).
    set: Vec<String>,
    #[command(flatten)]
    format: Format,
}

/// Run a store subcommand.
pub fn store(sluice: &Sluice, command: &StoreCommand) -> anyhow::Result<Exit> {
    let store = PluginStore::new(sluice.data_dir());
    match command {
        StoreCommand::Install(a) => install(sluice, &store, a),
        StoreCommand::Versions(a) => versions(&store, a),
        StoreCommand::Promote(a) => promote(sluice, &store, a),
        StoreCommand::Rollback(a) => rollback(sluice, &store, a),
        StoreCommand::Settings(a) => settings(sluice, &store, a),
    }
}

fn install(sluice: &Sluice, store: &PluginStore, a: &InstallArgs) -> anyhow::Result<Exit> {
    let actor = a.by.as_deref().unwrap_or(sluice.actor());
    let installed = store.install(
        sluice.runtime(),
        &a.file,
        a.name.as_deref(),
        actor,
        a.cases.as_deref(),
        &a.allow,
    )?;
    // A name's first version goes live at once, through the same checks
    // and cases as any promotion.
    let promoted = if installed.current.is_none() {
        Some(store.promote(
            sluice.runtime(),
            &installed.name,
            &installed.digest,
            actor,
            false,
            &a.allow,
            &case_gate(sluice, &a.allow, a.format.json),
        )?)
    } else {
        None
    };
    if a.format.json {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            installed: &'a sluice::store::Installed,
            promoted: bool,
        }
        print_json(&Out {
            installed: &installed,
            promoted: promoted.is_some(),
        })?;
        return Ok(Exit::Success);
    }
    let what = if installed.new {
        "Installed"
    } else {
        "Already installed:"
    };
    outln!(
        "{what} {}@{} ({}, version {}, sluice:plugin@{}, {} bytes).",
        installed.name,
        installed.digest,
        installed.kind,
        esc_or_dash(installed.version.as_deref()),
        esc(&installed.contract),
        installed.size
    );
    match (&promoted, &installed.current) {
        (Some(_), _) => outln!("It is the current version of `{}`.", installed.name),
        (None, Some(current)) if *current == installed.digest => {
            outln!("It is the current version of `{}`.", installed.name)
        }
        (None, Some(current)) => outln!(
            "The current version stays {}; make this one current with `sluice plugin promote {}@{}`.",
            reference::short(current),
            installed.name,
            reference::short(&installed.digest)
        ),
        (None, None) => {}
    }
    Ok(Exit::Success)
}

fn versions(store: &PluginStore, a: &VersionsArgs) -> anyhow::Result<Exit> {
    let Some(name) = &a.name else {
        let names = store.names()?;
        if a.format.json {
            print_json(&names)?;
            return Ok(Exit::Success);
        }
        let mut t = table(
            &["NAME", "KIND", "CURRENT", "VERSIONS", "SINCE"],
            &["VERSIONS"],
        );
        for n in &names {
            t.add_row(vec![
                n.name.clone(),
                n.kind.clone().unwrap_or_default(),
                n.current
                    .as_deref()
                    .map(reference::short)
                    .unwrap_or_else(|| "-".into()),
                n.versions.to_string(),
                n.updated_at.clone(),
            ]);
        }
        outln!("{t}");
        return Ok(Exit::Success);
    };
    let v = store.versions(name)?;
    if a.format.json {
        print_json(&v)?;
        return Ok(Exit::Success);
    }
    let mut t = table(
        &[
            "",
            "DIGEST",
            "VERSION",
            "KIND",
            "SIZE",
            "INSTALLED",
            "BY",
            "CASES",
            "STATE",
        ],
        &["SIZE"],
    );
    for row in &v.versions {
        let current = v.current.as_deref() == Some(row.digest.as_str());
        t.add_row(vec![
            if current { "*" } else { "" }.to_owned(),
            reference::short(&row.digest),
            esc_or_dash(row.version.as_deref()),
            row.kind.clone(),
            row.size.to_string(),
            row.installed_at.clone(),
            esc(&row.installed_by),
            if row.has_cases { "yes" } else { "no" }.to_owned(),
            state(row, current),
        ]);
    }
    outln!("{t}");
    if !v.history.is_empty() {
        outln!("History:");
        for h in &v.history {
            outln!(
                "  {} {} {} by {}{}",
                h.at,
                h.action,
                reference::short(&h.digest),
                esc(&h.actor),
                h.reason
                    .as_deref()
                    .map(|r| format!(": {}", esc(r)))
                    .unwrap_or_default()
            );
        }
    }
    Ok(Exit::Success)
}

fn state(row: &StoreVersionRow, current: bool) -> String {
    match (&row.quarantine_reason, current) {
        (Some(reason), _) => format!("quarantined: {}", esc(reason)),
        (None, true) => "current".to_owned(),
        (None, false) => "-".to_owned(),
    }
}

fn promote(sluice: &Sluice, store: &PluginStore, a: &PromoteArgs) -> anyhow::Result<Exit> {
    let (name, digest) = reference::parse(&a.reference)?;
    let Some(hex) = digest else {
        anyhow::bail!(
            "name the version: `sluice plugin promote {name}@sha256:<hex>` (`sluice plugin versions {name}` lists them)"
        );
    };
    if let Some(n) = a.shadow {
        return shadow(
            sluice,
            store,
            name,
            &format!("sha256:{hex}"),
            n as usize,
            a.format.json,
        );
    }
    let promoted = store.promote(
        sluice.runtime(),
        name,
        &format!("sha256:{hex}"),
        sluice.actor(),
        a.force,
        &a.allow,
        &case_gate(sluice, &a.allow, a.format.json),
    )?;
    if a.format.json {
        print_json(&promoted)?;
    } else {
        outln!(
            "`{}` is now {} (was {}); runs in progress switch at their next batch.",
            promoted.name,
            promoted.digest,
            promoted
                .previous
                .as_deref()
                .map(reference::short)
                .unwrap_or_else(|| "none".into())
        );
    }
    Ok(Exit::Success)
}

fn shadow(
    sluice: &Sluice,
    store: &PluginStore,
    name: &str,
    digest: &str,
    n: usize,
    json: bool,
) -> anyhow::Result<Exit> {
    let report = store.shadow(sluice.runtime(), name, digest, n)?;
    if json {
        print_json(&report)?;
        return Ok(Exit::Success);
    }
    outln!(
        "{} sample(s) run on the current version {} and on {}: {} differ.",
        report.samples,
        reference::short(&report.current),
        reference::short(&report.candidate),
        report.differ
    );
    let answer = |v: &serde_json::Value| -> String {
        match (v.get("value"), v.get("error")) {
            (Some(value), _) => value.to_string(),
            (None, Some(code)) => format!("error {}", code.as_str().unwrap_or_default()),
            _ => v.to_string(),
        }
    };
    if report.differ > 0 {
        let mut t = table(
            &[
                "SAMPLE",
                "ENTITY",
                "FIELD",
                "KEY",
                "INPUT",
                "CURRENT",
                "CANDIDATE",
            ],
            &[],
        );
        for r in report.rows.iter().filter(|r| r.differs) {
            t.add_row(vec![
                r.sample.clone(),
                esc(&r.entity),
                esc(&r.field),
                esc(&r.key),
                super::render::clip(&r.input.to_string(), 60),
                super::render::clip(&answer(&r.current), 60),
                super::render::clip(&answer(&r.candidate), 60),
            ]);
        }
        outln!("{t}");
    }
    for why in &report.skipped {
        outln!("Not shadowed: {}", esc(why));
    }
    outln!(
        "Nothing was promoted; promote with `sluice plugin promote {name}@{}`.",
        reference::short(&report.candidate)
    );
    Ok(Exit::Success)
}

fn rollback(sluice: &Sluice, store: &PluginStore, a: &RollbackArgs) -> anyhow::Result<Exit> {
    let done = store.rollback(&a.name, sluice.actor(), a.reason.as_deref(), None)?;
    if a.format.json {
        print_json(&done)?;
    } else {
        outln!(
            "`{}` is back on {} (was {}); runs in progress switch at their next batch.",
            done.name,
            done.digest,
            done.previous
                .as_deref()
                .map(reference::short)
                .unwrap_or_default()
        );
    }
    Ok(Exit::Success)
}

fn settings(sluice: &Sluice, store: &PluginStore, a: &SettingsArgs) -> anyhow::Result<Exit> {
    let s = if a.set.is_empty() {
        store.rollback_settings()?
    } else {
        let pairs = a
            .set
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .with_context(|| format!("`{}` is not KEY=VALUE", esc(kv)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.set_settings(&pairs, sluice.actor())?
    };
    if a.format.json {
        print_json(&s)?;
    } else {
        outln!("rollback.failure_rate = {}", s.failure_rate);
        outln!("rollback.window = {}", s.window);
        outln!("rollback.min_sample = {}", s.min_sample);
    }
    Ok(Exit::Success)
}

/// The check a version passes before it goes live, besides the store's
/// own: its case file, if it was installed with one, run as `sluice plugin
/// test --cases` runs it (the report is printed).
pub(crate) fn case_gate<'a>(
    sluice: &'a Sluice,
    allow: &'a [String],
    json: bool,
) -> impl Fn(&Artifact, &StoreVersionRow) -> Result<(), String> + 'a {
    move |artifact, version| {
        let store = PluginStore::new(sluice.data_dir());
        let Some(cases) = store
            .cases(&version.name, &version.digest)
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let kind = match version.kind.as_str() {
            "field-transformer" => PluginKind::FieldTransformer,
            "normalizer" => PluginKind::Normalizer,
            // Cases exist for the worlds `plugin test` runs.
            _ => return Ok(()),
        };
        // The case file as installed, beside the version's bytes.
        let path = store
            .blob_path(&version.digest)
            .with_extension("cases.toml");
        std::fs::write(&path, cases)
            .map_err(|e| format!("cannot write its case file {}: {e}", path.display()))?;
        let bench = Bench {
            sluice,
            artifact,
            kind,
            limits: LimitsConfig::default().resolve(),
            grants: Grants {
                allow: allow.to_vec(),
                grant_via: GrantVia::CommandLine,
                ..Grants::default()
            },
            batch_size: 256,
        };
        match super::plugin_cases::run_cases(&bench, &path, json) {
            Ok(Exit::Success) => Ok(()),
            Ok(_) => Err("its test cases fail (see the report above)".to_owned()),
            Err(e) => Err(format!("its test cases could not run: {e:#}")),
        }
    }
}
