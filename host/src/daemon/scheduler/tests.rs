//! The scheduler driven by a clock the tests move.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::schedule::{Clock, CronSchedule, ManualClock};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn spec(name: &str, trigger: Trigger) -> JobSpec {
    JobSpec {
        name: name.into(),
        trigger,
        overlap: Overlap::Skip,
        catchup: Catchup::Latest,
        after: Vec::new(),
        when: When::Success,
        concurrency: 1,
        paused: false,
        fingerprint: format!("{name}-v1"),
    }
}

fn every(name: &str, mins: i64) -> JobSpec {
    spec(name, Trigger::Every(SignedDuration::from_mins(mins)))
}

fn manual(name: &str) -> JobSpec {
    spec(name, Trigger::Manual)
}

fn starts(actions: &[Action]) -> Vec<(Ticket, String, FireReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { ticket, fire } => {
                Some((*ticket, fire.job.clone(), fire.reason.clone()))
            }
            _ => None,
        })
        .collect()
}

fn start_jobs(actions: &[Action]) -> Vec<String> {
    starts(actions).into_iter().map(|(_, j, _)| j).collect()
}

fn ticket(actions: &[Action]) -> Ticket {
    starts(actions)[0].0
}

#[test]
fn an_interval_job_fires_on_time_and_not_before() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let (mut s, actions) = Scheduler::new(vec![every("sync", 15)], &[], clock.now());
    assert!(actions.is_empty());
    assert_eq!(s.next_wakeup(), Some(t("2026-12-06T08:15:00Z")));
    clock.advance(SignedDuration::from_mins(14));
    assert!(s.tick(clock.now()).is_empty());
    clock.advance(SignedDuration::from_mins(1));
    let a = s.tick(clock.now());
    assert_eq!(start_jobs(&a), ["sync"]);
    assert_eq!(s.next_wakeup(), Some(t("2026-12-06T08:30:00Z")));
    s.finished(ticket(&a), Some(RunStatus::Succeeded));
    // A daemon that wakes two hours late fires once and counts from now.
    clock.advance(SignedDuration::from_hours(2));
    let a = s.tick(clock.now());
    assert_eq!(start_jobs(&a), ["sync"]);
    assert!(s.tick(clock.now()).is_empty());
    assert_eq!(s.next_wakeup(), Some(t("2026-12-06T10:30:00Z")));
}

#[test]
fn overlap_skip_drops_a_fire_while_running() {
    let now = t("2026-12-06T08:00:00Z");
    let (mut s, _) = Scheduler::new(vec![manual("j")], &[], now);
    let first = s.trigger("j", now).unwrap();
    assert_eq!(start_jobs(&first), ["j"]);
    let second = s.trigger("j", now).unwrap();
    assert!(
        matches!(&second[..], [Action::Skip { why, .. }] if why.contains("overlap = \"skip\"")),
        "{second:?}"
    );
    assert!(
        s.finished(ticket(&first), Some(RunStatus::Succeeded))
            .is_empty()
    );
    assert_eq!(start_jobs(&s.trigger("j", now).unwrap()), ["j"]);
}

#[test]
fn overlap_queue_waits_and_merges_scheduled_fires() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let mut j = every("j", 1);
    j.overlap = Overlap::Queue;
    let (mut s, _) = Scheduler::new(vec![j], &[], clock.now());
    clock.advance(SignedDuration::from_mins(1));
    let first = s.tick(clock.now());
    assert_eq!(start_jobs(&first), ["j"]);
    clock.advance(SignedDuration::from_mins(1));
    assert!(s.tick(clock.now()).is_empty(), "the second fire waits");
    clock.advance(SignedDuration::from_mins(1));
    let merged = s.tick(clock.now());
    assert!(
        matches!(&merged[..], [Action::Skip { why, .. }] if why.contains("merged")),
        "{merged:?}"
    );
    // A manual trigger is not merged: it waits too.
    assert!(s.trigger("j", clock.now()).unwrap().is_empty());
    assert_eq!(s.job("j").unwrap().waiting, 2);
    let next = s.finished(ticket(&first), Some(RunStatus::Succeeded));
    let started = starts(&next);
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].2, FireReason::Schedule);
    let last = s.finished(started[0].0, Some(RunStatus::Succeeded));
    assert_eq!(starts(&last)[0].2, FireReason::Manual);
}

