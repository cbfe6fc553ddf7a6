//! `sluice stats`: error metrics over the run log — runs by status, error
//! rate per pipeline, errors by category per day, retry success rate.

use std::fmt::Write as _;

use clap::Args;

use super::render::{count_of, percent, print_json, screen_width, table_in, thousands};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::errors::Category;
use sluice::runlog::{Since, Stats, StatsFilter};

/// `sluice stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only runs started since: a date (2026-11-01), an RFC 3339 time
    /// (2026-11-01T10:00:00Z) or a duration back from now (7d, 24h, 90m).
    #[arg(long, value_parser = clap::value_parser!(Since))]
    since: Option<Since>,
    /// Only runs of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Print error metrics.
pub fn stats(sluice: &Sluice, args: &StatsArgs) -> anyhow::Result<Exit> {
    // A dead run still marked `running` would count its errors but not its
    // records; marked `interrupted`, it counts both.
    sluice.mark_interrupted_runs(args.pipeline.as_deref(), "`sluice stats`")?;
    let log = sluice.run_log()?;
    let stats = log.stats(&StatsFilter {
        since: args.since.clone(),
        pipeline: args.pipeline.clone(),
    })?;
    if args.format.json {
        print_json(&stats)?;
    } else {
        out!("{}", render_stats(&stats, screen_width()));
    }
    Ok(Exit::Success)
}

