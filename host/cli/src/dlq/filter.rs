//! The filters shared by `sluice dlq` and `sluice review`: the flags, the
//! selection they make, and why named entries were not selected.

use anyhow::bail;
use clap::{Args, ValueEnum};

use super::command_line::shell_word;
use sluice::errors::Category;
use sluice::model::{Disposition, DlqStatus, Stage};
use sluice::runlog::{DlqEntry, DlqFilter, InvalidSince, RunLog, Since, StatusFilter};

/// The filters shared by the DLQ and review commands.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct FilterArgs {
    /// Only entries of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// Only entries whose last failure was in this run (id, or `last`).
    #[arg(long)]
    run: Option<String>,
    /// Only entries of this entity.
    #[arg(long)]
    entity: Option<String>,
    /// Only entries that failed at this stage (ingest, normalize, transform, execute).
    #[arg(long, value_parser = clap::value_parser!(Stage))]
    stage: Option<Stage>,
    /// Only entries of this error category (auth, validation, transient...).
    #[arg(long, value_parser = clap::value_parser!(Category))]
    category: Option<Category>,
    /// Only entries with this error code.
    #[arg(long)]
    code: Option<String>,
    /// Only entries whose error is about this field.
    #[arg(long)]
    field: Option<String>,
    /// Only entries updated since: a date (2026-11-01), an RFC 3339 time
    /// (2026-11-01T10:00:00Z) or a duration back from now (7d, 24h, 90m).
    #[arg(long, value_parser = since_text)]
    since: Option<String>,
}

/// Check a `--since` value, keeping it as given.
pub(super) fn since_text(s: &str) -> Result<String, InvalidSince> {
    s.parse::<Since>().map(|_| s.to_owned())
}

/// A DLQ filter and the flags that select the same entries again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// The filter.
    pub filter: DlqFilter,
    /// `--pipeline crm --stage execute`, with runs resolved to ids.
    pub flags: Vec<String>,
}

impl FilterArgs {
    /// True when no filter is given.
    pub(crate) fn is_empty(&self) -> bool {
        self.pipeline.is_none()
            && self.run.is_none()
            && self.entity.is_none()
            && self.stage.is_none()
            && self.category.is_none()
            && self.code.is_none()
            && self.field.is_none()
            && self.since.is_none()
    }

    /// The filter (runs and `--since` resolved in `log`) and its flags.
    pub(crate) fn select(&self, log: &RunLog) -> anyhow::Result<Selection> {
        let run_id = self
            .run
            .as_deref()
            .map(|r| log.resolve_run(r))
            .transpose()?;
        let since = match &self.since {
            Some(text) => Some(log.resolve_since(&text.parse::<Since>()?)?),
            None => None,
        };
        let filter = DlqFilter {
            pipeline: self.pipeline.clone(),
            run_id,
            entity: self.entity.clone(),
            stage: self.stage.map(|s| s.as_str().to_owned()),
            category: self.category.map(|c| c.as_str().to_owned()),
            code: self.code.clone(),
            field: self.field.clone(),
            since,
            ..DlqFilter::default()
        };
        let run_text = run_id.map(|r| r.to_string());
        let mut flags = Vec::new();
        for (name, value) in [
            ("pipeline", self.pipeline.as_deref()),
            ("run", run_text.as_deref()),
            ("entity", self.entity.as_deref()),
            ("stage", self.stage.map(Stage::as_str)),
            ("category", self.category.map(Category::as_str)),
            ("code", self.code.as_deref()),
            ("field", self.field.as_deref()),
            ("since", self.since.as_deref()),
        ] {
            if let Some(v) = value {
                flags.push(format!("--{name} {}", shell_word(v)));
            }
        }
        Ok(Selection { filter, flags })
    }
}

/// `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum StatusArg {
    /// Waiting for a replay, a review or a discard.
    #[default]
    Open,
    /// Loaded or skipped by a later run.
    Resolved,
    /// Discarded by someone, with a reason.
    Discarded,
    /// Every status.
    Any,
}

impl StatusArg {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StatusArg::Open => "open",
            StatusArg::Resolved => "resolved",
            StatusArg::Discarded => "discarded",
            StatusArg::Any => "any",
        }
    }

    /// The statuses `dlq list` selects.
    pub(super) fn filter(self) -> StatusFilter {
        match self {
            StatusArg::Open => StatusFilter::Only(DlqStatus::Open),
            StatusArg::Resolved => StatusFilter::Only(DlqStatus::Resolved),
            StatusArg::Discarded => StatusFilter::Only(DlqStatus::Discarded),
            StatusArg::Any => StatusFilter::Any,
        }
    }
}

/// `--disposition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DispositionArg {
    /// The record failed.
    Failed,
    /// The record was not processed because the run stopped.
    HeldBack,
    /// The record is parked for review (`sluice review`).
    Review,
}

impl DispositionArg {
    pub(super) fn disposition(self) -> Disposition {
        match self {
            DispositionArg::Failed => Disposition::Failed,
            DispositionArg::HeldBack => Disposition::HeldBack,
            DispositionArg::Review => Disposition::Review,
        }
    }
}

/// An error when some of the `named` ids are not among `matched`,
/// saying why for each.
pub(crate) fn check_named(
    log: &RunLog,
    named: &[i64],
    matched: &[DlqEntry],
    verb: &str,
) -> anyhow::Result<()> {
    let mut why = Vec::new();
    for &id in named {
        if matched.iter().any(|e| e.id == id) {
            continue;
        }
        match log.dlq_entry(id) {
            Err(_) => why.push(format!("{id} does not exist")),
            Ok(e) if e.status != DlqStatus::Open => why.push(format!("{id} is {}", e.status)),
            Ok(e) if e.disposition == Disposition::Review => why.push(format!(
                "{id} is in review (sluice review approve|discard {id})"
            )),
            Ok(_) => why.push(format!("{id} does not match the filters")),
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        bail!("nothing was {verb}: entry {}", why.join("; entry "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::runlog::review_fixture::dlq_log;

    #[test]
    fn named_entries_must_be_selectable() {
        let (_dir, log) = dlq_log();
        let matched = log
            .dlq_entries(&DlqFilter {
                ids: vec![1, 4, 5, 99],
                ..DlqFilter::default()
            })
            .unwrap();
        let err = check_named(&log, &[1, 4, 5, 99], &matched, "replayed").unwrap_err();
        assert_eq!(
            err.to_string(),
            "nothing was replayed: entry 4 is in review (sluice review approve|discard 4); entry 5 is resolved; entry 99 does not exist"
        );
        assert!(check_named(&log, &[1], &matched, "replayed").is_ok());
    }
}
