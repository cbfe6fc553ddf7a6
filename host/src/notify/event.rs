//! What the daemon tells webhooks about, and the JSON body it sends.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{RunStatus, Totals};

/// Most bytes of a run's `reason` in a body (it may quote a plugin or a
/// remote server).
pub const MAX_REASON_BYTES: usize = 2048;

/// `text` cut to at most `max` bytes at a character boundary, with `…`
/// when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The kinds of event, as named in `events` and the `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `run.failed`.
    RunFailed,
    /// `run.partial`.
    RunPartial,
    /// `run.aborted`.
    RunAborted,
    /// `run.recovered`: the first success after runs that did not succeed.
    RunRecovered,
    /// `run.error_rate`: a run's share of failed records reached the job's
    /// `alerts.error_rate`.
    ErrorRate,
    /// `dlq.growth`: a run added at least `alerts.dlq_growth` dead-letter
    /// entries.
    DlqGrowth,
    /// `job.late`: a scheduled fire started later than `alerts.late_after`.
    JobLate,
    /// `job.missed`: a scheduled fire did not run.
    JobMissed,
    /// `plugin.rolled_back`.
    PluginRolledBack,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        EventKind::RunFailed,
        EventKind::RunPartial,
        EventKind::RunAborted,
        EventKind::RunRecovered,
        EventKind::ErrorRate,
        EventKind::DlqGrowth,
        EventKind::JobLate,
        EventKind::JobMissed,
        EventKind::PluginRolledBack,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunFailed => "run.failed",
            EventKind::RunPartial => "run.partial",
            EventKind::RunAborted => "run.aborted",
            EventKind::RunRecovered => "run.recovered",
            EventKind::ErrorRate => "run.error_rate",
            EventKind::DlqGrowth => "dlq.growth",
            EventKind::JobLate => "job.late",
            EventKind::JobMissed => "job.missed",
            EventKind::PluginRolledBack => "plugin.rolled_back",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What a run-related event says about its run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFacts {
    /// The job.
    pub job: String,
    /// The run.
    pub run_id: i64,
    /// How it ended.
    pub status: RunStatus,
    /// Why it failed as a whole, if it did.
    pub reason: Option<String>,
    /// Its record counts.
    pub counts: Totals,
}

/// Something worth a webhook.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A run ended `failed`.
    RunFailed(RunFacts),
    /// A run ended `partial`.
    RunPartial(RunFacts),
    /// A run ended `aborted`.
    RunAborted(RunFacts),
    /// A run succeeded after runs of its job that did not.
    RunRecovered {
        /// The run that succeeded.
        run: RunFacts,
        /// The run before it, and how that ended.
        previous_run_id: i64,
        /// How the previous run ended.
        previous_status: RunStatus,
    },
    /// A run's failed records reached the job's threshold.
    ErrorRate {
        /// The run.
        run: RunFacts,
        /// Failed records over records read.
        rate: f64,
        /// The job's `alerts.error_rate`.
        threshold: f64,
    },
    /// A run added dead-letter entries beyond the job's threshold.
    DlqGrowth {
        /// The run.
        run: RunFacts,
        /// Entries it added.
        added: u64,
        /// The job's `alerts.dlq_growth`.
        threshold: u64,
    },
    /// A scheduled fire started late, or is still waiting (for a run of
    /// its job to end) past the job's `late_after`.
    JobLate {
        /// The job.
        job: String,
        /// When it should have started.
        scheduled_for: Timestamp,
        /// When it started, or when it was seen still waiting.
        at: Timestamp,
        /// Whether it has started (false: still waiting).
        started: bool,
        /// The job's `alerts.late_after`, in seconds.
        late_after_s: f64,
    },
    /// A scheduled fire did not run.
    JobMissed {
        /// The job.
        job: String,
        /// When it should have started.
        scheduled_for: Option<Timestamp>,
        /// Why it did not.
        why: String,
    },
    /// A promoted plugin version was rolled back (sent by the plugin store).
    PluginRolledBack {
        /// The plugin's name.
        name: String,
        /// The digest rolled back from.
        from: String,
        /// The digest now current.
        to: String,
        /// Why (the failure rate seen, …).
        reason: String,
    },
}