/// The metrics for people, laid out for `width` columns.
fn render_stats(s: &Stats, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run log statistics · {} · {}",
        s.since
            .as_ref()
            .map_or_else(|| "all runs".to_owned(), |t| format!("runs since {t}")),
        s.pipeline
            .as_ref()
            .map_or_else(|| "all pipelines".to_owned(), |p| format!("pipeline {p}")),
    );
    if s.runs == 0 {
        let _ = writeln!(out, "\nNo runs in this window.");
        return out;
    }
    let statuses: Vec<String> = s
        .runs_by_status
        .iter()
        .map(|c| format!("{} {}", thousands(c.runs), c.status))
        .collect();
    let _ = writeln!(
        out,
        "\n{}: {}",
        count_of(s.runs, "run", "runs"),
        statuses.join(" · ")
    );
    let r = &s.retries;
    if r.records_retried > 0 {
        let _ = writeln!(
            out,
            "Retry success rate {}: {} of {} retried got through ({} made)",
            percent(r.success_rate),
            thousands(r.succeeded),
            count_of(r.records_retried, "record", "records"),
            count_of(r.retries, "retry", "retries"),
        );
    } else {
        let _ = writeln!(out, "No record was retried.");
    }

    let _ = writeln!(out, "\nError rate by pipeline (failed records / extracted)");
    let numeric = [
        "RUNS",
        "EXTRACTED",
        "FAILED",
        "HELD BACK",
        "ERROR RATE",
        "RETRIED",
        "RETRY SUCCESS",
    ];
    let mut t = table_in(
        &[
            "PIPELINE",
            "RUNS",
            "EXTRACTED",
            "FAILED",
            "HELD BACK",
            "ERROR RATE",
            "RETRIED",
            "RETRY SUCCESS",
        ],
        &numeric,
        width,
    );
    for p in &s.pipelines {
        t.add_row(vec![
            p.pipeline.clone(),
            thousands(p.runs),
            thousands(p.extracted),
            thousands(p.failed),
            thousands(p.held_back),
            percent(p.error_rate),
            thousands(p.retries.records_retried),
            percent(p.retries.success_rate),
        ]);
    }
    let _ = writeln!(out, "{t}");
    if s.pipelines.iter().any(|p| p.held_back > 0) {
        let _ = writeln!(
            out,
            "FAILED includes HELD BACK: records not processed because a run stopped early."
        );
    }

    if !s.errors_by_day.is_empty() {
        let _ = writeln!(
            out,
            "\nErrors by category per day (final errors; +N: records held back under them)"
        );
        let mut categories: Vec<&str> = Vec::new();
        let mut days: Vec<&str> = Vec::new();
        for d in &s.errors_by_day {
            if !categories.contains(&d.category.as_str()) {
                categories.push(&d.category);
            }
            if !days.contains(&d.day.as_str()) {
                days.push(&d.day);
            }
        }
        categories.sort_by_key(|c| (c.parse::<Category>().map_or(u8::MAX, Category::rank), *c));
        let mut headers = vec!["DAY"];
        headers.extend(categories.iter().copied());
        headers.push("TOTAL");
        let mut numeric = categories.clone();
        numeric.push("TOTAL");
        let mut t = table_in(&headers, &numeric, width);
        for day in days {
            let mut row = vec![day.to_owned()];
            let (mut total, mut total_held) = (0, 0);
            for c in &categories {
                let cell = s
                    .errors_by_day
                    .iter()
                    .find(|d| d.day == day && d.category == *c);
                row.push(cell.map_or_else(
                    || "-".to_owned(),
                    |d| {
                        total += d.errors;
                        total_held += d.held_back;
                        errors_cell(d.errors, d.held_back)
                    },
                ));
            }
            row.push(errors_cell(total, total_held));
            t.add_row(row);
        }
        let _ = writeln!(out, "{t}");
    }

    if !s.retries_by_day.is_empty() {
        let _ = writeln!(
            out,
            "\nRetried per day (absorbed by retries, not counted as errors above)"
        );
        let numeric = ["TIMES", "RECORDS", "GOT THROUGH", "SUCCESS"];
        let mut t = table_in(
            &[
                "DAY",
                "CATEGORY",
                "TIMES",
                "RECORDS",
                "GOT THROUGH",
                "SUCCESS",
            ],
            &numeric,
            width,
        );
        for d in &s.retries_by_day {
            t.add_row(vec![
                d.day.clone(),
                d.category.clone(),
                thousands(d.occurrences),
                thousands(d.records),
                thousands(d.succeeded),
                percent(sluice::runlog::ratio(d.succeeded, d.records)),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

/// `52`, `1 +816`.
fn errors_cell(errors: u64, held_back: u64) -> String {
    if held_back > 0 {
        format!("{} +{}", thousands(errors), thousands(held_back))
    } else {
        thousands(errors)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use sluice::runlog::stats_fixture::history;

    fn window() -> StatsFilter {
        StatsFilter {
            since: Some(Since::At("2026-11-01T00:00:00.000Z".into())),
            pipeline: None,
        }
    }

    #[test]
    fn stats_view() {
        let (_dir, log) = history();
        let stats = log.stats(&window()).unwrap();
        let text = render_stats(&stats, 100);
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert!(text.contains("4 runs: 1 succeeded · 1 partial · 1 failed · 1 aborted"));
        assert!(
            text.contains("Retry success rate 98.8%: 802 of 812 records"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn stats_json() {
        let (_dir, log) = history();
        let stats = log
            .stats(&StatsFilter {
                pipeline: Some("contacts-to-crm".into()),
                ..window()
            })
            .unwrap();
        insta::assert_json_snapshot!(stats);
    }

    #[test]
    fn an_empty_window() {
        let (_dir, log) = history();
        let stats = log
            .stats(&StatsFilter {
                pipeline: Some("nope".into()),
                ..window()
            })
            .unwrap();
        assert!(render_stats(&stats, 100).ends_with("\nNo runs in this window.\n"));
    }

    #[test]
    fn since_is_checked_on_the_command_line() {
        let parse = |v: &str| crate::Cli::try_parse_from(["sluice", "stats", "--since", v]);
        for ok in ["2026-11-01", "2026-11-01T10:00:00Z", "7d", "24h", "90m"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        let err = parse("last-week").unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.use_stderr(), "exit 2 through Exit::Usage");
        let text = err.to_string();
        assert!(
            text.contains("`last-week` is not a date (2026-11-01)"),
            "{text}"
        );
        assert!(text.contains("7d, 24h, 90m"), "{text}");
    }
}
