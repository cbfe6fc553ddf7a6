//! `sluice dlq replay`: entries re-enter their pipeline at the stage they
//! failed in; what a replay would do or did.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::command_line::command_line;
use super::filter::{DispositionArg, FilterArgs, check_named};
use super::list::filters_suffix;
use crate::render::{count_of, print_json, push_wrapped, screen_width, table_in, thousands};
use crate::{Exit, Format};
use sluice::Sluice;
use sluice::replay::ReplayOutcome;

#[derive(Debug, Args)]
pub(super) struct ReplayArgs {
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// Only entries with this disposition (`failed` or `held-back`).
    #[arg(long, value_enum)]
    pub(super) disposition: Option<DispositionArg>,
    /// Only these entries (repeat the flag for more).
    #[arg(long = "id", value_name = "ID")]
    pub(super) ids: Vec<i64>,
    /// Say what would be replayed, and replay nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// If a run of the pipeline (or of its target) is in progress, wait
    /// for it to end instead of refusing.
    #[arg(long)]
    pub(super) wait: bool,
    #[command(flatten)]
    pub(super) format: Format,
}

pub(super) fn replay(sluice: &Sluice, args: &ReplayArgs) -> anyhow::Result<Exit> {
    if args.disposition == Some(DispositionArg::Review) {
        bail!("entries in review are replayed by approving them: sluice review approve ID...");
    }
    let log = sluice.run_log()?;
    let mut sel = args.filter.select(&log)?;
    sel.filter.ids = args.ids.clone();
    sel.filter.disposition = args.disposition.map(DispositionArg::disposition);
    let matched = log.dlq_entries(&sel.filter)?;
    check_named(&log, &args.ids, &matched, "replayed")?;
    drop(log);
    let mut flags = sel.flags;
    if let Some(d) = args.disposition {
        flags.push(format!("--disposition {}", d.disposition()));
    }
    flags.extend(args.ids.iter().map(|id| format!("--id {id}")));
    if matched.is_empty() {
        if !args.format.json {
            outln!("No open DLQ entries match{}.", filters_suffix(&flags));
        } else {
            print_json(&Vec::<ReplayJson<'_>>::new())?;
        }
        return Ok(Exit::Success);
    }
    sluice.set_wait(args.wait);
    let outcomes = sluice.replay(&sel.filter, args.dry_run)?;
    print_outcomes(
        &outcomes,
        args.dry_run,
        &command_line("sluice dlq replay", &flags),
        args.format.json,
    )
}

/// Print replay outcomes (JSON or text) and return the exit code: the
/// worst run status, or success for a dry run or when nothing matched.
/// `rerun` is the command that replays for real after a dry run.
pub(crate) fn print_outcomes(
    outcomes: &[ReplayOutcome],
    dry_run: bool,
    rerun: &str,
    json: bool,
) -> anyhow::Result<Exit> {
    if json {
        let items: Vec<ReplayJson<'_>> = outcomes
            .iter()
            .map(|outcome| ReplayJson { dry_run, outcome })
            .collect();
        print_json(&items)?;
    } else {
        out!(
            "{}",
            render_outcomes(outcomes, dry_run, rerun, screen_width())
        );
    }
    Ok(replay_exit(outcomes))
}

/// The JSON of one pipeline's replay.
#[derive(Debug, Serialize)]
pub(crate) struct ReplayJson<'a> {
    dry_run: bool,
    #[serde(flatten)]
    outcome: &'a ReplayOutcome,
}

/// The worst exit code of the runs made; success when none ran.
pub(super) fn replay_exit(outcomes: &[ReplayOutcome]) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Success => 0,
        Exit::Partial => 1,
        Exit::Usage => 2,
        Exit::Busy => 3,
        Exit::Failure => 4,
    };
    outcomes
        .iter()
        .filter_map(|o| o.run.as_ref())
        .map(|r| Exit::for_status(r.status))
        .max_by_key(|e| rank(*e))
        .unwrap_or(Exit::Success)
}

