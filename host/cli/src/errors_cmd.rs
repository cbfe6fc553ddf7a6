//! `sluice errors RUN`: a run's errors grouped by cause, the one to fix on
//! top, with retried transient errors folded into one line per code; or,
//! with `--rows`, one line per record.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use super::render::{
    clip, count_of, esc, esc_or_dash, print_json, push_wrapped, screen_width, table_in, thousands,
};
use super::{Exit, Format, time};
use sluice::Sluice;
use sluice::errors::Category;
use sluice::runlog::{ErrorFilter, ErrorGroup, ErrorGroups, ErrorRow, RetryGroup, RunRow};
use sluice::stages::Stage;

/// `sluice errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// Run id, or `last`.
    run: String,
    /// List individual records instead of groups.
    #[arg(long)]
    rows: bool,
    /// Only errors of this stage (ingest, normalize, transform, execute, finalize).
    #[arg(long, value_parser = clap::value_parser!(Stage))]
    stage: Option<Stage>,
    /// Only errors of this category (auth, validation, mapping...).
    #[arg(long, value_parser = clap::value_parser!(Category))]
    category: Option<Category>,
    /// Only errors with this code.
    #[arg(long)]
    code: Option<String>,
    /// Only errors about this field.
    #[arg(long)]
    field: Option<String>,
    /// Only errors of this entity.
    #[arg(long)]
    entity: Option<String>,
    /// At most this many records (with --rows).
    #[arg(long, default_value_t = 100)]
    limit: u64,
    #[command(flatten)]
    format: Format,
}

impl ErrorsArgs {
    fn filter(&self) -> ErrorFilter {
        ErrorFilter {
            stage: self.stage.map(|s| s.as_str().to_owned()),
            category: self.category.map(|c| c.as_str().to_owned()),
            code: self.code.clone(),
            field: self.field.clone(),
            entity: self.entity.clone(),
            limit: Some(self.limit),
            ..ErrorFilter::default()
        }
    }
}

/// The JSON of the grouped view.
#[derive(Debug, Serialize)]
struct GroupedJson<'a> {
    run_id: i64,
    failed_records: u64,
    failed_streams: u64,
    groups: &'a [ErrorGroup],
    retried: &'a [RetryGroup],
}

/// Print a run's errors.
pub fn errors(sluice: &Sluice, args: &ErrorsArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let id = log.resolve_run(&args.run)?;
    let filter = args.filter();
    if args.rows {
        let rows = log.errors(id, &filter)?;
        if args.format.json {
            print_json(&rows)?;
        } else {
            out!("{}", render_rows(id, &rows, args.limit, screen_width()));
        }
        return Ok(Exit::Success);
    }
    let grouped = log.error_groups(id, &filter)?;
    if args.format.json {
        print_json(&GroupedJson {
            run_id: id,
            failed_records: grouped.failed_records,
            failed_streams: grouped.failed_streams(),
            groups: &grouped.groups,
            retried: &grouped.retried,
        })?;
        return Ok(Exit::Success);
    }
    let run = log.run(id)?;
    out!(
        "{}",
        render_groups(&run, &grouped, &filter_text(&filter), screen_width())
    );
    Ok(Exit::Success)
}

