//! `sluice dlq show`: one entry in full, with its payload versions.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::render::{count_of, esc, print_json, push_wrapped, screen_width};
use crate::{Exit, Format, time};
use sluice::Sluice;
use sluice::model::{Disposition, DlqStatus};
use sluice::plugin::short_digest;
use sluice::runlog::{DlqEntry, PayloadVersion, ReviewError, pretty_payload};

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Entry id.
    pub id: i64,
    #[command(flatten)]
    pub format: Format,
}

/// The JSON of `dlq show` and `review show`.
#[derive(Debug, Serialize)]
pub(super) struct ShowJson<'a> {
    entry: &'a DlqEntry,
    versions: &'a [PayloadVersion],
}

/// Show one entry; with `review`, it must be (or have been) in review.
pub(crate) fn show(sluice: &Sluice, args: &ShowArgs, review: bool) -> anyhow::Result<Exit> {
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
pub(crate) fn render_entry(e: &DlqEntry, versions: &[PayloadVersion], width: usize) -> String {
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
pub(super) fn push_payload(out: &mut String, payload: Option<&str>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::runlog::review_fixture::dlq_log;

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
}