#[test]
fn overlap_cancel_stops_the_running_run_then_starts() {
    let now = t("2026-12-06T08:00:00Z");
    let mut j = manual("j");
    j.overlap = Overlap::Cancel;
    let (mut s, _) = Scheduler::new(vec![j], &[], now);
    let first = ticket(&s.trigger("j", now).unwrap());
    let a = s.trigger("j", now).unwrap();
    assert_eq!(
        a,
        [Action::Cancel {
            ticket: first,
            job: "j".into()
        }]
    );
    // A third fire replaces the waiting one; the run is not cancelled twice.
    let a = s.trigger("j", now).unwrap();
    assert!(
        matches!(&a[..], [Action::Skip { why, .. }] if why.contains("replaced")),
        "{a:?}"
    );
    let a = s.finished(first, None);
    assert_eq!(start_jobs(&a), ["j"]);
    assert_eq!(s.job("j").unwrap().waiting, 0);
}

#[test]
fn concurrency_allows_that_many_runs_at_once() {
    let now = t("2026-12-06T08:00:00Z");
    let mut j = manual("j");
    j.concurrency = 2;
    j.overlap = Overlap::Queue;
    let (mut s, _) = Scheduler::new(vec![j], &[], now);
    let a = ticket(&s.trigger("j", now).unwrap());
    let b = s.trigger("j", now).unwrap();
    assert_eq!(start_jobs(&b), ["j"]);
    assert!(s.trigger("j", now).unwrap().is_empty());
    assert_eq!(s.job("j").unwrap().running, 2);
    assert_eq!(start_jobs(&s.finished(a, Some(RunStatus::Failed))), ["j"]);
}

fn stored(job: &str, last: &str, next: &str) -> JobScheduleRow {
    JobScheduleRow {
        job: job.into(),
        last_fire_at: Some(last.into()),
        next_fire_at: Some(next.into()),
        paused: false,
    }
}

#[test]
fn catch_up_after_downtime_follows_the_policy() {
    // Down from 08:00 to 09:00 with a 15-minute job due at 08:15: four
    // fires were missed (08:15, 08:30, 08:45, 09:00).
    let now = t("2026-12-06T09:00:00Z");
    let row = [stored("j", "2026-12-06T08:00:00Z", "2026-12-06T08:15:00Z")];
    let with = |catchup| {
        let mut j = every("j", 15);
        j.catchup = catchup;
        Scheduler::new(vec![j], &row, now)
    };
    let (s, a) = with(Catchup::None);
    // Nothing runs; the last missed fire is reported as skipped.
    assert!(
        matches!(&a[..], [Action::Skip { fire, why }]
        if fire.scheduled_for == Some(t("2026-12-06T09:00:00Z")) && why.starts_with("4 fire(s) missed")),
        "{a:?}"
    );
    assert_eq!(s.next_wakeup(), Some(t("2026-12-06T09:15:00Z")));

    let (s, a) = with(Catchup::Latest);
    assert!(
        matches!(&a[..], [Action::Start { fire, .. }]
        if fire.reason == FireReason::CatchUp && fire.scheduled_for == Some(t("2026-12-06T09:00:00Z"))),
        "{a:?}"
    );
    assert_eq!(
        s.job("j").unwrap().last_fire_at,
        Some(t("2026-12-06T09:00:00Z"))
    );

    let (mut s, a) = with(Catchup::All);
    let mut served = Vec::new();
    let mut actions = a;
    while let [Action::Start { ticket, fire }] = &actions[..] {
        served.push(fire.scheduled_for.unwrap().to_string());
        actions = s.finished(*ticket, Some(RunStatus::Succeeded));
    }
    assert_eq!(
        served,
        [
            "2026-12-06T08:15:00Z",
            "2026-12-06T08:30:00Z",
            "2026-12-06T08:45:00Z",
            "2026-12-06T09:00:00Z"
        ]
    );
}

#[test]
fn catch_up_all_is_bounded() {
    let now = t("2026-12-06T09:00:00Z");
    let row = [stored("j", "2026-11-01T00:00:00Z", "2026-11-01T00:01:00Z")];
    let mut j = every("j", 1);
    j.catchup = Catchup::All;
    let (s, a) = Scheduler::new(vec![j], &row, now);
    assert_eq!(a.len(), 1);
    assert_eq!(s.job("j").unwrap().waiting, MAX_CATCHUP - 1);
    // `latest` runs the latest missed fire, however many there were.
    let mut j = every("j", 1);
    j.catchup = Catchup::Latest;
    let (_, a) = Scheduler::new(vec![j], &row, now);
    assert!(
        matches!(&a[..], [Action::Start { fire, .. }] if fire.scheduled_for == Some(now)),
        "{a:?}"
    );
}

