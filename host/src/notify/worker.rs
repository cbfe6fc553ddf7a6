//! Delivering events: a tokio task fed through a channel, so whoever sends
//! an event (the scheduler, a run ending, the plugin store) never waits for
//! a receiver. Each delivery is recorded before its first attempt and
//! after every attempt; pending ones are picked up again from the run log
//! when the worker starts, so a restart does not lose them.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::backoff::{delay, parse_retry_after, retryable};
use super::config::Webhook;
use super::event::Event;
use super::sign::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::runlog::{AttemptRow, DeliveryState, NewDelivery, RunLog};

/// Attempts in flight at once, over all webhooks.
const MAX_IN_FLIGHT: usize = 8;
/// Bytes of a response body kept in the run log.
pub const MAX_RESPONSE_BYTES: usize = 512;
/// Bytes of a response body read at most.
const READ_RESPONSE_BYTES: usize = 4096;

enum Msg {
    Event(Box<Event>),
    Configure(Vec<Webhook>),
    Shutdown(Duration, oneshot::Sender<()>),
}

/// Sends events to the delivery task; cheap to clone, never blocks.
///
/// The plugin store reports a rollback with
/// `notifier.send(Event::PluginRolledBack { name, from, to, reason })`.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: Option<mpsc::UnboundedSender<Msg>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl Notifier {
    /// A notifier that sends nothing (no daemon, or no webhooks wanted).
    pub fn disabled() -> Notifier {
        Notifier { tx: None }
    }

    /// Queue `event` for every webhook that wants it.
    pub fn send(&self, event: Event) {
        if let Some(tx) = &self.tx
            && tx.send(Msg::Event(Box::new(event))).is_err()
        {
            tracing::warn!("The webhook delivery task has ended; an event was not sent.");
        }
    }

    /// Replace the webhooks (after a reload). Pending deliveries to a
    /// webhook no longer configured are abandoned.
    pub fn configure(&self, webhooks: Vec<Webhook>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Configure(webhooks));
        }
    }

    /// Stop: no new attempt starts; attempts in flight get `grace` to
    /// finish. Pending deliveries stay pending in the run log, and the
    /// next start resumes them (an attempt cut short is made again, with
    /// the same `Sluice-Delivery` key).
    pub async fn shutdown(&self, grace: Duration) {
        if let Some(tx) = &self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Msg::Shutdown(grace, done)).is_ok() {
                let _ = wait.await;
            }
        }
    }
}

/// Start the delivery task for `project` (its key in the run log) on the
/// current tokio runtime, resuming the deliveries `log` holds as pending.
pub fn spawn(log: RunLog, project: String, webhooks: Vec<Webhook>) -> Notifier {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Cannot create the HTTP client for webhooks; none will be sent.");
            return Notifier::disabled();
        }
    };
    let mut worker = Worker {
        log,
        project,
        hooks: HashMap::new(),
        pending: HashMap::new(),
        in_flight: JoinSet::new(),
        busy: Default::default(),
        client,
    };
    worker.configure(webhooks);
    worker.resume();
    tokio::spawn(worker.run(rx));
    Notifier { tx: Some(tx) }
}

/// A delivery waiting for its next attempt.
#[derive(Debug, Clone)]
struct Pending {
    webhook: String,
    key: String,
    event: String,
    payload: String,
    attempts: u32,
    max_attempts: u32,
    due: Timestamp,
}

/// What one attempt got.
#[derive(Debug)]
struct Outcome {
    at: Timestamp,
    code: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    retry_after: Option<SignedDuration>,
    duration: Duration,
}

struct Worker {
    log: RunLog,
    project: String,
    hooks: HashMap<String, Webhook>,
    pending: HashMap<i64, Pending>,
    in_flight: JoinSet<(i64, Outcome)>,
    busy: std::collections::HashSet<i64>,
    client: reqwest::Client,
}

