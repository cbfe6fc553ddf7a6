//! `sluice dlq list`: open entries (or closed ones) as a table, with totals
//! by stage and category and the commands that act on them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;
use comfy_table::ColumnConstraint;
use jiff::Timestamp;

use super::command_line::command_line;
use super::filter::{DispositionArg, FilterArgs, StatusArg};
use crate::render::{
    clip, count_of, esc, print_json, push_wrapped, screen_width, table_in, thousands,
};
use crate::{Exit, Format, time};
use sluice::Sluice;
use sluice::model::{Disposition, DlqStatus, Stage};
use sluice::runlog::{DlqEntry, DlqFilter};

#[derive(Debug, Args)]
pub(super) struct ListArgs {
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

pub(super) fn list(sluice: &Sluice, args: &ListArgs) -> anyhow::Result<Exit> {
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
pub(super) struct ListView {
    status: StatusArg,
    disposition: Option<DispositionArg>,
    /// The filter flags given (runs resolved).
    flags: Vec<String>,
    limit: u64,
    /// Open entries in review matching the filters, left out of the list.
    in_review: u64,
}

/// `dlq list` laid out for `width` columns, ages counted to `now` (Unix seconds).
pub(super) fn render_list(
    entries: &[DlqEntry],
    view: &ListView,
    now: Timestamp,
    width: usize,
) -> String {
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
pub(super) fn filters_suffix(flags: &[String]) -> String {
    if flags.is_empty() {
        String::new()
    } else {
        format!(" {}", flags.join(" "))
    }
}

/// `2 more entries wait in review, not listed here: sluice review list`.
pub(super) fn review_note(n: u64, flags: &[String]) -> String {
    format!(
        "{} in review, not listed here: {}",
        count_of(n, "more entry waits", "more entries wait"),
        command_line("sluice review list", flags)
    )
}

/// The entries as a table for `width` columns.
pub(crate) fn entries_table(entries: &[DlqEntry], now: Timestamp, width: usize) -> String {
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
pub(crate) fn totals_line(entries: &[DlqEntry]) -> String {
    let mut stages: Vec<(usize, &str, u64)> = Vec::new();
    let mut categories: BTreeMap<&str, u64> = BTreeMap::new();
    for e in entries {
        let order = Stage::ALL
            .iter()
            .position(|s| *s == e.stage)
            .unwrap_or(Stage::ALL.len());
        match stages.iter_mut().find(|(_, s, _)| *s == e.stage.as_str()) {
            Some((_, _, n)) => *n += 1,
            None => stages.push((order, e.stage.as_str(), 1)),
        }
        *categories.entry(e.category.as_str()).or_default() += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::runlog::StatusFilter;
    use sluice::runlog::review_fixture::dlq_log;

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
}
