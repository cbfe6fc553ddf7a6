//! `sluice review`: the manual review queue — records a `review` strategy
//! parked in the dead-letter queue for a person to inspect, correct
//! (`edit`, kept as payload versions), approve (replayed) or discard.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde_json::Value;

use super::dlq::{
    FilterArgs, ShowArgs, check_named, discarded_text, entries_table, print_outcomes, show,
    totals_line,
};
use super::render::{print_json, push_wrapped, screen_width, thousands};
use super::{Exit, Format, time};
use sluice::Sluice;
use sluice::model::Disposition;
use sluice::runlog::{
    DlqEntry, DlqFilter, PayloadEdit, PayloadEdited, ReviewError, parse_assignment,
};

/// `sluice review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// Open entries parked for review.
    List(ListArgs),
    /// One entry in full, with its payload versions.
    Show(ShowArgs),
    /// Correct the payload of an entry; the original stays in its history.
    Edit(EditArgs),
    /// Replay entries as they are now (after any edits).
    Approve(ApproveArgs),
    /// Discard entries, with a reason (kept in the run log, audited).
    Discard(DiscardArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many entries, oldest first.
    #[arg(long, default_value_t = 100)]
    limit: u64,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
struct EditArgs {
    /// Entry id.
    id: i64,
    /// Set a field (dotted paths reach nested objects) to a JSON value:
    /// --set 'email="ana@example.com"' --set age=42. Repeat for more.
    #[arg(
        long = "set",
        value_name = "FIELD=JSONVALUE",
        value_parser = parse_assignment,
        required_unless_present = "payload",
        conflicts_with = "payload"
    )]
    set: Vec<(String, Value)>,
    /// Replace the whole payload with the JSON object in FILE (`-` reads
    /// standard input).
    #[arg(long, value_name = "FILE")]
    payload: Option<PathBuf>,
    /// Why, kept with the new version.
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
struct ApproveArgs {
    /// The entries to replay.
    #[arg(required = true, value_name = "ID")]
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
    /// The entries to discard.
    #[arg(required = true, value_name = "ID")]
    ids: Vec<i64>,
    /// Why they are discarded (recorded with each entry and in the audit log).
    #[arg(long)]
    reason: String,
}

/// Run a `sluice review` command.
pub fn review(sluice: &Sluice, args: &ReviewArgs) -> anyhow::Result<Exit> {
    match &args.command {
        ReviewCommand::List(a) => list(sluice, a),
        ReviewCommand::Show(a) => show(sluice, a, true),
        ReviewCommand::Edit(a) => edit(sluice, a),
        ReviewCommand::Approve(a) => approve(sluice, a),
        ReviewCommand::Discard(a) => discard(sluice, a),
    }
}

fn list(sluice: &Sluice, args: &ListArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let mut sel = args.filter.select(&log)?;
    sel.filter.disposition = Some(Disposition::Review);
    sel.filter.limit = Some(args.limit);
    let entries = log.dlq_entries(&sel.filter)?;
    if args.format.json {
        print_json(&entries)?;
    } else {
        out!(
            "{}",
            render_list(
                &entries,
                &sel.flags,
                args.limit,
                time::now(),
                screen_width()
            )
        );
    }
    Ok(Exit::Success)
}

/// `review list` laid out for `width` columns, ages counted to `now`.
fn render_list(
    entries: &[DlqEntry],
    flags: &[String],
    limit: u64,
    now: Timestamp,
    width: usize,
) -> String {
    if entries.is_empty() {
        let filters = if flags.is_empty() {
            String::new()
        } else {
            format!(" matching {}", flags.join(" "))
        };
        return format!("No entries wait in review{filters}.\n");
    }
    let mut out = entries_table(entries, now, width);
    out.push('\n');
    push_wrapped(&mut out, "", &totals_line(entries), width);
    if entries.len() as u64 >= limit {
        let _ = writeln!(
            out,
            "(first {} shown; raise --limit for more)",
            thousands(limit)
        );
    }
    out.push('\n');
    for line in [
        "Inspect: sluice review show ID",
        "Correct: sluice review edit ID --set 'FIELD=JSONVALUE' [--note TEXT] (or --payload FILE)",
        "Replay as is or corrected: sluice review approve ID... [--dry-run]",
        "Give up: sluice review discard ID... --reason TEXT",
    ] {
        push_wrapped(&mut out, "", line, width);
    }
    out
}

fn edit(sluice: &Sluice, args: &EditArgs) -> anyhow::Result<Exit> {
    let change = match &args.payload {
        Some(path) => PayloadEdit::Replace(read_payload(path)?),
        None => PayloadEdit::Set(args.set.clone()),
    };
    let mut log = sluice.run_log()?;
    let edited = log.edit_review_payload(args.id, &change, sluice.actor(), args.note.as_deref())?;
    if args.format.json {
        print_json(&edited)?;
    } else {
        out!("{}", render_edit(&edited));
    }
    Ok(Exit::Success)
}

/// The JSON in `path` (`-`: standard input).
fn read_payload(path: &PathBuf) -> anyhow::Result<Value> {
    let (text, name) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the payload from standard input")?;
        (text, "standard input".to_owned())
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the payload file {}", path.display()))?;
        (text, path.display().to_string())
    };
    serde_json::from_str(&text).with_context(|| format!("{name} is not JSON"))
}