/// What replays would do or did, laid out for `width` columns.
pub(crate) fn render_outcomes(
    outcomes: &[ReplayOutcome],
    dry_run: bool,
    rerun: &str,
    width: usize,
) -> String {
    let mut out = String::new();
    if outcomes.iter().all(|o| o.entries.is_empty())
        && !outcomes.iter().any(|o| o.unknown_entity > 0)
    {
        out.push_str("No open DLQ entries match.\n");
        return out;
    }
    for (i, o) in outcomes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let n = count_of(o.entries.len() as u64, "entry", "entries");
        let head = match &o.run {
            None => format!(
                "Pipeline {} ({}) · dry run: {n} would be replayed",
                o.pipeline,
                o.pipeline_path.display()
            ),
            Some(run) => format!(
                "Pipeline {} ({}): {n} replayed in run {} · {}",
                o.pipeline,
                o.pipeline_path.display(),
                run.run_id,
                run.status.as_str().to_uppercase()
            ),
        };
        push_wrapped(&mut out, "", &head, width);
        if !o.by_stage.is_empty() {
            let mut t = table_in(&["ENTITY", "RE-ENTERS AT", "ENTRIES"], &["ENTRIES"], width);
            for (entity, stage, count) in &o.by_stage {
                t.add_row(vec![entity.clone(), stage.clone(), thousands(*count)]);
            }
            let _ = writeln!(out, "{t}");
        }
        if o.config_changed > 0 {
            let pronoun = match (o.config_changed, o.run.is_some()) {
                (1, false) => "it would be",
                (_, false) => "they would be",
                (1, true) => "it was",
                (_, true) => "they were",
            };
            let text = format!(
                "{} failed under another configuration than the current one; {pronoun} replayed with the current configuration and plugins.",
                count_of(o.config_changed, "entry", "entries"),
            );
            push_wrapped(&mut out, "", &text, width);
        }
        if o.unknown_entity > 0 {
            push_wrapped(
                &mut out,
                "",
                &format!(
                    "{} of entities the pipeline no longer has stay in the queue.",
                    count_of(o.unknown_entity, "entry", "entries")
                ),
                width,
            );
        }
        if let Some(run) = &o.run {
            let _ = writeln!(
                out,
                "Resolved {} · still failing {}",
                thousands(o.resolved),
                thousands(o.still_failing)
            );
            if let Some(reason) = &run.status_reason {
                push_wrapped(&mut out, "", &format!("Reason: {reason}"), width);
            }
            let _ = writeln!(out, "The run:          sluice runs show {}", run.run_id);
            if o.still_failing > 0 {
                let _ = writeln!(
                    out,
                    "What still fails: sluice dlq list --run {id}  (in review: sluice review list --run {id})",
                    id = run.run_id
                );
            }
        }
    }
    if dry_run {
        out.push('\n');
        let _ = writeln!(out, "Dry run: nothing was replayed. To replay:\n  {rerun}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use sluice::run::RunSummary;
    use sluice::runlog::DlqFilter;
    use sluice::runlog::review_fixture::dlq_log;
    use sluice::stages::finalize::{RunStatus, Totals};

    fn outcome(run: Option<(i64, RunStatus)>) -> ReplayOutcome {
        let (_dir, log) = dlq_log();
        let entries = log
            .dlq_entries(&DlqFilter {
                pipeline: Some("crm".into()),
                ..DlqFilter::default()
            })
            .unwrap();
        ReplayOutcome {
            pipeline: "crm".into(),
            pipeline_path: PathBuf::from("pipelines/crm.toml"),
            by_stage: vec![
                ("contacts".into(), "transform".into(), 1),
                ("contacts".into(), "execute".into(), 2),
            ],
            config_changed: 1,
            unknown_entity: 0,
            resolved: if run.is_some() { 2 } else { 0 },
            still_failing: if run.is_some() { 1 } else { 0 },
            run: run.map(|(run_id, status)| RunSummary {
                run_id,
                status,
                status_reason: None,
                totals: Totals::default(),
                entities: Vec::new(),
                duration: Duration::from_millis(1200),
                interrupted: Vec::new(),
            }),
            entries,
        }
    }

    #[test]
    fn replay_views() {
        let dry = [outcome(None)];
        let text = render_outcomes(&dry, true, "sluice dlq replay --pipeline crm", 100);
        assert!(
            text.contains("dry run: 3 entries would be replayed"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Dry run: nothing was replayed. To replay:\n  sluice dlq replay --pipeline crm\n"
            ),
            "{text}"
        );
        assert_eq!(replay_exit(&dry), Exit::Success);
        insta::assert_snapshot!("replay_dry_run", text);

        let ran = [outcome(Some((9, RunStatus::Partial)))];
        let text = render_outcomes(&ran, false, "", 100);
        assert!(
            text.contains("3 entries replayed in run 9 · PARTIAL"),
            "{text}"
        );
        assert!(text.contains("Resolved 2 · still failing 1"), "{text}");
        assert_eq!(replay_exit(&ran), Exit::Partial);
        insta::assert_snapshot!("replay_ran", text);

        let mixed = [
            outcome(Some((9, RunStatus::Partial))),
            outcome(Some((10, RunStatus::Failed))),
            outcome(Some((11, RunStatus::Succeeded))),
        ];
        assert_eq!(replay_exit(&mixed), Exit::Failure);
        assert_eq!(
            render_outcomes(&[], false, "", 100),
            "No open DLQ entries match.\n"
        );
    }
}
