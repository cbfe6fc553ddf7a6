//! `sluice webhooks deliveries`: what the daemon sent to its webhooks,
//! read from the run log (no daemon needed).

use clap::{Args, Subcommand};
use serde::Serialize;

use super::render::{esc, esc_or_dash, print_json, table};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::runlog::{AttemptRow, DeliveryFilter, DeliveryRow};

/// `sluice webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Webhook deliveries, newest first: event, status, attempts, last
    /// answer; with --json, every attempt of each.
    Deliveries(DeliveriesArgs),
}

#[derive(Debug, Args)]
struct DeliveriesArgs {
    /// Only deliveries about this job.
    #[arg(long)]
    job: Option<String>,
    /// Only deliveries with this status.
    #[arg(long, value_parser = ["pending", "delivered", "failed", "abandoned"])]
    status: Option<String>,
    /// How many deliveries to list.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    format: Format,
}

/// A delivery with its attempts, for `--json`.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: DeliveryRow,
    /// Its attempts, first first.
    pub attempts_made: Vec<AttemptRow>,
}

/// `sluice webhooks …`.
pub fn webhooks(sluice: &Sluice, args: &WebhooksArgs) -> anyhow::Result<Exit> {
    match &args.command {
        WebhooksCommand::Deliveries(a) => deliveries(sluice, a),
    }
}

/// Deliveries matching `filter`, each with its attempts.
pub fn delivery_views(
    log: &sluice::runlog::RunLog,
    filter: &DeliveryFilter,
) -> anyhow::Result<Vec<DeliveryView>> {
    log.deliveries(filter)?
        .into_iter()
        .map(|d| {
            Ok(DeliveryView {
                attempts_made: log.delivery_attempts(d.id)?,
                delivery: d,
            })
        })
        .collect()
}

fn deliveries(sluice: &Sluice, args: &DeliveriesArgs) -> anyhow::Result<Exit> {
    let log = sluice.run_log()?;
    let views = delivery_views(
        &log,
        &DeliveryFilter {
            project: None,
            job: args.job.clone(),
            status: args.status.clone(),
            limit: Some(args.limit),
        },
    )?;
    if args.format.json {
        print_json(&views)?;
        return Ok(Exit::Success);
    }
    if views.is_empty() {
        outln!("No webhook deliveries yet. Webhooks are `[[webhook]]` tables in sluice.toml.");
        return Ok(Exit::Success);
    }
    let mut t = table(
        &[
            "ID", "CREATED", "WEBHOOK", "EVENT", "JOB", "RUN", "STATUS", "ATTEMPTS", "LAST",
        ],
        &["ID", "RUN", "ATTEMPTS"],
    );
    for v in &views {
        let d = &v.delivery;
        let last = match (d.last_code, &d.last_error) {
            (Some(c), _) => format!("HTTP {c}"),
            (None, Some(e)) => esc(e),
            (None, None) => "-".into(),
        };
        let status = match (&d.next_attempt_at, d.status.as_str()) {
            (Some(next), "pending") => format!("pending (next {next})"),
            (_, s) => s.to_owned(),
        };
        t.add_row(vec![
            d.id.to_string(),
            d.created_at.clone(),
            esc(&d.webhook),
            d.event.clone(),
            esc_or_dash(d.job.as_deref()),
            d.run_id.map_or_else(|| "-".into(), |r| r.to_string()),
            status,
            format!("{}/{}", d.attempts, d.max_attempts),
            last,
        ]);
    }
    outln!("{t}");
    Ok(Exit::Success)
}