/// What an edit changed.
fn render_edit(e: &PayloadEdited) -> String {
    let mut out = format!(
        "Entry {}: payload version {} saved (was version {}; it stays in the history).\n\n",
        e.entry_id, e.version, e.previous_version
    );
    out.push_str(&e.diff);
    if !e.diff.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nReplay it: sluice review approve {id} · history: sluice review show {id}",
        id = e.entry_id
    );
    out
}

fn approve(sluice: &Sluice, args: &ApproveArgs) -> anyhow::Result<Exit> {
    let mut log = sluice.run_log()?;
    for &id in &args.ids {
        log.review_entry(id)?;
    }
    let filter = DlqFilter {
        ids: args.ids.clone(),
        disposition: Some(Disposition::Review),
        include_review: true,
        ..DlqFilter::default()
    };
    let matched = log.dlq_entries(&filter)?;
    check_named(&log, &args.ids, &matched, "approved")?;
    sluice.set_wait(args.wait);
    let outcomes = sluice.replay(&filter, args.dry_run)?;
    if !args.dry_run {
        for o in &outcomes {
            log.record_review_approvals(
                &o.entries,
                sluice.actor(),
                o.run.as_ref().map(|r| r.run_id),
            )?;
        }
    }
    let ids: Vec<String> = args.ids.iter().map(i64::to_string).collect();
    print_outcomes(
        &outcomes,
        args.dry_run,
        &format!("sluice review approve {}", ids.join(" ")),
        args.format.json,
    )
}

fn discard(sluice: &Sluice, args: &DiscardArgs) -> anyhow::Result<Exit> {
    if args.reason.trim().is_empty() {
        return Err(ReviewError::NoReason.into());
    }
    let mut log = sluice.run_log()?;
    let discarded = log.discard_review_entries(&args.ids, &args.reason, sluice.actor())?;
    if discarded.is_empty() {
        bail!("no entry was discarded");
    }
    outln!("{}", discarded_text(&discarded, args.reason.trim()));
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;
    use crate::{Cli, Command};
    use sluice::runlog::review_fixture::dlq_log;

    /// 2026-11-03T10:00:00Z.
    const NOW: Timestamp = Timestamp::constant(1_793_700_000, 0);

    fn parse(args: &[&str]) -> Result<ReviewCommand, clap::Error> {
        let mut argv = vec!["sluice", "review"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv)?;
        match cli.command {
            Command::Review(r) => Ok(r.command),
            other => panic!("not review: {other:?}"),
        }
    }

    #[test]
    fn edit_takes_assignments_or_a_file() {
        let Ok(ReviewCommand::Edit(e)) = parse(&[
            "edit",
            "4",
            "--set",
            r#"country="FR""#,
            "--set",
            "address.zip=69001",
            "--note",
            "from the CRM",
        ]) else {
            panic!("not an edit");
        };
        assert_eq!(
            e.set,
            vec![
                ("country".to_owned(), json!("FR")),
                ("address.zip".to_owned(), json!(69001))
            ]
        );
        assert_eq!(e.note.as_deref(), Some("from the CRM"));
        let Ok(ReviewCommand::Edit(e)) = parse(&["edit", "4", "--payload", "-"]) else {
            panic!("not an edit");
        };
        assert_eq!(e.payload, Some(PathBuf::from("-")));

        // Neither, both, or a value that is not JSON.
        assert!(parse(&["edit", "4"]).is_err());
        assert!(parse(&["edit", "4", "--set", "a=1", "--payload", "x.json"]).is_err());
        let err = parse(&["edit", "4", "--set", "country=FR"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("quote strings, e.g. --set 'country=\"FR\"'"),
            "{err}"
        );
    }

    #[test]
    fn approve_and_discard_need_ids_and_a_reason() {
        assert!(parse(&["approve"]).is_err());
        assert!(parse(&["discard", "4"]).is_err());
        let Ok(ReviewCommand::Approve(a)) = parse(&["approve", "4", "8", "--dry-run"]) else {
            panic!("not an approval");
        };
        assert_eq!((a.ids, a.dry_run), (vec![4, 8], true));
    }

    #[test]
    fn a_payload_file_must_be_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"id": "k-0001", "country": "FR"}"#).unwrap();
        assert_eq!(
            read_payload(&path).unwrap(),
            json!({"id": "k-0001", "country": "FR"})
        );
        std::fs::write(&path, "country: FR").unwrap();
        let err = read_payload(&path).unwrap_err();
        assert!(err.to_string().ends_with("p.json is not JSON"), "{err}");
        assert!(read_payload(&dir.path().join("missing.json")).is_err());
    }

    #[test]
    fn list_and_edit_views() {
        let (_dir, mut log) = dlq_log();
        let entries = log
            .dlq_entries(&DlqFilter {
                disposition: Some(Disposition::Review),
                ..DlqFilter::default()
            })
            .unwrap();
        let text = render_list(&entries, &[], 100, NOW, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(
            text.contains("2 entries · by stage: ingest 1, normalize 1"),
            "{text}"
        );
        insta::assert_snapshot!("review_list", text);
        assert_eq!(
            render_list(&[], &["--pipeline erp".to_owned()], 100, NOW, 100),
            "No entries wait in review matching --pipeline erp.\n"
        );

        let edited = log
            .edit_review_payload(
                4,
                &PayloadEdit::Set(vec![("country".into(), json!("FR"))]),
                "alice",
                None,
            )
            .unwrap();
        let text = render_edit(&edited);
        assert!(
            text.starts_with("Entry 4: payload version 2 saved (was version 1"),
            "{text}"
        );
        insta::assert_snapshot!("review_edit", text);
    }
}
