use clap::{Args, Subcommand};
use serde_json::json;

use super::render::{clip, duration_ms, or_dash, print_json, table};
use super::{Exit, Format};
use crate::Sluice;
use crate::plugin::short_digest;
use crate::runlog::{ErrorFilter, RunLog};

/// `sluice runs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    show: Option<RunsCommand>,
    /// Only runs of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    limit: u64,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// One run in detail: counts per stage and entity, errors by cause, first errors.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Run id, or `last`.
    run: String,
    /// Also list each plugin's resource use.
    #[arg(long)]
    plugins: bool,
    #[command(flatten)]
    format: Format,
}

/// List runs, or show one.
pub fn runs(sluice: &Sluice, args: &RunsArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    if let Some(RunsCommand::Show(show_args)) = &args.show {
        return show(&log, show_args);
    }
    let runs = log.runs(args.pipeline.as_deref(), args.limit)?;
    if args.format.json {
        print_json(&runs)?;
        return Ok(Exit::Success);
    }
    if runs.is_empty() {
        println!("No runs yet. Start one with `sluice run PIPELINE`.");
        return Ok(Exit::Success);
    }
    let numeric = ["ID", "EXTRACTED", "LOADED", "FAILED", "SKIPPED", "DURATION"];
    let mut t = table(
        &[
            "ID",
            "PIPELINE",
            "STATUS",
            "STARTED",
            "DURATION",
            "EXTRACTED",
            "LOADED",
            "FAILED",
            "SKIPPED",
        ],
        &numeric,
    );
    for r in &runs {
        t.add_row(vec![
            r.id.to_string(),
            r.pipeline.clone(),
            r.status.clone(),
            r.started_at.clone(),
            duration_ms(r.duration_ms),
            r.extracted.to_string(),
            r.loaded.to_string(),
            r.failed.to_string(),
            r.skipped.to_string(),
        ]);
    }
    println!("{t}");
    Ok(Exit::Success)
}

/// How many individual errors `runs show` prints.
const FIRST_ERRORS: u64 = 10;

fn show(log: &RunLog, args: &ShowArgs) -> anyhow::Result<Exit> {
    let id = log.resolve_run(&args.run)?;
    let run = log.run(id)?;
    let stages = log.stage_counts(id)?;
    let groups = log.error_groups(id)?;
    let first = log.errors(
        id,
        &ErrorFilter {
            limit: Some(FIRST_ERRORS),
            ..ErrorFilter::default()
        },
    )?;
    let skips = log.skip_reasons(id)?;
    let plugins = log.plugin_uses(id)?;
    if args.format.json {
        print_json(&json!({
            "run": run,
            "stages": stages,
            "error_groups": groups,
            "first_errors": first,
            "skips": skips.iter().map(|(stage, reason, count)| json!({"stage": stage, "reason": reason, "count": count})).collect::<Vec<_>>(),
            "plugins": plugins,
        }))?;
        return Ok(Exit::Success);
    }
    println!(
        "Run {} · {} · {}",
        run.id,
        run.pipeline,
        run.status.to_uppercase()
    );
    println!(
        "  pipeline  {} (config {})",
        run.pipeline_path,
        short_digest(&run.config_hash)
    );
    println!(
        "  started   {}   duration {}",
        run.started_at,
        duration_ms(run.duration_ms)
    );
    println!(
        "  records   {} extracted · {} loaded · {} failed · {} skipped",
        run.extracted, run.loaded, run.failed, run.skipped
    );
    if let Some(reason) = &run.status_reason {
        println!("  reason    {reason}");
    }

    println!("\nStages");
    let mut t = table(
        &["ENTITY", "STAGE", "IN", "OUT", "FAILED", "SKIPPED"],
        &["IN", "OUT", "FAILED", "SKIPPED"],
    );
    for s in &stages {
        t.add_row(vec![
            s.entity.clone(),
            s.stage.clone(),
            s.records_in.to_string(),
            s.records_out.to_string(),
            s.failed.to_string(),
            s.skipped.to_string(),
        ]);
    }
    println!("{t}");

    if !groups.is_empty() {
        let total: i64 = groups.iter().map(|g| g.count).sum();
        println!("\nErrors by cause ({total})");
        let mut t = table(
            &[
                "COUNT", "STAGE", "CATEGORY", "CODE", "FIELD", "PLUGIN", "EXAMPLE",
            ],
            &["COUNT"],
        );
        for g in &groups {
            t.add_row(vec![
                g.count.to_string(),
                g.stage.clone(),
                g.category.clone(),
                g.code.clone(),
                or_dash(g.field.as_deref()),
                or_dash(g.plugin.as_deref()),
                clip(&g.sample_message, 70),
            ]);
        }
        println!("{t}");

        println!("\nFirst errors");
        let mut t = table(&["RECORD", "SOURCE", "FIELD", "CODE", "MESSAGE"], &[]);
        for e in &first {
            t.add_row(vec![
                or_dash(e.record_key.as_deref()),
                or_dash(e.source_position.as_deref()),
                or_dash(e.field.as_deref()),
                e.code.clone(),
                clip(&e.message, 80),
            ]);
        }
        println!("{t}");
    }
    if !skips.is_empty() {
        println!("\nSkipped");
        let mut t = table(&["COUNT", "STAGE", "REASON"], &["COUNT"]);
        for (stage, reason, count) in &skips {
            t.add_row(vec![count.to_string(), stage.clone(), reason.clone()]);
        }
        println!("{t}");
    }
    if args.plugins {
        println!("\nPlugins");
        let mut t = table(
            &[
                "ROLE",
                "PLUGIN",
                "DIGEST",
                "CALLS",
                "RECORDS",
                "FUEL",
                "TIME",
                "PEAK MEM",
                "INSTANCES",
                "FAILURES",
                "LOG DROPPED",
            ],
            &[
                "CALLS",
                "RECORDS",
                "FUEL",
                "TIME",
                "PEAK MEM",
                "INSTANCES",
                "FAILURES",
            ],
        );
        for p in &plugins {
            t.add_row(vec![
                p.role.clone(),
                p.plugin.clone(),
                short_digest(&p.digest).to_owned(),
                p.calls.to_string(),
                p.records.to_string(),
                p.fuel.to_string(),
                format!("{:.1} ms", p.wall_us as f64 / 1000.0),
                format!("{:.1} MiB", p.peak_memory_bytes as f64 / (1 << 20) as f64),
                p.instantiations.to_string(),
                failures_text(p),
                p.log_lines_dropped.to_string(),
            ]);
        }
        println!("{t}");
        for p in plugins.iter().filter(|p| p.quarantined.is_some()) {
            println!(
                "QUARANTINED {}: {}",
                p.role,
                p.quarantined.as_deref().unwrap_or_default()
            );
        }
    }
    if !groups.is_empty() {
        println!(
            "\nEvery error: sluice errors {id} --rows   (filter with --stage, --category, --code, --field)"
        );
    }
    Ok(Exit::Success)
}

/// `3 (trap 2, timeout 1)`.
fn failures_text(p: &crate::runlog::PluginUseRow) -> String {
    if p.failures == 0 {
        return "0".to_owned();
    }
    let kinds: Vec<String> = p
        .failures_by_kind
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!("{} ({})", p.failures, kinds.join(", "))
}
