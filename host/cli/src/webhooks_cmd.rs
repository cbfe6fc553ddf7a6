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
    /// Send one signed `webhook.test` event to URL, as the daemon would
    /// (same headers and signature), and print the answer. Nothing is
    /// recorded and nothing is retried.
    Test(TestArgs),
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The receiver's URL (http or https).
    url: String,
    /// The environment variable holding the signing secret.
    #[arg(long)]
    secret_env: String,
    /// How long to wait for the answer: `10s`, `500ms`.
    #[arg(long, default_value = "10s")]
    timeout: String,
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
        WebhooksCommand::Test(a) => test(a),
    }
}

fn test(args: &TestArgs) -> anyhow::Result<Exit> {
    use sluice::notify::sign::{
        DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign,
    };
    let url = url::Url::parse(&args.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| anyhow::anyhow!("`{}` is not an http:// or https:// URL", args.url))?;
    let secret = std::env::var(&args.secret_env)
        .map_err(|_| anyhow::anyhow!("the environment variable ${} is not set", args.secret_env))?;
    let timeout = sluice::notify::parse_duration(&args.timeout)
        .and_then(|d| std::time::Duration::try_from(d).ok())
        .ok_or_else(|| anyhow::anyhow!("`{}` is not a duration such as `10s`", args.timeout))?;
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random key: {e}"))?;
    let key = hex::encode(key);
    let now = jiff::Timestamp::now();
    let body = serde_json::json!({
        "id": key,
        "event": "webhook.test",
        "occurred_at": now,
    })
    .to_string();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .build()?;
    let ts = now.as_second();
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, "webhook.test")
        .header(DELIVERY_HEADER, &key)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, sign(&secret, ts, body.as_bytes()))
        .body(body)
        .send();
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            outln!("Not delivered: {}", esc(&e.without_url().to_string()));
            return Ok(Exit::Failure);
        }
    };
    let code = response.status();
    // At most 4 KiB of the answer is read.
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response, 4096), &mut bytes);
    let text = sluice::notify::excerpt(&bytes, &secret);
    if code.is_success() {
        outln!("Delivered: HTTP {code} (Sluice-Delivery {key}).");
    } else {
        outln!("Refused: HTTP {code} (Sluice-Delivery {key}).");
    }
    if !text.is_empty() {
        outln!("  answer: {text}");
    }
    Ok(if code.is_success() {
        Exit::Success
    } else {
        Exit::Failure
    })
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
