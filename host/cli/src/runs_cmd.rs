//! `sluice runs`: run history, and `runs show RUN`: one run in detail,
//! with its retries and the causes to fix first.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::errors_cmd::{push_group, retry_line, section};
use super::render::{
    count_of, duration_ms, esc, percent, print_json, push_wrapped, screen_width, table, table_in,
    thousands,
};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::plugin::short_digest;
use sluice::runlog::{
    Age, DryRunOutcomes, ErrorFilter, ErrorGroup, PluginUseRow, RetryGroup, RetryTotals, RunLog,
    RunRow, StageRow,
};

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
    /// One run in detail: counts per stage, retries, and the top causes of errors.
    Show(ShowArgs),
    /// Delete old runs and what was recorded under them (errors, skips,
    /// retries, captures), keeping the runs open dead-letter entries need.
    Prune(PruneArgs),
    /// Write one run to a file for support: counts, errors, captures,
    /// configuration, plugin digests and the Sluice version, with secrets
    /// redacted.
    Export(super::runs_export_cmd::ExportArgs),
    /// Open an exported run in a new data directory, to browse it with
    /// `sluice ui` or `sluice runs`.
    Import(super::runs_export_cmd::ImportArgs),
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// Delete finished runs that started longer ago than this: `30d`,
    /// `12h`, `90m`, `2w`.
    #[arg(long)]
    older_than: Age,
    /// Only runs of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// Count what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Run id, or `last`.
    run: String,
    /// Also list each plugin's resource use.
    #[arg(long)]
    plugins: bool,
    /// Show one phase's captured documents instead: `extract` (what the
    /// source returned), `load` (what was sent to the target, after
    /// mapping), `response` (what the target answered) or `http` (raw
    /// exchanges, when captured).
    #[arg(long, value_parser = ["extract", "load", "response", "http"])]
    phase: Option<String>,
    /// With --phase, only this record's item.
    #[arg(long, requires = "phase")]
    record: Option<String>,
    /// Compare one record as extracted and as loaded.
    #[arg(long, conflicts_with = "phase")]
    diff: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// `sluice runs import` works without the data directory: it makes one.
pub fn import_args(args: &RunsArgs) -> Option<&super::runs_export_cmd::ImportArgs> {
    match &args.show {
        Some(RunsCommand::Import(a)) => Some(a),
        _ => None,
    }
}