impl Worker {
    fn configure(&mut self, webhooks: Vec<Webhook>) {
        self.hooks = webhooks.into_iter().map(|w| (w.name.clone(), w)).collect();
        let gone: Vec<i64> = self
            .pending
            .iter()
            .filter(|(id, p)| !self.hooks.contains_key(&p.webhook) && !self.busy.contains(id))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.pending.remove(&id);
            self.abandon(id);
        }
    }

    fn abandon(&self, id: i64) {
        if let Err(e) = self.log.abandon_delivery(
            id,
            "the webhook is no longer in the project file; not retried",
        ) {
            tracing::error!(error = %e, delivery = id, "Cannot record an abandoned delivery.");
        }
    }

    /// Pick up the deliveries a previous daemon left pending.
    fn resume(&mut self) {
        let rows = match self.log.pending_deliveries(&self.project) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "Cannot read the pending webhook deliveries.");
                return;
            }
        };
        let now = Timestamp::now();
        for row in rows {
            if !self.hooks.contains_key(&row.webhook) {
                self.abandon(row.id);
                continue;
            }
            let due = row
                .next_attempt_at
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(now);
            tracing::info!(delivery = row.id, webhook = %row.webhook, event = %row.event, "Resuming a pending webhook delivery.");
            self.pending.insert(
                row.id,
                Pending {
                    webhook: row.webhook,
                    key: row.delivery_key,
                    event: row.event,
                    payload: row.payload,
                    attempts: row.attempts,
                    max_attempts: row.max_attempts,
                    due,
                },
            );
        }
    }

    /// Record one delivery of `event` per webhook that wants it.
    fn enqueue(&mut self, event: &Event) {
        let kind = event.kind();
        let now = Timestamp::now();
        for hook in self.hooks.values() {
            if !hook.wants(kind, event.job()) {
                continue;
            }
            let key = delivery_key();
            let payload = event.payload(&key, &self.project, now).to_string();
            let row = NewDelivery {
                project: self.project.clone(),
                webhook: hook.name.clone(),
                target: hook.target(),
                delivery_key: key.clone(),
                event: kind.as_str().to_owned(),
                job: event.job().map(str::to_owned),
                run_id: event.run_id(),
                payload: payload.clone(),
                max_attempts: hook.max_attempts,
                first_attempt_at: now.to_string(),
            };
            match self.log.insert_delivery(&row) {
                Ok(id) => {
                    self.pending.insert(
                        id,
                        Pending {
                            webhook: hook.name.clone(),
                            key,
                            event: row.event,
                            payload,
                            attempts: 0,
                            max_attempts: hook.max_attempts,
                            due: now,
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, webhook = %hook.name, event = kind.as_str(), "Cannot record a webhook delivery; it is not sent.");
                }
            }
        }
    }

    /// Start the attempts that are due, as far as the in-flight limit
    /// allows; how long until the next one is due.
    fn start_due(&mut self) -> Duration {
        let now = Timestamp::now();
        let mut due: Vec<(Timestamp, i64)> = self
            .pending
            .iter()
            .filter(|(id, _)| !self.busy.contains(id))
            .map(|(id, p)| (p.due, *id))
            .collect();
        due.sort();
        let mut next = Duration::from_secs(3600);
        for (at, id) in due {
            if at > now {
                next =
                    next.min(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO));
                break;
            }
            if self.in_flight.len() >= MAX_IN_FLIGHT {
                break;
            }
            let p = &self.pending[&id];
            let Some(hook) = self.hooks.get(&p.webhook).cloned() else {
                self.pending.remove(&id);
                self.abandon(id);
                continue;
            };
            self.busy.insert(id);
            let (client, payload, key, event) = (
                self.client.clone(),
                p.payload.clone(),
                p.key.clone(),
                p.event.clone(),
            );
            self.in_flight
                .spawn(async move { (id, attempt(&client, &hook, &payload, &key, &event).await) });
        }
        next
    }

    /// Record what attempt of delivery `id` got, and when to try again.
    fn record(&mut self, id: i64, outcome: Outcome) {
        self.busy.remove(&id);
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        p.attempts += 1;
        let attempt_no = p.attempts;
        let state = match (outcome.code, &outcome.error) {
            (Some(code), _) if (200..300).contains(&code) => DeliveryState::Delivered,
            (Some(code), _) if !retryable(code) => {
                DeliveryState::Failed(format!("HTTP {code}, which is not retried"))
            }
            _ if p.attempts >= p.max_attempts => DeliveryState::Failed(format!(
                "gave up after {} attempt(s); last: {}",
                p.attempts,
                outcome
                    .code
                    .map(|c| format!("HTTP {c}"))
                    .or_else(|| outcome.error.clone())
                    .unwrap_or_default()
            )),
            _ => {
                let base = self
                    .hooks
                    .get(&p.webhook)
                    .map_or(super::config::DEFAULT_BACKOFF, |h| h.backoff);
                let wait = delay(p.attempts, base, fastrand::f64(), outcome.retry_after);
                p.due = outcome.at.checked_add(wait).unwrap_or(outcome.at);
                DeliveryState::Retry(p.due.to_string())
            }
        };
        let row = AttemptRow {
            attempt: attempt_no,
            at: outcome.at.to_string(),
            code: outcome.code,
            error: outcome.error.clone(),
            response: outcome.response.clone(),
            duration_ms: outcome.duration.as_millis().min(u64::MAX as u128) as u64,
            retry_after_s: outcome.retry_after.map(|d| d.as_secs().max(0) as u64),
        };
        match &state {
            DeliveryState::Delivered => {
                tracing::info!(delivery = id, webhook = %p.webhook, event = %p.event, attempt = attempt_no, "Webhook delivered.")
            }
            DeliveryState::Retry(at) => {
                tracing::warn!(delivery = id, webhook = %p.webhook, event = %p.event, attempt = attempt_no, code = ?outcome.code, error = ?outcome.error, next = %at, "Webhook attempt failed; retrying.")
            }
            DeliveryState::Failed(why) => {
                tracing::error!(delivery = id, webhook = %p.webhook, event = %p.event, attempt = attempt_no, "Webhook not delivered: {why}.")
            }
        }
        if !matches!(state, DeliveryState::Retry(_)) {
            self.pending.remove(&id);
        }
        if let Err(e) = self.log.record_attempt(id, &row, &state) {
            tracing::error!(error = %e, delivery = id, "Cannot record a webhook attempt.");
        }
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            let sleep = self.start_due();
            tokio::select! {
                msg = rx.recv() => match msg {
                    None => return,
                    Some(Msg::Event(e)) => self.enqueue(&e),
                    Some(Msg::Configure(hooks)) => self.configure(hooks),
                    Some(Msg::Shutdown(grace, done)) => {
                        self.drain(grace).await;
                        let _ = done.send(());
                        return;
                    }
                },
                Some(joined) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok((id, outcome)) = joined {
                        self.record(id, outcome);
                    }
                }
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Let the attempts in flight finish, for at most `grace`.
    async fn drain(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, self.in_flight.join_next()).await {
                Ok(Some(Ok((id, outcome)))) => self.record(id, outcome),
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(
                        in_flight = self.in_flight.len(),
                        "Webhook attempts still in flight at shutdown stay pending; the next start makes them again."
                    );
                    self.in_flight.abort_all();
                    break;
                }
            }
        }
        let pending = self.pending.len();
        if pending > 0 {
            tracing::info!(
                pending,
                "Webhook deliveries left pending; the next start resumes them."
            );
        }
    }
}

