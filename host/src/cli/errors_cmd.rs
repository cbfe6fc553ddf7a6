use clap::Args;

use super::render::{clip, or_dash, print_json, table};
use super::{Exit, Format};
use crate::Sluice;
use crate::errors::Category;
use crate::runlog::ErrorFilter;
use crate::stages::Stage;

/// `sluice errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// Run id, or `last`.
    run: String,
    /// List individual errors instead of groups.
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
    /// At most this many rows (with --rows).
    #[arg(long, default_value_t = 100)]
    limit: u64,
    #[command(flatten)]
    format: Format,
}

/// Print a run's errors.
pub fn errors(sluice: &Sluice, args: &ErrorsArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let id = log.resolve_run(&args.run)?;
    let filter = ErrorFilter {
        stage: args.stage.map(|s| s.as_str().to_owned()),
        category: args.category.map(|c| c.as_str().to_owned()),
        code: args.code.clone(),
        field: args.field.clone(),
        limit: Some(args.limit),
    };
    if !args.rows {
        let groups: Vec<_> = log
            .error_groups(id)?
            .into_iter()
            .filter(|g| {
                filter.stage.as_ref().is_none_or(|s| *s == g.stage)
                    && filter.category.as_ref().is_none_or(|c| *c == g.category)
                    && filter.code.as_ref().is_none_or(|c| *c == g.code)
                    && filter
                        .field
                        .as_ref()
                        .is_none_or(|f| Some(f) == g.field.as_ref())
            })
            .collect();
        if args.format.json {
            print_json(&groups)?;
            return Ok(Exit::Success);
        }
        if groups.is_empty() {
            println!("Run {id} has no errors matching these filters.");
            return Ok(Exit::Success);
        }
        let mut t = table(
            &[
                "COUNT", "STAGE", "CATEGORY", "CODE", "FIELD", "PLUGIN", "EXAMPLE", "RECORD",
            ],
            &["COUNT"],
        );
        for g in &groups {
            t.add_row(vec![
                g.count.to_string(),
                g.stage.clone(),
                g.category.clone(),
                g.code.clone(),
                or_dash(g.field.as_deref()),
                or_dash(g.plugin.as_deref()),
                clip(&g.sample_message, 60),
                or_dash(g.sample_record.as_deref()),
            ]);
        }
        println!("{t}");
        println!("Individual records: sluice errors {id} --rows [--code CODE] [--field FIELD]");
        return Ok(Exit::Success);
    }
    let rows = log.errors(id, &filter)?;
    if args.format.json {
        print_json(&rows)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        println!("Run {id} has no errors matching these filters.");
        return Ok(Exit::Success);
    }
    let mut t = table(
        &[
            "RECORD", "SOURCE", "STAGE", "FIELD", "CATEGORY", "CODE", "MESSAGE",
        ],
        &[],
    );
    for e in &rows {
        t.add_row(vec![
            or_dash(e.record_key.as_deref()),
            or_dash(e.source_position.as_deref()),
            e.stage.clone(),
            or_dash(e.field.as_deref()),
            e.category.clone(),
            e.code.clone(),
            clip(&e.message, 90),
        ]);
    }
    println!("{t}");
    if rows.len() as u64 == args.limit {
        println!("(first {} shown; raise --limit for more)", args.limit);
    }
    Ok(Exit::Success)
}