impl Event {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::RunFailed(_) => EventKind::RunFailed,
            Event::RunPartial(_) => EventKind::RunPartial,
            Event::RunAborted(_) => EventKind::RunAborted,
            Event::RunRecovered { .. } => EventKind::RunRecovered,
            Event::ErrorRate { .. } => EventKind::ErrorRate,
            Event::DlqGrowth { .. } => EventKind::DlqGrowth,
            Event::JobLate { .. } => EventKind::JobLate,
            Event::JobMissed { .. } => EventKind::JobMissed,
            Event::PluginRolledBack { .. } => EventKind::PluginRolledBack,
        }
    }

    fn run(&self) -> Option<&RunFacts> {
        match self {
            Event::RunFailed(r) | Event::RunPartial(r) | Event::RunAborted(r) => Some(r),
            Event::RunRecovered { run, .. }
            | Event::ErrorRate { run, .. }
            | Event::DlqGrowth { run, .. } => Some(run),
            _ => None,
        }
    }

    /// The job it is about, if any.
    pub fn job(&self) -> Option<&str> {
        match self {
            Event::JobLate { job, .. } | Event::JobMissed { job, .. } => Some(job),
            Event::PluginRolledBack { .. } => None,
            e => e.run().map(|r| r.job.as_str()),
        }
    }

    /// The run it is about, if any.
    pub fn run_id(&self) -> Option<i64> {
        self.run().map(|r| r.run_id)
    }

    /// The JSON body sent for it: `id` (the delivery key), `event`,
    /// `occurred_at`, `project`, and what the event is about.
    pub fn payload(&self, delivery_key: &str, project: &str, at: Timestamp) -> Value {
        let mut body = json!({
            "id": delivery_key,
            "event": self.kind().as_str(),
            "occurred_at": at,
            "project": project,
        });
        let extra = match self {
            Event::RunFailed(_) | Event::RunPartial(_) | Event::RunAborted(_) => json!({}),
            Event::RunRecovered {
                previous_run_id,
                previous_status,
                ..
            } => json!({ "previous_run_id": previous_run_id, "previous_status": previous_status }),
            Event::ErrorRate {
                rate, threshold, ..
            } => json!({ "error_rate": rate, "threshold": threshold }),
            Event::DlqGrowth {
                added, threshold, ..
            } => json!({ "dlq_added": added, "threshold": threshold }),
            Event::JobLate {
                job,
                scheduled_for,
                at,
                started,
                late_after_s,
            } => json!({
                "job": job,
                "scheduled_for": scheduled_for,
                "started_at": started.then_some(at),
                "waiting": !started,
                "late_by_s": at.duration_since(*scheduled_for).as_secs_f64(),
                "late_after_s": late_after_s,
            }),
            Event::JobMissed {
                job,
                scheduled_for,
                why,
            } => json!({ "job": job, "scheduled_for": scheduled_for, "why": why }),
            Event::PluginRolledBack {
                name,
                from,
                to,
                reason,
            } => json!({ "plugin": name, "from": from, "to": to, "reason": reason }),
        };
        let obj = body.as_object_mut().expect("an object");
        if let Some(run) = self.run() {
            obj.insert("job".into(), json!(run.job));
            obj.insert("run_id".into(), json!(run.run_id));
            obj.insert("status".into(), json!(run.status));
            obj.insert(
                "reason".into(),
                json!(run.reason.as_deref().map(|r| bounded(r, MAX_REASON_BYTES))),
            );
            obj.insert("counts".into(), json!(run.counts));
            obj.insert(
                "links".into(),
                json!({
                    "run": format!("/v1/runs/{}", run.run_id),
                    "errors": format!("/v1/runs/{}/errors", run.run_id),
                    "dlq": format!("/v1/dlq?run={}", run.run_id),
                    "cli": format!("sluice errors --run {}", run.run_id),
                }),
            );
        }
        if let Value::Object(extra) = extra {
            obj.extend(extra);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("run.exploded"), None);
    }

    #[test]
    fn a_run_event_carries_the_run_its_counts_and_links() {
        let facts = RunFacts {
            job: "contacts".into(),
            run_id: 7,
            status: RunStatus::Partial,
            reason: None,
            counts: Totals {
                extracted: 10,
                loaded: 8,
                failed: 2,
                skipped: 0,
            },
        };
        let at: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        let body = Event::ErrorRate {
            run: facts,
            rate: 0.2,
            threshold: 0.1,
        }
        .payload("k", "/p/sluice.toml", at);
        assert_eq!(body["event"], "run.error_rate");
        assert_eq!(body["job"], "contacts");
        assert_eq!(body["run_id"], 7);
        assert_eq!(body["status"], "partial");
        assert_eq!(body["counts"]["failed"], 2);
        assert_eq!(body["error_rate"], 0.2);
        assert_eq!(body["links"]["errors"], "/v1/runs/7/errors");
        assert!(body["reason"].is_null());
        let long = Event::RunFailed(RunFacts {
            job: "j".into(),
            run_id: 1,
            status: RunStatus::Failed,
            reason: Some("é".repeat(MAX_REASON_BYTES)),
            counts: Totals::default(),
        })
        .payload("k", "/p", at);
        let reason = long["reason"].as_str().unwrap();
        assert!(reason.len() <= MAX_REASON_BYTES + 3 && reason.ends_with('…'));
        let rollback = Event::PluginRolledBack {
            name: "uppercase".into(),
            from: "sha256:b".into(),
            to: "sha256:a".into(),
            reason: "failure rate 40% over 100 records".into(),
        };
        assert_eq!(rollback.job(), None);
        let body = rollback.payload("k", "/p", at);
        assert_eq!(body["plugin"], "uppercase");
        assert!(body.get("run_id").is_none());
    }
}
