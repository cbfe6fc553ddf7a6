//! `sluice dlq`: the dead-letter queue — list entries, show one in full,
//! replay them once their cause is fixed, or discard them with a reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::ColumnConstraint;
use jiff::Timestamp;
use serde::Serialize;

use super::render::{
    clip, count_of, esc, print_json, push_wrapped, screen_width, table_in, thousands,
};
use super::{Exit, Format, time};
use crate::Sluice;
use crate::errors::Category;
use crate::model::{Disposition, DlqStatus, Stage};
use crate::plugin::short_digest;
use crate::replay::ReplayOutcome;
use crate::runlog::{
    DlqEntry, DlqFilter, InvalidSince, PayloadVersion, ReviewError, RunLog, Since, StatusFilter,
    pretty_payload,
};

/// `sluice dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List dead-letter entries (open ones, not in review, by default).
    List(ListArgs),
    /// One entry in full: error, payloads, plugins, runs, payload versions.
    Show(ShowArgs),
    /// Replay open entries with the current configuration and plugins.
    Replay(ReplayArgs),
    /// Mark entries discarded, with a reason (kept in the run log, audited).
    Discard(DiscardArgs),
}

/// The filters shared by the DLQ and review commands.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct FilterArgs {
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
fn since_text(s: &str) -> Result<String, InvalidSince> {
    s.parse::<Since>().map(|_| s.to_owned())
}

/// A DLQ filter and the flags that select the same entries again.
#[derive(Debug, Clone, Default)]
pub(super) struct Selection {
    /// The filter.
    pub filter: DlqFilter,
    /// `--pipeline crm --stage execute`, with runs resolved to ids.
    pub flags: Vec<String>,
}

