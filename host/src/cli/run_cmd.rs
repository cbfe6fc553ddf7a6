use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::render::{print_json, table};
use super::{Exit, Format};
use crate::run::Plan;
use crate::{Sluice, load_pipeline};

/// `sluice run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    #[command(flatten)]
    format: Format,
}

/// `sluice validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The pipeline file.
    pipeline: PathBuf,
}

/// Run a pipeline and print its summary.
pub fn run(sluice: &Sluice, args: &RunArgs) -> anyhow::Result<Exit> {
    let loaded = load_pipeline(&args.pipeline)?;
    let summary = sluice.run(&loaded)?;
    if args.format.json {
        print_json(&summary)?;
        return Ok(Exit::for_status(summary.status));
    }
    let t = &summary.totals;
    println!(
        "Run {} of `{}` finished {} in {:.1} s: {} extracted, {} loaded, {} failed, {} skipped.",
        summary.run_id,
        loaded.pipeline.name,
        summary.status,
        summary.duration.as_secs_f64(),
        t.extracted,
        t.loaded,
        t.failed,
        t.skipped
    );
    if summary.entities.len() > 1 {
        let mut tab = table(
            &["ENTITY", "EXTRACTED", "LOADED", "FAILED", "SKIPPED"],
            &["EXTRACTED", "LOADED", "FAILED", "SKIPPED"],
        );
        for (name, t) in &summary.entities {
            tab.add_row(vec![
                name.clone(),
                t.extracted.to_string(),
                t.loaded.to_string(),
                t.failed.to_string(),
                t.skipped.to_string(),
            ]);
        }
        println!("{tab}");
    }
    if let Some(reason) = &summary.status_reason {
        println!("Reason: {reason}");
    }
    if t.failed > 0 || summary.status_reason.is_some() {
        println!(
            "See what failed and why: sluice runs show {}",
            summary.run_id
        );
    }
    Ok(Exit::for_status(summary.status))
}

/// Load the pipeline and configure every plugin, without reading records.
pub fn validate(sluice: &Sluice, args: &ValidateArgs) -> anyhow::Result<Exit> {
    let loaded = load_pipeline(&args.pipeline)?;
    let plan = Plan::build(&loaded, sluice.runtime(), sluice.registry())
        .with_context(|| format!("pipeline {} is not valid", args.pipeline.display()))?;
    let uses = plan.plugin_uses();
    println!(
        "{}: pipeline `{}` is valid: {} entit{}, {} plugin instance(s) configured.",
        args.pipeline.display(),
        loaded.pipeline.name,
        plan.entity_names.len(),
        if plan.entity_names.len() == 1 {
            "y"
        } else {
            "ies"
        },
        uses.len()
    );
    Ok(Exit::Success)
}