/// A random delivery key (128 bits, hex).
fn delivery_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = fastrand::u128(..).to_le_bytes();
    }
    hex::encode(bytes)
}

/// One POST of `payload` to `hook`, signed now.
async fn attempt(
    client: &reqwest::Client,
    hook: &Webhook,
    payload: &str,
    key: &str,
    event: &str,
) -> Outcome {
    let at = Timestamp::now();
    let started = std::time::Instant::now();
    let ts = at.as_second();
    let request = client
        .post(hook.url.clone())
        .timeout(Duration::try_from(hook.timeout).unwrap_or(Duration::from_secs(10)))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, event)
        .header(DELIVERY_HEADER, key)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(
            SIGNATURE_HEADER,
            sign(hook.secret.expose(), ts, payload.as_bytes()),
        )
        .body(payload.to_owned());
    let mut outcome = Outcome {
        at,
        code: None,
        error: None,
        response: None,
        retry_after: None,
        duration: Duration::ZERO,
    };
    match request.send().await {
        Ok(mut response) => {
            outcome.code = Some(response.status().as_u16());
            outcome.retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Timestamp::now()));
            let mut body = Vec::new();
            while body.len() < READ_RESPONSE_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = READ_RESPONSE_BYTES - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    _ => break,
                }
            }
            outcome.response = Some(excerpt(&body, hook.secret.expose()));
        }
        Err(e) => {
            // Without the URL, whose path or query may hold a token.
            let e = e.without_url();
            outcome.error = Some(redact(&error_chain(&e), hook.secret.expose()));
        }
    }
    outcome.duration = started.elapsed();
    outcome
}