/// `--stage transform --code trap`, or empty.
fn filter_text(f: &ErrorFilter) -> String {
    [
        ("stage", &f.stage),
        ("category", &f.category),
        ("code", &f.code),
        ("field", &f.field),
        ("entity", &f.entity),
    ]
    .iter()
    .filter_map(|(name, v)| v.as_ref().map(|v| format!("--{name} {v}")))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The grouped view of a run's errors, laid out for `width` columns.
/// `filters` describes the filters applied (empty for none).
pub(super) fn render_groups(
    run: &RunRow,
    grouped: &ErrorGroups,
    filters: &str,
    width: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run {} · {} · {} · strategy {}",
        run.id,
        run.pipeline,
        run.status.to_uppercase(),
        run.strategy
    );
    if !filters.is_empty() {
        let _ = writeln!(out, "Only errors matching {filters}");
    }
    if grouped.groups.is_empty() && grouped.retried.is_empty() {
        let _ = writeln!(
            out,
            "\nNo errors{}.",
            if filters.is_empty() {
                ""
            } else {
                " matching these filters"
            }
        );
        return out;
    }
    let needing = match grouped.actionable() {
        0 => "none needs action".to_owned(),
        1 => "1 needs action".to_owned(),
        n => format!("{n} need action"),
    };
    let streams = grouped.failed_streams();
    let mut totals = if grouped.groups.is_empty() {
        "No record failed".to_owned()
    } else {
        let mut failed = Vec::new();
        if grouped.failed_records > 0 || streams == 0 {
            failed.push(format!(
                "{} failed",
                count_of(grouped.failed_records, "record", "records")
            ));
        }
        if streams > 0 {
            failed.push(format!(
                "{} failed as a whole",
                count_of(streams, "stream", "streams")
            ));
        }
        format!(
            "{} · {}, {needing}",
            failed.join(" · "),
            count_of(grouped.groups.len() as u64, "group", "groups"),
        )
    };
    if grouped.held_back() > 0 {
        let _ = write!(totals, " · +{} held back", thousands(grouped.held_back()));
    }
    let retried: u64 = grouped.retried.iter().map(|r| r.records).sum();
    if retried > 0 {
        let _ = write!(
            totals,
            " · {} retried",
            count_of(retried, "record", "records")
        );
    }
    push_wrapped(&mut out, "", &totals, width);

    let (actionable, other): (Vec<_>, Vec<_>) = grouped
        .groups
        .iter()
        .enumerate()
        .partition(|(_, g)| g.actionable);
    if !actionable.is_empty() {
        section(&mut out, "NEEDS ACTION — fix from the top");
        for (i, g) in actionable {
            push_group(&mut out, i + 1, g, width);
        }
    }
    if !other.is_empty() {
        section(
            &mut out,
            "NO ACTION NEEDED — temporary failures; replay later if they persist",
        );
        for (i, g) in other {
            push_group(&mut out, i + 1, g, width);
        }
    }
    if !grouped.retried.is_empty() {
        section(&mut out, "RETRIED — absorbed by retries, folded by code");
        for r in &grouped.retried {
            push_wrapped(&mut out, "  ", &retry_line(r, &grouped.groups), width);
        }
    }
    if !grouped.groups.is_empty() {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Records of a group: sluice errors {} --rows --code CODE [--field FIELD]",
            run.id
        );
    }
    out
}

/// A blank line (unless there is one already), `title`, a blank line.
pub(super) fn section(out: &mut String, title: &str) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(title);
    out.push_str("\n\n");
}

/// One group as a block of lines, numbered `n`, and a blank line.
pub(super) fn push_group(out: &mut String, n: usize, g: &ErrorGroup, width: usize) {
    let mut count = String::new();
    if g.count > 0 {
        count.push_str(&count_of(g.count, "record", "records"));
        if g.in_review > 0 {
            let _ = write!(count, " ({} in review)", thousands(g.in_review));
        }
    }
    if !g.streams.is_empty() {
        if !count.is_empty() {
            count.push_str(" + ");
        }
        let names: Vec<&str> = g.streams.iter().map(|s| s.entity.as_str()).collect();
        let _ = write!(
            count,
            "{} {} failed",
            if names.len() == 1 {
                "stream"
            } else {
                "streams"
            },
            names.join(", ")
        );
    }
    if g.held_back > 0 {
        if count.is_empty() {
            let _ = write!(count, "{} held back", thousands(g.held_back));
        } else {
            let _ = write!(count, " +{} held back", thousands(g.held_back));
        }
    }
    push_wrapped(
        out,
        &format!("{n:>3}. "),
        &format!("{count} — {}", g.summary),
        width,
    );
    let mut about = vec![
        format!("{} {}", g.category, esc(&g.code)),
        g.stage.clone(),
        g.entities.join(", "),
    ];
    if let Some(field) = &g.field {
        about.push(format!("field {}", esc(field)));
    }
    if let Some(plugin) = &g.plugin {
        about.push(format!("plugin {}", esc(plugin)));
    }
    push_wrapped(out, "     ", &about.join(" · "), width);
    let label = if g.actionable {
        "     fix:  "
    } else {
        "     note: "
    };
    push_wrapped(out, label, &g.hint, width);
    for stream in &g.streams {
        if let Some(read) = stream.read_before {
            push_wrapped(
                out,
                "     read: ",
                &format!(
                    "{} of {} before the source stopped; the rest of the stream was not read",
                    count_of(read, "record", "records"),
                    stream.entity
                ),
                width,
            );
        }
    }
    if let Some(e) = &g.example {
        let mut record = match &e.record_key {
            Some(key) => esc(key),
            None => format!("stream {}", esc(&e.entity)),
        };
        if let Some(pos) = e
            .source_position
            .as_ref()
            .filter(|p| Some(*p) != e.record_key.as_ref())
        {
            let _ = write!(record, " ({})", esc(pos));
        }
        let prefix = format!("     e.g.  {record}: ");
        let room = width.saturating_sub(prefix.chars().count()).max(20);
        let _ = writeln!(out, "{prefix}{}", clip(&e.message, room));
    }
    out.push('\n');
}

