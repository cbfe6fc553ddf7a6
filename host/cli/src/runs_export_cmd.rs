//! `sluice runs export RUN`: one file with a run for support (its counts,
//! errors, captures, configuration and plugin digests, secrets redacted);
//! `sluice runs import FILE`: open it in a new data directory to browse.

use std::path::PathBuf;

use clap::Args;

use super::render::print_json;
use super::{Exit, Format};
use sluice::Sluice;
use sluice::runlog::{ExportManifest, import_run};

/// `sluice runs export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run id, or `last`.
    run: String,
    /// The file to write (default: `sluice-run-<id>.db` here); it must not
    /// exist.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    format: Format,
}

/// `sluice runs import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file `sluice runs export` wrote.
    file: PathBuf,
    /// The new data directory to import into (default: the file's name
    /// with `.sluice` instead of its extension). It must hold no run log.
    #[arg(long)]
    into: Option<PathBuf>,
    #[command(flatten)]
    format: Format,
}

/// Export one run.
pub fn export(sluice: &Sluice, args: &ExportArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let id = log.resolve_run(&args.run)?;
    let file = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("sluice-run-{id}.db")));
    let manifest = log.export_run(id, &file, sluice.actor())?;
    if args.format.json {
        print_json(&serde_json::json!({ "file": file, "manifest": manifest }))?;
    } else {
        outln!(
            "Exported run #{} of {} ({}) to {}: {} value(s) under secret keys redacted.",
            manifest.run_id,
            manifest.pipeline,
            manifest.status,
            file.display(),
            manifest.redacted_values
        );
        outln!(
            "Open it elsewhere with: sluice runs import {}",
            file.display()
        );
    }
    Ok(Exit::Success)
}

/// Import an exported run into a new data directory.
pub fn import(args: &ImportArgs) -> anyhow::Result<Exit> {
    let into = args
        .into
        .clone()
        .unwrap_or_else(|| args.file.with_extension("sluice"));
    let manifest: ExportManifest = import_run(&args.file, &into)?;
    if args.format.json {
        print_json(&serde_json::json!({ "data_dir": into, "manifest": manifest }))?;
    } else {
        outln!(
            "Imported run #{} of {} ({}), exported by {} at {} with Sluice {}, into {}.",
            manifest.run_id,
            manifest.pipeline,
            manifest.status,
            manifest.exported_by,
            manifest.exported_at,
            manifest.sluice_version,
            into.display()
        );
        outln!("Browse it: sluice ui --data-dir {}", into.display());
        outln!(
            "      or: sluice runs show {} --data-dir {}",
            manifest.run_id,
            into.display()
        );
    }
    Ok(Exit::Success)
}
