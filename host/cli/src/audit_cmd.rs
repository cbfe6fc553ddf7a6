//! `sluice audit`: who changed what, and when — configuration and plugin
//! changes seen at the start of runs, cursor resets, DLQ discards, review
//! edits — newest first, with `--diff` showing each change in full.

use std::fmt::Write as _;

use clap::Args;
use comfy_table::{ColumnConstraint, Width};
use serde::Serialize;

use super::render::{clip, count_of, or_dash, print_json, screen_width, table_in};
use super::{Exit, Format, time};
use sluice::Sluice;
use sluice::audit::{CONFIG_CHANGED, PIPELINE_ADDED, diff_line_counts};
use sluice::plugin::short_digest;
use sluice::runlog::{AuditFilter, AuditRow, Since};

/// Entries shown when `--limit` is not given.
const DEFAULT_LIMIT: u64 = 50;

/// `sluice audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// Only entries since: a date (2026-11-01), an RFC 3339 time
    /// (2026-11-01T10:00:00Z) or a duration back from now (7d, 24h, 90m).
    #[arg(long, value_parser = clap::value_parser!(Since))]
    since: Option<Since>,
    /// Only entries with this action: pipeline-added, config-changed,
    /// plugin-changed, plugin-added, cursor-reset, dlq-discarded,
    /// review-edited...
    #[arg(long)]
    action: Option<String>,
    /// Show at most this many entries, newest first (0: all).
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: u64,
    /// Print each entry's diff (or its old and new value) below it.
    #[arg(long)]
    diff: bool,
    #[command(flatten)]
    format: Format,
}

/// An entry in `--json` output: the row and its one-line summary.
#[derive(Debug, Serialize)]
struct JsonEntry<'a> {
    #[serde(flatten)]
    row: &'a AuditRow,
    summary: String,
}