impl FilterArgs {
    /// True when no filter is given.
    pub(super) fn is_empty(&self) -> bool {
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
    pub(super) fn select(&self, log: &RunLog) -> anyhow::Result<Selection> {
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

/// `value`, single-quoted for a POSIX shell when it needs to be.
pub(super) fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+=".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// A command line: `base` and its flags.
pub(super) fn command_line(base: &str, flags: &[String]) -> String {
    let mut line = base.to_owned();
    for f in flags {
        line.push(' ');
        line.push_str(f);
    }
    line
}

/// `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(super) enum StatusArg {
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
    fn as_str(self) -> &'static str {
        match self {
            StatusArg::Open => "open",
            StatusArg::Resolved => "resolved",
            StatusArg::Discarded => "discarded",
            StatusArg::Any => "any",
        }
    }

    /// The statuses `dlq list` selects.
    fn filter(self) -> StatusFilter {
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
pub(super) enum DispositionArg {
    /// The record failed.
    Failed,
    /// The record was not processed because the run stopped.
    HeldBack,
    /// The record is parked for review (`sluice review`).
    Review,
}

impl DispositionArg {
    fn disposition(self) -> Disposition {
        match self {
            DispositionArg::Failed => Disposition::Failed,
            DispositionArg::HeldBack => Disposition::HeldBack,
            DispositionArg::Review => Disposition::Review,
        }
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Only entries with this status.
    #[arg(long, value_enum, default_value_t = StatusArg::Open)]
    status: StatusArg,
    /// Only entries with this disposition (by default all but `review`).
    #[arg(long, value_enum)]
    disposition: Option<DispositionArg>,
    /// At most this many entries, oldest first.
    #[arg(long, default_value_t = 100)]
    limit: u64,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// Entry id.
    pub id: i64,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Only entries with this disposition (`failed` or `held-back`).
    #[arg(long, value_enum)]
    disposition: Option<DispositionArg>,
    /// Only these entries (repeat the flag for more).
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<i64>,
    /// Say what would be replayed, and replay nothing.
    #[arg(long)]
    dry_run: bool,
    /// If a run of the pipeline (or of its target) is in progress, wait
    /// for it to end instead of refusing.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
struct DiscardArgs {
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

/// Run a `sluice dlq` command.
pub fn dlq(sluice: &Sluice, args: &DlqArgs) -> anyhow::Result<Exit> {
    match &args.command {
        DlqCommand::List(a) => list(sluice, a),
        DlqCommand::Show(a) => show(sluice, a, false),
        DlqCommand::Replay(a) => replay(sluice, a),
        DlqCommand::Discard(a) => discard(sluice, a),
    }
}

fn list(sluice: &Sluice, args: &ListArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let mut sel = args.filter.select(&log)?;
    sel.filter.status = args.status.filter();
    sel.filter.disposition = args.disposition.map(DispositionArg::disposition);
    sel.filter.limit = Some(args.limit);
    let entries = log.dlq_entries(&sel.filter)?;
    if args.format.json {
        print_json(&entries)?;
        return Ok(Exit::Success);
    }
    // Entries waiting in review are not listed by default; say so.
    let in_review = if args.disposition.is_none() && args.status == StatusArg::Open {
        log.dlq_entries(&DlqFilter {
            disposition: Some(Disposition::Review),
            limit: None,
            ..sel.filter.clone()
        })?
        .len() as u64
    } else {
        0
    };
    let view = ListView {
        status: args.status,
        disposition: args.disposition,
        flags: sel.flags,
        limit: args.limit,
        in_review,
    };
    out!(
        "{}",
        render_list(&entries, &view, time::now(), screen_width())
    );
    Ok(Exit::Success)
}

/// What `dlq list` was asked, for its footer.
#[derive(Debug, Clone)]
struct ListView {
    status: StatusArg,
    disposition: Option<DispositionArg>,
    /// The filter flags given (runs resolved).
    flags: Vec<String>,
    limit: u64,
    /// Open entries in review matching the filters, left out of the list.
    in_review: u64,
}

/// `dlq list` laid out for `width` columns, ages counted to `now` (Unix seconds).
fn render_list(entries: &[DlqEntry], view: &ListView, now: Timestamp, width: usize) -> String {
    let mut out = String::new();
    let noun = match view.status {
        StatusArg::Any => "DLQ entries".to_owned(),
        s => format!("{} DLQ entries", s.as_str()),
    };
    if entries.is_empty() {
        let _ = writeln!(out, "No {noun} match{}.", filters_suffix(&view.flags));
        if view.in_review > 0 {
            let _ = writeln!(out, "{}", review_note(view.in_review, &view.flags));
        }
        return out;
    }
    out.push_str(&entries_table(entries, now, width));
    out.push('\n');
    push_wrapped(&mut out, "", &totals_line(entries), width);
    if entries.len() as u64 >= view.limit {
        let _ = writeln!(
            out,
            "(first {} shown; raise --limit for more)",
            thousands(view.limit)
        );
    }
    if view.in_review > 0 {
        push_wrapped(
            &mut out,
            "",
            &review_note(view.in_review, &view.flags),
            width,
        );
    }
    out.push('\n');
    let _ = writeln!(out, "One entry in full: sluice dlq show ID");
    match (view.status, view.disposition) {
        (StatusArg::Open, Some(DispositionArg::Review)) => {
            let _ = writeln!(
                out,
                "Entries in review are edited and approved with: sluice review edit|approve ID"
            );
        }
        (StatusArg::Open, disposition) => {
            let mut flags = view.flags.clone();
            if let Some(d) = disposition {
                flags.push(format!("--disposition {}", d.disposition()));
            }
            let _ = writeln!(
                out,
                "Replay every entry matching these filters once the cause is fixed\n(add --dry-run to see what would happen first):\n  {}",
                command_line("sluice dlq replay", &flags)
            );
        }
        _ => {}
    }
    out
}

/// ` --pipeline crm` when there are filter flags, or nothing.
fn filters_suffix(flags: &[String]) -> String {
    if flags.is_empty() {
        String::new()
    } else {
        format!(" {}", flags.join(" "))
    }
}

/// `2 more entries wait in review, not listed here: sluice review list`.
fn review_note(n: u64, flags: &[String]) -> String {
    format!(
        "{} in review, not listed here: {}",
        count_of(n, "more entry waits", "more entries wait"),
        command_line("sluice review list", flags)
    )
}

/// The entries as a table for `width` columns.
pub(super) fn entries_table(entries: &[DlqEntry], now: Timestamp, width: usize) -> String {
    let headers = [
        "ID",
        "RECORD",
        "FAILED AT",
        "FAILURES",
        "UPDATED",
        "MESSAGE",
    ];
    let mut t = table_in(&headers, &["ID"], width);
    // Short columns keep their width; the message takes what is left.
    for name in ["ID", "FAILURES", "UPDATED"] {
        if let Some(col) = headers
            .iter()
            .position(|h| *h == name)
            .and_then(|i| t.column_mut(i))
        {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for e in entries {
        let mut id = e.id.to_string();
        if e.status != DlqStatus::Open {
            let _ = write!(id, "\n{}", e.status);
        }
        let record = format!("{}\n{}\n{}", esc(&e.record_key), e.pipeline, e.entity);
        let mut error = format!("{}\n{}\n{}", e.stage, e.category, esc(&e.code));
        if let Some(field) = &e.field {
            let _ = write!(error, "\nfield {}", esc(field));
        }
        if e.disposition != Disposition::Failed {
            let _ = write!(error, "\n{}", e.disposition);
        }
        let failures = format!(
            "{}\n{}",
            count_of(u64::try_from(e.failures).unwrap_or(0), "run", "runs"),
            count_of(
                u64::try_from(e.attempts).unwrap_or(0),
                "attempt",
                "attempts"
            )
        );
        let time = time::minutes(&e.updated_at).replacen(' ', "\n", 1);
        let updated = match time::age(&e.updated_at, now) {
            Some(a) => format!("{a}\n{time}"),
            None => e.updated_at.clone(),
        };
        t.add_row(vec![
            id,
            record,
            error,
            failures,
            updated,
            clip(&e.message, 160),
        ]);
    }
    format!("{t}\n")
}

/// `4 entries · by stage: transform 1, execute 3 · by category: ...`.
pub(super) fn totals_line(entries: &[DlqEntry]) -> String {
    let mut stages: Vec<(usize, &str, u64)> = Vec::new();
    let mut categories: BTreeMap<&str, u64> = BTreeMap::new();
    for e in entries {
        let order = Stage::ALL
            .iter()
            .position(|s| s.as_str() == e.stage)
            .unwrap_or(Stage::ALL.len());
        match stages.iter_mut().find(|(_, s, _)| *s == e.stage) {
            Some((_, _, n)) => *n += 1,
            None => stages.push((order, &e.stage, 1)),
        }
        *categories.entry(&e.category).or_default() += 1;
    }
    stages.sort_by_key(|(order, name, _)| (*order, *name));
    let mut categories: Vec<(&str, u64)> = categories.into_iter().collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let list = |items: Vec<(&str, u64)>| {
        items
            .iter()
            .map(|(name, n)| format!("{name} {}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} · by stage: {} · by category: {}",
        count_of(entries.len() as u64, "entry", "entries"),
        list(stages.into_iter().map(|(_, s, n)| (s, n)).collect()),
        list(categories),
    )
}

/// The JSON of `dlq show` and `review show`.
#[derive(Debug, Serialize)]
struct ShowJson<'a> {
    entry: &'a DlqEntry,
    versions: &'a [PayloadVersion],
}

/// Show one entry; with `review`, it must be (or have been) in review.
pub(super) fn show(sluice: &Sluice, args: &ShowArgs, review: bool) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let entry = log.dlq_entry(args.id)?;
    if review && entry.disposition != Disposition::Review {
        return Err(ReviewError::NotInReview {
            id: entry.id,
            disposition: entry.disposition,
        }
        .into());
    }
    let versions = log.payload_versions(args.id)?;
    if args.format.json {
        print_json(&ShowJson {
            entry: &entry,
            versions: &versions,
        })?;
    } else {
        out!("{}", render_entry(&entry, &versions, screen_width()));
    }
    Ok(Exit::Success)
}

/// One entry in full, laid out for `width` columns.
pub(super) fn render_entry(e: &DlqEntry, versions: &[PayloadVersion], width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "DLQ entry {} · {} · {} · {} · {} · {}",
        e.id,
        e.pipeline,
        e.entity,
        esc(&e.record_key),
        e.status.as_str().to_uppercase(),
        e.disposition
    );
    if let Some(pos) = &e.source_position {
        let _ = writeln!(out, "Source position: {}", esc(pos));
    }

    out.push_str("\nError\n");
    let mut about = format!("  {} · {} · at {}", esc(&e.code), e.category, e.stage);
    if let Some(field) = &e.field {
        let _ = write!(about, " · field {}", esc(field));
    }
    let _ = writeln!(out, "{about}");
    if let Some(plugin) = &e.plugin {
        let digest = e.plugin_digest.as_deref().map(short_digest).unwrap_or("-");
        let _ = writeln!(out, "  plugin {plugin} ({digest})");
    }
    push_wrapped(&mut out, "  ", &e.message, width);

    out.push_str("\nRuns\n");
    let runs = if e.first_run_id == e.last_run_id {
        format!("run {}", e.first_run_id)
    } else {
        format!("first run {}, last run {}", e.first_run_id, e.last_run_id)
    };
    let _ = writeln!(
        out,
        "  failed in {} ({runs}); {} in the last",
        count_of(u64::try_from(e.failures).unwrap_or(0), "run", "runs"),
        count_of(
            u64::try_from(e.attempts).unwrap_or(0),
            "attempt",
            "attempts"
        ),
    );
    let _ = writeln!(
        out,
        "  queued {} · updated {} (UTC)",
        time::minutes(&e.created_at),
        time::minutes(&e.updated_at)
    );
    if e.status != DlqStatus::Open {
        let mut line = format!(
            "{} {}",
            e.status,
            e.resolved_at
                .as_deref()
                .map_or("-".to_owned(), time::minutes)
        );
        if let Some(run) = e.resolved_by_run {
            let _ = write!(line, " by run {run}");
        }
        if let Some(r) = &e.resolution {
            let _ = write!(line, ": {r}");
        }
        push_wrapped(&mut out, "  ", &line, width);
    }
    let _ = writeln!(out, "  configuration {}", e.config_hash);

    let _ = writeln!(
        out,
        "\nPayload (version {}, as it entered {})",
        e.payload_version, e.stage
    );
    push_payload(&mut out, e.payload.as_deref());
    out.push_str("\nSource payload\n");
    if e.source_payload.is_some() && e.source_payload == e.payload {
        out.push_str("(the same as the payload)\n");
    } else {
        push_payload(&mut out, e.source_payload.as_deref());
    }

    if !e.plugin_digests.is_empty() {
        out.push_str("\nPlugins of the failing run\n");
        let room = e.plugin_digests.keys().map(String::len).max().unwrap_or(0);
        for (role, digest) in &e.plugin_digests {
            let digest = digest
                .as_str()
                .map_or_else(|| digest.to_string(), |d| short_digest(d).to_owned());
            let _ = writeln!(out, "  {role:<room$}  {digest}");
        }
    }

    out.push_str("\nPayload versions\n");
    for v in versions {
        let mut line = format!(
            "v{} · {} · {}",
            v.version,
            time::minutes(&v.created_at),
            v.actor
        );
        if let Some(note) = &v.note {
            let _ = write!(line, " · {note}");
        }
        if v.version == e.payload_version {
            line.push_str(" (current)");
        }
        push_wrapped(&mut out, "  ", &line, width);
    }

    if e.status == DlqStatus::Open {
        out.push('\n');
        let id = e.id;
        if e.disposition == Disposition::Review {
            let _ = writeln!(
                out,
                "Correct it:  sluice review edit {id} --set 'FIELD=JSONVALUE'\n\
                 Replay it:   sluice review approve {id}\n\
                 Give up:     sluice review discard {id} --reason TEXT"
            );
        } else {
            let _ = writeln!(
                out,
                "Once the cause is fixed:  sluice dlq replay --id {id}\n\
                 Or give up on it:         sluice dlq discard --id {id} --reason TEXT"
            );
        }
    }
    out
}

/// A payload pretty-printed, or `(none)`.
fn push_payload(out: &mut String, payload: Option<&str>) {
    match payload {
        // JSON is shown pretty (its strings escape their control
        // characters); anything else is escaped whole.
        Some(p) if serde_json::from_str::<serde::de::IgnoredAny>(p).is_ok() => {
            out.push_str(&pretty_payload(p));
            out.push('\n');
        }
        Some(p) => {
            out.push_str(&esc(p));
            out.push('\n');
        }
        None => out.push_str("(none)\n"),
    }
}

fn replay(sluice: &Sluice, args: &ReplayArgs) -> anyhow::Result<Exit> {
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
pub(super) fn print_outcomes(
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
pub(super) struct ReplayJson<'a> {
    dry_run: bool,
    #[serde(flatten)]
    outcome: &'a ReplayOutcome,
}

/// The worst exit code of the runs made; success when none ran.
fn replay_exit(outcomes: &[ReplayOutcome]) -> Exit {
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
pub(super) fn render_outcomes(
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

/// An error when some of the `named` ids are not among `matched`,
/// saying why for each.
pub(super) fn check_named(
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

fn discard(sluice: &Sluice, args: &DiscardArgs) -> anyhow::Result<Exit> {
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
pub(super) fn discarded_text(entries: &[DlqEntry], reason: &str) -> String {
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    format!(
        "Discarded {} ({}): {reason}\nThey stay in the run log: sluice dlq list --status discarded",
        count_of(entries.len() as u64, "entry", "entries"),
        ids.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::run::RunSummary;
    use crate::runlog::review_fixture::dlq_log;
    use crate::stages::finalize::{RunStatus, Totals};

    /// 2026-11-03T10:00:00Z.
    const NOW: Timestamp = Timestamp::constant(1_793_700_000, 0);

    fn view(flags: &[&str]) -> ListView {
        ListView {
            status: StatusArg::Open,
            disposition: None,
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            limit: 100,
            in_review: 0,
        }
    }

    #[test]
    fn list_view() {
        let (_dir, log) = dlq_log();
        let entries = log.dlq_entries(&DlqFilter::default()).unwrap();
        let mut v = view(&[]);
        v.in_review = 2;
        let text = render_list(&entries, &v, NOW, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(
            text.contains(
                "4 entries · by stage: transform 1, execute 3 · by category: validation 2, auth 1, transient 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("2 more entries wait in review, not listed here: sluice review list\n"),
            "{text}"
        );
        assert!(text.ends_with("first):\n  sluice dlq replay\n"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn list_view_filtered_and_limited() {
        let (_dir, log) = dlq_log();
        let filter = DlqFilter {
            pipeline: Some("crm".into()),
            stage: Some("execute".into()),
            limit: Some(2),
            ..DlqFilter::default()
        };
        let entries = log.dlq_entries(&filter).unwrap();
        let mut v = view(&["--pipeline crm", "--stage execute"]);
        v.limit = 2;
        v.disposition = Some(DispositionArg::HeldBack);
        let text = render_list(&entries, &v, NOW, 72);
        // Commands stay whole on their own lines, for copying.
        assert!(
            text.lines()
                .filter(|l| !l.starts_with("  sluice "))
                .all(|l| l.chars().count() <= 72),
            "{text}"
        );
        assert!(
            text.contains("(first 2 shown; raise --limit for more)"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "\n  sluice dlq replay --pipeline crm --stage execute --disposition held-back\n"
            ),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn list_of_nothing_and_of_closed_entries() {
        let (_dir, log) = dlq_log();
        let text = render_list(&[], &view(&["--pipeline nope"]), NOW, 100);
        assert_eq!(text, "No open DLQ entries match --pipeline nope.\n");

        let entries = log
            .dlq_entries(&DlqFilter {
                status: StatusFilter::Any,
                code: Some("invalid-phone".into()),
                ..DlqFilter::default()
            })
            .unwrap();
        let mut v = view(&["--code invalid-phone"]);
        v.status = StatusArg::Any;
        let text = render_list(&entries, &v, NOW, 100);
        assert!(text.contains("discarded"), "{text}");
        assert!(
            !text.contains("sluice dlq replay"),
            "closed entries are not replayed: {text}"
        );
    }

    #[test]
    fn totals_follow_the_data_path() {
        let (_dir, log) = dlq_log();
        let entries = log
            .dlq_entries(&DlqFilter {
                include_review: true,
                ..DlqFilter::default()
            })
            .unwrap();
        assert_eq!(
            totals_line(&entries),
            "6 entries · by stage: ingest 1, normalize 1, transform 1, execute 3 · by category: validation 3, auth 1, mapping 1, transient 1"
        );
    }

    #[test]
    fn show_view() {
        let (_dir, log) = dlq_log();
        let entry = log.dlq_entry(2).unwrap();
        let versions = log.payload_versions(2).unwrap();
        let text = render_entry(&entry, &versions, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.contains("\"email\": \"bo@example.com\""), "{text}");
        assert!(
            text.contains(
                "v1 · 2026-11-02 09:31 · sluice · the payload it failed with in run 2 (current)"
            ),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("crm"), "crm");
        assert_eq!(shell_word("2026-11-01T10:00:00Z"), "2026-11-01T10:00:00Z");
        assert_eq!(shell_word("two words"), "'two words'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

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

    #[test]
    fn the_command_line_takes_the_filters() {
        let cli = Cli::try_parse_from([
            "sluice",
            "dlq",
            "replay",
            "--pipeline",
            "crm",
            "--stage",
            "execute",
            "--id",
            "2",
            "--id",
            "3",
            "--since",
            "7d",
            "--dry-run",
        ])
        .unwrap();
        let Command::Dlq(DlqArgs {
            command: DlqCommand::Replay(args),
        }) = cli.command
        else {
            panic!("not dlq replay: {cli:?}");
        };
        assert_eq!(args.ids, vec![2, 3]);
        assert!(args.dry_run);
        let (_dir, log) = dlq_log();
        let sel = args.filter.select(&log).unwrap();
        assert_eq!(sel.filter.pipeline.as_deref(), Some("crm"));
        assert_eq!(sel.filter.stage.as_deref(), Some("execute"));
        assert!(
            sel.filter
                .since
                .as_deref()
                .is_some_and(|s| s.ends_with('Z'))
        );
        assert_eq!(
            sel.flags,
            vec!["--pipeline crm", "--stage execute", "--since 7d"]
        );

        for bad in [
            &["sluice", "dlq", "list", "--stage", "load"][..],
            &["sluice", "dlq", "list", "--since", "yesterday"],
            &["sluice", "dlq", "list", "--status", "closed"],
            &["sluice", "dlq", "discard", "--id", "1"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

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
