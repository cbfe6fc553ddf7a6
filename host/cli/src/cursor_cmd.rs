use clap::{Args, Subcommand};

use super::render::{or_dash, print_json, table};
use super::{Exit, Format};
use sluice::Sluice;

/// `sluice cursor`.
#[derive(Debug, Args)]
pub struct CursorArgs {
    #[command(subcommand)]
    command: CursorCommand,
}

#[derive(Debug, Subcommand)]
enum CursorCommand {
    /// Where each incremental entity stream of a pipeline resumes.
    Show {
        /// The pipeline's name.
        pipeline: String,
        /// Only this entity.
        #[arg(long)]
        entity: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Move a stream's cursor back so the next run reads records again.
    Reset {
        /// The pipeline's name.
        pipeline: String,
        /// The entity (required when the pipeline has cursors for several).
        #[arg(long)]
        entity: Option<String>,
        /// A cursor value to resume from (default: the start).
        #[arg(long)]
        to: Option<String>,
        /// Say what the reset would do; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        format: Format,
    },
}

/// Show or reset cursors.
pub fn cursor(sluice: &Sluice, args: &CursorArgs) -> anyhow::Result<Exit> {
    let mut log = sluice.run_log()?;
    match &args.command {
        CursorCommand::Show {
            pipeline,
            entity,
            format,
        } => {
            let rows = log.cursors(pipeline, entity.as_deref())?;
            if format.json {
                print_json(&rows)?;
                return Ok(Exit::Success);
            }
            if rows.is_empty() {
                outln!(
                    "Pipeline `{pipeline}` has no committed cursor{}: its incremental entities read from the start.",
                    entity
                        .as_deref()
                        .map(|e| format!(" for entity `{e}`"))
                        .unwrap_or_default()
                );
                return Ok(Exit::Success);
            }
            let mut t = table(
                &["ENTITY", "CURSOR", "RECORDS READ", "RUN", "UPDATED"],
                &["RECORDS READ", "RUN"],
            );
            for c in &rows {
                t.add_row(vec![
                    c.entity.clone(),
                    or_dash(c.cursor.as_deref()),
                    c.records.to_string(),
                    c.run_id.map_or("-".into(), |r| r.to_string()),
                    c.updated_at.clone(),
                ]);
            }
            outln!("{t}");
            Ok(Exit::Success)
        }
        CursorCommand::Reset {
            pipeline,
            entity,
            to,
            dry_run,
            format,
        } => {
            let entity = match entity {
                Some(e) => e.clone(),
                None => {
                    let rows = log.cursors(pipeline, None)?;
                    match rows.as_slice() {
                        [one] => one.entity.clone(),
                        [] => anyhow::bail!(
                            "pipeline `{pipeline}` has no committed cursor; name the entity with --entity to set one"
                        ),
                        many => anyhow::bail!(
                            "pipeline `{pipeline}` has cursors for {} entities ({}); name one with --entity",
                            many.len(),
                            many.iter()
                                .map(|c| c.entity.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                }
            };
            let reset =
                log.reset_cursor(pipeline, &entity, to.as_deref(), *dry_run, sluice.actor())?;
            if format.json {
                print_json(&reset)?;
                return Ok(Exit::Success);
            }
            let target = to
                .as_deref()
                .map_or("the start".to_owned(), |v| format!("`{v}`"));
            let rereads = match reset.rereads {
                Some(n) => format!("the next run reads {n} record(s) again"),
                None => "this cursor was never committed by the pipeline, so how many records the next run reads again is unknown".to_owned(),
            };
            if *dry_run {
                outln!(
                    "Dry run: resetting `{pipeline}` / `{entity}` from {} to {target}: {rereads}. Nothing changed.",
                    reset
                        .before
                        .as_deref()
                        .map_or("the start".to_owned(), |v| format!("`{v}`"))
                );
            } else {
                outln!(
                    "Reset `{pipeline}` / `{entity}` to {target} (was {}): {rereads}. Recorded in the audit log.",
                    reset
                        .before
                        .as_deref()
                        .map_or("the start".to_owned(), |v| format!("`{v}`"))
                );
            }
            Ok(Exit::Success)
        }
    }
}
