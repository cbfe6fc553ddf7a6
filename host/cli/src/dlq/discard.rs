//! `sluice dlq discard`: entries leave the queue with a reason.

use std::collections::BTreeMap;

use anyhow::bail;
use clap::Args;

use super::command_line::command_line;
use super::filter::{DispositionArg, FilterArgs, check_named};
use super::list::filters_suffix;
use crate::Exit;
use crate::render::{count_of, thousands};
use sluice::Sluice;
use sluice::runlog::{DlqEntry, ReviewError};

#[derive(Debug, Args)]
pub(super) struct DiscardArgs {
    /// The entries to discard (repeat the flag for more); or select them
    /// with filters.
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<i64>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Only entries with this disposition.
    #[arg(long, value_enum)]
    disposition: Option<DispositionArg>,
    /// Why they are discarded (recorded with each entry and in the audit log).
    #[arg(long)]
    reason: String,
    /// Discard more than one entry.
    #[arg(long)]
    yes: bool,
}

pub(super) fn discard(sluice: &Sluice, args: &DiscardArgs) -> anyhow::Result<Exit> {
    if args.reason.trim().is_empty() {
        return Err(ReviewError::NoReason.into());
    }
    if args.ids.is_empty() && args.filter.is_empty() && args.disposition.is_none() {
        bail!(
            "name the entries to discard with --id ID, or select them with filters (--pipeline, --run, --entity, --stage, --category, --code, --field, --since, --disposition)"
        );
    }
    let mut log = sluice.run_log()?;
    let mut sel = args.filter.select(&log)?;
    sel.filter.ids = args.ids.clone();
    sel.filter.disposition = args.disposition.map(DispositionArg::disposition);
    // Entries named by id are discarded even when they wait in review.
    sel.filter.include_review = !args.ids.is_empty();
    let entries = log.dlq_entries(&sel.filter)?;
    check_named(&log, &args.ids, &entries, "discarded")?;
    if entries.is_empty() {
        outln!("No open DLQ entries match{}.", filters_suffix(&sel.flags));
        return Ok(Exit::Success);
    }
    if entries.len() > 1 && !args.yes {
        let mut by_pipeline: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &entries {
            *by_pipeline.entry(&e.pipeline).or_default() += 1;
        }
        let pipelines: Vec<String> = by_pipeline
            .iter()
            .map(|(p, n)| format!("{p}: {}", thousands(*n)))
            .collect();
        let mut flags = sel.flags.clone();
        if let Some(d) = args.disposition {
            flags.push(format!("--disposition {}", d.disposition()));
        }
        bail!(
            "{} would be discarded ({}); nothing was discarded. Check them with `{}`, then add --yes",
            count_of(entries.len() as u64, "entry", "entries"),
            pipelines.join(", "),
            if args.ids.is_empty() {
                command_line("sluice dlq list", &flags)
            } else {
                "sluice dlq show ID".to_owned()
            }
        );
    }
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let discarded = log.discard_dlq_entries(&ids, &args.reason, sluice.actor())?;
    outln!("{}", discarded_text(&discarded, args.reason.trim()));
    Ok(Exit::Success)
}

/// `Discarded 2 entries (1, 2): test records. They stay in the run log: ...`.
pub(crate) fn discarded_text(entries: &[DlqEntry], reason: &str) -> String {
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    format!(
        "Discarded {} ({}): {reason}\nThey stay in the run log: sluice dlq list --status discarded",
        count_of(entries.len() as u64, "entry", "entries"),
        ids.join(", "),
    )
}
