//! The report of a test sync (`sluice run --sample N` / `--dry-run`): the
//! run's counts, that it changed no cursor and no dead-letter entry, and
//! for a dry run what would have been sent to the target and what was
//! rejected before it, grouped by cause.

use serde::Serialize;

use super::Exit;
use super::render::{esc, print_json, table};
use sluice::Sluice;
use sluice::run::RunSummary;
use sluice::runlog::{ErrorFilter, ErrorGroup};
use sluice::stages::dry_run::DRY_RUN_REASON;

/// What `--json` prints for a test sync.
#[derive(Debug, Serialize)]
struct TestReport<'a> {
    /// Always `test`.
    kind: &'static str,
    /// Records read per entity, at most (none: all).
    sample: Option<u64>,
    /// Whether the target's `write` was skipped.
    dry_run: bool,
    #[serde(flatten)]
    summary: &'a RunSummary,
    /// Dry run: records that reached the target and would have been sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_send: Option<u64>,
    /// Records rejected before reaching the target.
    rejected: u64,
    /// Their errors, grouped by cause.
    groups: Vec<ErrorGroup>,
}

/// Print how a test sync went and pick the exit code; `counts` prints the
/// run's counts as for any run.
pub fn report(
    sluice: &Sluice,
    pipeline: &str,
    summary: &RunSummary,
    sample: Option<u64>,
    dry_run: bool,
    json: bool,
    counts: impl FnOnce() -> anyhow::Result<Exit>,
) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let groups = log
        .error_groups(summary.run_id, &ErrorFilter::default())?
        .groups;
    let would_send = if dry_run {
        Some(
            log.skip_reasons(summary.run_id)?
                .iter()
                .filter(|(stage, reason, _)| stage == "execute" && reason == DRY_RUN_REASON)
                .map(|(_, _, n)| *n as u64)
                .sum(),
        )
    } else {
        None
    };
    let rejected = summary.totals.failed;
    if json {
        print_json(&TestReport {
            kind: "test",
            sample,
            dry_run,
            summary,
            would_send,
            rejected,
            groups,
        })?;
        return Ok(Exit::for_status(summary.status));
    }
    let what = match (sample, dry_run) {
        (Some(n), true) => format!("a dry run of the first {n} record(s) of each entity"),
        (Some(n), false) => format!("a test sync of the first {n} record(s) of each entity"),
        (None, _) => "a dry run of the whole source".to_owned(),
    };
    outln!(
        "Test run {} of `{}` ({what}): no cursor moved, no dead-letter entry added or resolved.",
        summary.run_id,
        pipeline
    );
    if let Some(n) = would_send {
        outln!(
            "Dry run: nothing was written to the target. {n} record(s) would be sent to the target; {rejected} rejected before it."
        );
    }
    let exit = counts()?;
    if !groups.is_empty() {
        outln!("Rejected, by cause:");
        let mut tab = table(
            &["STAGE", "CATEGORY", "CODE", "FIELD", "RECORDS"],
            &["RECORDS"],
        );
        for g in &groups {
            tab.add_row(vec![
                esc(&g.stage),
                esc(&g.category),
                esc(&g.code),
                esc(g.field.as_deref().unwrap_or("-")),
                g.count.to_string(),
            ]);
        }
        outln!("{tab}");
    }
    Ok(exit)
}