/// List runs, or show one.
pub fn runs(sluice: &Sluice, args: &RunsArgs) -> anyhow::Result<Exit> {
    // Runs whose process is gone are marked `interrupted` before they are shown.
    let interrupted = sluice.mark_interrupted_runs(None, "`sluice runs`")?;
    let mut log = sluice.run_log()?;
    match &args.show {
        Some(RunsCommand::Show(show_args)) => return show(&log, show_args),
        Some(RunsCommand::Prune(prune_args)) => return prune(&mut log, prune_args),
        Some(RunsCommand::Export(export_args)) => {
            return super::runs_export_cmd::export(sluice, export_args);
        }
        Some(RunsCommand::Import(import_args)) => {
            return super::runs_export_cmd::import(import_args);
        }
        None => {}
    }
    let runs = log.runs(args.pipeline.as_deref(), args.limit)?;
    if args.format.json {
        print_json(&runs)?;
        return Ok(Exit::Success);
    }
    for run in &interrupted {
        outln!("{}", run.describe());
    }
    if runs.is_empty() {
        outln!("No runs yet. Start one with `sluice run PIPELINE`.");
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
    outln!("{t}");
    Ok(Exit::Success)
}

/// How many groups `runs show` lists in full.
const TOP_GROUPS: usize = 3;

/// A skip reason and how many records it skipped.
#[derive(Debug, Serialize)]
struct SkipCount {
    stage: String,
    reason: String,
    count: i64,
}

/// Everything `runs show` knows about a run (its `--json`).
#[derive(Debug, Serialize)]
struct RunDetail {
    run: RunRow,
    stages: Vec<StageRow>,
    /// Records held back because the run stopped early (part of `run.failed`).
    held_back: u64,
    /// Retries made, records retried and how many got through.
    retries: RetryTotals,
    /// Every error group, in the order of `sluice errors`.
    error_groups: Vec<ErrorGroup>,
    /// Retried errors folded by code.
    retried: Vec<RetryGroup>,
    skips: Vec<SkipCount>,
    plugins: Vec<PluginUseRow>,
    /// Which version of each step following a plugin store name
    /// processed which batches (live swap).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    step_versions: Vec<sluice::runlog::StepVersionRow>,
    /// A dry run: what would have become of its records in the target
    /// (from the target key ledger), the first records one by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run_outcomes: Option<DryRunOutcomes>,
}

/// Records of a dry run listed one by one in `runs show --json`.
const DRY_RUN_RECORDS: usize = 1000;

fn prune(log: &mut RunLog, args: &PruneArgs) -> anyhow::Result<Exit> {
    let report = log.prune(args.older_than, args.pipeline.as_deref(), args.dry_run)?;
    if args.format.json {
        print_json(&report)?;
        return Ok(Exit::Success);
    }
    let verb = if report.dry_run {
        "Would delete"
    } else {
        "Deleted"
    };
    outln!(
        "{verb} {} started before {} ({}, {}, {}) and {}.",
        count_of(report.runs, "run", "runs"),
        report.cutoff,
        count_of(report.errors, "error", "errors"),
        count_of(report.skips, "skip", "skips"),
        count_of(report.captures, "capture", "captures"),
        count_of(
            report.dlq_entries,
            "resolved or discarded dead-letter entry",
            "resolved or discarded dead-letter entries"
        ),
    );
    if report.webhook_deliveries > 0 {
        outln!(
            "{verb} {} that ended before then, with their attempts.",
            count_of(
                report.webhook_deliveries,
                "webhook delivery",
                "webhook deliveries"
            )
        );
    }
    if report.kept_for_dlq > 0 {
        outln!(
            "Kept {} that dead-letter entries still refer to; replay or discard those entries to let them go.",
            count_of(report.kept_for_dlq, "older run", "older runs")
        );
    }
    Ok(Exit::Success)
}

fn show(log: &RunLog, args: &ShowArgs) -> anyhow::Result<Exit> {
    let id = log.resolve_run(&args.run)?;
    if let Some(key) = &args.diff {
        return show_diff(log, id, key, args.format.json);
    }
    if let Some(phase) = &args.phase {
        return show_phase(log, id, phase, args.record.as_deref(), args.format.json);
    }
    let detail = detail(log, id)?;
    if args.format.json {
        print_json(&detail)?;
    } else {
        out!("{}", render_show(&detail, args.plugins, screen_width()));
    }
    Ok(Exit::Success)
}

fn detail(log: &RunLog, id: i64) -> anyhow::Result<RunDetail> {
    let grouped = log.error_groups(id, &ErrorFilter::default())?;
    let run = log.run(id)?;
    Ok(RunDetail {
        dry_run_outcomes: super::test_sync::outcomes_of(log, id, run.dry_run, DRY_RUN_RECORDS)?,
        run,
        stages: log.stage_counts(id)?,
        held_back: grouped.held_back(),
        retries: log.run_retries(id)?,
        error_groups: grouped.groups,
        retried: grouped.retried,
        skips: log
            .skip_reasons(id)?
            .into_iter()
            .map(|(stage, reason, count)| SkipCount {
                stage,
                reason,
                count,
            })
            .collect(),
        plugins: log.plugin_uses(id)?,
        step_versions: log.step_versions(id)?,
    })
}

/// `runs show` for people, laid out for `width` columns.
fn render_show(d: &RunDetail, show_plugins: bool, width: usize) -> String {
    let run = &d.run;
    let id = run.id;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run {} · {} · {}",
        run.id,
        run.pipeline,
        run.status.to_uppercase()
    );
    let _ = writeln!(
        out,
        "  pipeline  {} (config {})",
        run.pipeline_path,
        short_digest(&run.config_hash)
    );
    let _ = writeln!(
        out,
        "  started   {}   duration {}",
        run.started_at,
        duration_ms(run.duration_ms)
    );
    let _ = writeln!(out, "  strategy  {}", run.strategy);
    if run.kind == "test" {
        let seed = run.sample_seed.as_deref().and_then(|s| s.parse().ok());
        let records = run.sample_records.and_then(|n| u64::try_from(n).ok());
        push_wrapped(
            &mut out,
            "  test      ",
            &super::test_sync::describe(records, seed, run.dry_run),
            width,
        );
    }
    if let Some(o) = &d.dry_run_outcomes {
        push_wrapped(
            &mut out,
            "  dry run   ",
            &format!(
                "would create {} · would update {} · would be unchanged {} · rejected {}",
                thousands(o.would_create),
                thousands(o.would_update),
                thousands(o.would_be_unchanged),
                thousands(o.rejected)
            ),
            width,
        );
    }
    let mut failed = format!("{} failed", thousands(run.failed.max(0) as u64));
    if d.held_back > 0 {
        let _ = write!(failed, " ({} of them held back)", thousands(d.held_back));
    }
    push_wrapped(
        &mut out,
        "  records   ",
        &format!(
            "{} extracted · {} loaded · {failed} · {} skipped",
            thousands(run.extracted.max(0) as u64),
            thousands(run.loaded.max(0) as u64),
            thousands(run.skipped.max(0) as u64)
        ),
        width,
    );
    let r = &d.retries;
    let retries = if r.records_retried == 0 {
        "none".to_owned()
    } else {
        format!(
            "{} on {} · {} got through ({}) · {} failed after retries",
            count_of(r.retries, "retry", "retries"),
            count_of(r.records_retried, "record", "records"),
            thousands(r.succeeded),
            percent(r.success_rate),
            thousands(r.failed)
        )
    };
    push_wrapped(&mut out, "  retries   ", &retries, width);
    if let Some(reason) = &run.status_reason {
        push_wrapped(&mut out, "  reason    ", reason, width);
    }

    if !d.stages.is_empty() {
        let _ = writeln!(out, "\nStages");
        let mut t = table_in(
            &["ENTITY", "STAGE", "IN", "OUT", "FAILED", "SKIPPED"],
            &["IN", "OUT", "FAILED", "SKIPPED"],
            width,
        );
        for s in &d.stages {
            t.add_row(vec![
                s.entity.clone(),
                s.stage.clone(),
                s.records_in.to_string(),
                s.records_out.to_string(),
                s.failed.to_string(),
                s.skipped.to_string(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }

    if !d.error_groups.is_empty() {
        let shown = d.error_groups.len().min(TOP_GROUPS);
        section(
            &mut out,
            &format!(
                "Top causes — {shown} of {}",
                count_of(d.error_groups.len() as u64, "group", "groups")
            ),
        );
        for (i, g) in d.error_groups.iter().take(TOP_GROUPS).enumerate() {
            push_group(&mut out, i + 1, g, width);
        }
        let rest: Vec<String> = d
            .error_groups
            .iter()
            .skip(TOP_GROUPS)
            .map(|g| {
                let field = g
                    .field
                    .as_ref()
                    .map(|f| format!(" on {}", esc(f)))
                    .unwrap_or_default();
                format!("{}{field} ({})", esc(&g.code), thousands(g.affected()))
            })
            .collect();
        if !rest.is_empty() {
            push_wrapped(
                &mut out,
                "  ",
                &format!(
                    "+ {} more {}: {}",
                    rest.len(),
                    if rest.len() == 1 { "group" } else { "groups" },
                    rest.join(", ")
                ),
                width,
            );
        }
    }
    if !d.retried.is_empty() {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        let _ = writeln!(out, "Retried");
        for r in &d.retried {
            push_wrapped(&mut out, "  ", &retry_line(r, &d.error_groups), width);
        }
    }
    if !d.error_groups.is_empty() || !d.retried.is_empty() {
        let _ = writeln!(
            out,
            "\nEvery group: sluice errors {id}   ·   every record: sluice errors {id} --rows"
        );
    }

    if !d.skips.is_empty() {
        let _ = writeln!(out, "\nSkipped");
        let mut t = table_in(&["COUNT", "STAGE", "REASON"], &["COUNT"], width);
        for s in &d.skips {
            t.add_row(vec![s.count.to_string(), s.stage.clone(), esc(&s.reason)]);
        }
        let _ = writeln!(out, "{t}");
    }
    if show_plugins {
        let _ = writeln!(out, "\nPlugins");
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
        for p in &d.plugins {
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
        let _ = writeln!(out, "{t}");
        for p in d.plugins.iter().filter(|p| p.quarantined.is_some()) {
            let _ = writeln!(
                out,
                "QUARANTINED {}: {}",
                p.role,
                esc(p.quarantined.as_deref().unwrap_or_default())
            );
        }
    }
    if d.step_versions.iter().any(|v| v.seq > 0) {
        let _ = writeln!(out, "\nPlugin versions (swapped during the run)");
        let mut t = table_in(
            &[
                "ROLE",
                "VERSION",
                "BATCHES",
                "FIRST BATCH",
                "RECORDS",
                "FAILED",
            ],
            &["BATCHES", "FIRST BATCH", "RECORDS", "FAILED"],
            width,
        );
        for v in &d.step_versions {
            t.add_row(vec![
                v.role.clone(),
                short_digest(&v.digest).to_owned(),
                v.batches.to_string(),
                v.first_batch.to_string(),
                v.records.to_string(),
                v.failed.to_string(),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

/// `3 (trap 2, timeout 1)`.
fn failures_text(p: &PluginUseRow) -> String {
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

/// Print the captured documents of one phase.
fn show_phase(
    log: &RunLog,
    id: i64,
    phase: &str,
    record: Option<&str>,
    json: bool,
) -> anyhow::Result<Exit> {
    if let Some(key) = record {
        let item = log.captured_record(id, phase, key)?;
        match item {
            Some(item) if json => print_json(&item)?,
            Some(item) => outln!("{}", serde_json::to_string_pretty(&item)?),
            None => {
                anyhow::bail!("run {id} captured no `{phase}` item for record `{key}`")
            }
        }
        return Ok(Exit::Success);
    }
    let captures = log.captures(id, phase)?;
    if json {
        print_json(&captures)?;
        return Ok(Exit::Success);
    }
    if captures.is_empty() {
        outln!(
            "Run {id} has no `{phase}` captures. Phases are captured when the source or target uses a connection, or with `[capture] phases = true`; raw HTTP with `capture_http` on the connection or `sluice run --capture-http`."
        );
        return Ok(Exit::Success);
    }
    for c in &captures {
        let items = c.document.as_array().map_or(0, Vec::len);
        outln!(
            "── {} · batch {} · {phase} · {items} item(s) · {}",
            c.entity,
            c.batch,
            c.created_at
        );
        outln!("{}", serde_json::to_string_pretty(&c.document)?);
    }
    Ok(Exit::Success)
}

/// Print one record as extracted and as loaded, with a line diff.
fn show_diff(log: &RunLog, id: i64, key: &str, json: bool) -> anyhow::Result<Exit> {
    let extracted = log.captured_record(id, "extract", key)?;
    let loaded = log.captured_record(id, "load", key)?;
    let response = log.captured_record(id, "response", key)?;
    if extracted.is_none() && loaded.is_none() {
        anyhow::bail!("run {id} captured neither an extract nor a load item for record `{key}`");
    }
    if json {
        print_json(&serde_json::json!({
            "record": key, "extract": extracted, "load": loaded, "response": response,
        }))?;
        return Ok(Exit::Success);
    }
    let pretty = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| serde_json::to_string_pretty(v.get("body").unwrap_or(v)).unwrap_or_default())
            .unwrap_or_else(|| "(not captured)".to_owned())
    };
    let (before, after) = (pretty(&extracted), pretty(&loaded));
    let diff = similar::TextDiff::from_lines(&before, &after);
    outln!("Record `{key}` of run {id}: extracted (-) vs sent to the target (+)");
    out!(
        "{}",
        diff.unified_diff()
            .context_radius(20)
            .header("extract", "load")
    );
    if let Some(r) = response {
        outln!("Target's answer: {}", serde_json::to_string(&r)?);
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::runlog::fixture::sample_log;

    #[test]
    fn show_a_run_with_retries_and_held_back_records() {
        let (_dir, log, id) = sample_log();
        let d = detail(&log, id).unwrap();
        assert_eq!(d.run.strategy, "retry");
        assert_eq!(d.held_back, 816);
        assert_eq!(d.retries.records_retried, 812);
        assert_eq!(d.retries.succeeded, 802);
        assert_eq!(d.error_groups.len(), 5);
        let text = render_show(&d, false, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        // Top three in full, the rest named with their codes.
        assert_eq!(text.matches("     fix:  ").count(), 3, "{text}");
        assert!(
            text.contains("+ 2 more groups: invalid-phone on phone (12), bad-gateway (10)"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn show_json_has_every_part() {
        let (_dir, log, id) = sample_log();
        let v = serde_json::to_value(detail(&log, id).unwrap()).unwrap();
        assert_eq!(v["run"]["strategy"], "retry");
        assert_eq!(v["held_back"], 816);
        assert_eq!(v["retries"]["retries"], 1247);
        assert_eq!(v["retries"]["success_rate"], 0.9877);
        assert_eq!(v["error_groups"][0]["code"], "EXPIRED_AUTHENTICATION");
        assert_eq!(v["error_groups"][0]["held_back"], 816);
        assert_eq!(v["retried"][0]["code"], "rate-limited");
        assert_eq!(v["stages"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn show_a_clean_run() {
        let (_dir, log, _) = sample_log();
        let id = log.start_run("empty", "empty.toml", "sha256:00").unwrap();
        let d = detail(&log, id).unwrap();
        let text = render_show(&d, false, 100);
        assert!(text.contains("  retries   none\n"), "{text}");
        assert!(!text.contains("Top causes"), "{text}");
        assert!(!text.contains("sluice errors"), "{text}");
    }
}