/// An error and its causes, on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The first [`MAX_RESPONSE_BYTES`] of a response body, as text with
/// control characters escaped and the secret (should a receiver echo it)
/// replaced.
pub fn excerpt(body: &[u8], secret: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let text = redact(&text, secret);
    let mut cut = text.len().min(MAX_RESPONSE_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = crate::text::escape(&text[..cut]).into_owned();
    if cut < text.len() {
        out.push('…');
    }
    out
}

/// `text` with every occurrence of `secret` replaced.
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    text.replace(secret, "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::Secret;

    fn hook(url: &str) -> Webhook {
        Webhook {
            name: "a".into(),
            url: url.parse().unwrap(),
            secret_env: "X".into(),
            secret: Secret::new("0123456789abcdef0"),
            events: Vec::new(),
            jobs: Vec::new(),
            max_attempts: 5,
            backoff: SignedDuration::from_hours(1),
            timeout: SignedDuration::from_secs(1),
        }
    }

    /// Poll the run log until `f` holds for the delivery of `/p`.
    async fn until(db: &std::path::Path, f: impl Fn(&crate::runlog::DeliveryRow) -> bool) {
        for _ in 0..400 {
            let log = RunLog::open(db).unwrap();
            let rows = log.deliveries(&Default::default()).unwrap();
            if rows.first().is_some_and(&f) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the delivery never got there");
    }

    #[test]
    fn a_pending_delivery_is_resumed_then_abandoned_when_its_webhook_goes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("runs.db");
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = format!("http://{closed}/hook?token=t0k3n");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let n = spawn(RunLog::open(&db).unwrap(), "/p".into(), vec![hook(&url)]);
            n.send(Event::JobMissed {
                job: "j".into(),
                scheduled_for: None,
                why: "test".into(),
            });
            // Refused connection: one attempt, the next an hour away.
            until(&db, |d| d.attempts == 1 && d.status == "pending").await;
            n.shutdown(Duration::from_secs(1)).await;
        });
        let row = &RunLog::open(&db)
            .unwrap()
            .deliveries(&Default::default())
            .unwrap()[0];
        assert!(row.next_attempt_at.is_some());
        assert_eq!(row.target, format!("http://{closed}/…"));
        let attempt = &RunLog::open(&db)
            .unwrap()
            .delivery_attempts(row.id)
            .unwrap()[0];
        assert!(attempt.code.is_none() && !attempt.error.as_deref().unwrap().contains("t0k3n"));
        // A new worker picks it up; removing the webhook abandons it.
        rt.block_on(async {
            let n = spawn(RunLog::open(&db).unwrap(), "/p".into(), vec![hook(&url)]);
            n.configure(Vec::new());
            until(&db, |d| d.status == "abandoned").await;
            n.shutdown(Duration::from_secs(1)).await;
        });
        let row = &RunLog::open(&db)
            .unwrap()
            .deliveries(&Default::default())
            .unwrap()[0];
        assert_eq!(row.attempts, 1, "no further attempt was made");
        assert!(
            row.last_error
                .as_deref()
                .unwrap()
                .contains("no longer in the project file")
        );
    }

    #[test]
    fn a_response_excerpt_is_cut_escaped_and_redacted() {
        let secret = "s3cret-s3cret-s3cret";
        let body = format!("echo {secret}\x1b[2J {}", "x".repeat(2000));
        let e = excerpt(body.as_bytes(), secret);
        assert!(!e.contains(secret), "{e}");
        assert!(e.contains("[redacted]"));
        assert!(!e.contains('\x1b'), "{e}");
        assert!(e.ends_with('…'));
        assert!(e.len() <= MAX_RESPONSE_BYTES * 4 + 3, "{}", e.len());
        assert_eq!(excerpt(b"ok", secret), "ok");
    }
}