#[test]
fn a_restarted_scheduler_resumes_where_it_stopped() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![every("j", 60), manual("m")], &[], clock.now());
    clock.advance(SignedDuration::from_mins(60));
    let a = s.tick(clock.now());
    s.finished(ticket(&a), Some(RunStatus::Succeeded));
    s.pause("m").unwrap();
    let rows = s.rows();
    // Restarted 20 minutes later: nothing was missed, the phase is kept.
    clock.advance(SignedDuration::from_mins(20));
    let (again, a) = Scheduler::new(vec![every("j", 60), manual("m")], &rows, clock.now());
    assert!(a.is_empty());
    assert_eq!(again.next_wakeup(), Some(t("2026-12-06T10:00:00Z")));
    assert_eq!(
        again.job("j").unwrap().last_fire_at,
        Some(t("2026-12-06T09:00:00Z"))
    );
    assert!(again.job("m").unwrap().paused, "a pause survives a restart");
}

#[test]
fn dependencies_fire_when_every_upstream_job_ended_acceptably() {
    let now = t("2026-12-06T08:00:00Z");
    let mut report = manual("report");
    report.after = vec!["a".into(), "b".into()];
    let (mut s, _) = Scheduler::new(vec![manual("a"), manual("b"), report], &[], now);
    let a = ticket(&s.trigger("a", now).unwrap());
    let b = ticket(&s.trigger("b", now).unwrap());
    assert!(
        s.finished(a, Some(RunStatus::Succeeded)).is_empty(),
        "b has not ended yet"
    );
    let fired = s.finished(b, Some(RunStatus::Succeeded));
    assert_eq!(starts(&fired)[0].1, "report");
    assert_eq!(starts(&fired)[0].2, FireReason::After("b".into()));
    // The next round needs both again.
    let a = ticket(&s.trigger("a", now).unwrap());
    assert!(s.finished(a, Some(RunStatus::Succeeded)).is_empty());
}

#[test]
fn when_decides_which_endings_count() {
    let now = t("2026-12-06T08:00:00Z");
    let mut on_success = manual("on-success");
    on_success.after = vec!["up".into()];
    let mut on_partial = manual("on-partial");
    on_partial.after = vec!["up".into()];
    on_partial.when = When::Partial;
    let mut on_any = manual("on-any");
    on_any.after = vec!["up".into()];
    on_any.when = When::Completed;
    let (mut s, _) = Scheduler::new(vec![manual("up"), on_success, on_partial, on_any], &[], now);
    let mut run_up = |status| {
        let t = ticket(&s.trigger("up", now).unwrap());
        let a = s.finished(t, status);
        for (ticket, ..) in starts(&a) {
            s.finished(ticket, Some(RunStatus::Succeeded));
        }
        start_jobs(&a)
    };
    assert_eq!(
        run_up(Some(RunStatus::Succeeded)),
        ["on-success", "on-partial", "on-any"]
    );
    assert_eq!(run_up(Some(RunStatus::Partial)), ["on-partial", "on-any"]);
    assert_eq!(run_up(Some(RunStatus::Failed)), ["on-any"]);
    assert_eq!(run_up(Some(RunStatus::Aborted)), ["on-any"]);
    assert!(
        run_up(None).is_empty(),
        "a run the daemon stopped triggers nothing"
    );
}

#[test]
fn a_paused_job_does_not_fire_until_resumed() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let mut dependent = manual("after");
    dependent.after = vec!["j".into()];
    let (mut s, _) = Scheduler::new(vec![every("j", 10), dependent], &[], clock.now());
    s.pause("j").unwrap();
    s.pause("after").unwrap();
    clock.advance(SignedDuration::from_mins(35));
    assert!(s.tick(clock.now()).is_empty());
    assert_eq!(s.next_wakeup(), None);
    // An explicit trigger still runs it; its dependent is paused.
    let a = s.trigger("j", clock.now()).unwrap();
    let after = s.finished(ticket(&a), Some(RunStatus::Succeeded));
    assert!(
        matches!(&after[..], [Action::Skip { why, .. }] if why.contains("paused")),
        "{after:?}"
    );
    s.resume("j", clock.now()).unwrap();
    assert_eq!(
        s.next_wakeup(),
        Some(t("2026-12-06T08:45:00Z")),
        "counted from the resume"
    );
    assert!(
        s.tick(clock.now()).is_empty(),
        "fires missed while paused are not caught up"
    );
    assert_eq!(
        s.pause("nope"),
        Err(SchedulerError::NoSuchJob("nope".into()))
    );
}

