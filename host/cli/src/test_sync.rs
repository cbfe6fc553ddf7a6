//! The report of a test sync (`sluice run --sample N [--seed S | --random]`
//! / `--dry-run`): the run's counts, that it changed no cursor and no
//! dead-letter entry, the seed of a random sample, and for a dry run what
//! would be created, updated or left unchanged in the target (from the
//! target key ledger) and what was rejected before it, grouped by cause.

use serde::Serialize;

use super::Exit;
use super::render::{esc, esc_or_dash, print_json, table};
use sluice::Sluice;
use sluice::run::RunSummary;
use sluice::runlog::{DryRunOutcomes, ErrorFilter, ErrorGroup, RunLog};

/// Records of a dry run listed one by one in the text report.
const TEXT_RECORDS: usize = 20;
/// Records of a dry run listed one by one in `--json`.
const JSON_RECORDS: usize = 1000;

/// Where "would create / update" comes from, said wherever it is shown.
pub const LEDGER_NOTE: &str = "\"Would create\" and \"would update\" compare each record with this data directory's record of what earlier runs loaded through this target (the target key ledger): a record created in the target by anything else shows as \"would create\".";

/// How a test sync read its source.
#[derive(Debug, Clone, Copy)]
pub struct Sampled {
    /// Records read per entity, at most (none: all).
    pub records: Option<u64>,
    /// The seed of a random sample.
    pub seed: Option<u64>,
    /// Whether the target's `write` was skipped.
    pub dry_run: bool,
}

/// What `--json` prints for a test sync.
#[derive(Debug, Serialize)]
struct TestReport<'a> {
    /// Always `test`.
    kind: &'static str,
    /// Records read per entity, at most (none: all).
    sample: Option<u64>,
    /// The seed of a random sample (`--seed` / `--random`).
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// Whether the target's `write` was skipped.
    dry_run: bool,
    #[serde(flatten)]
    summary: &'a RunSummary,
    /// Dry run: records that reached the target and would have been sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_send: Option<u64>,
    /// Dry run: what would become of each record, from the target key
    /// ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcomes: Option<DryRunOutcomes>,
    /// Records rejected before reaching the target.
    rejected: u64,
    /// Their errors, grouped by cause.
    groups: Vec<ErrorGroup>,
}

/// Records a dry run sent on to its stand-in target.
fn would_send(o: &DryRunOutcomes) -> u64 {
    o.would_create + o.would_update + o.would_be_unchanged + o.not_compared
}

/// Print how a test sync went and pick the exit code; `counts` prints the
/// run's counts as for any run.
pub fn report(
    sluice: &Sluice,
    pipeline: &str,
    summary: &RunSummary,
    sampled: Sampled,
    json: bool,
    counts: impl FnOnce() -> anyhow::Result<Exit>,
) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let groups = log
        .error_groups(summary.run_id, &ErrorFilter::default())?
        .groups;
    let limit = if json { JSON_RECORDS } else { TEXT_RECORDS };
    let outcomes = if sampled.dry_run {
        Some(log.dry_run_outcomes(summary.run_id, limit)?)
    } else {
        None
    };
    let rejected = summary.totals.failed;
    if json {
        print_json(&TestReport {
            kind: "test",
            sample: sampled.records,
            seed: sampled.seed,
            dry_run: sampled.dry_run,
            summary,
            would_send: outcomes.as_ref().map(would_send),
            outcomes,
            rejected,
            groups,
        })?;
        return Ok(Exit::for_status(summary.status));
    }
    outln!(
        "Test run {} of `{}` ({}): no cursor moved, no dead-letter entry added or resolved.",
        summary.run_id,
        pipeline,
        describe(sampled.records, sampled.seed, sampled.dry_run)
    );
    if let (Some(n), Some(seed)) = (sampled.records, sampled.seed) {
        outln!("Seed {seed}: draw the same sample again with `--sample {n} --seed {seed}`.");
    }
    if let Some(o) = &outcomes {
        outln!(
            "Dry run: nothing was written to the target. {} record(s) would be sent to the target; {rejected} rejected before it.",
            would_send(o)
        );
        outln!(
            "Would create {}, would update {}, would be unchanged {}{}; rejected {}.",
            o.would_create,
            o.would_update,
            o.would_be_unchanged,
            if o.not_compared > 0 {
                format!(", not compared {}", o.not_compared)
            } else {
                String::new()
            },
            o.rejected
        );
        outln!("{LEDGER_NOTE}");
    }
    let exit = counts()?;
    if let Some(o) = &outcomes {
        print_records(o, summary.run_id);
    }
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

/// What a test run read and did, in words.
pub fn describe(records: Option<u64>, seed: Option<u64>, dry_run: bool) -> String {
    let what = if dry_run { "a dry run" } else { "a test sync" };
    match (records, seed) {
        (Some(n), Some(seed)) => {
            format!("{what} of a random sample of {n} record(s) of each entity, seed {seed}")
        }
        (Some(n), None) => format!("{what} of the first {n} record(s) of each entity"),
        (None, _) => format!("{what} of the whole source"),
    }
}

/// The records of a dry run, one per line, as many as were fetched.
fn print_records(o: &DryRunOutcomes, run_id: i64) {
    if o.records.is_empty() {
        return;
    }
    let mut tab = table(&["ENTITY", "KEY", "OUTCOME", "TARGET ID / ERROR"], &[]);
    for r in &o.records {
        let detail = match (&r.target_id, &r.code) {
            (Some(id), _) => esc(id),
            (None, Some(code)) => format!(
                "{} at {}: {}",
                esc(code),
                esc_or_dash(r.stage.as_deref()),
                esc(r.message.as_deref().unwrap_or(""))
            ),
            (None, None) => "-".to_owned(),
        };
        tab.add_row(vec![
            esc(&r.entity),
            esc_or_dash(r.record_key.as_deref()),
            r.outcome.replace('-', " "),
            detail,
        ]);
    }
    outln!("{tab}");
    if o.more > 0 {
        outln!(
            "… and {} more: sluice runs show {run_id} --json lists up to {JSON_RECORDS}.",
            o.more
        );
    }
}

/// The dry-run outcomes of run `run_id`, when it is a dry run.
pub fn outcomes_of(
    log: &RunLog,
    run_id: i64,
    dry_run: bool,
    limit: usize,
) -> anyhow::Result<Option<DryRunOutcomes>> {
    Ok(if dry_run {
        Some(log.dry_run_outcomes(run_id, limit)?)
    } else {
        None
    })
}
