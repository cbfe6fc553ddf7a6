//! Which events a run that ended, or a fire, is worth.

use jiff::Timestamp;

use super::config::Alerts;
use super::event::{Event, RunFacts};
use crate::model::RunStatus;
use crate::runlog::{RunLog, RunLogError};

/// The events a run of job `facts.job` (in `project`) that ended as
/// `facts` says is worth: its status (failed, partial, aborted), a
/// recovery (it succeeded and the job's run before it did not), and the
/// job's thresholds. The run must already be recorded as the job's
/// (`record_job_run`).
pub fn run_events(
    log: &RunLog,
    project: &str,
    facts: RunFacts,
    alerts: &Alerts,
) -> Result<Vec<Event>, RunLogError> {
    let mut events = Vec::new();
    let counts = facts.counts;
    if let Some(threshold) = alerts.error_rate
        && counts.extracted > 0
    {
        let rate = counts.failed as f64 / counts.extracted as f64;
        if rate >= threshold {
            events.push(Event::ErrorRate {
                run: facts.clone(),
                rate,
                threshold,
            });
        }
    }
    if let Some(threshold) = alerts.dlq_growth {
        let added = log.dlq_entries_added_by(facts.run_id)?;
        if added >= threshold {
            events.push(Event::DlqGrowth {
                run: facts.clone(),
                added,
                threshold,
            });
        }
    }
    match facts.status {
        RunStatus::Failed => events.insert(0, Event::RunFailed(facts)),
        RunStatus::Partial => events.insert(0, Event::RunPartial(facts)),
        RunStatus::Aborted => events.insert(0, Event::RunAborted(facts)),
        RunStatus::Succeeded => {
            // The job's run before this one, skipping runs the daemon
            // stopped (interrupted), which say nothing about health.
            let previous = log
                .job_runs(project, Some(&facts.job), 20)?
                .into_iter()
                .filter(|r| r.run_id < facts.run_id)
                .filter_map(|r| log.run(r.run_id).ok().map(|row| (r.run_id, row.status)))
                .find(|(_, s)| s != "interrupted");
            if let Some((id, status)) = previous
                && let Some(status) = parse_status(&status)
                && matches!(
                    status,
                    RunStatus::Failed | RunStatus::Partial | RunStatus::Aborted
                )
            {
                events.insert(
                    0,
                    Event::RunRecovered {
                        run: facts,
                        previous_run_id: id,
                        previous_status: status,
                    },
                );
            }
        }
        RunStatus::Running | RunStatus::Interrupted => {}
    }
    Ok(events)
}

fn parse_status(s: &str) -> Option<RunStatus> {
    s.parse().ok()
}

/// `job.late` when a scheduled fire for `scheduled_for` starts at `now`,
/// later than the job's `late_after`.
pub fn late_start(
    job: &str,
    scheduled_for: Timestamp,
    now: Timestamp,
    alerts: &Alerts,
) -> Option<Event> {
    late(job, scheduled_for, now, true, alerts)
}

/// `job.late` when a fire for `scheduled_for` still waits at `now` (for a
/// run of its job to end), later than the job's `late_after`.
pub fn late_waiting(
    job: &str,
    scheduled_for: Timestamp,
    now: Timestamp,
    alerts: &Alerts,
) -> Option<Event> {
    late(job, scheduled_for, now, false, alerts)
}

fn late(
    job: &str,
    scheduled_for: Timestamp,
    now: Timestamp,
    started: bool,
    alerts: &Alerts,
) -> Option<Event> {
    (now.duration_since(scheduled_for) > alerts.late_after).then(|| Event::JobLate {
        job: job.to_owned(),
        scheduled_for,
        at: now,
        started,
        late_after_s: alerts.late_after.as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Totals;
    use crate::runlog::JobRunRow;

    fn facts(run_id: i64, status: RunStatus, failed: u64) -> RunFacts {
        RunFacts {
            job: "j".into(),
            run_id,
            status,
            reason: None,
            counts: Totals {
                extracted: 10,
                loaded: 10 - failed,
                failed,
                skipped: 0,
            },
        }
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind().as_str()).collect()
    }

    #[test]
    fn statuses_thresholds_and_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let mut ids = Vec::new();
        for status in [
            RunStatus::Partial,
            RunStatus::Succeeded,
            RunStatus::Succeeded,
        ] {
            let id = log.start_run("p", "/p.toml", "sha256:0").unwrap();
            log.finish_run(
                id,
                status,
                None,
                &Totals::default(),
                std::time::Duration::ZERO,
                &[],
                &[],
            )
            .unwrap();
            log.record_job_run(
                "/s.toml",
                &JobRunRow {
                    run_id: id,
                    job: "j".into(),
                    reason: "manual".into(),
                    scheduled_for: None,
                },
            )
            .unwrap();
            ids.push(id);
        }
        let alerts = Alerts {
            error_rate: Some(0.2),
            dlq_growth: None,
            ..Alerts::default()
        };
        let e = run_events(
            &log,
            "/s.toml",
            facts(ids[0], RunStatus::Partial, 3),
            &alerts,
        )
        .unwrap();
        assert_eq!(kinds(&e), ["run.partial", "run.error_rate"]);
        let e = run_events(
            &log,
            "/s.toml",
            facts(ids[0], RunStatus::Partial, 1),
            &alerts,
        )
        .unwrap();
        assert_eq!(kinds(&e), ["run.partial"]);
        let e = run_events(
            &log,
            "/s.toml",
            facts(ids[1], RunStatus::Succeeded, 0),
            &alerts,
        )
        .unwrap();
        assert_eq!(kinds(&e), ["run.recovered"]);
        let Event::RunRecovered {
            previous_run_id, ..
        } = &e[0]
        else {
            unreachable!()
        };
        assert_eq!(*previous_run_id, ids[0]);
        let none = Alerts::default();
        for (status, kind) in [
            (RunStatus::Failed, "run.failed"),
            (RunStatus::Aborted, "run.aborted"),
        ] {
            let e = run_events(&log, "/s.toml", facts(ids[0], status, 10), &none).unwrap();
            assert_eq!(kinds(&e), [kind]);
        }
        let e = run_events(
            &log,
            "/s.toml",
            facts(ids[0], RunStatus::Interrupted, 10),
            &none,
        )
        .unwrap();
        assert!(e.is_empty(), "a run the daemon stopped says nothing: {e:?}");
        // A second success in a row is no recovery.
        let e = run_events(
            &log,
            "/s.toml",
            facts(ids[2], RunStatus::Succeeded, 0),
            &alerts,
        )
        .unwrap();
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn a_fire_is_late_only_beyond_the_grace() {
        let alerts = Alerts::default();
        let at: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        let in_time = at
            .checked_add(jiff::SignedDuration::from_secs(299))
            .unwrap();
        let late = at
            .checked_add(jiff::SignedDuration::from_secs(301))
            .unwrap();
        assert!(late_start("j", at, in_time, &alerts).is_none());
        assert!(matches!(
            late_start("j", at, late, &alerts),
            Some(Event::JobLate { started: true, .. })
        ));
        let waiting = late_waiting("j", at, late, &alerts).unwrap();
        assert_eq!(waiting.payload("k", "/p", late)["waiting"], true);
        assert!(waiting.payload("k", "/p", late)["started_at"].is_null());
    }
}