/// `Rate limited by the remote system (rate-limited): 1,204 times over 800
/// records, all retried successfully`.
pub(super) fn retry_line(r: &RetryGroup, groups: &[ErrorGroup]) -> String {
    let what = if r.summary.contains(&r.code) {
        r.summary.clone()
    } else {
        format!("{} ({})", r.summary, r.code)
    };
    let outcome = if r.failed == 0 {
        if r.records == 1 {
            "retried successfully".to_owned()
        } else {
            "all retried successfully".to_owned()
        }
    } else if r.succeeded == 0 {
        format!(
            "{} after retries",
            if r.records == 1 {
                "failed"
            } else {
                "all failed"
            }
        )
    } else {
        format!(
            "{} retried successfully, {} failed after retries",
            thousands(r.succeeded),
            thousands(r.failed)
        )
    };
    let mut line = format!(
        "{what}: {} over {}, {outcome}",
        count_of(r.occurrences, "time", "times"),
        count_of(r.records, "record", "records"),
    );
    if r.failed > 0
        && let Some(n) = groups
            .iter()
            .position(|g| g.category == r.category && g.code == r.code)
    {
        let _ = write!(line, " (group {})", n + 1);
    }
    line
}

/// Individual records, laid out for `width` columns.
fn render_rows(run_id: i64, rows: &[ErrorRow], limit: u64, width: usize) -> String {
    if rows.is_empty() {
        return format!("Run {run_id} has no errors matching these filters.\n");
    }
    let mut t = table_in(&["RECORD", "ERROR", "MESSAGE", "AT (UTC)"], &[], width);
    for e in rows {
        let mut record = match (&e.record_key, &e.source_position) {
            (None, None) => "(whole stream)".to_owned(),
            (key, _) => esc_or_dash(key.as_deref()),
        };
        if let Some(pos) = e
            .source_position
            .as_ref()
            .filter(|p| Some(*p) != e.record_key.as_ref())
        {
            let _ = write!(record, "\n{}", esc(pos));
        }
        let _ = write!(record, "\n{}", esc(&e.entity));
        let mut error = format!("{}\n{} · {}", esc(&e.code), e.category, e.stage);
        if let Some(field) = &e.field {
            let _ = write!(error, "\nfield {}", esc(field));
        }
        let attempts = u64::try_from(e.attempts).unwrap_or(0);
        let _ = write!(
            error,
            "\n{} · {}",
            e.disposition,
            count_of(attempts, "attempt", "attempts")
        );
        t.add_row(vec![
            record,
            error,
            clip(&e.message, 300),
            time::two_lines(&e.occurred_at),
        ]);
    }
    let mut out = format!("{t}\n");
    if rows.len() as u64 == limit {
        let _ = writeln!(out, "(first {limit} shown; raise --limit for more)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::runlog::fixture::sample_log;

    #[test]
    fn grouped_view() {
        let (_dir, log, id) = sample_log();
        let run = log.run(id).unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let text = render_groups(&run, &grouped, "", 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        // The one thing to fix comes first.
        let first = text.lines().position(|l| l.starts_with("  1. ")).unwrap();
        assert!(
            text.lines()
                .nth(first)
                .unwrap()
                .contains("Authentication failed")
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn grouped_view_narrow_and_filtered() {
        let (_dir, log, id) = sample_log();
        let run = log.run(id).unwrap();
        let filter = ErrorFilter {
            category: Some("transient".into()),
            ..ErrorFilter::default()
        };
        let grouped = log.error_groups(id, &filter).unwrap();
        let text = render_groups(&run, &grouped, &filter_text(&filter), 72);
        assert!(text.lines().all(|l| l.chars().count() <= 72), "{text}");
        let joined = text.replace("\n  ", " ");
        assert!(
            joined.contains("10 failed after retries (group 1)"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn grouped_view_without_errors() {
        let (_dir, log, _) = sample_log();
        let id = log.start_run("empty", "empty.toml", "sha256:00").unwrap();
        let run = log.run(id).unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let text = render_groups(&run, &grouped, "", 100);
        assert!(text.ends_with("\nNo errors.\n"), "{text}");
    }

    #[test]
    fn a_failed_stream_is_not_a_failed_record() {
        use sluice::errors::RecordError;
        use sluice::runlog::fixture::{add_run, plugin};
        use sluice::stages::StageCounts;
        use sluice::stages::finalize::{RunStatus, Totals};
        use sluice::strategy::Strategy;

        let dir = tempfile::tempdir().unwrap();
        let mut log = sluice::runlog::RunLog::open(&dir.path().join("runs.db")).unwrap();
        // The source read 1,200 records, then failed: no record failed.
        let mut stream = RecordError::new(
            Stage::Ingest,
            "contacts",
            Category::Mapping,
            "memory-limit",
            "plugin `csv-file-source` tried to grow its memory past the 256 MiB limit during call"
                .to_owned(),
        );
        stream.plugin = Some(plugin("csv-file-source"));
        let read = StageCounts {
            records_in: 1200,
            records_out: 1200,
            failed: 0,
            skipped: 0,
        };
        let totals = Totals {
            extracted: 1200,
            loaded: 1200,
            failed: 0,
            skipped: 0,
        };
        let id = add_run(
            &mut log,
            "contacts-to-crm",
            Strategy::Skip,
            RunStatus::Failed,
            Some("1 entity stream(s) failed as a whole"),
            totals,
            &[(Stage::Ingest, read)],
            &[stream],
            &[],
            "2026-11-03T09:15:00.000Z",
        );
        let run = log.run(id).unwrap();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        assert_eq!(grouped.failed_records, 0);
        assert_eq!(grouped.failed_streams(), 1);
        let text = render_groups(&run, &grouped, "", 100);
        assert!(!text.contains("1 record"), "{text}");
        assert!(
            text.contains("1 stream failed as a whole · 1 group, 1 needs action"),
            "{text}"
        );
        assert!(text.contains("  1. stream contacts failed — "), "{text}");
        assert!(
            text.contains("read: 1,200 records of contacts before the source stopped"),
            "{text}"
        );
        insta::assert_snapshot!(text);

        let rows = log.errors(id, &ErrorFilter::default()).unwrap();
        assert!(render_rows(id, &rows, 100, 100).contains("(whole stream)"));
    }

    #[test]
    fn grouped_view_with_only_retries() {
        let (_dir, log, id) = sample_log();
        let filter = ErrorFilter {
            code: Some("rate-limited".into()),
            ..ErrorFilter::default()
        };
        let run = log.run(id).unwrap();
        let grouped = log.error_groups(id, &filter).unwrap();
        let text = render_groups(&run, &grouped, &filter_text(&filter), 100);
        assert!(
            text.contains("No record failed · 800 records retried\n"),
            "{text}"
        );
        assert!(
            text.contains("1,204 times over 800 records, all retried"),
            "{text}"
        );
        assert!(!text.contains("NEEDS ACTION") && !text.contains("Records of a group"));
    }

    #[test]
    fn grouped_json_has_stable_names() {
        let (_dir, log, id) = sample_log();
        let grouped = log.error_groups(id, &ErrorFilter::default()).unwrap();
        let json = serde_json::to_value(GroupedJson {
            run_id: id,
            failed_records: grouped.failed_records,
            failed_streams: grouped.failed_streams(),
            groups: &grouped.groups[..1],
            retried: &grouped.retried[..1],
        })
        .unwrap();
        insta::assert_json_snapshot!(json);
    }

    #[test]
    fn rows_of_a_group() {
        let (_dir, log, id) = sample_log();
        let filter = ErrorFilter {
            code: Some("EXPIRED_AUTHENTICATION".into()),
            limit: Some(3),
            ..ErrorFilter::default()
        };
        let rows = log.errors(id, &filter).unwrap();
        let dispositions: Vec<_> = rows.iter().map(|r| r.disposition.as_str()).collect();
        assert_eq!(dispositions, vec!["failed", "held-back", "held-back"]);
        let text = render_rows(id, &rows, 3, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.ends_with("(first 3 shown; raise --limit for more)\n"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn rows_filter_by_entity() {
        let (_dir, log, id) = sample_log();
        let filter = ErrorFilter {
            entity: Some("companies".into()),
            ..ErrorFilter::default()
        };
        let rows = log.errors(id, &filter).unwrap();
        assert_eq!(
            render_rows(id, &rows, 100, 100),
            format!("Run {id} has no errors matching these filters.\n")
        );
    }

    #[test]
    fn the_command_line_takes_the_filters() {
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([
            "sluice", "errors", "last", "--entity", "contacts", "--stage", "execute",
        ])
        .unwrap();
        let crate::Command::Errors(args) = cli.command else {
            panic!("not errors: {cli:?}");
        };
        let f = args.filter();
        assert_eq!(f.entity.as_deref(), Some("contacts"));
        assert_eq!(f.stage.as_deref(), Some("execute"));
        assert_eq!(filter_text(&f), "--stage execute --entity contacts");
        assert!(
            crate::Cli::try_parse_from(["sluice", "errors", "last", "--stage", "load"]).is_err()
        );
    }
}