/// Print the audit log.
pub fn audit(sluice: &Sluice, args: &AuditArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let limit = (args.limit > 0).then_some(args.limit);
    // One more than shown, to tell whether older entries were left out.
    let mut rows = log.audit_entries(&AuditFilter {
        pipeline: args.pipeline.clone(),
        since: args.since.clone(),
        action: args.action.clone(),
        limit: limit.map(|l| l.saturating_add(1)),
    })?;
    let more = limit.is_some_and(|l| rows.len() as u64 > l);
    if let Some(l) = limit {
        rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    if args.format.json {
        let entries: Vec<JsonEntry<'_>> = rows
            .iter()
            .map(|row| JsonEntry {
                row,
                summary: summary(row),
            })
            .collect();
        print_json(&entries)?;
    } else {
        out!("{}", render_audit(&rows, args.diff, more, screen_width()));
    }
    Ok(Exit::Success)
}

/// The entries for people: a table, or with `diffs` one block per entry
/// (with its run) and its diff below it; laid out for `width` columns.
fn render_audit(rows: &[AuditRow], diffs: bool, more: bool, width: usize) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No audit entries.\n");
        return out;
    }
    let _ = writeln!(out, "Audit log · newest first · times in UTC\n");
    if diffs {
        for row in rows {
            render_entry(&mut out, row);
        }
    } else {
        let mut t = table_in(
            &["TIME", "ACTOR", "PIPELINE", "ACTION", "SUBJECT", "SUMMARY"],
            &[],
            width,
        );
        // Dates over times; actions whole.
        for (i, constraint) in [
            (0, ColumnConstraint::Absolute(Width::Fixed(12))),
            (3, ColumnConstraint::ContentWidth),
        ] {
            if let Some(col) = t.column_mut(i) {
                col.set_constraint(constraint);
            }
        }
        for row in rows {
            t.add_row(vec![
                time::seconds(&row.at),
                row.actor.clone(),
                or_dash(row.pipeline.as_deref()),
                row.action.clone(),
                or_dash(row.subject.as_deref()),
                summary(row),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if more {
        let _ = writeln!(
            out,
            "{} shown; older ones left out (--limit N shows more, 0 all).",
            count_of(rows.len() as u64, "entry", "entries"),
        );
    }
    out
}

/// One entry and, below it, its diff or its old and new value.
fn render_entry(out: &mut String, row: &AuditRow) {
    let mut head = format!("{}  {}", time::seconds(&row.at), row.actor);
    if let Some(p) = &row.pipeline {
        let _ = write!(head, "  {p}");
    }
    if let Some(r) = row.run_id {
        let _ = write!(head, "  run {r}");
    }
    let _ = writeln!(out, "{head}");
    let mut what = format!("  {}", row.action);
    if let Some(s) = &row.subject {
        let _ = write!(what, "  {s}");
    }
    let _ = writeln!(out, "{what}  ({})", summary(row));
    if let Some(diff) = &row.diff {
        for line in diff.lines() {
            let _ = writeln!(out, "{}", format!("    {line}").trim_end());
        }
    } else {
        for (sign, value) in [("-", &row.before), ("+", &row.after)] {
            match value.as_deref() {
                Some(v) if v.contains('\n') => {
                    let _ = writeln!(
                        out,
                        "    {sign} ({}; --json shows it in full)",
                        count_of(v.lines().count() as u64, "line", "lines")
                    );
                }
                Some(v) => {
                    let _ = writeln!(out, "    {sign} {v}");
                }
                None => {}
            }
        }
    }
    out.push('\n');
}

/// The change in a few words: `+3 −1 lines`, `1a2b3c4d5e6f → 9f8e7d6c5b4a`.
fn summary(row: &AuditRow) -> String {
    if let Some(diff) = &row.diff {
        let (added, removed) = diff_line_counts(diff);
        return format!("+{added} −{removed} lines");
    }
    match (
        row.action.as_str(),
        row.before.as_deref(),
        row.after.as_deref(),
    ) {
        (PIPELINE_ADDED, _, Some(config)) => {
            format!("{}-line config", config.lines().count())
        }
        (PIPELINE_ADDED, _, None) => "first run".to_owned(),
        (CONFIG_CHANGED, None, _) => "earlier configuration not kept".to_owned(),
        (_, Some(before), Some(after)) => format!("{} → {}", value(before), value(after)),
        (_, None, Some(after)) => value(after),
        (_, Some(before), None) => format!("was {}", value(before)),
        (_, None, None) => "-".to_owned(),
    }
}

/// A value in a summary: a short digest, a line count, or the value clipped.
fn value(v: &str) -> String {
    if v.starts_with("sha256:") {
        short_digest(v).to_owned()
    } else if v.contains('\n') {
        count_of(v.lines().count() as u64, "line", "lines")
    } else {
        clip(v, 32)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use std::time::Duration;

    use super::*;
    use sluice::audit::config_diff;
    use sluice::plugin::{CallStats, PluginId, PluginKind};
    use sluice::runlog::PluginUse;
    use sluice::stages::finalize::{RunStatus, Totals};

    const OLD: &str = "sha256:1a2b3c4d5e6f00000000000000000000000000000000000000000000000000aa";
    const NEW: &str = "sha256:9f8e7d6c5b4a00000000000000000000000000000000000000000000000000bb";

    fn row(id: i64, at: &str, action: &str, subject: &str) -> AuditRow {
        AuditRow {
            id,
            at: at.to_owned(),
            actor: "alice".to_owned(),
            pipeline: Some("contacts-cleanup".to_owned()),
            action: action.to_owned(),
            subject: Some(subject.to_owned()),
            before: None,
            after: None,
            diff: None,
            run_id: Some(id + 3),
        }
    }

    /// A config change, a hot-swapped plugin, a DLQ discard and the first
    /// run, newest first, as `audit_entries` returns them.
    fn rows() -> Vec<AuditRow> {
        // As `effective_config` writes them.
        let before = r#"batch_size = 64
name = "contacts-cleanup"

[[entity]]
key = "id"
name = "contacts"

[[entity.field]]
required = true
target = "email"
transform = ["trim"]

[[entity.field]]
required = false
target = "phone"
transform = [
    "trim",
    { options = { default_region = "US" }, plugin = "phone-e164" },
]
"#;
        let after = before.replace(
            "transform = [\"trim\"]",
            "transform = [\n    \"trim\",\n    \"email\",\n]",
        );
        let path = "examples/contacts/pipeline.toml";
        vec![
            AuditRow {
                before: Some("open".to_owned()),
                after: Some("discarded".to_owned()),
                actor: "bob".to_owned(),
                ..row(
                    4,
                    "2026-11-04T08:00:00.000Z",
                    "dlq-discarded",
                    "dlq entry 17",
                )
            },
            AuditRow {
                before: Some(OLD.to_owned()),
                after: Some(NEW.to_owned()),
                ..row(
                    3,
                    "2026-11-03T10:20:00.000Z",
                    "plugin-changed",
                    "transform:contacts.email#1",
                )
            },
            AuditRow {
                diff: Some(config_diff(
                    before,
                    &after,
                    "0c4d2e8a9b1f (run 4)",
                    "7e5a1c3b2d9f (run 5)",
                )),
                before: Some(before.to_owned()),
                after: Some(after.clone()),
                ..row(2, "2026-11-03T10:15:02.123Z", "config-changed", path)
            },
            AuditRow {
                after: Some(before.to_owned()),
                run_id: None,
                ..row(1, "2026-11-01T09:00:00.000Z", "pipeline-added", path)
            },
        ]
    }

    #[test]
    fn audit_table() {
        let rows = rows();
        let summaries: Vec<String> = rows.iter().map(summary).collect();
        assert_eq!(
            summaries,
            [
                "open → discarded",
                "1a2b3c4d5e6f → 9f8e7d6c5b4a",
                "+4 −1 lines",
                "19-line config",
            ]
        );
        let text = render_audit(&rows, false, true, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.contains("┆ +4 −1 lines "), "{text}");
        assert!(
            text.ends_with("4 entries shown; older ones left out (--limit N shows more, 0 all).\n"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn audit_with_diffs() {
        let text = render_audit(&rows(), true, false, 100);
        assert!(text.contains("    +    \"email\",\n"), "{text}");
        assert!(text.contains("    -transform = [\"trim\"]\n"), "{text}");
        assert!(
            text.contains(&format!("    - {OLD}\n    + {NEW}\n")),
            "{text}"
        );
        assert!(!text.contains("older ones left out"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn summaries_of_other_changes() {
        let kept = |before: Option<&str>, after: Option<&str>, action: &str| {
            summary(&AuditRow {
                before: before.map(str::to_owned),
                after: after.map(str::to_owned),
                ..row(1, "2026-11-01T09:00:00.000Z", action, "s")
            })
        };
        assert_eq!(kept(None, Some(NEW), "plugin-added"), "9f8e7d6c5b4a");
        assert_eq!(
            kept(None, Some("x"), "config-changed"),
            "earlier configuration not kept"
        );
        assert_eq!(
            kept(Some("a\nb\n"), Some("a\n"), "review-edited"),
            "2 lines → 1 line"
        );
        assert_eq!(kept(Some("42"), None, "cursor-reset"), "was 42");
        assert_eq!(kept(None, None, "review-approved"), "-");
        assert_eq!(
            kept(None, Some(&"x".repeat(40)), "cursor-reset"),
            format!("{}…", "x".repeat(31))
        );
    }

    #[test]
    fn no_entries() {
        assert_eq!(render_audit(&[], true, false, 100), "No audit entries.\n");
    }

    #[test]
    fn recorded_changes_render() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = sluice::runlog::RunLog::open(&dir.path().join("runs.db")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let path = dir.path().join("pipeline.toml");
        let text = |transform: &str| {
            format!(
                "name = \"p\"\n\
                 [source]\nplugin = \"csv-file\"\ndir = \"data\"\n\
                 [target]\nplugin = \"jsonl-file\"\n\
                 [[entity]]\nname = \"e\"\n\
                 [[entity.field]]\ntarget = \"email\"\ntransform = {transform}\n"
            )
        };
        for (transform, digest) in [(r#"["trim"]"#, OLD), (r#"["trim", "email"]"#, NEW)] {
            let loaded = sluice::config::parse_pipeline(text(transform), &path).unwrap();
            let run = log
                .start_run("p", "pipeline.toml", &loaded.config_hash)
                .unwrap();
            let digests = [("transform:e.email#0".to_owned(), digest.to_owned())];
            sluice::audit::record_run_start(&log, &loaded, &digests, run, "carol").unwrap();
            let used = PluginUse {
                role: digests[0].0.clone(),
                id: PluginId {
                    name: "email".into(),
                    digest: digest.into(),
                },
                kind: PluginKind::FieldTransformer,
                origin: "built-in".into(),
                stats: CallStats::default(),
            };
            log.finish_run(
                run,
                RunStatus::Succeeded,
                None,
                &Totals::default(),
                Duration::ZERO,
                &[],
                &[used],
            )
            .unwrap();
        }
        let rows = log.audit_entries(&AuditFilter::default()).unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            ["plugin-changed", "config-changed", "pipeline-added"]
        );
        let text = render_audit(&rows, true, false, 100);
        assert!(text.contains("(+4 −1 lines)"), "{text}");
        assert!(text.contains("    -transform = [\"trim\"]\n"), "{text}");
        assert!(text.contains("    +    \"email\",\n"), "{text}");
        assert!(text.contains("(1a2b3c4d5e6f → 9f8e7d6c5b4a)"), "{text}");
    }

    #[test]
    fn arguments() {
        let parse =
            |args: &[&str]| crate::Cli::try_parse_from(["sluice", "audit"].iter().chain(args));
        for ok in [
            &[
                "--pipeline",
                "p",
                "--since",
                "7d",
                "--action",
                "config-changed",
            ][..],
            &["--limit", "0", "--diff"],
            &["--json", "--since", "2026-11-01"],
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
        let err = parse(&["--since", "yesterday"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(
            err.to_string().contains("`yesterday` is not a date"),
            "{err}"
        );
        assert!(parse(&["--limit", "-1"]).is_err());
    }
}