#[test]
fn pausing_a_job_in_the_file_applies_on_reload() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![every("job", 30)], &[], clock.now());
    let mut paused = every("job", 30);
    paused.paused = true;
    let outcome = s.reload(vec![paused], clock.now());
    assert_eq!(outcome.changed, ["job"]);
    assert!(s.job("job").unwrap().paused);
    let outcome = s.reload(vec![every("job", 30)], clock.now());
    assert_eq!(outcome.changed, ["job"]);
    assert!(!s.job("job").unwrap().paused);
}

#[test]
fn reload_changes_only_the_jobs_that_changed() {
    let clock = ManualClock::new(t("2026-12-06T08:00:00Z"));
    let (mut s, _) = Scheduler::new(
        vec![every("keep", 30), every("edit", 30), manual("gone")],
        &[],
        clock.now(),
    );
    let running = ticket(&s.trigger("gone", clock.now()).unwrap());
    clock.advance(SignedDuration::from_mins(10));
    let mut edited = every("edit", 5);
    edited.fingerprint = "edit-v2".into();
    let outcome = s.reload(vec![every("keep", 30), edited, manual("new")], clock.now());
    assert_eq!(outcome.unchanged, ["keep"]);
    assert_eq!(outcome.changed, ["edit"]);
    assert_eq!(outcome.added, ["new"]);
    assert_eq!(outcome.removed, ["gone"]);
    assert_eq!(
        s.job("keep").unwrap().next_fire_at,
        Some(t("2026-12-06T08:30:00Z"))
    );
    assert_eq!(
        s.job("edit").unwrap().next_fire_at,
        Some(t("2026-12-06T08:15:00Z"))
    );
    // The removed job's run ends quietly.
    assert!(s.finished(running, Some(RunStatus::Succeeded)).is_empty());
    assert_eq!(
        s.jobs().iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["keep", "edit", "new"]
    );
}

/// Tick minute by minute through a day and count the fires.
fn fires_through(s: &mut Scheduler, clock: &ManualClock, minutes: i64) -> Vec<Timestamp> {
    let mut fired = Vec::new();
    for _ in 0..minutes {
        clock.advance(SignedDuration::from_mins(1));
        for a in s.tick(clock.now()) {
            if let Action::Start { ticket, fire } = a {
                fired.push(fire.scheduled_for.unwrap());
                s.finished(ticket, Some(RunStatus::Succeeded));
            }
        }
    }
    fired
}

#[test]
fn a_0230_berlin_job_fires_once_on_each_dst_transition_day() {
    let cron = || {
        Trigger::Cron(Box::new(
            CronSchedule::new("30 2 * * *", Some("Europe/Berlin")).unwrap(),
        ))
    };
    // Spring forward (2026-03-29): 02:30 does not exist; fires at 03:00 CEST.
    let clock = ManualClock::new(t("2026-03-28T12:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![spec("nightly", cron())], &[], clock.now());
    let fired = fires_through(&mut s, &clock, 48 * 60);
    assert_eq!(
        fired,
        [t("2026-03-29T01:00:00Z"), t("2026-03-30T00:30:00Z")]
    );
    // Fall back (2026-10-25): 02:30 happens twice; fires at the first.
    let clock = ManualClock::new(t("2026-10-24T12:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![spec("nightly", cron())], &[], clock.now());
    let fired = fires_through(&mut s, &clock, 48 * 60);
    assert_eq!(
        fired,
        [t("2026-10-25T00:30:00Z"), t("2026-10-26T01:30:00Z")]
    );
}

#[test]
fn a_0230_new_york_job_fires_once_on_each_dst_transition_day() {
    let cron = || {
        Trigger::Cron(Box::new(
            CronSchedule::new("30 2 * * *", Some("America/New_York")).unwrap(),
        ))
    };
    let clock = ManualClock::new(t("2026-03-07T12:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![spec("nightly", cron())], &[], clock.now());
    // 2026-03-08 03:00 EDT = 07:00Z, then 02:30 EDT = 06:30Z.
    assert_eq!(
        fires_through(&mut s, &clock, 48 * 60),
        [t("2026-03-08T07:00:00Z"), t("2026-03-09T06:30:00Z")]
    );
    let clock = ManualClock::new(t("2026-10-31T12:00:00Z"));
    let (mut s, _) = Scheduler::new(vec![spec("nightly", cron())], &[], clock.now());
    // 2026-11-01 02:30 EST = 07:30Z (once), then 2026-11-02 07:30Z.
    assert_eq!(
        fires_through(&mut s, &clock, 48 * 60),
        [t("2026-11-01T07:30:00Z"), t("2026-11-02T07:30:00Z")]
    );
}
